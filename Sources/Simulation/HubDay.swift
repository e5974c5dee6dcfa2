import Base
import DispatchPlanning
import Fleet
import Foundation
import Geo
import Warehouse

/// The dawn wave of the simulated night through the hub's warehouse layer (Docs/SIMULATION.md,
/// "The hub"): the night's dawn parcels, each in the van that loaded it at the hub, are picked by
/// the hub's robots, sorted to their van's chute and loaded (`Warehouse.HubNight`, deciding with
/// the `HubState` the cluster's `HubController` journals). Computed after the day from its ground
/// truth; it does not feed back into the day (the day's vans wait for the day's pickers).
public struct HubDayReport: Sendable {
    public var site: String
    public var robots: Int
    public var parcels: Int
    public var vans: Int
    public var waves: Int
    public var result: HubNightResult
    /// The hub's floor: robot traffic and chute fill per wave (SVG).
    public var svg: String
    public var wallSeconds: Double
    /// Wave start: seconds since local midnight of the service day.
    public var start: Double

    public var json: JSONValue {
        .object([
            ("site", .string(site)), ("robots", .int(robots)), ("parcels", .int(parcels)), ("vans", .int(vans)), ("waves", .int(waves)),
            ("parcels_per_h_sorted", .double(DayKPIs.r(result.sortedPerHour, 0))),
            ("robot_utilisation", .double(DayKPIs.r(result.robotUtilisation, 3))),
            ("pick_to_load_mean_min", .double(DayKPIs.r(result.meanPickToLoad / 60, 1))),
            ("pick_to_load_p95_min", .double(DayKPIs.r(result.p95PickToLoad / 60, 1))),
            ("vans_late_hub", .int(result.lateVans.count)), ("mis_sorts", .int(result.misSorts)),
            ("recirculations", .int(result.recirculations)), ("picks_done", .int(result.picksDone)), ("picks", .int(result.picks)),
            ("lowest_charge", .double(DayKPIs.r(result.lowestCharge, 3))), ("wall_seconds", .double(DayKPIs.r(wallSeconds, 2))),
        ])
    }

    /// Lines for the KPI table.
    public var rows: [(String, String)] {
        func f(_ x: Double, _ d: Int) -> String { String(format: "%.\(d)f", x) }
        return [
            ("hub: parcels / vans / waves", "\(parcels) / \(vans) / \(waves) (\(robots) robots)"),
            ("hub: sorted (busiest hour)", f(result.sortedPerHour, 0) + " parcels/h"),
            ("hub: robot utilisation", f(result.robotUtilisation * 100, 1) + "%"),
            ("hub: pick-to-load mean / p95", f(result.meanPickToLoad / 60, 1) + " / " + f(result.p95PickToLoad / 60, 1) + " min"),
            ("hub: vans late because of the hub", "\(result.lateVans.count)"),
            ("hub: mis-sorts", "\(result.misSorts)"),
        ]
    }
}

public enum HubDay {
    /// The dawn wave of `outcome` at `hub`: dawn orders accepted there and loaded into a van (its
    /// courier) at the hub. A van's departure is when it loaded (its first load at the hub), its
    /// departure wave the half hour it falls in; a van's picks are released two hours before its
    /// departure (`HubNightConfig.releaseLeadSeconds`; the dawn orders are all in by then). One tote
    /// per order (its parcels), stored at a rack chosen by the order id. Nil when the night had no
    /// such order or the layout has no sorter.
    public static func run(_ outcome: DayOutcome, scenario: DayScenario, layout: SiteLayout, hub: SiteID, robots: Int = 60,
                           wall: WallClock = .continuous) -> HubDayReport? {
        let t0 = wall.now()
        guard var config = HubNightConfig(layout: layout, robots: robots), let capacity = layout.chuteCapacity else { return nil }
        config.robots = robots
        let midnight = Instant.local(scenario.serviceDay, 0, scenario.offset)
        let dawn = outcome.orders.filter { $0.product == .dawn && $0.accepted && $0.site == hub && $0.courier != nil && $0.loadedAt != nil && $0.packedAt != nil }
        guard !dawn.isEmpty else { return nil }
        var departure: [String: Instant] = [:]
        for o in dawn { departure[o.courier!] = min(departure[o.courier!] ?? o.loadedAt!, o.loadedAt!) }
        let vanIDs = departure.keys.sorted { departure[$0]! != departure[$1]! ? departure[$0]! < departure[$1]! : $0 < $1 }
        let slots = Array(Set(vanIDs.map { (departure[$0]! - midnight) / 1800 })).sorted()
        let vans = vanIDs.map { v in
            HubVan(van: v, wave: slots.firstIndex(of: (departure[v]! - midnight) / 1800)!, departure: Double(departure[v]! - midnight))
        }
        let vanIndex = Dictionary(uniqueKeysWithValues: vanIDs.enumerated().map { ($1, $0) })
        let racks = layout.features(.storage).count
        var parcels: [HubParcel] = [], totes: [[Int]] = []
        for o in dawn {
            let rack = Int(fnv1a(o.id.rawValue) % UInt64(max(1, racks)))
            var tote: [Int] = []
            for k in 0..<max(1, o.parcels) {
                tote.append(parcels.count)
                parcels.append(HubParcel(id: "\(o.id.rawValue)#\(k + 1)", van: vanIndex[o.courier!]!, storage: rack))
            }
            totes.append(tote)
        }
        let start = (vans.map(\.departure).min() ?? 0) - config.releaseLeadSeconds
        let wave = HubWave(site: layout.site, vans: vans, parcels: parcels, chutes: layout.features(.chute).count, chuteCapacity: capacity,
                           start: start, loadingLeadSeconds: 1800)
        guard let result = try? HubNight.run(layout: layout, wave: wave, totes: totes, config: config) else { return nil }
        return HubDayReport(site: layout.site, robots: robots, parcels: parcels.count, vans: vans.count, waves: slots.count, result: result,
                            svg: heatMap(layout: layout, result: result, slots: slots), wallSeconds: (wall.now() - t0).seconds, start: start)
    }

    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    /// The floor, once for robot traffic (cells shaded by visits, log scale) and once per departure
    /// wave with its chutes shaded by their peak fill (of the chute's capacity).
    static func heatMap(layout: SiteLayout, result: HubNightResult, slots: [Int64]) -> String {
        let g = layout.grid, cell = 6.0, pad = 24.0
        let panelH = Double(g.height) * cell + pad
        let panels = 1 + result.waves.count
        var svg = SVG(width: Double(g.width) * cell + 2 * 10, height: Double(panels) * panelH + 10, title: "The hub floor: robot traffic and chute fill per wave")
        let maxVisits = Double(result.traffic.max() ?? 1)
        let capacity = Double(layout.chuteCapacity ?? 1)
        let chutes = layout.features(.chute)
        func floor(_ y0: Double, _ title: String, shade: (Int) -> (String, String?)?) {
            svg.text(title, x: 10, y: y0 + 14, size: 12)
            for i in 0..<g.cellCount {
                let c = g.cell(i)
                let x = 10 + Double(c.x) * cell, y = y0 + 20 + Double(c.y) * cell
                if let (fill, tip) = shade(i) {
                    svg.rect(x: x, y: y, width: cell, height: cell, style: .init(fill: fill), tooltip: tip)
                } else if !g.isFree(i) {
                    svg.rect(x: x, y: y, width: cell, height: cell, style: .init(fill: "#d9d9d9"))
                }
            }
        }
        func heat(_ f: Double) -> String {  // white → orange → dark red
            let t = max(0, min(1, f))
            let r = 255, gr = Int(255 - 190 * t), b = Int(255 - 235 * min(1, t * 1.5))
            return String(format: "#%02x%02x%02x", r - Int(100 * max(0, t - 0.6)), gr, max(0, b))
        }
        floor(0, "Robot traffic (cell visits, log scale; max \(Int(maxVisits)))") { i in
            let v = result.traffic[i]
            guard v > 0 else { return nil }
            return (heat(log(1 + Double(v)) / log(1 + maxVisits)), "\(v) visits")
        }
        let chuteCells = Dictionary(uniqueKeysWithValues: chutes.enumerated().map { ($1.cell, $0) })
        for (k, w) in result.waves.enumerated() {
            let slot = w < slots.count ? slots[w] : 0
            let hh = String(format: "%02lld:%02lld", (slot * 1800 / 3600) % 24, (slot * 1800 % 3600) / 60)
            let used = result.peakFill[k].filter { $0 > 0 }.count
            floor(Double(k + 1) * panelH, "Departure wave \(k + 1) (\(hh)–): peak chute fill, \(used) chutes used") { i in
                guard let c = chuteCells[i] else { return nil }
                let p = result.peakFill[k][c]
                return p > 0 ? (heat(Double(p) / capacity), "\(chutes[c].name): \(p) of \(Int(capacity))") : ("#f4f4f4", nil)
            }
        }
        return svg.render()
    }
}

extension SimulationReport {
    /// The hub's dawn wave: its KPIs, the late vans with their missing parcels, the floor picture.
    static func hubSection(_ doc: inout HTMLDocument, _ hub: HubDayReport, _ s: DayScenario) {
        doc.heading("The hub's dawn wave (\(hub.site): robots, sorter, loading)")
        doc.paragraph("The optimised night's dawn parcels, each in the van that loaded it at the hub, picked by \(hub.robots) robots "
                      + "(one tote per order), sorted to their van's chute (chutes per departure wave from the plan) and loaded; "
                      + "decided by the same state machine the cluster's HubController journals. Computed after the day; it does not feed back into it.",
                      cssClass: "muted")
        doc.table(headers: ["KPI", "value"], rows: hub.rows.map { [$0.0, $0.1] })
        let late = hub.result.lateVans
        if !late.isEmpty {
            doc.heading("Vans leaving late because of the hub (\(late.count))", level: 3)
            doc.table(headers: ["van", "departure (s after midnight)", "parcels missing"],
                      rows: late.prefix(30).map { [$0.van, String(Int($0.departure)), $0.missingAtDeparture.prefix(8).joined(separator: ", ") + ($0.missingAtDeparture.count > 8 ? " …" : "")] })
        }
        doc.raw(hub.svg)
    }
}
