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
/// each `await`): load on first use (snapshot + replay), decide, append (fenced, idempotent),
/// apply, acknowledge. An activation never outlives its token: `mayWrite` is asked right before
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
    /// Idempotency keys seen in this activation's replay and commands → their seq.
    private var keys: [String: Int64] = [:]
    private var loaded = false
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init(identity: ActorIdentity, token: FencingToken, journal: Journal, mayWrite: @escaping @Sendable () -> Bool,
                onFenced: @escaping @Sendable () async -> Void = {}) {
        self.identity = identity; self.token = token; self.journal = journal; self.mayWrite = mayWrite; self.onFenced = onFenced
    }

    /// No command running or waiting (a drain waits for this).
    public var isIdle: Bool { !busy && waiters.isEmpty }

    /// Journal first: the acknowledgement is returned only once the event is durable.
    public func handle(_ command: State.Command, idempotencyKey: String?) async throws -> CommandAck<State> {
        await lock()
        defer { unlock() }
        try await ensureLoaded()
        if let k = idempotencyKey, let s = keys[k] { return CommandAck(seq: s, duplicate: true, state: state) }
        let event = try state.decide(command)
        let payload = try BinaryEncoder().encode(event)
        guard mayWrite() else { throw JournalError(.notServing, identity, "the lease with token \(token) is no longer served here") }
        let outcome: Journal.Appended
        do {
            outcome = try await journal.append(identity, seq: seq + 1, type: State.eventType(of: event), payload: payload,
                                               idempotencyKey: idempotencyKey, token: token)
        } catch let e as JournalError where e.code == .fenced {
            await onFenced()
            throw e
        } catch {
            // Unknown whether it landed (timeout, lost connection), or the journal is ahead of this
            // activation (sequence conflict): reload before the next command.
            loaded = false
            keys = [:]
            throw error
        }
        switch outcome {
        case .appended(let s):
            state.apply(event)
            seq = s
            if let k = idempotencyKey { keys[k] = s }
            return CommandAck(seq: s, duplicate: false, state: state)
        case .duplicate(let s):
            // Journaled before this activation's snapshot: the original stands, nothing new applies.
            if let k = idempotencyKey { keys[k] = s }
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
    }

    /// Recovery: state = snapshot ⊕ fold(events after it).
    private func ensureLoaded() async throws {
        guard !loaded else { return }
        let r = try await journal.recover(identity)
        var s = State()
        keys = [:]
        if let snap = r.snapshot {
            do { s = try BinaryDecoder().decode(State.self, from: snap.state) } catch {
                throw JournalError(.corrupt, identity, "snapshot at seq \(snap.seq): \(error)")
            }
        }
        for e in r.events {
            do { s.apply(try BinaryDecoder().decode(State.Event.self, from: e.payload)) } catch {
                throw JournalError(.corrupt, identity, "event \(e.seq) (\(e.type)): \(error)")
            }
            if let k = e.idempotencyKey { keys[k] = e.seq }
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
