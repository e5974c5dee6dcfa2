/// An actor's state as a fold over its events. The type decides purely (`decide` validates a
/// command against the state and returns the event, or throws); the journal makes the event durable;
/// only then does `apply` change the state in memory and the caller get an acknowledgement.
public protocol EventSourced: Codable, Sendable {
    associatedtype Command: Codable & Sendable
    associatedtype Event: Codable & Sendable
    /// The stable actor kind on the wire and in the journal (e.g. "counter"); never a Swift type name.
    static var kind: String { get }
    /// The state of an actor with no events.
    init()
    /// Pure validation: the event this command produces in this state, or a thrown rejection.
    func decide(_ command: Command) throws -> Event
    /// Pure: fold one event into the state. Must never fail (events are facts).
    mutating func apply(_ event: Event)
    /// The stable event type name stored beside the payload.
    static func eventType(of event: Event) -> String
    /// Writes that must commit with `event` or not at all (e.g. outbox rows), in this state (before
    /// `event` is applied), for `actor`. Pure: it returns the writes; `JournaledEntity` passes them to
    /// `Journal.append`, which runs them in the append's transaction only when the event is actually
    /// appended (not for a duplicate, never when fenced) and rolls the event back if they throw.
    /// Default: nil (the append is a single statement).
    func alsoInTransaction(with event: Event, of actor: ActorIdentity) -> Journal.AlsoInTransaction?
}

extension EventSourced {
    public func alsoInTransaction(with event: Event, of actor: ActorIdentity) -> Journal.AlsoInTransaction? { nil }
}

/// The answer to a command or a read: the journal seq it corresponds to and the state after it.
public struct CommandAck<State: Codable & Sendable>: Codable, Sendable {
    /// The seq of the event the command produced (the original one for a duplicate); for a read,
    /// the last applied seq.
    public var seq: Int64
    /// The idempotency key had already been applied: nothing new happened.
    public var duplicate: Bool
    public var state: State
    public init(seq: Int64, duplicate: Bool, state: State) { self.seq = seq; self.duplicate = duplicate; self.state = state }
}

/// What the node keeps per activation of a journaled actor (to drain and snapshot a region).
public protocol JournaledActivation: Actor {
    nonisolated var identity: ActorIdentity { get }
    /// The fencing token of the lease this activation was made under; it writes with no other.
    nonisolated var token: FencingToken { get }
    /// No command running or waiting.
    var isIdle: Bool { get }
    /// Writes a snapshot under the activation's token (on drain / passivation).
    func snapshot() async throws
}

/// One activation of an event-sourced actor on the node that holds its region's lease with
/// `token`. Commands run one at a time (a FIFO hand-off lock, since actor methods interleave at
/// each `await`): load on first use (snapshot + replay), decide, append (fenced, idempotent; with
/// the state's `alsoInTransaction` writes in the same transaction), apply, acknowledge. An activation never outlives its token: `mayWrite` is asked right before
/// every append (no `await` between), and the database checks the token anyway.
public actor JournaledEntity<State: EventSourced>: JournaledActivation {
    public nonisolated let identity: ActorIdentity
    public nonisolated let token: FencingToken
    let journal: Journal
    let mayWrite: @Sendable () -> Bool
    /// Told when the database fenced a write (the node steps down from the region at once).
    let onFenced: @Sendable () async -> Void

    public private(set) var state = State()
    public private(set) var seq: Int64 = 0
    /// The most recent idempotency keys of this actor → their seq (bounded).
    private var keys = RecentKeys(capacity: 1_024)
    /// Whether `keys` holds every key ever journaled for this actor (no snapshot skipped events,
    /// nothing evicted). Otherwise a command the state rejects is looked up by key in the journal
    /// first, so a retry of an accepted command never comes back rejected.
    private var keysComplete = true
    /// Write a snapshot every this many events (recovery replays at most that many).
    let snapshotEvery: Int64
    private var snapshotSeq: Int64 = 0
    private var loaded = false
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init(identity: ActorIdentity, token: FencingToken, journal: Journal, mayWrite: @escaping @Sendable () -> Bool,
                onFenced: @escaping @Sendable () async -> Void = {}, snapshotEvery: Int64 = 200) {
        self.identity = identity; self.token = token; self.journal = journal; self.mayWrite = mayWrite; self.onFenced = onFenced
        self.snapshotEvery = max(1, snapshotEvery)
    }

    /// No command running or waiting (a drain waits for this).
    public var isIdle: Bool { !busy && waiters.isEmpty }

    /// Journal first: the acknowledgement is returned only once the event is durable.
    public func handle(_ command: State.Command, idempotencyKey: String?) async throws -> CommandAck<State> {
        await lock()
        defer { unlock() }
        try await ensureLoaded()
        return try await handleLocked(command, idempotencyKey: idempotencyKey)
    }

    /// The state as applied now, without waiting for the command in progress (if any) to finish:
    /// for a fast check that the next `handle` re-checks anyway. Loads first (under the lock) when
    /// not loaded.
    public func peek<T: Sendable>(_ body: @Sendable (State) -> T) async throws -> T {
        if loaded { return body(state) }
        await lock()
        defer { unlock() }
        try await ensureLoaded()
        return body(state)
    }

    /// `handle` with the lock held and the state loaded.
    private func handleLocked(_ command: State.Command, idempotencyKey: String?) async throws -> CommandAck<State> {
        if let k = idempotencyKey, let s = keys[k] { return CommandAck(seq: s, duplicate: true, state: state) }
        let event: State.Event
        do {
            event = try state.decide(command)
        } catch {
            // A retry of a command accepted long ago (its key no longer in memory) may not be valid in
            // today's state: answer it as the original rather than reject it. (Accepted ones need no
            // lookup: the append's UNIQUE key reports them as duplicates.)
            if let k = idempotencyKey, !keysComplete, let s = try await journal.seq(of: k, for: identity) {
                keys[k] = s
                return CommandAck(seq: s, duplicate: true, state: state)
            }
            throw error
        }
        let payload = try BinaryEncoder().encode(event)
        let also = state.alsoInTransaction(with: event, of: identity)
        guard mayWrite() else { throw JournalError(.notServing, identity, "the lease with token \(token) is no longer served here") }
        let outcome: Journal.Appended
        do {
            outcome = try await journal.append(identity, seq: seq + 1, type: State.eventType(of: event), payload: payload,
                                               idempotencyKey: idempotencyKey, token: token, alsoInTransaction: also)
        } catch let e as JournalError where e.code == .fenced {
            await onFenced()
            throw e
        } catch {
            // Unknown whether it landed (timeout, lost connection), or the journal is ahead of this
            // activation (sequence conflict): reload before the next command.
            loaded = false
            throw error
        }
        switch outcome {
        case .appended(let s):
            state.apply(event)
            seq = s
            if let k = idempotencyKey, keys.insert(k, s) { keysComplete = false }
            if seq - snapshotSeq >= snapshotEvery, mayWrite() {
                // Best effort: a failed snapshot only means a longer replay.
                if (try? await journal.writeSnapshot(identity, seq: seq, state: try BinaryEncoder().encode(state), token: token)) != nil {
                    snapshotSeq = seq
                }
            }
            return CommandAck(seq: s, duplicate: false, state: state)
        case .duplicate(let s):
            // Journaled but not in memory (raced in from elsewhere): the original stands, nothing new applies.
            if let k = idempotencyKey, keys.insert(k, s) { keysComplete = false }
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

    /// Recovery: state = snapshot ⊕ fold(events after it).
    private func ensureLoaded() async throws {
        guard !loaded else { return }
        let r = try await journal.recover(identity)
        var s = State()
        keys.removeAll()
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
            if let k = e.idempotencyKey, keys.insert(k, e.seq) { keysComplete = false }
        }
        state = s
        seq = r.lastSeq
        loaded = true
    }

    private func lock() async {
        if busy { await withCheckedContinuation { waiters.append($0) } } else { busy = true }
    }

    /// Hands the lock straight to the next waiter (busy stays true), so no newcomer overtakes it.
    private func unlock() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }
}

/// A bounded map of idempotency keys → seq, evicting the oldest insertion first. O(1) per operation.
struct RecentKeys: Sendable {
    let capacity: Int
    private var seqs: [String: Int64] = [:]
    private var order: [String] = []
    private var head = 0

    init(capacity: Int) { self.capacity = max(1, capacity) }

    subscript(key: String) -> Int64? {
        get { seqs[key] }
        set { if let v = newValue { _ = insert(key, v) } }
    }

    /// Inserts; returns true when an older key was evicted to make room.
    @discardableResult
    mutating func insert(_ key: String, _ seq: Int64) -> Bool {
        if seqs.updateValue(seq, forKey: key) != nil { return false }
        if order.count < capacity {
            order.append(key)
            return false
        }
        seqs[order[head]] = nil
        order[head] = key
        head = (head + 1) % capacity
        return true
    }

    mutating func removeAll() { seqs = [:]; order = []; head = 0 }
    var count: Int { seqs.count }
}
