import Base
import Cluster
import Edge
import Storage
import Synchronization

/// One line of the audit: who (principal, role, device), what (kind, order, region, detail,
/// outcome), when (`at` by the database; `event_at` the client's event time), from where (gateway,
/// peer address). Never a customer's address or a full token.
struct AuditEntry: Sendable {
    var principal: String
    var role: String
    var device: String?
    var peer: String?
    var kind: String
    var order: String?
    var region: String?
    var detail: String
    var outcome: String
    var eventAt: Int64?

    init(_ c: RequestContext, kind: String, device: String? = nil, order: String? = nil, region: String? = nil,
         outcome: String, detail: String = "", eventAt: Int64? = nil) {
        principal = c.principal.userID; role = c.principal.role.rawValue; self.device = device; peer = c.peer
        self.kind = kind; self.order = order; self.region = region; self.detail = String(detail.prefix(500))
        self.outcome = outcome; self.eventAt = eventAt
    }

    var json: JSONValue {
        .object([("principal", .string(principal)), ("role", .string(role)), ("device", device.map(JSONValue.string) ?? .null),
                 ("peer", peer.map(JSONValue.string) ?? .null), ("kind", .string(kind)), ("order_id", order.map(JSONValue.string) ?? .null),
                 ("region", region.map(JSONValue.string) ?? .null), ("detail", .string(detail)), ("outcome", .string(outcome)),
                 ("event_at", eventAt.map { .int(Int($0)) } ?? .null)])
    }
}

/// The gateway's audit journal (`edge_audit`), with group commit: a request's entry is durable
/// before its reply goes out, and entries of concurrent requests share one INSERT. No background
/// task: the first caller to find no write in progress writes everything queued (its own and
/// others'), again until the queue is empty; the others wait for their entry's batch.
final class AuditLog: Sendable {
    struct State {
        var queue: [(AuditEntry, UnsafeContinuation<Bool, Never>)] = []
        var writing = false
    }
    let pool: PostgresPool
    let gateway: String
    let logger: Logger
    let state = Mutex(State())
    let failures = Atomic<Int>(0)
    let batches = Atomic<Int>(0)
    static let maxBatch = 1_000

    init(pool: PostgresPool, gateway: String, logger: Logger) { self.pool = pool; self.gateway = gateway; self.logger = logger }

    /// Returns once `entry` is written (or its write failed: logged and counted, never blocking the request).
    func record(_ entry: AuditEntry) async {
        // Either become the writer (resumed at once with true) or wait until the writer wrote it (false).
        let writer: Bool = await withUnsafeContinuation { (k: UnsafeContinuation<Bool, Never>) in
            let lead = state.withLock { s -> Bool in
                if s.writing { s.queue.append((entry, k)); return false }
                s.writing = true
                return true
            }
            if lead { k.resume(returning: true) }
        }
        guard writer else { return }
        var batch: [AuditEntry] = [entry]
        var waiters: [UnsafeContinuation<Bool, Never>] = []
        while true {
            await write(batch)
            for w in waiters { w.resume(returning: false) }
            let next = state.withLock { s -> [(AuditEntry, UnsafeContinuation<Bool, Never>)] in
                let n = Array(s.queue.prefix(Self.maxBatch))
                s.queue.removeFirst(n.count)
                if n.isEmpty { s.writing = false }
                return n
            }
            if next.isEmpty { return }
            batch = next.map(\.0)
            waiters = next.map(\.1)
        }
    }

    func write(_ batch: [AuditEntry]) async {
        let json = JSONValue.array(batch.map(\.json)).rendered()
        let pool = self.pool, gateway = self.gateway
        do {
            _ = try await withDeadline(.seconds(5), "write the audit") {
                try await pool.execute("""
                    INSERT INTO edge_audit (principal, role, device, gateway, peer, kind, order_id, region, detail, outcome, event_at)
                    SELECT principal, role, device, $2, peer, kind, order_id, region, detail, outcome, event_at
                    FROM jsonb_to_recordset($1::jsonb) AS x(principal text, role text, device text, peer text, kind text,
                        order_id text, region text, detail text, outcome text, event_at bigint)
                    """, [json, gateway], purpose: "write the audit")
            }
            batches.add(1, ordering: .relaxed)
        } catch {
            failures.add(batch.count, ordering: .relaxed)
            logger.error("audit write failed", ["entries": "\(batch.count)", "error": "\(error)"])
        }
    }
}
