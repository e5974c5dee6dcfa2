import Base
import DispatchPlanning
import Fleet
import Foundation
import Geo

/// The numbers the day is judged by (definitions in Docs/SIMULATION.md). Pure: computed from the
/// ground truth and the system's answers of one run.
public struct DayKPIs: Sendable, Equatable {
    public struct ProductKPIs: Sendable, Equatable {
        public var placed = 0
        public var accepted = 0
        /// Accepted and not cancelled: what the promise is judged on.
        public var eligible = 0
        /// Delivery: first door attempt inside the promise window. BOPIS: packed by the promised time.
        public var onTime = 0
        /// Delivery: delivered inside the window. BOPIS: handed over (of those who came).
        public var attained = 0
        /// BOPIS: eligible minus customers who never came.
        public var attainmentBase = 0
        public var onTimeRate: Double { eligible > 0 ? Double(onTime) / Double(eligible) : 1 }
        public var attainment: Double { attainmentBase > 0 ? Double(attained) / Double(attainmentBase) : 1 }
        public var latenessP95Minutes: Double = 0
    }

    /// Good orders the customers placed (bad input excluded).
    public var orders = 0
    /// Everything submitted, bad input included.
    public var submitted = 0
    public var accepted = 0
    public var rejected = 0
    /// Deliberately bad orders and commands refused, with the system's message (names the item).
    public var badInputErrors: [String] = []
    /// Bad input the system accepted (should be empty).
    public var badInputAccepted: [String] = []
    public var delivered = 0
    /// Accepted orders that ended failed or returned (not delivered).
    public var failed = 0
    public var returned = 0
    public var cancelled = 0
    public var pickedUp = 0
    public var noShow = 0
    /// BOPIS customers whose first (wrong) code the counter refused.
    public var wrongCodesRefused = 0
    /// Customer cancellations the system refused (e.g. already out for delivery).
    public var cancelsRefused = 0
    /// Accepted orders in none of the end states when the day closed.
    public var unfinished = 0
    public var unfinishedSample: [String] = []
    public var lost = 0
    /// The first lost orders (ids), to look up.
    public var lostSample: [String] = []
    public var products: [Product: ProductKPIs] = [:]
    public var latenessP95Minutes = 0.0
    public var km = 0.0
    public var deliveredParcels = 0
    public var gramsCO2e = 0.0
    public var utilisation = 0.0
    public var couriersWorked = 0
    public var utilisationByFleet: [(String, Double)] = []
    public var ordersPerSecond = 0.0
    public var eventsPerSecond = 0.0
    public var latencyP50Ms = 0.0
    public var latencyP99Ms = 0.0
    public var notifications = 0
    public var notificationsByKind: [NotificationKind: Int] = [:]
    public var wallSeconds = 0.0
    public var calls = 0
    public var transportErrors = 0
    public var anomalies = 0
    /// Handheld reports replayed after an offline spell, and replays answered `duplicate` (nil: no handhelds, in process).
    public var reportsReplayed: Int?
    public var duplicatesSuppressed: Int?
    /// Scheduled orders whose slot was full at checkout and that took the next free slot offered.
    public var slotsRebooked = 0
    /// On time per product and local hour of the (first) attempt: (on time, judged).
    public var onTimeByHour: [Product: [Int: (Int, Int)]] = [:]

    public var kmPerParcel: Double { deliveredParcels > 0 ? km / Double(deliveredParcels) : 0 }
    public var gramsPerParcel: Double { deliveredParcels > 0 ? gramsCO2e / Double(deliveredParcels) : 0 }
    public func onTime(_ p: Product) -> Double { products[p]?.onTimeRate ?? 1 }

    public static func == (a: DayKPIs, b: DayKPIs) -> Bool { a.json.rendered() == b.json.rendered() }

    public init(_ d: DayOutcome, scenario: DayScenario, setup: WorldSetup) {
        let off = scenario.offset
        var lateness: [Double] = []
        var latePer: [Product: [Double]] = [:]
        var latencies: [Double] = []
        for o in d.orders {
            submitted += 1
            if o.bad != nil {
                if o.accepted { badInputAccepted.append(o.id.rawValue) } else { badInputErrors.append(o.rejection ?? "\(o.id): no answer") }
                continue
            }
            orders += 1
            var pk = products[o.product] ?? ProductKPIs()
            pk.placed += 1
            defer { products[o.product] = pk }
            guard o.accepted else { rejected += 1; continue }
            if o.wrongCodeAnswered { wrongCodesRefused += 1 }
            if o.cancelRefused != nil { cancelsRefused += 1 }
            accepted += 1
            pk.accepted += 1
            if [.sameDay, .quick, .scheduled].contains(o.product) { latencies.append(Double(o.placeNanos) / 1e6) }
            let rec = d.records[o.id]
            if o.cancelledAt != nil || rec?.state == .cancelled { cancelled += 1; continue }
            pk.eligible += 1
            if o.deliveredAt != nil { delivered += 1; deliveredParcels += o.parcels }
            else if o.handedOverAt != nil { pickedUp += 1 }
            else if o.noShow || rec?.state == .noShow { noShow += 1 }
            else if o.failedAt != nil || rec?.state == .failed || rec?.state == .returned {
                failed += 1
                if o.returned || rec?.state == .returned { returned += 1 }
            } else {
                unfinished += 1
                if unfinishedSample.count < 10 { unfinishedSample.append("\(o.id) (\(rec?.state.rawValue ?? "no record"))") }
            }
            guard let w = o.promise else { continue }
            if o.product == .bopis {
                let ready = o.packedAt
                if let r = ready, r <= w.latest { pk.onTime += 1 }
                if !o.noShow { pk.attainmentBase += 1; if o.handedOverAt != nil { pk.attained += 1 } }
                let late = Double(max(0, (ready ?? scenario.end) - w.latest)) / 60
                lateness.append(late); latePer[o.product, default: []].append(late)
            } else {
                pk.attainmentBase += 1
                if let t = o.firstAttemptAt {
                    let ok = Self.onTime(t, o.product, w)
                    if ok { pk.onTime += 1 }
                    let h = t.localHour(off)
                    var byHour = onTimeByHour[o.product] ?? [:]
                    let cur = byHour[h] ?? (0, 0)
                    byHour[h] = (cur.0 + (ok ? 1 : 0), cur.1 + 1)
                    onTimeByHour[o.product] = byHour
                }
                if let t = o.deliveredAt, Self.onTime(t, o.product, w) { pk.attained += 1 }
                let late = Double(max(0, (o.firstAttemptAt ?? scenario.end) - w.latest)) / 60
                lateness.append(late); latePer[o.product, default: []].append(late)
            }
        }
        for (p, xs) in latePer { products[p]?.latenessP95Minutes = Self.percentile(xs, 0.95) }
        latenessP95Minutes = Self.percentile(lateness, 0.95)
        lost = d.lost.count
        lostSample = Array(d.lost.prefix(20))
        var metres: Int64 = 0
        var busy: Int64 = 0, shift: Int64 = 0
        var fleets: [String: (Int64, Int64)] = [:]
        for c in d.couriers {
            metres += c.metres
            gramsCO2e += setup.emissions.grams(c.kind, metres: c.metres)
            guard c.metres > 0 || c.stopsServed > 0 else { continue }
            couriersWorked += 1
            let s = max(1, c.shiftEnd - c.shiftStart)
            busy += c.busySeconds; shift += s
            let local = c.shiftStart.secondsOfLocalDay(off)
            let key = "\(c.kind.rawValue) \(String(format: "%02lld:%02lld", local / 3600, (local % 3600) / 60))"
            let cur = fleets[key] ?? (0, 0)
            fleets[key] = (cur.0 + c.busySeconds, cur.1 + s)
        }
        km = Double(metres) / 1000
        utilisation = shift > 0 ? Double(busy) / Double(shift) : 0
        utilisationByFleet = fleets.keys.sorted().map { ($0, Double(fleets[$0]!.0) / Double(max(1, fleets[$0]!.1))) }
        latencyP50Ms = Self.percentile(latencies, 0.50)
        latencyP99Ms = Self.percentile(latencies, 0.99)
        notificationsByKind = d.notifications
        notifications = d.notifications.values.reduce(0, +)
        wallSeconds = d.wallSeconds
        calls = d.calls
        transportErrors = d.transportErrors
        anomalies = d.anomalies
        reportsReplayed = d.replay?.replayed
        duplicatesSuppressed = d.replay?.duplicates
        slotsRebooked = d.orders.filter(\.slotRebooked).count
        ordersPerSecond = d.wallSeconds > 0 ? Double(submitted) / d.wallSeconds : 0
        eventsPerSecond = d.wallSeconds > 0 ? Double(d.calls) / d.wallSeconds : 0
        // A dispatcher command naming an unknown order is bad input too.
        for n in d.notes where n.text.contains("no-such-order") && n.text.contains("refused") { badInputErrors.append(n.text) }
    }

    /// Inside the promise: no later than its end, and for the products with a window the customer
    /// waits in (dawn, same-day, scheduled) no earlier than its start. Quick promises "within
    /// 30–60 minutes": an early rider is on time.
    public static func onTime(_ t: Instant, _ p: Product, _ w: PromiseWindow) -> Bool {
        p == .quick ? t <= w.latest : w.contains(t)
    }

    /// Nearest-rank percentile (`p` in 0…1) of `xs`; 0 when empty.
    public static func percentile(_ xs: [Double], _ p: Double) -> Double {
        guard !xs.isEmpty else { return 0 }
        let s = xs.sorted()
        let rank = Int((p * Double(s.count)).rounded(.up))
        return s[min(s.count - 1, max(0, rank - 1))]
    }

    static func r(_ x: Double, _ places: Int) -> Double {
        var f = 1.0
        for _ in 0..<places { f *= 10 }
        return (x * f).rounded() / f
    }

    static func key(_ p: Product) -> String {
        switch p { case .dawn: "dawn"; case .sameDay: "same_day"; case .quick: "quick"; case .scheduled: "scheduled"; case .bopis: "bopis" }
    }

    public var onTimeJSON: JSONValue { .object(Product.allCases.map { (Self.key($0), .double(Self.r(onTime($0), 4))) }) }

    /// The KPIs of one run as a JSON object.
    public var json: JSONValue {
        .object([
            ("orders", .int(orders)), ("submitted", .int(submitted)), ("accepted", .int(accepted)), ("rejected", .int(rejected)),
            ("rejected_bad_input", .int(badInputErrors.count)), ("bad_input_accepted", .int(badInputAccepted.count)),
            ("delivered", .int(delivered)), ("failed", .int(failed)), ("returned", .int(returned)), ("cancelled", .int(cancelled)),
            ("picked_up", .int(pickedUp)), ("no_show", .int(noShow)), ("bopis_wrong_codes_refused", .int(wrongCodesRefused)),
            ("cancels_refused", .int(cancelsRefused)), ("unfinished", .int(unfinished)), ("lost", .int(lost)),
            ("lost_orders", .array(lostSample.map { .string($0) })), ("unfinished_orders", .array(unfinishedSample.map { .string($0) })),
            ("on_time", onTimeJSON),
            ("promise_attainment", .object(Product.allCases.map { (Self.key($0), .double(Self.r(products[$0]?.attainment ?? 1, 4))) })),
            ("lateness_p95_min", .double(Self.r(latenessP95Minutes, 1))),
            ("km", .double(Self.r(km, 1))), ("delivered_parcels", .int(deliveredParcels)),
            ("km_per_parcel", .double(Self.r(kmPerParcel, 3))), ("co2e_g_per_parcel", .double(Self.r(gramsPerParcel, 1))),
            ("utilisation", .double(Self.r(utilisation, 3))), ("couriers_worked", .int(couriersWorked)),
            ("orders_per_s", .double(Self.r(ordersPerSecond, 1))), ("events_per_s", .double(Self.r(eventsPerSecond, 1))),
            ("dispatch_latency_ms", .object([("p50", .double(Self.r(latencyP50Ms, 3))), ("p99", .double(Self.r(latencyP99Ms, 3)))])),
            ("notifications", .int(notifications)),
            ("notifications_by_kind", .object(NotificationKind.allCases.map { ($0.rawValue, .int(notificationsByKind[$0] ?? 0)) })),
            ("wall_seconds", .double(Self.r(wallSeconds, 2))), ("gateway_calls", .int(calls)),
            ("transport_errors", .int(transportErrors)), ("anomalies", .int(anomalies)),
            ("reports_replayed", reportsReplayed.map { .int($0) } ?? .null),
            ("duplicates_suppressed", duplicatesSuppressed.map { .int($0) } ?? .null),
            ("slots_rebooked", .int(slotsRebooked)),
        ])
    }
}

extension SimulationResult {
    /// The `--json` line: the optimised run's KPIs at the top level plus `baseline`.
    public var json: JSONValue {
        guard case .object(var fields) = optimisedKPIs.json else { return .null }
        let b = baselineKPIs
        fields.insert(("seed", .int(Int(truncatingIfNeeded: scenario.seed))), at: 0)
        fields.insert(("service_day", .string(SimulationReport.dateString(scenario.serviceDay))), at: 1)
        fields.append(("km_per_parcel_vs_baseline", .double(b.kmPerParcel > 0 ? DayKPIs.r(1 - optimisedKPIs.kmPerParcel / b.kmPerParcel, 4) : 0)))
        fields.append(("killed_node", optimised.killedNode.map { .string($0) } ?? .null))
        fields.append(("hub", hub?.json ?? .null))
        fields.append(("baseline", .object([
            ("on_time", b.onTimeJSON), ("km_per_parcel", .double(DayKPIs.r(b.kmPerParcel, 3))),
            ("co2e_g_per_parcel", .double(DayKPIs.r(b.gramsPerParcel, 1))), ("accepted", .int(b.accepted)),
            ("rejected", .int(b.rejected)), ("delivered", .int(b.delivered)),
            ("failed", .int(b.failed)), ("unfinished", .int(b.unfinished)), ("lost", .int(b.lost)),
            ("utilisation", .double(DayKPIs.r(b.utilisation, 3))),
            ("dispatch_latency_ms", .object([("p50", .double(DayKPIs.r(b.latencyP50Ms, 3))), ("p99", .double(DayKPIs.r(b.latencyP99Ms, 3)))])),
            ("km", .double(DayKPIs.r(b.km, 1))), ("wall_seconds", .double(DayKPIs.r(b.wallSeconds, 2))),
        ])))
        return .object(fields)
    }

    /// A table for people (stdout without --json).
    public var table: String {
        let a = optimisedKPIs, b = baselineKPIs
        func pct(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }
        func f(_ x: Double, _ d: Int) -> String { String(format: "%.\(d)f", x) }
        var rows: [(String, String, String)] = [
            ("orders (good / submitted)", "\(a.orders) / \(a.submitted)", "\(b.orders) / \(b.submitted)"),
            ("accepted / rejected", "\(a.accepted) / \(a.rejected)", "\(b.accepted) / \(b.rejected)"),
            ("bad input refused", "\(a.badInputErrors.count)", "\(b.badInputErrors.count)"),
            ("delivered", "\(a.delivered)", "\(b.delivered)"),
            ("failed (returned)", "\(a.failed) (\(a.returned))", "\(b.failed) (\(b.returned))"),
            ("cancelled", "\(a.cancelled)", "\(b.cancelled)"),
            ("BOPIS picked up / no-show", "\(a.pickedUp) / \(a.noShow)", "\(b.pickedUp) / \(b.noShow)"),
            ("unfinished", "\(a.unfinished)", "\(b.unfinished)"),
            ("lost", "\(a.lost)", "\(b.lost)"),
        ]
        for p in Product.allCases {
            rows.append(("on time \(DayKPIs.key(p)) (attainment)", "\(pct(a.onTime(p))) (\(pct(a.products[p]?.attainment ?? 1)))",
                         "\(pct(b.onTime(p))) (\(pct(b.products[p]?.attainment ?? 1)))"))
        }
        rows += [
            ("lateness p95", f(a.latenessP95Minutes, 1) + " min", f(b.latenessP95Minutes, 1) + " min"),
            ("km / parcel", f(a.kmPerParcel, 3), f(b.kmPerParcel, 3)),
            ("g CO2e / parcel", f(a.gramsPerParcel, 1), f(b.gramsPerParcel, 1)),
            ("utilisation", pct(a.utilisation), pct(b.utilisation)),
            ("dispatch latency p50 / p99", f(a.latencyP50Ms, 2) + " / " + f(a.latencyP99Ms, 2) + " ms", f(b.latencyP50Ms, 2) + " / " + f(b.latencyP99Ms, 2) + " ms"),
            ("orders/s · events/s", f(a.ordersPerSecond, 0) + " · " + f(a.eventsPerSecond, 0), f(b.ordersPerSecond, 0) + " · " + f(b.eventsPerSecond, 0)),
            ("notifications", "\(a.notifications)", "\(b.notifications)"),
            ("reports replayed", a.reportsReplayed.map { "\($0)" } ?? "—", b.reportsReplayed.map { "\($0)" } ?? "—"),
            ("duplicates suppressed", a.duplicatesSuppressed.map { "\($0)" } ?? "—", b.duplicatesSuppressed.map { "\($0)" } ?? "—"),
            ("scheduled slots full → next taken", "\(a.slotsRebooked)", "\(b.slotsRebooked)"),
            ("wall time", f(a.wallSeconds, 1) + " s", f(b.wallSeconds, 1) + " s"),
        ]
        let w0 = (rows.map(\.0.count) + (hub?.rows ?? []).map(\.0.count)).max()!, w1 = max(10, rows.map(\.1.count).max()!)
        func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
        var out = "optimised: \(optimised.backend)" + (optimised.killedNode.map { "; node \($0) killed mid-day" } ?? "") + "\n"
        out += "baseline:  \(baseline.backend)\n\n"
        out += pad("", w0) + "  " + pad("optimised", w1) + "  baseline\n"
        for r in rows { out += pad(r.0, w0) + "  " + pad(r.1, w1) + "  " + r.2 + "\n" }
        for r in hub?.rows ?? [] { out += pad(r.0, w0) + "  " + r.1 + "\n" }
        return out
    }
}
