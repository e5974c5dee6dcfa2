import Base
import Fleet
import Foundation
import Geo

/// The offline HTML report of a planned wave and the terminal KPI table. Pure: values in, text out.
/// Everything is inline (CSS, SVG); no scripts, no external resources.
public enum DemoReport {
    public struct Input: Sendable {
        public var planID: String
        public var day: LocalDay
        public var seed: UInt64
        public var orders: [Order]
        public var city: CityRegionsFile
        public var setup: WaveSetup
        public var optimised: WavePlan
        public var baseline: WavePlan
        public var timeLimit: Double
        public var planSeconds: Double
        public var regionSeconds: [RegionID: Double]
        public var totalSeconds: Double

        public init(planID: String, day: LocalDay, seed: UInt64, orders: [Order], city: CityRegionsFile, setup: WaveSetup,
                    optimised: WavePlan, baseline: WavePlan, timeLimit: Double, planSeconds: Double,
                    regionSeconds: [RegionID: Double], totalSeconds: Double) {
            self.planID = planID; self.day = day; self.seed = seed; self.orders = orders; self.city = city
            self.setup = setup; self.optimised = optimised; self.baseline = baseline; self.timeLimit = timeLimit
            self.planSeconds = planSeconds; self.regionSeconds = regionSeconds; self.totalSeconds = totalSeconds
        }
    }

    public static func dateString(_ d: LocalDay) -> String {
        let c = CivilDate.civil(days: Int64(d.index))
        return String(format: "%04lld-%02lld-%02lld", c.year, c.month, c.day)
    }

    static func clock(_ t: Instant, _ off: UTCOffset) -> String {
        let s = t.secondsOfLocalDay(off)
        return String(format: "%02lld:%02lld", s / 3600, s % 3600 / 60)
    }

    static func f(_ x: Double, _ d: Int) -> String { String(format: "%.\(d)f", x) }
    static func pct(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }

    // MARK: terminal table

    /// Per region and total, optimised next to baseline, as aligned text.
    public static func kpiTable(optimised: WavePlan, baseline: WavePlan) -> String {
        let header = ["region", "orders", "planned", "unassigned", "vans", "km", "km/parcel", "gCO2e/parcel", "on-time",
                      "|", "base vans", "base km", "base km/parcel", "base gCO2e/parcel", "base on-time", "|", "km/parcel base/opt"]
        var rows: [[String]] = []
        func row(_ name: String, _ a: PlanKPIs, _ b: PlanKPIs) -> [String] {
            [name, "\(a.orders)", "\(a.planned)", "\(a.unassigned)", "\(a.vansUsed)", f(a.km, 1), f(a.kmPerParcel, 3), f(a.gramsPerParcel, 1), pct(a.onTimeRate),
             "|", "\(b.vansUsed)", f(b.km, 1), f(b.kmPerParcel, 3), f(b.gramsPerParcel, 1), pct(b.onTimeRate),
             "|", a.kmPerParcel > 0 ? f(b.kmPerParcel / a.kmPerParcel, 2) + "x" : "-"]
        }
        for (a, b) in zip(optimised.regions, baseline.regions) { rows.append(row(a.region.rawValue, PlanKPIs(region: a), PlanKPIs(region: b))) }
        rows.append(row("TOTAL", PlanKPIs(wave: optimised), PlanKPIs(wave: baseline)))
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ r: [String]) -> String {
            r.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return i == 0 ? c + pad : pad + c
            }.joined(separator: "  ") + "\n"
        }
        return line(header) + rows.map(line).joined()
    }

    // MARK: HTML

    static let css = """
    body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
    header{background:#14213d;color:#fff;padding:20px 32px}
    header h1{margin:0 0 4px;font-size:24px} header p{margin:0;color:#c9d1e3;font-size:14px}
    main{padding:16px 32px 40px;max-width:1400px}
    h2{font-size:18px;margin:28px 0 10px}
    .cards{display:flex;flex-wrap:wrap;gap:12px}
    .card{background:#fff;border-radius:8px;padding:12px 16px;min-width:150px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
    .card .v{font-size:24px;font-weight:600} .card .l{font-size:12px;color:#5b6475;text-transform:uppercase;letter-spacing:.04em}
    .card .s{font-size:12px;color:#5b6475}
    .panel{background:#fff;border-radius:8px;padding:12px;box-shadow:0 1px 2px rgba(0,0,0,.08);margin-bottom:12px;overflow-x:auto}
    .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(600px,1fr));gap:12px}
    .grid svg{width:100%}
    table{border-collapse:collapse;font-size:13px;width:100%}
    th,td{padding:5px 8px;border-bottom:1px solid #e3e6ec;text-align:left;white-space:nowrap}
    th{background:#eef0f4;font-weight:600} td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
    tr.total td{font-weight:700;border-top:2px solid #1d2330}
    caption{text-align:left;font-size:12px;color:#5b6475;padding:4px 0}
    p.note{font-size:12px;color:#5b6475;max-width:1000px}
    summary{cursor:pointer;font-weight:600;padding:4px}
    svg{max-width:100%;height:auto}
    """

    static let optColour = "#1f77b4", baseColour = "#c7c7c7", baseStroke = "#8a8a8a"

    public static func render(_ input: Input) -> String {
        let off = input.setup.offset
        let ko = PlanKPIs(wave: input.optimised), kb = PlanKPIs(wave: input.baseline)
        var d = HTMLDocument(title: "Daybreak dawn wave \(dateString(input.day))", css: css)
        d.raw("<header><h1>Daybreak — dawn wave plan, \(Markup.text(input.city.cityID.capitalized)), morning of \(dateString(input.day))</h1>"
              + "<p>plan \(Markup.text(input.planID)) · seed \(input.seed) · \(input.orders.count) generated orders · "
              + "\(f(input.timeLimit, 0)) s search per region · planning \(f(input.planSeconds, 1)) s wall · run \(f(input.totalSeconds, 1)) s</p></header><main>")

        d.heading("The night in numbers")
        var cards = "<div class=\"cards\">"
        func card(_ label: String, _ value: String, _ sub: String) {
            cards += "<div class=\"card\"><div class=\"l\">\(Markup.text(label))</div><div class=\"v\">\(Markup.text(value))</div><div class=\"s\">\(Markup.text(sub))</div></div>"
        }
        card("orders planned", "\(ko.planned) / \(ko.orders)", "\(ko.unassigned) unassigned · \(ko.parcels) parcels")
        card("on time", pct(ko.onTimeRate), "service starts inside the promise window")
        card("vans", "\(ko.vansUsed) / \(ko.vansAvailable)", "\(f(ko.stopsPerRoute, 1)) stops per van (baseline \(kb.vansUsed) vans)")
        card("km per parcel", f(ko.kmPerParcel, 3), "baseline \(f(kb.kmPerParcel, 3)) · \(kb.kmPerParcel > 0 && ko.kmPerParcel > 0 ? f(kb.kmPerParcel / ko.kmPerParcel, 2) : "-")× more")
        card("g CO2e per parcel", f(ko.gramsPerParcel, 0), "baseline \(f(kb.gramsPerParcel, 0))")
        card("km driven", f(ko.km, 0), "baseline \(f(kb.km, 0))")
        card("load utilisation", pct(ko.meanLoadUtilisation), "mean over used vans, tightest dimension")
        card("time utilisation", pct(ko.meanTimeUtilisation), "time away from the hub / shift")
        d.raw(cards + "</div>")

        d.heading("Routes across the city (optimised)")
        d.raw("<div class=\"panel\">" + cityMap(input) + "</div>")
        d.paragraph("Coloured lines are van routes between stops (one colour per van); grey dashed lines are the drives from and back to the \(input.city.hubs.first?.name ?? "hub"). Squares are micro-fulfillment stores. Region outlines are the dispatch regions.", cssClass: "note")

        d.heading("KPIs per region")
        d.raw("<div class=\"panel\">")
        var rows: [[String]] = []
        for (a, b) in zip(input.optimised.regions, input.baseline.regions) {
            rows.append(kpiRow(a.region.rawValue, PlanKPIs(region: a), PlanKPIs(region: b), seconds: input.regionSeconds[a.region])
                        + [(a.planningTimes?.description ?? "–") + (a.fellBack ? " (re-planned: first plan missed a promise)" : "")])
        }
        rows.append(kpiRow("total", ko, kb, seconds: nil) + [""])
        d.table(headers: ["region", "orders", "planned", "unassigned", "parcels", "vans used", "km", "km / parcel", "g CO2e / parcel", "load util.", "time util.", "on time",
                          "baseline vans", "baseline km", "baseline km / parcel", "baseline g CO2e / parcel", "baseline on time", "km/parcel baseline ÷ optimised", "search s", "planned on"],
                rows: rows, numeric: Set(1...18), emphasised: [rows.count - 1],
                caption: "Optimised: Routing.solve (regret construction + ruin-and-recreate) on each region. Baseline: first come first served, nearest van that can still take the order, no optimisation.")
        d.raw("</div>")

        d.heading("Distance and emissions per parcel")
        d.raw("<div class=\"grid\"><div class=\"panel\">" + barChart(input, title: "km per parcel", value: { $0.kmPerParcel }, decimals: 2)
              + "</div><div class=\"panel\">" + barChart(input, title: "g CO2e per parcel", value: { $0.gramsPerParcel }, decimals: 0) + "</div></div>")

        d.heading("Utilisation per van")
        d.raw("<div class=\"grid\"><div class=\"panel\">" + histogram(title: "load: tightest of weight, volume, chilled, frozen",
                                                                        a: input.optimised.allRoutes.map(\.loadUtilisation), b: input.baseline.allRoutes.map(\.loadUtilisation))
              + "</div><div class=\"panel\">" + histogram(title: "time: away from the hub / shift length",
                                                          a: input.optimised.allRoutes.map(\.timeUtilisation), b: input.baseline.allRoutes.map(\.timeUtilisation)) + "</div></div>")

        d.heading("Deliveries by hour")
        let h0 = 0, h1 = max(1, Int((input.setup.windowEnd - input.setup.origin + 3599) / 3600))
        d.raw("<div class=\"grid\"><div class=\"panel\">" + histogram(
            title: "stops by hour of service start (promise: at the door by \(clock(input.setup.windowEnd, off)))",
            ba: hourly(input.optimised.allRoutes, offset: off, from: h0, to: h1), bb: hourly(input.baseline.allRoutes, offset: off, from: h0, to: h1),
            labels: (h0..<h1).map { String(format: "%02d–%02d", $0, $0 + 1) }, unit: "stops") + "</div></div>")

        d.heading("Regions")
        d.raw("<div class=\"grid\">")
        for r in input.optimised.regions { d.raw("<div class=\"panel\">" + regionMap(input, region: r) + "</div>") }
        d.raw("</div>")

        d.heading("Vans")
        d.raw("<details class=\"panel\"><summary>\(input.optimised.allRoutes.count) optimised routes (click to open)</summary>")
        var vanRows: [[String]] = []
        for r in input.optimised.regions {
            for route in r.routes {
                vanRows.append([route.vehicle.rawValue, r.region.rawValue, route.kind.rawValue, clock(route.departure, off),
                                route.stops.first.map { clock($0.serviceStart, off) } ?? "", route.stops.last.map { clock($0.serviceStart, off) } ?? "",
                                clock(route.returnAt, off), "\(route.stops.count)", "\(route.parcels)", f(Double(route.metres) / 1000, 1),
                                pct(route.loadUtilisation), pct(route.timeUtilisation), f(route.gramsCO2e / 1000, 1)])
            }
        }
        d.table(headers: ["van", "region", "kind", "leaves hub", "first stop", "last stop", "back at hub", "stops", "parcels", "km", "load", "time", "kg CO2e"],
                rows: vanRows, numeric: Set(3...12))
        d.raw("</details>")

        d.heading("Unassigned orders")
        let un = input.optimised.allUnassigned
        if un.isEmpty { d.paragraph("None: every order is on a route.") }
        else {
            d.raw("<div class=\"panel\">")
            d.table(headers: ["order", "region", "reason"], rows: un.prefix(200).map { [$0.order.rawValue, $0.region.rawValue, $0.reason.rawValue] },
                    caption: un.count > 200 ? "first 200 of \(un.count)" : nil)
            d.raw("</div>")
        }

        d.heading("How to read this")
        d.paragraph("Orders are generated (seeded) over Seoul's 25 districts by population, 3–12 kg, ambient/chilled/frozen; all promised 00:00–07:00. Vans leave the hub in waves (\(input.setup.waves.map { clock($0, off) }.joined(separator: ", "))). The solver takes one travel-time matrix: it plans on the slowest hourly slot of the night (before 05:00) with promises and shifts tightened by a margin, every route is then simulated over the time-dependent travel model, and a region whose simulated plan would miss a promise is re-planned on the slowest slot of the whole window, which cannot miss. ETAs come from that simulation (great-circle × circuity, hourly van speeds). km include the drive from and back to the hub. CO2e uses the operations file's factors per vehicle kind (diesel van vs EV van). Definitions: Docs/REPORT.md.", cssClass: "note")
        d.raw("</main>")
        return d.render()
    }

    static func kpiRow(_ name: String, _ a: PlanKPIs, _ b: PlanKPIs, seconds: Double?) -> [String] {
        [name, "\(a.orders)", "\(a.planned)", "\(a.unassigned)", "\(a.parcels)", "\(a.vansUsed) / \(a.vansAvailable)", f(a.km, 1), f(a.kmPerParcel, 3),
         f(a.gramsPerParcel, 1), pct(a.meanLoadUtilisation), pct(a.meanTimeUtilisation), pct(a.onTimeRate),
         "\(b.vansUsed)", f(b.km, 1), f(b.kmPerParcel, 3), f(b.gramsPerParcel, 1), pct(b.onTimeRate),
         a.kmPerParcel > 0 ? f(b.kmPerParcel / a.kmPerParcel, 2) + "×" : "–", seconds.map { f($0, 1) } ?? ""]
    }

    // MARK: charts

    static func barChart(_ input: Input, title: String, value: (PlanKPIs) -> Double, decimals: Int) -> String {
        var groups: [(String, Double, Double)] = zip(input.optimised.regions, input.baseline.regions).map {
            ($0.region.rawValue, value(PlanKPIs(region: $0)), value(PlanKPIs(region: $1)))
        }
        groups.append(("total", value(PlanKPIs(wave: input.optimised)), value(PlanKPIs(wave: input.baseline))))
        let w = 640.0, h = 300.0, left = 56.0, bottom = 40.0, top = 36.0
        var s = SVG(width: w, height: h, title: title)
        s.text(title, x: left, y: 20, size: 14, bold: true)
        legend(&s, x: w - 230, y: 12)
        let step = niceStep(max(groups.map { max($0.1, $0.2) }.max() ?? 1, 1e-9), intervals: 5)
        let maxV = (max(groups.map { max($0.1, $0.2) }.max() ?? 1, 1e-9) * 1.06 / step).rounded(.up) * step
        let plotH = h - top - bottom, plotW = w - left - 10
        var tick = 0.0
        while tick <= maxV + step / 2 {
            let y = top + plotH - plotH * tick / maxV
            s.line(x1: left, y1: y, x2: w - 10, y2: y, style: .init(stroke: "#e3e6ec", strokeWidth: 1))
            s.text(Markup.number(tick, decimals: 2), x: left - 6, y: y + 4, size: 10, anchor: .end, fill: "#5b6475")
            tick += step
        }
        let gw = plotW / Double(groups.count)
        for (i, g) in groups.enumerated() {
            let x0 = left + Double(i) * gw + gw * 0.15, bw = gw * 0.33
            for (j, (v, fill)) in [(g.1, optColour), (g.2, baseColour)].enumerated() {
                let bh = plotH * v / maxV, x = x0 + Double(j) * bw
                s.rect(x: x, y: top + plotH - bh, width: bw - 2, height: bh, style: .init(fill: fill, stroke: j == 1 ? baseStroke : nil, strokeWidth: j == 1 ? 0.5 : nil),
                       tooltip: "\(g.0) \(j == 0 ? "optimised" : "baseline"): \(f(v, decimals + 1))")
                s.text(f(v, decimals), x: x + (bw - 2) / 2, y: top + plotH - bh - 3, size: 9, anchor: .middle, fill: "#333")
            }
            s.text(g.0, x: x0 + bw, y: h - bottom + 16, size: 11, anchor: .middle, bold: g.0 == "total")
        }
        s.line(x1: left, y1: top + plotH, x2: w - 10, y2: top + plotH, style: .init(stroke: "#1d2330", strokeWidth: 1))
        return s.render()
    }

    /// A round axis step (1, 2, 2.5 or 5 × 10^k) giving about four intervals up to `maxValue`.
    public static func niceStep(_ maxValue: Double, intervals: Int = 4) -> Double {
        guard maxValue > 0, maxValue.isFinite else { return 1 }
        let raw = maxValue / Double(intervals)
        let mag = pow(10, (log10(raw)).rounded(.down))
        let r = raw / mag
        return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 2.5 ? 2.5 : r <= 5 ? 5 : 10) * mag
    }

    static func legend(_ s: inout SVG, x: Double, y: Double) {
        s.rect(x: x, y: y, width: 12, height: 12, style: .init(fill: optColour))
        s.text("optimised", x: x + 16, y: y + 10, size: 11)
        s.rect(x: x + 90, y: y, width: 12, height: 12, style: .init(fill: baseColour, stroke: baseStroke, strokeWidth: 0.5))
        s.text("baseline (greedy)", x: x + 106, y: y + 10, size: 11)
    }

    /// Vans per 10 % bin of a utilisation in [0, 1] (values above 1 go in the last bin).
    public static func bins(_ xs: [Double], count: Int = 10) -> [Int] {
        var b = [Int](repeating: 0, count: count)
        for x in xs where x.isFinite { b[min(count - 1, max(0, Int(x * Double(count))))] += 1 }
        return b
    }

    static func histogram(title: String, a: [Double], b: [Double]) -> String {
        histogram(title: title, ba: bins(a), bb: bins(b), labels: (0..<10).map { "\($0 * 10)–\($0 * 10 + 10)%" }, unit: "vans")
    }

    /// Stops per local hour of service start (hours `from..<to`).
    public static func hourly(_ routes: [PlannedRoute], offset: UTCOffset, from: Int, to: Int) -> [Int] {
        var b = [Int](repeating: 0, count: to - from)
        for r in routes { for s in r.stops {
            let h = s.serviceStart.localHour(offset) - from
            if b.indices.contains(h) { b[h] += 1 }
        } }
        return b
    }

    static func histogram(title: String, ba: [Int], bb: [Int], labels: [String], unit: String) -> String {
        let n = ba.count
        let w = 640.0, h = 280.0, left = 44.0, bottom = 44.0, top = 36.0
        var s = SVG(width: w, height: h, title: title)
        s.text(title, x: left, y: 20, size: 13, bold: true)
        legend(&s, x: w - 230, y: 26)
        let step = max(1, niceStep(Double(max(1, (ba + bb).max() ?? 1)), intervals: 5).rounded(.up))
        let maxV = (Double(max(1, (ba + bb).max() ?? 1)) * 1.06 / step).rounded(.up) * step
        let plotH = h - top - bottom - 8, plotW = w - left - 10, y0 = top + 8 + plotH
        var tick = 0.0
        while tick <= maxV + step / 2 {
            let y = y0 - plotH * tick / maxV
            s.line(x1: left, y1: y, x2: w - 10, y2: y, style: .init(stroke: "#e3e6ec", strokeWidth: 1))
            s.text(Markup.number(tick, decimals: 0), x: left - 6, y: y + 4, size: 10, anchor: .end, fill: "#5b6475")
            tick += step
        }
        let gw = plotW / Double(n)
        for i in 0..<n {
            let x0 = left + Double(i) * gw + gw * 0.1, bw = gw * 0.4
            for (j, (v, fill)) in [(ba[i], optColour), (bb[i], baseColour)].enumerated() {
                let bh = plotH * Double(v) / maxV
                s.rect(x: x0 + Double(j) * bw, y: y0 - bh, width: bw - 1, height: bh,
                       style: .init(fill: fill, stroke: j == 1 ? baseStroke : nil, strokeWidth: j == 1 ? 0.5 : nil),
                       tooltip: "\(labels[i]): \(v) \(unit) (\(j == 0 ? "optimised" : "baseline"))")
            }
            s.text(labels[i], x: x0 + bw, y: y0 + 14, size: 9.5, anchor: .middle, fill: "#333")
        }
        s.text(unit, x: 12, y: top + 8 + plotH / 2, size: 10, anchor: .middle, fill: "#5b6475", rotate: -90)
        s.line(x1: left, y1: y0, x2: w - 10, y2: y0, style: .init(stroke: "#1d2330", strokeWidth: 1))
        return s.render()
    }

    // MARK: maps

    /// Equirectangular projection of a lat/lon box into a `width` × `height` frame with a margin.
    struct Projection {
        var minLat: Double, maxLat: Double, minLon: Double, maxLon: Double
        var width: Double, height: Double, margin: Double
        var kx: Double, scale: Double
        init(_ pts: [Coordinate], width: Double, margin: Double = 14) {
            minLat = pts.map(\.lat).min() ?? 0; maxLat = pts.map(\.lat).max() ?? 1
            minLon = pts.map(\.lon).min() ?? 0; maxLon = pts.map(\.lon).max() ?? 1
            kx = cos((minLat + maxLat) / 2 * .pi / 180)
            let spanX = max((maxLon - minLon) * kx, 1e-6), spanY = max(maxLat - minLat, 1e-6)
            self.width = width; self.margin = margin
            scale = (width - 2 * margin) / spanX
            height = spanY * scale + 2 * margin
        }
        func callAsFunction(_ c: Coordinate) -> (x: Double, y: Double) {
            (margin + (c.lon - minLon) * kx * scale, margin + (maxLat - c.lat) * scale)
        }
    }

    static func vanColour(_ i: Int) -> String {
        let hue = (Double(i) * 137.508).truncatingRemainder(dividingBy: 360)
        return "hsl(\(Int(hue)),70%,\(i % 2 == 0 ? 42 : 52)%)"
    }

    static func cityMap(_ input: Input) -> String {
        let polys = input.city.regions.regions.flatMap { $0.polygons.flatMap(\.outer) }
        let hubs = input.city.hubs.map(\.location)
        let p = Projection(polys + hubs, width: 1100)
        var s = SVG(width: p.width, height: p.height + 24, title: "optimised routes, all regions")
        s.rect(x: 0, y: 0, width: p.width, height: p.height + 24, style: .init(fill: "#fbfbfd"))
        let fills = ["#e8f0fb", "#fdf1e3", "#e9f6ec", "#f8e8ef", "#efeafa", "#fbf7df"]
        for (i, r) in input.city.regions.regions.enumerated() {
            for poly in r.polygons {
                s.polygon(poly.outer.map { p($0) }, style: .init(fill: fills[i % fills.count], stroke: "#7c8597", strokeWidth: 1.2), tooltip: r.name)
            }
        }
        var k = 0
        for r in input.optimised.regions {
            for route in r.routes {
                drawRoute(&s, p, route, colour: vanColour(k), hubLegs: true, width: 1.3)
                k += 1
            }
        }
        for r in input.city.regions.regions {
            let c = p(r.centroid)
            s.text(r.name, x: c.x, y: c.y, size: 14, anchor: .middle, fill: "#1d2330", bold: true, halo: "#ffffff")
        }
        for st in input.city.stores { let c = p(st.location); s.rect(x: c.x - 4, y: c.y - 4, width: 8, height: 8, style: .init(fill: "#ffffff", stroke: "#1d2330", strokeWidth: 1.5), tooltip: "store \(st.name)") }
        for h in input.city.hubs {
            let c = p(h.location)
            s.circle(cx: c.x, cy: c.y, r: 9, style: .init(fill: "#14213d", stroke: "#fff", strokeWidth: 2), tooltip: "hub \(h.name)")
            s.text(h.name, x: c.x + 12, y: c.y + 4, size: 13, bold: true, halo: "#ffffff")
        }
        s.text("■ store   ● hub   — route (one colour per van)   - - - to/from hub", x: 14, y: p.height + 16, size: 11, fill: "#5b6475")
        return s.render()
    }

    static func drawRoute(_ s: inout SVG, _ p: Projection, _ route: PlannedRoute, colour: String, hubLegs: Bool, width: Double) {
        guard let first = route.stops.first, let last = route.stops.last else { return }
        if hubLegs {
            s.polyline([p(route.hubLocation), p(first.location)], style: .init(stroke: "#9aa3b5", strokeWidth: 0.6, opacity: 0.5, dash: "3 3"))
            s.polyline([p(last.location), p(route.hubLocation)], style: .init(stroke: "#9aa3b5", strokeWidth: 0.6, opacity: 0.5, dash: "3 3"))
        }
        s.polyline(route.stops.map { p($0.location) }, style: .init(stroke: colour, strokeWidth: width, opacity: 0.9),
                   tooltip: "\(route.vehicle) (\(route.kind.rawValue)): \(route.stops.count) stops, \(f(Double(route.metres) / 1000, 1)) km")
    }

    static func regionMap(_ input: Input, region r: RegionPlan) -> String {
        guard let geo = input.city.regions.region(id: r.region.rawValue) else { return "" }
        let outline = geo.polygons.flatMap(\.outer)
        let p = Projection(outline, width: 620)
        let k = PlanKPIs(region: r)
        var s = SVG(width: p.width, height: p.height + 40, title: "region \(geo.name)")
        s.rect(x: 0, y: 0, width: p.width, height: p.height + 40, style: .init(fill: "#fbfbfd"))
        for poly in geo.polygons { s.polygon(poly.outer.map { p($0) }, style: .init(fill: "#eef2f8", stroke: "#7c8597", strokeWidth: 1.2)) }
        let off = input.setup.offset
        for (i, route) in r.routes.enumerated() {
            let c = vanColour(i)
            drawRoute(&s, p, route, colour: c, hubLegs: false, width: 1.8)
            for (j, st) in route.stops.enumerated() {
                let q = p(st.location)
                s.circle(cx: q.x, cy: q.y, r: 2.2, style: .init(fill: c, stroke: "#fff", strokeWidth: 0.4),
                         tooltip: "\(st.order) · \(route.vehicle) stop \(j + 1) · arrive \(clock(st.arrival, off)) · due \(clock(st.windowEnd, off))")
            }
        }
        for st in input.city.stores where st.regionID == r.region.rawValue {
            let c = p(st.location); s.rect(x: c.x - 4, y: c.y - 4, width: 8, height: 8, style: .init(fill: "#fff", stroke: "#1d2330", strokeWidth: 1.5), tooltip: "store \(st.name)")
        }
        if let hub = input.city.hubs.first {
            // The hub is outside the city: an arrow on the frame pointing towards it.
            let c = p(geo.centroid), h = p(hub.location)
            let dx = h.x - c.x, dy = h.y - c.y, len = max((dx * dx + dy * dy).squareRoot(), 1e-9)
            // Walk from the centroid towards the hub until 24 px inside the frame.
            let inset = 24.0
            let tx = dx > 0 ? (p.width - inset - c.x) / dx : dx < 0 ? (inset - c.x) / dx : .infinity
            let ty = dy > 0 ? (p.height - inset - c.y) / dy : dy < 0 ? (inset - c.y) / dy : .infinity
            let t = max(0, min(tx, ty, 1))
            let e = (x: c.x + dx * t, y: c.y + dy * t)
            if t < 1 {
                s.line(x1: e.x - dx / len * 26, y1: e.y - dy / len * 26, x2: e.x, y2: e.y, style: .init(stroke: "#14213d", strokeWidth: 2))
                s.circle(cx: e.x, cy: e.y, r: 4, style: .init(fill: "#14213d"))
                let left = e.x < p.width / 2, upper = e.y < p.height / 2
                s.text("to \(hub.name)", x: e.x + (left ? 8 : -8), y: e.y + (upper ? 18 : -10), size: 11, anchor: left ? .start : .end,
                       fill: "#14213d", halo: "#ffffff")
            } else {
                s.circle(cx: h.x, cy: h.y, r: 7, style: .init(fill: "#14213d"), tooltip: hub.name)
            }
        }
        s.text(geo.name, x: 10, y: p.height + 16, size: 13, bold: true)
        s.text("\(k.planned) stops · \(k.vansUsed) vans · \(f(k.km, 0)) km · \(f(k.kmPerParcel, 2)) km/parcel · on time \(pct(k.onTimeRate))",
               x: 10, y: p.height + 32, size: 11, fill: "#5b6475")
        return s.render()
    }
}
