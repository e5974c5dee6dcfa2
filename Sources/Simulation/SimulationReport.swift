import Base
import DispatchPlanning
import Fleet
import Foundation
import Geo

/// `report.html` of a simulated day: one offline file (inline CSS and SVG, no scripts).
public enum SimulationReport {
    public static func dateString(_ d: LocalDay) -> String { DemoReport.dateString(d) }

    static let css = """
    body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1180px;color:#1d2330;background:#fff}
    h1{font-size:24px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
    table{border-collapse:collapse;margin:8px 0}td,th{padding:4px 10px;border-bottom:1px solid #eceff4;text-align:left}
    td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;color:#5b6475;padding:4px 0}
    .grid{display:flex;flex-wrap:wrap;gap:16px}.muted{color:#5b6475;font-size:13px}
    """

    static func pct(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }
    static func f(_ x: Double, _ d: Int) -> String { String(format: "%.\(d)f", x) }

    public static func render(_ r: SimulationResult, city: CityRegionsFile, setup: WorldSetup) -> String {
        let s = r.scenario
        var doc = HTMLDocument(title: "Daybreak simulated day \(dateString(s.serviceDay))", css: css)
        doc.heading("Daybreak — simulated day \(dateString(s.serviceDay)) (seed \(s.seed))", level: 1)
        doc.paragraph("\(r.optimisedKPIs.submitted) orders submitted from D-1 10:00 to D+1 00:30 (local +\(s.offset.seconds / 3600):00). "
                      + "Optimised run on: \(r.optimised.backend). Baseline run on: \(r.baseline.backend). "
                      + "The same day and seed drive both; the simulator only talks to the DispatchGateway.", cssClass: "muted")
        doc.heading("Optimised vs baseline")
        let a = r.optimisedKPIs, b = r.baselineKPIs
        var rows: [[String]] = [
            ["orders (good)", "\(a.orders)", "\(b.orders)"], ["accepted", "\(a.accepted)", "\(b.accepted)"],
            ["rejected", "\(a.rejected)", "\(b.rejected)"], ["delivered", "\(a.delivered)", "\(b.delivered)"],
            ["failed (returned)", "\(a.failed) (\(a.returned))", "\(b.failed) (\(b.returned))"],
            ["cancelled", "\(a.cancelled)", "\(b.cancelled)"], ["BOPIS picked up / no-show", "\(a.pickedUp) / \(a.noShow)", "\(b.pickedUp) / \(b.noShow)"],
            ["unfinished at day end", "\(a.unfinished)", "\(b.unfinished)"], ["lost", "\(a.lost)", "\(b.lost)"],
        ]
        for p in Product.allCases {
            rows.append(["on time · \(p.rawValue)", pct(a.onTime(p)), pct(b.onTime(p))])
            rows.append(["promise attainment · \(p.rawValue)", pct(a.products[p]?.attainment ?? 1), pct(b.products[p]?.attainment ?? 1)])
        }
        rows += [
            ["lateness p95 (min)", f(a.latenessP95Minutes, 1), f(b.latenessP95Minutes, 1)],
            ["km driven", f(a.km, 0), f(b.km, 0)], ["delivered parcels", "\(a.deliveredParcels)", "\(b.deliveredParcels)"],
            ["km / parcel", f(a.kmPerParcel, 3), f(b.kmPerParcel, 3)], ["g CO2e / parcel", f(a.gramsPerParcel, 1), f(b.gramsPerParcel, 1)],
            ["utilisation (busy / shift)", pct(a.utilisation), pct(b.utilisation)],
            ["dispatch latency p50 (ms)", f(a.latencyP50Ms, 3), f(b.latencyP50Ms, 3)], ["dispatch latency p99 (ms)", f(a.latencyP99Ms, 3), f(b.latencyP99Ms, 3)],
            ["orders / s", f(a.ordersPerSecond, 0), f(b.ordersPerSecond, 0)], ["events / s", f(a.eventsPerSecond, 0), f(b.eventsPerSecond, 0)],
            ["notifications", "\(a.notifications)", "\(b.notifications)"],
            ["reports replayed", a.reportsReplayed.map { "\($0)" } ?? "—", b.reportsReplayed.map { "\($0)" } ?? "—"],
            ["duplicates suppressed", a.duplicatesSuppressed.map { "\($0)" } ?? "—", b.duplicatesSuppressed.map { "\($0)" } ?? "—"],
            ["wall time (s)", f(a.wallSeconds, 1), f(b.wallSeconds, 1)],
        ]
        doc.table(headers: ["KPI", "optimised", "baseline"], rows: rows, numeric: [1, 2])
        if !a.badInputErrors.isEmpty {
            doc.heading("Bad input, refused by name", level: 3)
            doc.raw("<ul>" + a.badInputErrors.map { "<li>\(Markup.text($0))</li>" }.joined() + "</ul>")
        }

        let lostNotes = r.optimised.notes.filter { $0.text.hasPrefix("lost ") } + r.baseline.notes.filter { $0.text.hasPrefix("lost ") }
        if !lostNotes.isEmpty {
            doc.heading("Lost orders", level: 3)
            doc.raw("<ul>" + lostNotes.prefix(50).map { "<li>\(Markup.text($0.text))</li>" }.joined() + "</ul>")
        }

        // The orders that missed (optimised run): what a dispatcher would look at first.
        var missed: [[String]] = []
        for o in r.optimised.orders where o.accepted && o.cancelledAt == nil && o.product != .bopis {
            guard let w = o.promise else { continue }
            let t = o.firstAttemptAt
            if let t, DayKPIs.onTime(t, o.product, w) { continue }
            missed.append([o.id.rawValue, o.product.rawValue, Simulation.clock(w.earliest, s) + "–" + Simulation.clock(w.latest, s),
                           t.map { Simulation.clock($0, s) } ?? "never", o.courier ?? "-", r.optimised.records[o.id]?.state.rawValue ?? "no record"])
        }
        if !missed.isEmpty {
            var shown: [[String]] = []
            for p in Product.allCases { shown += missed.filter { $0[1] == p.rawValue }.prefix(15) }
            doc.heading("Missed promises (optimised: \(missed.count); up to 15 per product)", level: 3)
            doc.table(headers: ["order", "product", "promise", "first attempt", "courier", "system state"], rows: shown)
        }

        doc.heading("On time by hour of the first attempt")
        doc.open("grid")
        for p in Product.allCases where p != .bopis {
            doc.raw(hourChart(title: "\(p.rawValue): optimised vs baseline", a: a.onTimeByHour[p] ?? [:], b: b.onTimeByHour[p] ?? [:]))
        }
        doc.close()

        doc.heading("Utilisation by fleet (busy time / shift time, couriers that worked)")
        doc.raw(utilisationChart(a: a.utilisationByFleet, b: b.utilisationByFleet))

        if let hub = r.hub { hubSection(&doc, hub, s) }

        doc.heading("Routes driven (optimised), per region")
        doc.paragraph("Each line is one courier's trace as its handheld reported it (positions every ~10 simulated minutes and at stops); the hub is outside the city.", cssClass: "muted")
        doc.open("grid")
        for region in setup.regions {
            doc.raw(regionMap(region, couriers: r.optimised.couriers.filter { $0.region == region }, city: city))
        }
        doc.close()

        doc.heading("What happened")
        let notes = r.optimised.notes.prefix(200).map { "<li>\(Markup.text(Simulation.clock($0.at, s))) · \(Markup.text($0.region.rawValue)) · \(Markup.text($0.text))</li>" }
        doc.raw("<ul class=\"muted\">" + notes.joined() + "</ul>")
        return doc.render()
    }

    static func hourChart(title: String, a: [Int: (Int, Int)], b: [Int: (Int, Int)]) -> String {
        let hours = Array(Set(a.keys).union(b.keys)).sorted()
        let w = 540.0, h = 220.0, left = 40.0, bottom = 30.0, top = 26.0
        var s = SVG(width: w, height: h, title: title)
        s.rect(x: 0, y: 0, width: w, height: h, style: .init(fill: "#fbfbfd"))
        s.text(title, x: 8, y: 16, size: 13, bold: true)
        let plotH = h - bottom - top, n = max(1, hours.count)
        let bw = (w - left - 10) / Double(n)
        for g in [0.0, 0.5, 1.0] {
            let y = top + plotH * (1 - g)
            s.line(x1: left, y1: y, x2: w - 10, y2: y, style: .init(stroke: "#dde2ea", strokeWidth: 1))
            s.text("\(Int(g * 100))%", x: left - 4, y: y + 4, size: 10, anchor: .end, fill: "#5b6475")
        }
        for (k, hr) in hours.enumerated() {
            let x = left + Double(k) * bw
            for (j, m) in [a, b].enumerated() {
                guard let v = m[hr], v.1 > 0 else { continue }
                let rate = Double(v.0) / Double(v.1)
                s.rect(x: x + 2 + Double(j) * (bw - 4) / 2, y: top + plotH * (1 - rate), width: max(1, (bw - 4) / 2), height: plotH * rate,
                       style: .init(fill: j == 0 ? "#2a6fdb" : "#c9a227"), tooltip: "\(hr):00 \(j == 0 ? "optimised" : "baseline"): \(v.0)/\(v.1) on time")
            }
            s.text(String(format: "%02d", hr), x: x + bw / 2, y: h - bottom + 14, size: 10, anchor: .middle, fill: "#5b6475")
        }
        s.text("■ optimised  ■ baseline (gold)", x: w - 10, y: 16, size: 10, anchor: .end, fill: "#5b6475")
        return s.render()
    }

    static func utilisationChart(a: [(String, Double)], b: [(String, Double)]) -> String {
        let keys = Array(Set(a.map(\.0)).union(b.map(\.0))).sorted()
        let am = Dictionary(a, uniquingKeysWith: { x, _ in x }), bm = Dictionary(b, uniquingKeysWith: { x, _ in x })
        let rowH = 22.0, left = 150.0, w = 700.0
        let h = Double(keys.count) * rowH * 2 + 40
        var s = SVG(width: w, height: h, title: "utilisation by fleet")
        s.rect(x: 0, y: 0, width: w, height: h, style: .init(fill: "#fbfbfd"))
        for (i, k) in keys.enumerated() {
            let y = 20 + Double(i) * rowH * 2
            s.text(k, x: left - 8, y: y + rowH - 4, size: 12, anchor: .end)
            for (j, m) in [am, bm].enumerated() {
                let v = m[k] ?? 0
                s.rect(x: left, y: y + Double(j) * rowH * 0.9, width: max(1, (w - left - 60) * min(1, v)), height: rowH * 0.8,
                       style: .init(fill: j == 0 ? "#2a6fdb" : "#c9a227"), tooltip: "\(k) \(j == 0 ? "optimised" : "baseline") \(pct(v))")
                s.text(pct(v), x: left + (w - left - 60) * min(1, v) + 4, y: y + Double(j) * rowH * 0.9 + rowH * 0.6, size: 10, fill: "#5b6475")
            }
        }
        s.text("■ optimised (blue)  ■ baseline (gold)", x: w - 10, y: 14, size: 10, anchor: .end, fill: "#5b6475")
        return s.render()
    }

    static func regionMap(_ region: RegionID, couriers: [CourierTruth], city: CityRegionsFile) -> String {
        guard let geo = city.regions.region(id: region.rawValue) else { return "" }
        let pts = geo.polygons.flatMap(\.outer)
        let minLat = pts.map(\.lat).min() ?? 0, maxLat = pts.map(\.lat).max() ?? 1
        let minLon = pts.map(\.lon).min() ?? 0, maxLon = pts.map(\.lon).max() ?? 1
        let kx = cos((minLat + maxLat) / 2 * .pi / 180)
        let width = 540.0, margin = 14.0
        let scale = (width - 2 * margin) / max((maxLon - minLon) * kx, 1e-6)
        let height = max(maxLat - minLat, 1e-6) * scale + 2 * margin
        func p(_ c: Coordinate) -> (x: Double, y: Double) {
            let lat = min(maxLat + 0.01, max(minLat - 0.01, c.lat)), lon = min(maxLon + 0.01, max(minLon - 0.01, c.lon))
            return (margin + (lon - minLon) * kx * scale, margin + (maxLat - lat) * scale)
        }
        var s = SVG(width: width, height: height + 24, title: "region \(geo.name)")
        s.rect(x: 0, y: 0, width: width, height: height + 24, style: .init(fill: "#fbfbfd"))
        for poly in geo.polygons { s.polygon(poly.outer.map { p($0) }, style: .init(fill: "#eef2f8", stroke: "#7c8597", strokeWidth: 1.2)) }
        var km = 0.0, drawn = 0
        for (i, c) in couriers.enumerated() where c.trace.count > 1 {
            km += Double(c.metres) / 1000
            drawn += 1
            let hue = (Double(i) * 137.508).truncatingRemainder(dividingBy: 360)
            let colour = c.kind.isRider ? "hsl(\(Int(hue)),60%,40%)" : "hsl(\(Int(hue)),70%,45%)"
            s.polyline(c.trace.map { p($0.position) }, style: .init(stroke: colour, strokeWidth: c.kind.isRider ? 0.8 : 1.2, opacity: 0.75),
                       tooltip: "\(c.ref.id) (\(c.kind.rawValue)): \(c.deliveries) deliveries, \(f(Double(c.metres) / 1000, 1)) km")
        }
        for st in city.stores where st.regionID == region.rawValue {
            let c = p(st.location)
            s.rect(x: c.x - 4, y: c.y - 4, width: 8, height: 8, style: .init(fill: "#fff", stroke: "#1d2330", strokeWidth: 1.5), tooltip: "store \(st.name)")
        }
        s.text("\(geo.name): \(drawn) couriers drove, \(f(km, 0)) km", x: 10, y: height + 16, size: 12, bold: true)
        return s.render()
    }
}
