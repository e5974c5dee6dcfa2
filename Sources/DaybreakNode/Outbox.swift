import Cluster
import Storage

/// A message to publish once its event is durable: written to `outbox` in the event's transaction.
/// `dedupKey` makes (order, kind, dedupKey) unique: a second row for the same notification is
/// dropped by the database (`ON CONFLICT DO NOTHING`), whichever actor activation writes it.
public struct OutboxRow: Sendable, Hashable, Codable {
    /// Topic to publish on (e.g. `notify.gangnam`).
    public var topic: String
    public var order: String
    public var kind: String
    public var dedupKey: String
    /// The `BinaryEncoder` bytes of the message.
    public var payload: [UInt8]
    public init(topic: String, order: String, kind: String, dedupKey: String, payload: [UInt8]) {
        self.topic = topic; self.order = order; self.kind = kind; self.dedupKey = dedupKey; self.payload = payload
    }
}

/// What the publisher puts on the event stream: the outbox id (consumers dedupe on it: delivery to
/// the bus is at-least-once, see `OutboxPublisher`) and the message bytes.
public struct OutboxEnvelope: Sendable, Hashable, Codable {
    public var id: Int64
    public var order: String
    public var kind: String
    public var payload: [UInt8]
}

/// Drains the outbox onto the cluster event stream. One drain: in a transaction, lock the oldest
/// unsent rows (`FOR UPDATE SKIP LOCKED`, so two publishers never take the same row), publish each,
/// mark it sent, commit. A failure anywhere before the commit leaves every row of the batch unsent
/// (rolled back) for the next drain. Delivery to the bus is therefore at-least-once (a publish that
/// went out before a failed commit goes out again); each row is *marked* sent exactly once, and
/// consumers dedupe on `OutboxEnvelope.id`.
public struct OutboxPublisher: Sendable {
    public let pool: PostgresPool
    public let batch: Int64
    public let timeout: Duration
    public init(pool: PostgresPool, batch: Int64 = 100, timeout: Duration = .seconds(2)) {
        self.pool = pool; self.batch = batch; self.timeout = timeout
    }

    /// One drain; `publish` is e.g. `{ try system.publish(topic: $0, event: $1) }`. Returns how many
    /// rows were published and marked sent.
    @discardableResult
    public func drainOnce(_ publish: @escaping @Sendable (_ topic: String, _ envelope: OutboxEnvelope) throws -> Void) async throws -> Int {
        let pool = self.pool, batch = self.batch
        return try await withDeadline(timeout, "drain outbox") {
            try await pool.withTransaction(purpose: "drain outbox") { tx in
                let rows = try await tx.query(DomainSchema.claimUnsent, [batch], purpose: "claim outbox rows")
                var n = 0
                for r in rows {
                    let env = OutboxEnvelope(id: try r.decode(0, as: Int64.self), order: try r.decode(2, as: String.self),
                                             kind: try r.decode(3, as: String.self), payload: try r.decode(4, as: [UInt8].self))
                    try publish(try r.decode(1, as: String.self), env)
                    try await tx.execute(DomainSchema.markSent, [env.id], purpose: "mark outbox row sent")
                    n += 1
                }
                return n
            }
        }
    }

    /// Drains every `interval` until the task is cancelled (run it in a task group its owner awaits).
    /// A failed drain is retried at the next tick.
    public func run(every interval: Duration, _ publish: @escaping @Sendable (String, OutboxEnvelope) throws -> Void,
                    onError: @Sendable (any Error) -> Void = { _ in }) async {
        while !Task.isCancelled {
            do {
                while try await drainOnce(publish) == batch {}
            } catch {
                if Task.isCancelled { return }
                onError(error)
            }
            try? await Task.sleep(for: interval)
        }
    }
}
