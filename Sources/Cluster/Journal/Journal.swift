import Storage

/// A journal write or read that did not happen, typed: a public struct over a code, like
/// `PostgresError`, so new codes do not break callers.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        /// The database rejected the write: the writer's token is not the region's current one,
        /// or its lease expired. The region is lost: stop serving it.
        public static let fenced = Code(raw: "fenced")
        /// The lease is held but the seq is taken: this activation is behind the journal. Reload it.
        public static let sequenceConflict = Code(raw: "sequenceConflict")
        /// This node no longer serves the region (checked locally before writing).
        public static let notServing = Code(raw: "notServing")
        /// A stored event or snapshot does not decode as the actor's types.
        public static let corrupt = Code(raw: "corrupt")
        public var description: String { raw }
    }
    public var code: Code
    public var actor: ActorIdentity
    public var message: String
    public init(_ code: Code, _ actor: ActorIdentity, _ message: String) {
        self.code = code; self.actor = actor; self.message = message
    }
    public var description: String { "journal \(code) for \(actor): \(message)" }
}

/// One stored event.
public struct JournalEvent: Hashable, Sendable {
    public var seq: Int64
    public var type: String
    public var payload: [UInt8]
    /// `IdempotencyKey.storageText` of the command that produced it.
    public var idempotencyKey: String?
    /// The fencing token of the lease it was written under.
    public var token: FencingToken
}

/// What recovery reads: the newest snapshot (if any) and the events after it, in order.
public struct JournalRecovery: Sendable {
    public var snapshot: (seq: Int64, state: [UInt8])?
    public var events: [JournalEvent]
    /// The seq of the last event included (0 for a new actor).
    public var lastSeq: Int64 { events.last?.seq ?? snapshot?.seq ?? 0 }
}

/// The actor journal in PostgreSQL (`actor_events`, `actor_snapshots`; SQL in `ClusterSchema`).
/// Every write names this node and the writer's fencing token; the database accepts it only while
/// the region's lease row shows both, unexpired. Every statement runs with a deadline.
/// Cost: with group commit (the default) concurrent appends share round trips and commits — one
/// statement per batch of up to `maxBatch` events (`GroupCommitter`); a lone append is one round
/// trip, at once. Without it, and for appends with `alsoInTransaction`, one round trip (or one
/// transaction) per append. Recovery reads the snapshot plus events in batches.
public struct Journal: Sendable {
    public let pool: PostgresPool
    public let node: NodeID
    /// Deadline on each statement.
    public let timeout: Duration
    /// Whether concurrent appends are written together (see `GroupCommitter`).
    public let groupCommit: Bool
    public static let replayBatch: Int64 = 10_000
    /// The default bound on events per group commit.
    public static let defaultMaxBatch = 256
    /// Shared by every copy of this journal: the group-commit queue and the counters.
    let committer: GroupCommitter

    /// - Parameters:
    ///   - groupCommit: write concurrent appends in one statement per batch (default); false = one
    ///     statement per append, as before (benchmark comparison).
    ///   - maxBatch: the most events one batch carries.
    public init(pool: PostgresPool, node: NodeID, timeout: Duration = .seconds(2),
                groupCommit: Bool = true, maxBatch: Int = Journal.defaultMaxBatch) {
        self.pool = pool; self.node = node; self.timeout = timeout
        self.groupCommit = groupCommit
        self.committer = GroupCommitter(maxBatch: maxBatch)
    }

    /// This journal's append counters (shared by its copies).
    public var stats: JournalStats { committer.stats }

    /// The two outcomes an acknowledged command can have.
    public enum Appended: Hashable, Sendable {
        /// Durable at `seq`.
        case appended(seq: Int64)
        /// The idempotency key was already journaled at `seq`: nothing new was written.
        case duplicate(seq: Int64)
    }

    /// Writes that must commit with an appended event or not at all (e.g. a transactional outbox):
    /// run inside the append's transaction, given the event's seq, only when the event was actually
    /// appended (never for a duplicate or a fenced / conflicting write). If it throws, the event is
    /// rolled back with it and the error is rethrown.
    public typealias AlsoInTransaction = @Sendable (_ tx: PostgresTransaction, _ seq: Int64) async throws -> Void

    /// The fenced, idempotent append of event `seq` for `actor`: one statement, or with
    /// `alsoInTransaction` one transaction of the append and those writes.
    /// - Throws: `JournalError` `.fenced` (stale token or expired lease: the database said no) or
    ///   `.sequenceConflict`; `PostgresError` / `DeadlineExceeded` when the database did not answer
    ///   (then whether it landed is unknown: the idempotency key makes a retry safe); whatever
    ///   `alsoInTransaction` threw (then nothing was written).
    public func append(_ actor: ActorIdentity, seq: Int64, type: String, payload: [UInt8],
                       idempotencyKey: String?, token: FencingToken,
                       alsoInTransaction: AlsoInTransaction? = nil) async throws -> Appended {
        let pool = self.pool, node = self.node
        let parameters: [any PostgresEncodable] = [actor.region, actor.kind, actor.key, seq, type, payload, idempotencyKey,
                                                   Int64(token.value), node.rawValue]
        let outcome: ClusterSchema.AppendOutcome
        if alsoInTransaction == nil, groupCommit {
            let request = GroupCommitter.Request(actor: actor, seq: seq, type: type, payload: payload,
                                                 idempotencyKey: idempotencyKey, token: token)
            let timeout = self.timeout
            outcome = try await committer.submit(request, timeout: timeout) { batch in
                await Self.writeBatch(batch, pool: pool, node: node, timeout: timeout)
            }
        } else if let also = alsoInTransaction {
            committer.countDirect()
            outcome = try await withDeadline(timeout, "append \(actor) #\(seq) in a transaction") {
                try await pool.withTransaction(purpose: "append event in a transaction") { tx in
                    let outcome = try Self.appendOutcome(try await tx.query(ClusterSchema.appendEvent, parameters, purpose: "append event"))
                    if case .appended(let s) = outcome { try await also(tx, s) }
                    return outcome
                }
            }
        } else {
            committer.countDirect()
            outcome = try Self.appendOutcome(try await withDeadline(timeout, "append \(actor) #\(seq)") {
                try await pool.query(ClusterSchema.appendEvent, parameters, purpose: "append event")
            })
        }
        switch outcome {
        case .appended(let s): return .appended(seq: s)
        case .duplicate(let s): return .duplicate(seq: s)
        case .fenced: throw JournalError(.fenced, actor, "token \(token) of node \(node) is not the current lease of \(actor.region)")
        case .sequenceConflict: throw JournalError(.sequenceConflict, actor, "seq \(seq) is taken")
        }
    }

    /// Reads `appendEvent`'s one row.
    private static func appendOutcome(_ rows: PostgresRows) throws -> ClusterSchema.AppendOutcome {
        try appendOutcome(rows[0])
    }

    /// Reads one row of `appendEvent` / `appendEvents` (lease_ok, appended_seq, duplicate_seq).
    private static func appendOutcome(_ r: PostgresRow) throws -> ClusterSchema.AppendOutcome {
        ClusterSchema.appendOutcome(leaseOK: try r.decode(0, as: Bool.self), appendedSeq: try r.decode(1, as: Int64?.self),
                                    duplicateSeq: try r.decode(2, as: Int64?.self))
    }

    /// One group commit: a lone event through `appendEvent` (today's statement), more through
    /// `appendEvents` (one statement, one row per event). One round trip under one deadline; its
    /// failure is every event's outcome (whether they landed is then unknown).
    static func writeBatch(_ batch: [GroupCommitter.Request], pool: PostgresPool, node: NodeID,
                           timeout: Duration) async -> [GroupCommitter.Outcome] {
        do {
            if batch.count == 1, let e = batch.first {
                let parameters: [any PostgresEncodable] = [e.actor.region, e.actor.kind, e.actor.key, e.seq, e.type, e.payload,
                                                           e.idempotencyKey, Int64(e.token.value), node.rawValue]
                let rows = try await withDeadline(timeout, "append \(e.actor) #\(e.seq)") {
                    try await pool.query(ClusterSchema.appendEvent, parameters, purpose: "append event")
                }
                return [.success(try appendOutcome(rows))]
            }
            let parameters: [any PostgresEncodable] = [
                PostgresArrayText.text(batch.map(\.actor.region)), PostgresArrayText.text(batch.map(\.actor.kind)),
                PostgresArrayText.text(batch.map(\.actor.key)), PostgresArrayText.int8(batch.map(\.seq)),
                PostgresArrayText.text(batch.map(\.type)), PostgresArrayText.text(batch.map { PostgresArrayText.hex($0.payload) }),
                PostgresArrayText.text(batch.map(\.idempotencyKey)), PostgresArrayText.int8(batch.map { Int64($0.token.value) }),
                node.rawValue,
            ]
            let rows = try await withDeadline(timeout, "append \(batch.count) events (group commit)") {
                try await pool.query(ClusterSchema.appendEvents, parameters, purpose: "append events (group commit)")
            }
            guard rows.count == batch.count else {
                throw JournalError(.corrupt, batch[0].actor, "group commit of \(batch.count) events returned \(rows.count) rows")
            }
            return try rows.map { .success(try appendOutcome($0)) }
        } catch {
            return Array(repeating: .failure(error), count: batch.count)
        }
    }

    /// One event of `appendBatch`.
    public struct BatchEvent: Sendable {
        public var seq: Int64
        public var type: String
        public var payload: [UInt8]
        public var idempotencyKey: String?
        public var also: AlsoInTransaction?
        public init(seq: Int64, type: String, payload: [UInt8], idempotencyKey: String?, also: AlsoInTransaction?) {
            self.seq = seq; self.type = type; self.payload = payload; self.idempotencyKey = idempotencyKey; self.also = also
        }
    }

    /// `appendBatch` rolled back because event `index` was not appended (its key was journaled
    /// before, or its seq is taken): nothing of the batch was written. The caller reloads and goes
    /// one event at a time.
    public struct BatchRejected: Error, Sendable {
        public var index: Int
        public var outcome: ClusterSchema.AppendOutcome
    }

    /// Several consecutive events of ONE actor (an actor that decided several queued requests in a
    /// row) in one transaction: each event's fenced append and its `also` writes, in order; one
    /// commit for all, or nothing. Returns the seqs.
    /// - Throws: `.fenced` (nothing written); `BatchRejected` (a duplicate or taken seq; nothing
    ///   written); `PostgresError` / `DeadlineExceeded` (unknown: reload before going on).
    public func appendBatch(_ actor: ActorIdentity, _ events: [BatchEvent], token: FencingToken) async throws -> [Int64] {
        let pool = self.pool, node = self.node
        do {
            return try await withDeadline(timeout * 2, "append \(events.count) events of \(actor) in a transaction") {
                try await pool.withTransaction(purpose: "append a batch of events") { tx in
                    var seqs: [Int64] = []
                    for (i, e) in events.enumerated() {
                        let parameters: [any PostgresEncodable] = [actor.region, actor.kind, actor.key, e.seq, e.type, e.payload, e.idempotencyKey,
                                                                   Int64(token.value), node.rawValue]
                        let outcome = try Self.appendOutcome(try await tx.query(ClusterSchema.appendEvent, parameters, purpose: "append event"))
                        guard case .appended(let s) = outcome else { throw BatchRejected(index: i, outcome: outcome) }
                        if let also = e.also { try await also(tx, s) }
                        seqs.append(s)
                    }
                    return seqs
                }
            }
        } catch let r as BatchRejected where r.outcome == .fenced {
            throw JournalError(.fenced, actor, "token \(token) of node \(node) is not the current lease of \(actor.region)")
        }
    }

    /// Fenced snapshot write; keeps the newest. Returns whether it was written.
    /// - Throws: `.fenced` when the lease is not this node's with `token`.
    @discardableResult
    public func writeSnapshot(_ actor: ActorIdentity, seq: Int64, state: [UInt8], token: FencingToken) async throws -> Bool {
        let pool = self.pool, node = self.node
        let rows = try await withDeadline(timeout, "snapshot \(actor)") {
            try await pool.query(ClusterSchema.writeSnapshot,
                                 [actor.region, actor.kind, actor.key, seq, state, Int64(token.value), node.rawValue],
                                 purpose: "write snapshot")
        }
        guard try rows[0].decode(0, as: Bool.self) else {
            throw JournalError(.fenced, actor, "snapshot with token \(token) refused")
        }
        return try rows[0].decode(1, as: Bool.self)
    }

    /// The seq of the event journaled with `idempotencyKey` for `actor`, or nil.
    public func seq(of idempotencyKey: String, for actor: ActorIdentity) async throws -> Int64? {
        let pool = self.pool
        let rows = try await withDeadline(timeout, "find key \(actor)") {
            try await pool.query(ClusterSchema.findIdempotencyKey, [actor.region, actor.kind, actor.key, idempotencyKey],
                                 purpose: "find idempotency key")
        }
        return try rows.first?.decode(0, as: Int64.self)
    }

    /// The payload of the event journaled with `idempotencyKey` for `actor`, or nil.
    public func payload(of idempotencyKey: String, for actor: ActorIdentity) async throws -> [UInt8]? {
        let pool = self.pool
        let rows = try await withDeadline(timeout, "find the event of key \(actor)") {
            try await pool.query(ClusterSchema.findPayloadByKey, [actor.region, actor.kind, actor.key, idempotencyKey],
                                 purpose: "find an event by its key")
        }
        return try rows.first?.decode(0, as: [UInt8].self)
    }

    /// Snapshot + every later event, in order (reads are not fenced: the writer is).
    public func recover(_ actor: ActorIdentity) async throws -> JournalRecovery {
        let pool = self.pool
        let snap = try await withDeadline(timeout, "load snapshot \(actor)") {
            try await pool.query(ClusterSchema.loadSnapshot, [actor.region, actor.kind, actor.key], purpose: "load snapshot")
        }
        var recovery = JournalRecovery(snapshot: nil, events: [])
        if let r = snap.first {
            recovery.snapshot = (try r.decode(0, as: Int64.self), try r.decode(1, as: [UInt8].self))
        }
        var after = recovery.snapshot?.seq ?? 0
        while true {
            let from = after
            let rows = try await withDeadline(timeout, "replay \(actor)") {
                try await pool.query(ClusterSchema.replayEvents, [actor.region, actor.kind, actor.key, from, Self.replayBatch],
                                     purpose: "replay events")
            }
            for r in rows {
                recovery.events.append(JournalEvent(
                    seq: try r.decode(0, as: Int64.self), type: try r.decode(1, as: String.self),
                    payload: try r.decode(2, as: [UInt8].self), idempotencyKey: try r.decode(3, as: String?.self),
                    token: FencingToken(UInt64(try r.decode(4, as: Int64.self)))))
            }
            guard Int64(rows.count) == Self.replayBatch, let last = recovery.events.last else { break }
            after = last.seq
        }
        return recovery
    }
}
