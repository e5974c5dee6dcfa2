import Base
import DaybreakNode
import Foundation
import Geo
import Storage

// `daybreak ctl audit --order ID | --principal USER`: who did what to an order, when and from
// where, from the gateways' audit (`edge_audit`), oldest first. The gateways never write addresses
// or full tracking tokens there; this command prints the columns as they are.
let ctlAuditCommand = Command(
    name: "audit",
    summary: "An order's (or a principal's) history at the edge: when, who, device, gateway, peer, what, outcome.",
    usage: """
        --order ID | --principal USER [--order ID --principal USER] [--limit N] [--json] [--data DIR | --database CONNINFO] [--schema NAME]

        Times are local at the deployment's UTC offset (cluster_clock). WHEN is the event's own time (the
        report's or command's `at`, on the deployment's clock) when it has one, else when the gateway recorded it.
        exit status: 0 printed (also when there is nothing); 64 bad command line; 66 --data without a deployment;
        69 database unreachable
        """,
    options: principalDatabaseOptions + [
        .value("order", "ID", "the order whose history to print"),
        .value("principal", "USER", "only what this principal (user id) did"),
        .value("limit", "N", "at most the N most recent entries, still printed oldest first (default 1000)"),
        .flag("json", "one JSON object per line"),
    ]
) { args in
    try await reportingFailures("ctl audit") {
        let order = try args.string("order").map { s throws(UsageError) in try CtlDispatchInvocation.name(s, "--order") }
        let principal = try args.string("principal").map { s throws(UsageError) in try checkIdentifier(s, "--principal", maxBytes: 200) }
        guard order != nil || principal != nil else { throw UsageError("give --order ID (or --principal USER)") }
        let limit = try args.int("limit", default: 1_000, range: 1 ... 1_000_000)
        let config = try databaseConfiguration(args)
        let (rows, offset) = try await withPrincipalsConnection(config) { conn in
            let rows = try await conn.query(CtlAudit.select, [order, principal, Int64(limit)], purpose: "read the audit")
            let offset = try await conn.query("SELECT utc_offset_seconds::bigint FROM cluster_clock", purpose: "read the offset")
                .first.map { try $0.decode(0, as: Int64.self) }
            return (rows, offset)
        }
        let o = UTCOffset(seconds: offset ?? Int64(TimeZone.current.secondsFromGMT()))
        var entries: [CtlAudit.Entry] = []
        for r in rows {
            entries.append(CtlAudit.Entry(id: try r.decode(0, as: Int64.self), recordedUs: try r.decode(1, as: Int64.self),
                                          eventAt: try r.decode(2, as: Int64?.self), principal: try r.decode(3, as: String.self),
                                          role: try r.decode(4, as: String.self), device: try r.decode(5, as: String?.self),
                                          gateway: try r.decode(6, as: String.self), peer: try r.decode(7, as: String?.self),
                                          kind: try r.decode(8, as: String.self), order: try r.decode(9, as: String?.self),
                                          region: try r.decode(10, as: String?.self), detail: try r.decode(11, as: String.self),
                                          outcome: try r.decode(12, as: String.self)))
        }
        entries.reverse()
        let subject = [order.map { "order \($0)" }, principal.map { "principal \($0)" }].compactMap { $0 }.joined(separator: ", ")
        print(args.flag("json") ? CtlAudit.jsonLines(entries, offset: o) : CtlAudit.table(entries, subject: subject, offset: o), terminator: "")
        return ExitStatus.ok
    }
}

enum CtlAudit {
    /// $1 order (or NULL), $2 principal (or NULL), $3 limit: newest first (the caller reverses).
    static let select = """
        SELECT id, daybreak_us(at), event_at, principal, role, device, gateway, peer, kind, order_id, region, detail, outcome
        FROM edge_audit
        WHERE ($1::text IS NULL OR order_id = $1) AND ($2::text IS NULL OR principal = $2)
        ORDER BY id DESC LIMIT $3
        """

    struct Entry: Sendable {
        var id: Int64
        var recordedUs: Int64
        var eventAt: Int64?
        var principal: String
        var role: String
        var device: String?
        var gateway: String
        var peer: String?
        var kind: String
        var order: String?
        var region: String?
        var detail: String
        var outcome: String

        var recorded: Instant { Instant(epochSeconds: recordedUs / 1_000_000) }
        var when: Instant { eventAt.map { Instant(epochSeconds: $0) } ?? recorded }
    }

    static func table(_ entries: [Entry], subject: String, offset: UTCOffset) -> String {
        var rows = [["WHEN (\(CtlDispatchFormat.offsetText(offset)))", "PRINCIPAL", "ROLE", "DEVICE", "GATEWAY", "PEER", "WHAT", "ORDER", "OUTCOME", "DETAIL"]]
        for e in entries {
            let c = CtlDispatchFormat.civil(e.when, offset)
            let when = "\(c.year)-" + CtlDispatchFormat.two(c.month) + "-" + CtlDispatchFormat.two(c.day) + " "
                + CtlDispatchFormat.two(c.hour) + ":" + CtlDispatchFormat.two(c.minute) + ":" + CtlDispatchFormat.two(c.second)
            rows.append([when, e.principal, e.role, e.device ?? "-", e.gateway, e.peer ?? "-", e.kind, e.order ?? "-", e.outcome,
                         e.detail.isEmpty ? "-" : e.detail])
        }
        return CtlDispatchFormat.table(rows) + "\(entries.count) entr\(entries.count == 1 ? "y" : "ies") for \(subject)\n"
    }

    static func jsonLines(_ entries: [Entry], offset: UTCOffset) -> String {
        entries.map { e in
            func opt(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
            return JSONValue.object([
                ("id", .int(Int(e.id))), ("when", .string(CtlDispatchFormat.iso(e.when, offset))),
                ("recorded_at", .string(CtlDispatchFormat.iso(e.recorded, offset))),
                ("event_at", e.eventAt.map { .string(CtlDispatchFormat.iso(Instant(epochSeconds: $0), offset)) } ?? .null),
                ("principal", .string(e.principal)), ("role", .string(e.role)), ("device", opt(e.device)), ("gateway", .string(e.gateway)),
                ("peer", opt(e.peer)), ("kind", .string(e.kind)), ("order", opt(e.order)), ("region", opt(e.region)),
                ("outcome", .string(e.outcome)), ("detail", .string(e.detail)),
            ]).rendered() + "\n"
        }.joined()
    }
}
