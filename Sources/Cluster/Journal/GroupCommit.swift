import Storage
import Synchronization

/// Counters of one `Journal`'s appends (tests, benchmarks). Copies of a `Journal` share them.
public struct JournalStats: Hashable, Sendable {
    /// Appends submitted (any outcome, errors included).
    public var appends = 0
    /// Append round trips to PostgreSQL: one per batch with group commit, one per event without it
    /// and for appends with `alsoInTransaction` (whose transaction is a few round trips: counted as one).
    public var roundTrips = 0
    /// The most events one round trip carried.
    public var largestBatch = 0
    public init() {}
}

/// Group commit for `Journal.append`, leader/follower style (no background task):
///
/// - An append arriving while no batch is being written becomes the *leader*: it takes itself plus
///   up to `maxBatch − 1` queued appends (at most one per actor, oldest first) and writes them in one
///   statement, i.e. one round trip and one commit. A lone append therefore commits at once.
/// - An append arriving while a batch is in flight queues (a *follower*) and waits. When the leader's
///   batch is answered it hands each of its followers its own outcome, then hands leadership to the
///   oldest queued append, which writes the next batch (the queue is never drained by a task that
///   does not own an entry in it). Batches thus form from concurrency alone, with no added delay.
/// - A follower waits at most the journal's `timeout` from its arrival (`DeadlineExceeded` otherwise;
///   still queued means nothing was written, in flight means unknown — the idempotency key makes a
///   retry safe). The batch statement carries its own `timeout`.
///
/// One actor's events keep their order: an actor appends seq n + 1 only after n was answered, and a
/// batch never holds two events of one actor (a second one waits for the next batch).
///
/// All state is one `Mutex`; continuations are resumed outside it. Each follower has a slot that
/// receives exactly one signal (the first of: its outcome, leadership, expiry), so leadership can
/// never be lost: a slot that expired is out of the queue and is never made leader, and a slot made
/// leader ignores a later expiry.
final class GroupCommitter: Sendable {
    struct Request: Sendable {
        var actor: ActorIdentity
        var seq: Int64
        var type: String
        var payload: [UInt8]
        var idempotencyKey: String?
        var token: FencingToken
    }
    typealias Outcome = Result<ClusterSchema.AppendOutcome, any Error>
    /// Writes one batch (one round trip) and answers one outcome per request, in order. Never throws:
    /// a failure of the round trip is every request's outcome.
    typealias Flush = @Sendable ([Request]) async -> [Outcome]

    private enum Signal: Sendable {
        case done(Outcome)
        case lead
        case expired
    }
    private enum Slot {
        /// Told nothing yet; the continuation is nil until the waiter has suspended.
        case waiting(CheckedContinuation<Signal, Never>?)
        /// Told before it suspended.
        case resolved(Signal)
    }
    private struct State {
        /// A leader is writing a batch (or has been chosen and is about to).
        var leading = false
        /// Appends not yet in a batch, oldest first. Every id here has a `.waiting` slot.
        var queue: [(id: UInt64, request: Request)] = []
        /// Followers not yet told, queued or in a batch in flight.
        var slots: [UInt64: Slot] = [:]
        var nextID: UInt64 = 0
        var stats = JournalStats()
    }

    let maxBatch: Int
    private let state = Mutex(State())

    init(maxBatch: Int) {
        precondition(maxBatch >= 1, "a batch holds at least one event")
        self.maxBatch = maxBatch
    }

    var stats: JournalStats { state.withLock { $0.stats } }

    /// Counts an append that goes its own way (group commit off, or `alsoInTransaction`).
    func countDirect() {
        state.withLock { s in
            s.stats.appends += 1; s.stats.roundTrips += 1; s.stats.largestBatch = max(s.stats.largestBatch, 1)
        }
    }

    /// Appends `request` in the next batch and returns its own outcome.
    /// - Throws: `DeadlineExceeded` when it waited `timeout` without an answer, `CancellationError`
    ///   when cancelled while waiting, or the error of its batch's round trip.
    func submit(_ request: Request, timeout: Duration, flush: Flush) async throws -> ClusterSchema.AppendOutcome {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let (id, leader): (UInt64, Bool) = state.withLock { s in
            s.stats.appends += 1
            s.nextID += 1
            if !s.leading { s.leading = true; return (s.nextID, true) }
            s.queue.append((s.nextID, request))
            s.slots[s.nextID] = .waiting(nil)
            return (s.nextID, false)
        }
        if !leader {
            switch await wait(id, until: deadline) {
            case .done(let outcome): return try outcome.get()
            case .lead: break
            case .expired:
                if Task.isCancelled, ContinuousClock.now < deadline { throw CancellationError() }
                throw DeadlineExceeded(what: "append \(request.actor) #\(request.seq) (waiting for its group commit)", timeout: timeout)
            }
        }
        return try await lead(request, flush: flush).get()
    }

    /// Writes one batch led by `own`, answers its followers and passes leadership on.
    private func lead(_ own: Request, flush: Flush) async -> Outcome {
        if Task.isCancelled {
            // A cancelled leader's round trip would fail at once, and its followers with it.
            handOff(followers: [], outcomes: [])
            return .failure(CancellationError())
        }
        let maxBatch = self.maxBatch
        let (batch, followers): ([Request], [UInt64]) = state.withLock { s in
            var batch = [own], followers: [UInt64] = []
            var actors: Set<ActorIdentity> = [own.actor]
            var rest: [(id: UInt64, request: Request)] = []
            rest.reserveCapacity(max(0, s.queue.count - maxBatch))
            for item in s.queue {
                if batch.count < maxBatch, actors.insert(item.request.actor).inserted {
                    batch.append(item.request); followers.append(item.id)
                } else {
                    rest.append(item)
                }
            }
            s.queue = rest
            s.stats.roundTrips += 1
            s.stats.largestBatch = max(s.stats.largestBatch, batch.count)
            return (batch, followers)
        }
        var outcomes = await flush(batch)
        if outcomes.count != batch.count {
            let wrong = JournalError(.corrupt, own.actor, "a batch of \(batch.count) appends was answered with \(outcomes.count) outcomes")
            outcomes = Array(repeating: .failure(wrong), count: batch.count)
        }
        handOff(followers: followers, outcomes: Array(outcomes.dropFirst()))
        return outcomes[0]
    }

    /// Tells each follower its outcome and makes the oldest queued append the next leader (or
    /// clears `leading` when none waits), in one critical section; resumes outside it.
    private func handOff(followers: [UInt64], outcomes: [Outcome]) {
        var wake: [(CheckedContinuation<Signal, Never>, Signal)] = []
        state.withLock { s in
            for (id, outcome) in zip(followers, outcomes) {
                if let c = Self.tell(&s, id, .done(outcome)) { wake.append((c, .done(outcome))) }
            }
            if s.queue.isEmpty {
                s.leading = false
            } else {
                let next = s.queue.removeFirst().id
                if let c = Self.tell(&s, next, .lead) { wake.append((c, .lead)) }
            }
        }
        for (c, signal) in wake { c.resume(returning: signal) }
    }

    /// Gives slot `id` its signal unless it already has one; returns the continuation to resume.
    private static func tell(_ s: inout State, _ id: UInt64, _ signal: Signal) -> CheckedContinuation<Signal, Never>? {
        switch s.slots[id] {
        case .waiting(let c?)?: s.slots[id] = nil; return c
        case .waiting(nil)?: s.slots[id] = .resolved(signal); return nil
        case .resolved?, nil: return nil   // the first signal wins
        }
    }

    /// Expiry (deadline or cancellation): out of the queue (nothing of it is written then) and told
    /// `.expired`, unless it was told something already.
    private func expire(_ id: UInt64) {
        let c: CheckedContinuation<Signal, Never>? = state.withLock { s in
            guard case .waiting? = s.slots[id] else { return nil }
            if let i = s.queue.firstIndex(where: { $0.id == id }) { s.queue.remove(at: i) }
            return Self.tell(&s, id, .expired)
        }
        c?.resume(returning: .expired)
    }

    /// Suspends until slot `id` is told something; the process's `DeadlineTimer` expires it at
    /// `deadline` (no timer task per waiting append).
    private func wait(_ id: UInt64, until deadline: ContinuousClock.Instant) async -> Signal {
        let ticket = DeadlineTimer.shared.schedule(at: deadline) { [self] in
            self.expire(id)   // a no-op once told
        }
        let signal = await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Signal, Never>) in
                let ready: Signal? = self.state.withLock { s in
                    switch s.slots[id] {
                    case .resolved(let signal)?: s.slots[id] = nil; return signal
                    case .waiting?: s.slots[id] = .waiting(c); return nil
                    case nil: return .expired   // unreachable: a slot leaves only through its continuation
                    }
                }
                if let ready { c.resume(returning: ready) }
            }
        } onCancel: {
            self.expire(id)
        }
        DeadlineTimer.shared.cancel(ticket)
        return signal
    }
}

/// Array parameters in PostgreSQL's text input syntax (`{…}`), for `unnest` statements. Every text
/// element is double-quoted with `\` and `"` escaped, so no content can break the literal; nil is
/// an unquoted NULL. Sent with type OID 0: the statement casts (`$1::text[]`).
enum PostgresArrayText {
    static func text(_ items: [String?]) -> PostgresBind {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(items.count * 16 + 2)
        for (i, item) in items.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            guard let item else { out.append(contentsOf: "NULL".utf8); continue }
            out.append(UInt8(ascii: "\""))
            for b in item.utf8 {
                if b == UInt8(ascii: "\\") || b == UInt8(ascii: "\"") { out.append(UInt8(ascii: "\\")) }
                out.append(b)
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
        return PostgresBind(typeOID: 0, format: .text, bytes: out)
    }

    static func text(_ items: [String]) -> PostgresBind { text(items.map(Optional.some)) }

    static func int8(_ items: [Int64]) -> PostgresBind {
        .text("{" + items.map { String($0) }.joined(separator: ",") + "}")
    }

    /// Lowercase hex digits of `bytes` (for `decode(…, 'hex')`).
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: bytes.count * 2)
        for (i, b) in bytes.enumerated() {
            out[2 * i] = digits[Int(b >> 4)]; out[2 * i + 1] = digits[Int(b & 0x0f)]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
