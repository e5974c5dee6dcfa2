import Cluster
import Storage

/// A journaled domain state: `EventSourced` plus the outbox rows an event produces. Both pure.
public protocol DomainState: EventSourced {
    /// The outbox rows `event` produces in this state (before it is applied): written in the same
    /// transaction as the event, or not at all. Default: none.
    func outbox(for event: Event) -> [OutboxRow]
}

extension DomainState {
    public func outbox(for event: Event) -> [OutboxRow] { [] }
}

/// One activation of a domain actor: `JournaledEntity`'s protocol (one command at a time, load on
/// first use, decide purely, fenced idempotent append, apply, acknowledge) with one difference:
/// the event and its outbox rows are written in ONE transaction (`Journal.append(…, alsoInsert:)`),
/// so a notification exists iff its event does.
public actor DomainEntity<State: DomainState>: JournaledActivation {
    public nonisolated let identity: ActorIdentity
    public nonisolated let token: FencingToken
    let journal: Journal
    let mayWrite: @Sendable () -> Bool
    let onFenced: @Sendable () async -> Void

    public private(set) var state = State()
    public private(set) var seq: Int64 = 0
    /// Idempotency keys journaled for this actor → seq (bounded to the most recent `keyCapacity`).
    private var keys: [String: Int64] = [:]
    private var keyOrder: [String] = []
    let keyCapacity = 1_024
    /// Whether `keys` holds every key ever journaled (no snapshot skipped events, nothing evicted).
    private var keysComplete = true
    let snapshotEvery: Int64
    private var snapshotSeq: Int64 = 0
    private var loaded = false
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init(identity: ActorIdentity, token: FencingToken, journal: Journal, mayWrite: @escaping @Sendable () -> Bool,
                onFenced: @escaping @Sendable () async -> Void = {}, snapshotEvery: Int64 = 200) {
        self.identity = identity; self.token = token; self.journal = journal; self.mayWrite = mayWrite
        self.onFenced = onFenced; self.snapshotEvery = max(1, snapshotEvery)
    }

    public var isIdle: Bool { !busy && waiters.isEmpty }

    /// Journal first: returns only once the event (and its outbox rows) are durable. A rejection
    /// (`State.decide` throws) writes nothing and rethrows the state's typed error.
    public func handle(_ command: State.Command, idempotencyKey: String?) async throws -> CommandAck<State> {
        await lock()
        defer { unlock() }
        try await ensureLoaded()
        if let k = idempotencyKey, let s = keys[k] { return CommandAck(seq: s, duplicate: true, state: state) }
        let event: State.Event
        do {
            event = try state.decide(command)
        } catch {
            // A retry of a command accepted before a snapshot / eviction: answer as the original.
            if let k = idempotencyKey, !keysComplete, let s = try await journal.seq(of: k, for: identity) {
                remember(k, s)
                return CommandAck(seq: s, duplicate: true, state: state)
            }
            throw error
        }
        let payload = try BinaryEncoder().encode(event)
        let rows = state.outbox(for: event)
        guard mayWrite() else { throw JournalError(.notServing, identity, "the lease with token \(token) is no longer served here") }
        let outcome: Journal.Appended
        do {
            outcome = try await journal.append(identity, seq: seq + 1, type: State.eventType(of: event), payload: payload,
                                               idempotencyKey: idempotencyKey, token: token, alsoInsert: rows)
        } catch let e as JournalError where e.code == .fenced {
            await onFenced()
            throw e
        } catch {
            loaded = false
            throw error
        }
        switch outcome {
        case .appended(let s):
            state.apply(event)
            seq = s
            if let k = idempotencyKey { remember(k, s) }
            if seq - snapshotSeq >= snapshotEvery, mayWrite() {
                if (try? await journal.writeSnapshot(identity, seq: seq, state: try BinaryEncoder().encode(state), token: token)) != nil {
                    snapshotSeq = seq
                }
            }
            return CommandAck(seq: s, duplicate: false, state: state)
        case .duplicate(let s):
            if let k = idempotencyKey { remember(k, s) }
            return CommandAck(seq: s, duplicate: true, state: state)
        }
    }

    public func read() async throws -> CommandAck<State> {
        await lock()
        defer { unlock() }
        try await ensureLoaded()
        return CommandAck(seq: seq, duplicate: false, state: state)
    }

    public func snapshot() async throws {
        await lock()
        defer { unlock() }
        guard loaded, seq > 0 else { return }
        try await journal.writeSnapshot(identity, seq: seq, state: try BinaryEncoder().encode(state), token: token)
        snapshotSeq = max(snapshotSeq, seq)
    }

    private func remember(_ key: String, _ s: Int64) {
        if keys.updateValue(s, forKey: key) == nil { keyOrder.append(key) }
        if keyOrder.count > keyCapacity {
            keys[keyOrder.removeFirst()] = nil
            keysComplete = false
        }
    }

    private func ensureLoaded() async throws {
        guard !loaded else { return }
        let r = try await journal.recover(identity)
        var s = State()
        keys = [:]; keyOrder = []
        keysComplete = r.snapshot == nil
        snapshotSeq = r.snapshot?.seq ?? 0
        if let snap = r.snapshot {
            do { s = try BinaryDecoder().decode(State.self, from: snap.state) } catch {
                throw JournalError(.corrupt, identity, "snapshot at seq \(snap.seq): \(error)")
            }
        }
        for e in r.events {
            do { s.apply(try BinaryDecoder().decode(State.Event.self, from: e.payload)) } catch {
                throw JournalError(.corrupt, identity, "event \(e.seq) (\(e.type)): \(error)")
            }
            if let k = e.idempotencyKey { remember(k, e.seq) }
        }
        state = s
        seq = r.lastSeq
        loaded = true
    }

    private func lock() async {
        if busy { await withCheckedContinuation { waiters.append($0) } } else { busy = true }
    }

    private func unlock() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }
}
