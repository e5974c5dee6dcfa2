import Base
import DispatchPlanning
import Fleet
import Foundation
import Geo

/// How `ctl dispatch orders` and `ctl dispatch manifest` print: tables for people (times as
/// `MM-dd HH:mm` at the chosen UTC offset, named in the header), JSON for scripts (times as
/// ISO-8601 with that offset). Pure.
enum CtlDispatchFormat {
    static func ref(_ c: CourierRef) -> String { "\(c.kind.rawValue):\(c.id)" }

    /// The civil date and time of `t` at `offset`.
    static func civil(_ t: Instant, _ offset: UTCOffset) -> (year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64) {
        let local = t.epochSeconds + offset.seconds
        let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let sod = local - days * 86_400
        let c = CivilDate.civil(days: days)
        return (c.year, c.month, c.day, sod / 3600, sod % 3600 / 60, sod % 60)
    }

    static func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }

    static func offsetText(_ o: UTCOffset) -> String {
        let a = abs(o.seconds)
        return (o.seconds < 0 ? "-" : "+") + two(a / 3600) + ":" + two(a % 3600 / 60)
    }

    /// `MM-dd HH:mm`.
    static func short(_ t: Instant, _ o: UTCOffset) -> String {
        let c = civil(t, o)
        return "\(two(c.month))-\(two(c.day)) \(two(c.hour)):\(two(c.minute))"
    }

    /// ISO-8601 with the offset, e.g. `2024-03-04T10:00:00+09:00`.
    static func iso(_ t: Instant, _ o: UTCOffset) -> String {
        let c = civil(t, o)
        return "\(c.year)-\(two(c.month))-\(two(c.day))T\(two(c.hour)):\(two(c.minute)):\(two(c.second))" + offsetText(o)
    }

    static func window(_ w: PromiseWindow, _ o: UTCOffset) -> String {
        let a = short(w.earliest, o), b = short(w.latest, o)
        return a + "–" + (a.prefix(5) == b.prefix(5) ? String(b.dropFirst(6)) : b)
    }

    static func table(_ rows: [[String]]) -> String {
        var widths: [Int] = []
        for r in rows { for (i, c) in r.enumerated() { if i >= widths.count { widths.append(c.count) } else { widths[i] = max(widths[i], c.count) } } }
        return rows.map { r in
            r.enumerated().map { i, c in i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count) }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    // MARK: - orders

    static func ordersTable(_ records: [OrderRecord], region: String, offset: UTCOffset) -> String {
        var rows = [["ORDER", "PRODUCT", "STATE", "COURIER", "PROMISE (\(offsetText(offset)))"]]
        for r in records {
            rows.append([r.order.rawValue, r.product.rawValue, r.state.rawValue, r.courier.map(ref) ?? "-",
                         window(r.promise, offset) + (r.promise.rolledOver ? " (rolled over)" : "")])
        }
        return table(rows) + "\(records.count) order\(records.count == 1 ? "" : "s") in \(region)\n"
    }

    static func promiseJSON(_ w: PromiseWindow, _ o: UTCOffset) -> JSONValue {
        var fields: [(String, JSONValue)] = [("earliest", .string(iso(w.earliest, o))), ("latest", .string(iso(w.latest, o))),
                                             ("rolled_over", .bool(w.rolledOver))]
        if let h = w.holdUntil { fields.append(("hold_until", .string(iso(h, o)))) }
        return .object(fields)
    }

    static func ordersJSONLines(_ records: [OrderRecord], offset: UTCOffset) -> String {
        records.map { r in
            JSONValue.object([("order", .string(r.order.rawValue)), ("region", .string(r.region.rawValue)), ("product", .string(r.product.rawValue)),
                              ("state", .string(r.state.rawValue)), ("courier", r.courier.map { .string(ref($0)) } ?? .null),
                              ("promise", promiseJSON(r.promise, offset))]).rendered() + "\n"
        }.joined()
    }

    // MARK: - manifest

    static func place(_ s: ManifestStop) -> String {
        if let from = s.fromCourier { return "from \(ref(from))" }
        if let site = s.site { return "site \(site)" }
        return String(format: "%.5f,%.5f", s.location.lat, s.location.lon)
    }

    static func manifestTable(_ m: Manifest, region: String, offset: UTCOffset) -> String {
        var out = "\(region): \(ref(m.courier))  status \(m.status.rawValue)  version \(m.version)  on board: "
            + (m.onBoard.isEmpty ? "-" : m.onBoard.map(\.rawValue).joined(separator: ",")) + "\n"
        guard !m.stops.isEmpty else { return out + "no stops\n" }
        var rows = [["#", "KIND", "ORDERS", "AT", "ETA (\(offsetText(offset)))", "NOT BEFORE", "WINDOW"]]
        for (i, s) in m.stops.enumerated() {
            rows.append([String(i + 1), s.kind.rawValue, s.orders.map(\.rawValue).joined(separator: ","), place(s), short(s.eta, offset),
                         s.notBefore.map { short($0, offset) } ?? "-", s.window.map { window($0, offset) } ?? "-"])
        }
        out += table(rows)
        return out
    }

    static func manifestJSON(_ m: Manifest, region: String, offset: UTCOffset) -> JSONValue {
        let stops: [JSONValue] = m.stops.map { s in
            var f: [(String, JSONValue)] = [("kind", .string(s.kind.rawValue)), ("orders", .array(s.orders.map { .string($0.rawValue) })),
                                            ("lat", .double(s.location.lat)), ("lon", .double(s.location.lon)),
                                            ("eta", .string(iso(s.eta, offset)))]
            if let site = s.site { f.append(("site", .string(site.rawValue))) }
            if let from = s.fromCourier { f.append(("from_courier", .string(ref(from)))) }
            if let nb = s.notBefore { f.append(("not_before", .string(iso(nb, offset)))) }
            if let w = s.window { f.append(("window", promiseJSON(w, offset))) }
            return .object(f)
        }
        return .object([("region", .string(region)), ("courier", .string(ref(m.courier))), ("version", .int(m.version)),
                        ("status", .string(m.status.rawValue)), ("on_board", .array(m.onBoard.map { .string($0.rawValue) })),
                        ("stops", .array(stops))])
    }
}
