import Base
import Cluster
import DispatchPlanning
import Fleet
import Foundation
import Geo
import Storage
import Synchronization

/// What the journaled shell needs of a region's pure dispatcher (`RegionDispatchState` conforms in
/// `RegionDispatcher.swift`; tests may use a small fake). Everything here is pure.
public protocol DispatchMachine: Sendable, Codable {
    associatedtype Config: Sendable, Hashable, Codable
    associatedtype Event: Sendable, Hashable, Codable
    init(config: Config)
    var machineConfig: Config { get }
    /// The event (nil: nothing to journal, e.g. a rejection or a read) and the reply.
    /// `entropy`: 64 bits from the system's cryptographic source, drawn by the shell for each decision.
    func decide(request: DispatchRequest, entropy: UInt64) -> (event: Event?, response: DispatchResponse)
    mutating func apply(event: Event)
    static func effects(of event: Event) -> [DispatchEffect]
    func pendingWork(at: Instant) -> [DispatchWork]
    /// The stored type of an event: "dispatcher." + the request's kind (e.g. "dispatcher.placeOrder").
    static func eventType(of event: Event) -> String
    /// The couriers whose manifest `event` may change (called before applying it); nil: none.
    func manifestProbe(for event: Event) -> ManifestProbe?
    /// Those couriers' manifests, digested (`ManifestDigest`).
    func manifestDigests(_ probe: ManifestProbe) -> [ManifestDigest]
    /// Whether `event` (decided on this state) is soft state: applied, never journaled (a
    /// courier's position, durable in the courier's own journal). Default: no event is.
    func isSoft(event: Event) -> Bool
}

extension DispatchMachine {
    public func isSoft(event: Event) -> Bool { false }
    public func manifestProbe(for event: Event) -> ManifestProbe? { nil }
    public func manifestDigests(_ probe: ManifestProbe) -> [ManifestDigest] { [] }
}

extension DispatchRequest {
    /// The request's kind, as stored in the dispatcher's journal ("placeOrder", "tick", "workDone", …).
    public var kindName: String {
        switch self {
        case .placeOrder: "placeOrder"
        case .cancelOrder: "cancelOrder"
        case .report: "report"
        case .site: "site"
        case .collect: "collect"
        case .command: "command"
        case .tick: "tick"
        case .workDone: "workDone"
        case .stock: "stock"
        case .unlockCollection: "unlockCollection"
        }
    }
}

/// One journal event of a region dispatcher: the region's config (its first event, so a new owner
/// restores without files) or an accepted request's machine event with the reply it got (a retry
/// with the same idempotency key gets that reply again).
public enum DispatcherRecord<Config: Codable & Sendable, Event: Codable & Sendable>: Codable, Sendable {
    case opened(Config)
    case event(Event, response: DispatchResponse, at: Instant?)
}

/// What the region dispatcher's snapshot holds: the machine (nil before `open`).
struct DispatcherSnapshot<M: DispatchMachine>: Codable {
    var machine: M?
    var clock: Instant?
}

/// Why the dispatcher did not answer a request now (e.g. effects that did not answer yet): thrown
/// with the retriable wire code `overloaded`, so the caller retries with the same key.
public struct DispatcherError: RemoteCodedError, Sendable, CustomStringConvertible {
    public var region: String
    public var message: String
    public var remoteErrorCode: RemoteErrorCode { .overloaded }
    public var description: String { "dispatcher \(region): \(message)" }
    /// Said by the dispatcher itself (no database or internal text): safe for a remote caller.
    public var safeMessage: String { description }
}

/// A dispatcher or courier failure with its wire code (`DispatcherError` keeps its own).
func dispatchFailure(_ error: any Error) -> any Error {
    if let e = error as? DispatcherError { return e }
    if error is NodeCallFailure { return error }
    return NodeCallFailure(error)
}

/// The outcome of `open(config)`.
public enum DispatcherOpenOutcome: Sendable, Hashable, Codable {
    case opened
    /// The same config was already the region's: nothing new.
    case alreadyOpen
    /// The region was opened with a different config.
    case refused(String)
}

/// Where an effect goes: an order or store actor of the region, keyed "<region>/<seq>/<index>".
public enum DispatchEffectCall: Sendable, Hashable {
    case order(OrderID, OrderActorCommand, at: Instant)
    case store(SiteID, StoreCommand)
}

/// The journaled shell around a region's pure dispatcher (see the comment at the top of
/// `DispatchPlanning/Live/Machine.swift`). Not `JournaledEntity`: that one needs `State.init()`
/// (the machine needs its config, which is the journal's first event here), acknowledges with the
/// whole state (the region's whole day, on every request) and knows nothing of the reply a retried
/// request must get again or of effects to re-run after failover. This shell is lean: one request
/// at a time (FIFO hand-off lock), load (snapshot + replay, re-running the effects of the replayed
/// events), decide on the state of the moment (no `await` between decide and the append), fenced
/// idempotent append carrying the reply (the `.notify` effects as outbox rows in the same
/// transaction), apply, run the order/store effects (each keyed "<region>/<seq>/<index>": at least
/// once, applied once), reply. CPU-heavy `DispatchWork` runs on a dedicated `Thread` with the lock
/// released; its result comes back through the same path as `.workDone`.
public actor DispatchShell<M: DispatchMachine>: JournaledActivation {
    public nonisolated let identity: ActorIdentity
    public nonisolated let token: FencingToken
    let journal: Journal
    let mayWrite: @Sendable () -> Bool
    let onFenced: @Sendable () async -> Void
    /// Runs one effect on its actor with its idempotency key; throws when it did not get an answer.
    let runEffect: @Sendable (DispatchEffectCall, String) async throws -> Void
    let snapshotEvery: Int64
    /// The service day (YYYY-MM-DD) this shell dispatches, when it is one of a region's days: each
    /// placed order is then written to the order directory (`dispatch_orders`) in the transaction
    /// that journals its placement.
    let serviceDay: String?
    /// Told (best effort, after the event is journaled and applied) of the couriers whose manifest
    /// an event changed (`ManifestDigest.differs`: not ETAs alone moving under a minute).
    let onManifestChanges: (@Sendable ([ManifestDigest]) -> Void)?
    /// Per courier, the manifest digest last told (or the baseline it is compared with).
    private var toldManifests: [CourierRef: ManifestDigest] = [:]

    private(set) var machine: M?
    private(set) var seq: Int64 = 0
    private var clock: Instant?
    private var snapshotSeq: Int64 = 0
    private var loaded = false
    /// Replies of recent keys (bounded); older ones are read from the journal.
    private var replies: [String: DispatchResponse] = [:]
    private var replyOrder: [String] = []
    static var replyCapacity: Int { 4_096 }
    /// Whether `replies` holds every key the journal has (no snapshot skipped any, none evicted).
    private var repliesComplete = true
    /// Events whose order/store effects have not all been answered yet, by seq.
    private var pendingEffects: [Int64: [(Int, DispatchEffectCall)]] = [:]
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var working = false
    /// The job running on its thread now, if any (for `daybreak status`).
    public private(set) var runningWork: DispatchWork.Kind?
    private var workWaiters: [CheckedContinuation<Void, Never>] = []

    public static var openedType: String { "dispatcher.opened" }

    public init(identity: ActorIdentity, token: FencingToken, journal: Journal, mayWrite: @escaping @Sendable () -> Bool,
                onFenced: @escaping @Sendable () async -> Void = {}, snapshotEvery: Int64 = 200, serviceDay: String? = nil,
                onManifestChanges: (@Sendable ([ManifestDigest]) -> Void)? = nil,
                runEffect: @escaping @Sendable (DispatchEffectCall, String) async throws -> Void) {
        self.identity = identity; self.token = token; self.journal = journal; self.mayWrite = mayWrite
        self.onFenced = onFenced; self.snapshotEvery = max(1, snapshotEvery); self.runEffect = runEffect
        self.serviceDay = serviceDay
        self.onManifestChanges = onManifestChanges
    }

    public var isIdle: Bool { !busy && waiters.isEmpty && !working }

    // MARK: - Requests

    /// Journals the region's config as its first event; the same config again is a no-op, another refused.
    public func open(_ config: M.Config, also: Journal.AlsoInTransaction? = nil) async throws -> DispatcherOpenOutcome {
        await lock()
        defer { unlock() }
        try await ensureLoaded()
        if let m = machine {
            return m.machineConfig == config ? .alreadyOpen : .refused("region \(identity.region) is open with another config")
        }
        let record = DispatcherRecord<M.Config, M.Event>.opened(config)
        switch try await append(record, type: Self.openedType, key: "open", also: also) {
        case .appended(let s):
            machine = M(config: config)
            seq = s
            return .opened
        case .duplicate:
            // Raced in from another activation: reload to see it.
            loaded = false
            try await ensureLoaded()
            return machine?.machineConfig == config ? .alreadyOpen : .refused("region \(identity.region) is open with another config")
        }
    }

    /// decide → (no event: reply) → journal (with the reply, and the `.notify` rows in the same
    /// transaction) → apply → effects → reply. A retry with the same key gets the original reply.
    ///
    /// Requests that arrive while one is being journaled queue up; the next holder of the lock
    /// decides every queued one in order on the state of the moment, applies each, and journals them
    /// all in ONE transaction (`Journal.appendBatch`) before any is answered: a busy region pays one
    /// commit per batch, not per request. A batch that cannot be journaled as a whole is undone by
    /// reloading the journal, and its requests go one at a time.
    public func handle(_ request: DispatchRequest, idempotencyKey key: String) async throws -> DispatchResponse {
        let mine = QueuedRequest(request, key)
        queue.append(mine)
        await lock()
        defer { unlock() }
        while mine.result == nil {
            let batch = Array(queue.prefix(Self.maxBatch))
            queue.removeFirst(batch.count)
            if batch.isEmpty {
                // Not queued any more yet unanswered cannot happen (every batch answers all of its
                // requests); answer it on its own rather than spin.
                do { mine.result = .success(try await handleOne(request, idempotencyKey: key)) } catch { mine.result = .failure(error) }
                break
            }
            await handleBatch(batch)
        }
        return try mine.result!.get()
    }

    /// Requests waiting for the lock (the holder handles them all).
    private var queue: [QueuedRequest] = []
    static var maxBatch: Int { 128 }
    /// Batches journaled and requests in them (tests, status).
    public private(set) var batchStats = (batches: 0, requests: 0)
    /// Soft events applied without a journal write (`DispatchMachine.isSoft`): positions.
    public private(set) var softApplied = 0

    private func handleBatch(_ batch: [QueuedRequest]) async {
        if batch.count > 1, let staged = await stage(batch), !staged.isEmpty {
            do {
                try await commit(staged)
            } catch is Journal.BatchRejected {
                // A key journaled before (beyond the replies kept in memory) or a seq taken: undo by
                // reloading, then one at a time (the single path answers duplicates).
                loaded = false
                for s in staged { s.q.result = nil }
            } catch {
                loaded = false
                for s in staged { s.q.result = .failure(error) }
            }
        }
        for q in batch where q.result == nil {
            do { q.result = .success(try await handleOne(q.request, idempotencyKey: q.key)) } catch { q.result = .failure(error) }
        }
    }

    /// One staged event of a batch: decided and applied in memory, not yet journaled.
    private struct Staged {
        var q: QueuedRequest
        var event: M.Event
        var response: DispatchResponse
        var type: String
        var payload: [UInt8]
        var also: Journal.AlsoInTransaction?
        var effects: [DispatchEffect]
        var at: Instant?
        var probe: ManifestProbe?
        var manifestsBefore: [ManifestDigest]
    }

    /// Decides and applies `batch` in order on the machine; answers at once what needs no event.
    /// nil: could not even start (the caller goes one at a time).
    private func stage(_ batch: [QueuedRequest]) async -> [Staged]? {
        do {
            try await ensureLoaded()
            try await runPendingEffects()
        } catch {
            for q in batch { q.result = .failure(error) }
            return []
        }
        guard machine != nil, mayWrite() else { return nil }
        var staged: [Staged] = []
        var random = SystemRandomNumberGenerator()
        for q in batch {
            if let r = replies[q.key] { q.result = .success(r); continue }
            if staged.contains(where: { $0.q.key == q.key }) { continue }   // the same key twice: answered after the batch
            // No local copy of the machine is kept across the apply below: one would make the
            // in-place apply copy the region's state (copy on write).
            let (event, response) = machine!.decide(request: q.request, entropy: random.next())
            guard let event else {
                if !repliesComplete, Self.isRefusal(response) {
                    do { if let r = try await storedReply(q.key) { q.result = .success(r); continue } } catch { q.result = .failure(error); continue }
                }
                q.result = .success(response)
                continue
            }
            let at = q.request.at ?? clock
            if machine!.isSoft(event: event) {
                machine!.apply(event: event)
                if let at { clock = max(clock ?? at, at) }
                softApplied += 1
                q.result = .success(response)
                continue
            }
            let effects = M.effects(of: event)
            let record = DispatcherRecord<M.Config, M.Event>.event(event, response: response, at: at)
            let payload: [UInt8]
            do { payload = try BinaryEncoder().encode(record) } catch { q.result = .failure(error); continue }
            let probe = onManifestChanges == nil ? nil : machine!.manifestProbe(for: event)
            let before = probe.map { machine!.manifestDigests($0) } ?? []
            staged.append(Staged(q: q, event: event, response: response, type: M.eventType(of: event), payload: payload,
                                 also: alsoWrites(q.request, response, effects: effects, key: q.key), effects: effects, at: at,
                                 probe: probe, manifestsBefore: before))
            machine!.apply(event: event)   // the next request of the batch decides on this state
            if let at { clock = max(clock ?? at, at) }
        }
        return staged
    }

    /// Journals the staged events in one transaction, then does what `handleOne` does after an append.
    private func commit(_ staged: [Staged]) async throws {
        guard mayWrite() else { throw JournalError(.notServing, identity, "the lease with token \(token) is no longer served here") }
        let events = staged.enumerated().map { i, s in
            Journal.BatchEvent(seq: seq + 1 + Int64(i), type: s.type, payload: s.payload, idempotencyKey: s.q.key, also: s.also)
        }
        let seqs: [Int64]
        do { seqs = try await journal.appendBatch(identity, events, token: token) } catch let e as JournalError where e.code == .fenced {
            await onFenced()
            throw e
        }
        batchStats.batches += 1
        batchStats.requests += staged.count
        for (s, at) in zip(staged, seqs) {
            seq = at
            remember(s.q.key, s.response)
            let calls = Self.calls(s.effects, at: s.at ?? Instant(epochSeconds: 0))
            if !calls.isEmpty { pendingEffects[at] = calls }
            s.q.result = .success(s.response)
        }
        for s in staged { if let probe = s.probe { tellManifestChanges(probe, before: s.manifestsBefore) } }
        // As one at a time: a request is answered once its effects are; if some did not answer, its
        // caller gets the error and its retry (same key) runs them again before it is answered.
        do { try await runPendingEffects() } catch {
            for (s, at) in zip(staged, seqs) where pendingEffects[at] != nil { s.q.result = .failure(error) }
        }
        await snapshotIfDue()
    }

    /// The writes that commit with an event: its outbox rows and, for a placement, the order directory.
    private func alsoWrites(_ request: DispatchRequest, _ response: DispatchResponse, effects: [DispatchEffect], key: String) -> Journal.AlsoInTransaction? {
        let rows = Self.outboxRows(effects, region: identity.region, key: key)
        let region = identity.region
        let placed = Self.placedOrder(request, response, day: serviceDay)
        let day = serviceDay
        return rows.isEmpty && placed == nil ? nil : { @Sendable tx, s in
            if !rows.isEmpty { try await DomainSchema.insert(rows, region: region, seq: s, in: tx) }
            if let (order, product) = placed, let day {
                _ = try await tx.execute(DeploymentSchema.insertOrder, [order.rawValue, region, day, product.rawValue], purpose: "order directory")
            }
        }
    }

    /// One request on its own (the lock held): decide, journal, apply, effects, reply.
    private func handleOne(_ request: DispatchRequest, idempotencyKey key: String) async throws -> DispatchResponse {
        try await ensureLoaded()
        try await runPendingEffects()
        guard machine != nil else {
            return .refused(DispatchCommandError(item: identity.region, problem: .wrongRegion, message: "the region's dispatcher is not open"))
        }
        if let r = replies[key] { return r }
        var random = SystemRandomNumberGenerator()
        // No local copy of the machine across the apply (it would make the apply copy the state).
        let (event, response) = machine!.decide(request: request, entropy: random.next())
        guard let event else {
            // A retry of a request accepted long ago may be refused by today's state: answer the original.
            // (Only refusals are looked up: any other answer without an event is a read of today's state.)
            if !repliesComplete, Self.isRefusal(response), let r = try await storedReply(key) { return r }
            return response
        }
        let at = request.at ?? clock
        if machine!.isSoft(event: event) {
            machine!.apply(event: event)
            if let at { clock = max(clock ?? at, at) }
            softApplied += 1
            return response
        }
        let effects = M.effects(of: event)
        let rows = Self.outboxRows(effects, region: identity.region, key: key)
        let region = identity.region
        let placed = Self.placedOrder(request, response, day: serviceDay)
        let day = serviceDay
        let also: Journal.AlsoInTransaction? = rows.isEmpty && placed == nil ? nil : { @Sendable tx, s in
            if !rows.isEmpty { try await DomainSchema.insert(rows, region: region, seq: s, in: tx) }
            if let (order, product) = placed, let day {
                _ = try await tx.execute(DeploymentSchema.insertOrder, [order.rawValue, region, day, product.rawValue], purpose: "order directory")
            }
        }
        let record = DispatcherRecord<M.Config, M.Event>.event(event, response: response, at: at)
        // The manifests the event may change, as they are before it (the lock keeps them so until the apply).
        let probe = onManifestChanges == nil ? nil : machine!.manifestProbe(for: event)
        let manifestsBefore = probe.map { machine!.manifestDigests($0) } ?? []
        switch try await append(record, type: M.eventType(of: event), key: key, also: also) {
        case .duplicate:
            if let r = try await storedReply(key) { return r }
            throw DispatcherError(region: identity.region, message: "request \(key) is journaled but its reply cannot be read")
        case .appended(let s):
            machine!.apply(event: event)   // in place: no copy of the region's state
            seq = s
            if let at { clock = max(clock ?? at, at) }
            remember(key, response)
            let calls = Self.calls(effects, at: at ?? Instant(epochSeconds: 0))
            if !calls.isEmpty { pendingEffects[s] = calls }
            if let probe { tellManifestChanges(probe, before: manifestsBefore) }
        }
        try await runPendingEffects()
        await snapshotIfDue()
        return response
    }

    /// After an applied event: compares the probed couriers' manifests with what was last told (or,
    /// never told, with the manifest before the event) and tells the changed ones. Best effort: it
    /// runs after the commit, and a lost push only means the handheld finds out at its next poll.
    private func tellManifestChanges(_ probe: ManifestProbe, before: [ManifestDigest]) {
        guard let onManifestChanges, let m = machine else { return }
        var baseline: [CourierRef: ManifestDigest] = [:]
        for d in before { baseline[d.courier] = d }
        var changed: [ManifestDigest] = []
        for d in m.manifestDigests(probe) {
            guard let old = toldManifests[d.courier] ?? baseline[d.courier] else {
                toldManifests[d.courier] = d
                changed.append(d)
                continue
            }
            if d.differs(from: old) {
                toldManifests[d.courier] = d
                changed.append(d)
            } else if toldManifests[d.courier] == nil {
                toldManifests[d.courier] = old
            }
        }
        if !changed.isEmpty { onManifestChanges(changed) }
    }

    /// The machine as it is in memory, without waiting for the lock: may include a batch's events
    /// decided but not yet committed. For routing questions whose answer a batch does not change
    /// (which day claims a courier); nil when not loaded yet (then `read`).
    public func peek<T: Sendable>(_ body: @Sendable (M) -> T) -> T? {
        guard loaded else { return nil }
        return machine.map(body)
    }

    /// The machine now, for reads (records, manifests).
    public func read<T: Sendable>(_ body: @Sendable (M) -> T) async throws -> T? {
        await lock()
        defer { unlock() }
        try await ensureLoaded()
        return machine.map(body)
    }

    /// Runs the machine's pending work (after a tick): each job on a dedicated thread with the lock
    /// released, its result fed back as `.workDone` (keyed by kind and plan version, so a retry or a
    /// new owner's re-run after failover applies once). One round of work at a time; a second
    /// caller waits for it. Stops when nothing is pending (at most `rounds` rounds).
    public func runWork(at: Instant, rounds: Int = 4, timeLimit: @Sendable (DispatchWork) -> Duration = { _ in .seconds(10) }) async throws {
        if working {
            await withCheckedContinuation { workWaiters.append($0) }
            return
        }
        working = true
        defer {
            working = false
            for w in workWaiters { w.resume() }
            workWaiters = []
        }
        for _ in 0..<rounds {
            guard let jobs = try await read({ $0.pendingWork(at: at) }), !jobs.isEmpty else { return }
            for job in jobs {
                let stop = mayWrite
                let until = ContinuousClock.now + timeLimit(job)
                // Stops at its time budget, or at once when this node may not write for the region (even
                // for a moment: a late lease renewal). A job cut short that way is not journaled: its
                // result may be anything the search had (a wave with no routes yet), and the work is
                // still pending, so the next round (or the next owner) runs it again.
                let cut = LeaseCut()
                runningWork = job.kind
                let result = await Self.runOnThread(job, shouldStop: {
                    if !stop() { cut.flag.store(true, ordering: .relaxed); return true }
                    return ContinuousClock.now >= until
                })
                runningWork = nil
                if cut.flag.load(ordering: .relaxed) {
                    guard mayWrite() else { return }
                    continue
                }
                _ = try await handle(.workDone(result), idempotencyKey: "\(identity.region)/work/\(job.kind.rawValue)/\(job.basedOnVersion)")
            }
        }
    }

    /// Runs `job` on a new thread (never the cooperative pool); resumes with its result.
    static func runOnThread(_ job: DispatchWork, shouldStop: @escaping @Sendable () -> Bool) async -> DispatchWorkResult {
        await onDedicatedThread(name: "dispatch-work-\(job.region)") { job.run(shouldStop) }
    }

    public func snapshot() async throws {
        await lock()
        defer { unlock() }
        guard loaded, seq > 0, pendingEffects.isEmpty else { return }
        try await journal.writeSnapshot(identity, seq: seq, state: try BinaryEncoder().encode(DispatcherSnapshot(machine: machine, clock: clock)),
                                        token: token)
        snapshotSeq = max(snapshotSeq, seq)
    }

    /// Events whose effects have not all been answered (tests).
    public var unfinishedEffects: Int { pendingEffects.values.reduce(0) { $0 + $1.count } }

    // MARK: - Journal

    private func append(_ record: DispatcherRecord<M.Config, M.Event>, type: String, key: String,
                        also: Journal.AlsoInTransaction?) async throws -> Journal.Appended {
        let payload = try BinaryEncoder().encode(record)
        guard mayWrite() else { throw JournalError(.notServing, identity, "the lease with token \(token) is no longer served here") }
        do {
            return try await journal.append(identity, seq: seq + 1, type: type, payload: payload, idempotencyKey: key,
                                            token: token, alsoInTransaction: also)
        } catch let e as JournalError where e.code == .fenced {
            await onFenced()
            throw e
        } catch {
            loaded = false   // unknown whether it landed, or the journal is ahead: reload first
            throw error
        }
    }

    private func snapshotIfDue() async {
        guard seq - snapshotSeq >= snapshotEvery, pendingEffects.isEmpty, mayWrite() else { return }
        // Best effort: a failed snapshot only means a longer replay.
        if let bytes = try? BinaryEncoder().encode(DispatcherSnapshot(machine: machine, clock: clock)),
           (try? await journal.writeSnapshot(identity, seq: seq, state: bytes, token: token)) != nil {
            snapshotSeq = seq
        }
    }

    /// The reply journaled with `key`, or nil when the key is not in the journal.
    private func storedReply(_ key: String) async throws -> DispatchResponse? {
        guard let bytes = try await journal.payload(of: key, for: identity) else { return nil }
        guard case .event(_, let response, _) = try BinaryDecoder().decode(DispatcherRecord<M.Config, M.Event>.self, from: bytes) else {
            return nil
        }
        remember(key, response)
        return response
    }

    /// The order a placement put on the books (for the order directory): nil for anything else.
    static func placedOrder(_ request: DispatchRequest, _ response: DispatchResponse, day: String?) -> (OrderID, Product)? {
        guard day != nil, case .placeOrder(let draft, _, _) = request, case .placed(let outcome) = response else { return nil }
        if case .rejected = outcome { return nil }
        return (draft.id, draft.product)
    }

    static func isRefusal(_ r: DispatchResponse) -> Bool {
        switch r {
        case .refused, .placed(.rejected): true
        default: false
        }
    }

    private func remember(_ key: String, _ response: DispatchResponse) {
        if replies.updateValue(response, forKey: key) == nil {
            replyOrder.append(key)
            if replyOrder.count > Self.replyCapacity {
                replies[replyOrder.removeFirst()] = nil
                repliesComplete = false
            }
        }
    }

    /// Recovery: snapshot ⊕ the events after it; the effects of those events are run again
    /// (idempotent) before the next request is answered.
    private func ensureLoaded() async throws {
        guard !loaded else { return }
        let r = try await journal.recover(identity)
        var m: M?
        var clock: Instant?
        replies = [:]; replyOrder = []
        repliesComplete = r.snapshot == nil
        pendingEffects = [:]
        if let snap = r.snapshot {
            do {
                let s = try BinaryDecoder().decode(DispatcherSnapshot<M>.self, from: snap.state)
                m = s.machine; clock = s.clock
            } catch { throw JournalError(.corrupt, identity, "snapshot at seq \(snap.seq): \(error)") }
        }
        for e in r.events {
            let record: DispatcherRecord<M.Config, M.Event>
            do { record = try BinaryDecoder().decode(DispatcherRecord<M.Config, M.Event>.self, from: e.payload) } catch {
                throw JournalError(.corrupt, identity, "event \(e.seq) (\(e.type)): \(error)")
            }
            switch record {
            case .opened(let config):
                if m == nil { m = M(config: config) }
            case .event(let event, let response, let at):
                m?.apply(event: event)
                if let at { clock = max(clock ?? at, at) }
                if let k = e.idempotencyKey { remember(k, response) }
                let calls = Self.calls(M.effects(of: event), at: at ?? Instant(epochSeconds: 0))
                if !calls.isEmpty { pendingEffects[e.seq] = calls }
            }
        }
        machine = m
        self.clock = clock
        snapshotSeq = r.snapshot?.seq ?? 0
        seq = r.lastSeq
        loaded = true
    }

    // MARK: - Effects

    /// Runs every unfinished effect, in seq order; within an event, effects on the same actor in
    /// their order, different actors concurrently (at most 16 at a time). Throws (retriably) when
    /// some did not answer: they stay pending and run again before the next request.
    private func runPendingEffects() async throws {
        for s in pendingEffects.keys.sorted() {
            guard let calls = pendingEffects[s] else { continue }
            let failed = await Self.run(calls, seq: s, region: identity.region, runEffect)
            if failed.isEmpty {
                pendingEffects[s] = nil
            } else {
                pendingEffects[s] = calls.filter { failed.contains($0.0) }
                throw DispatcherError(region: identity.region, message: "effects of event \(s) did not all answer; retry")
            }
        }
    }

    /// Returns the indices that failed.
    static func run(_ calls: [(Int, DispatchEffectCall)], seq: Int64, region: String,
                    _ runEffect: @escaping @Sendable (DispatchEffectCall, String) async throws -> Void) async -> Set<Int> {
        var byActor: [String: [(Int, DispatchEffectCall)]] = [:]
        var actorOrder: [String] = []
        for c in calls {
            let a: String = switch c.1 { case .order(let o, _, _): "o:" + o.rawValue; case .store(let s, _): "s:" + s.rawValue }
            if byActor[a] == nil { actorOrder.append(a) }
            byActor[a, default: []].append(c)
        }
        return await withTaskGroup(of: [Int].self) { group in
            var failed = Set<Int>()
            var running = 0
            for a in actorOrder {
                let chain = byActor[a]!
                if running >= 16, let f = await group.next() { failed.formUnion(f); running -= 1 }
                group.addTask {
                    for (i, (index, call)) in chain.enumerated() {
                        var ok = false
                        for attempt in 0..<3 {
                            do {
                                try await runEffect(call, "\(region)/\(seq)/\(index)")
                                ok = true
                                break
                            } catch {
                                if attempt < 2 { try? await Task.sleep(for: .milliseconds(50 << attempt)) }
                            }
                        }
                        // A later effect on the same actor must not overtake a failed one.
                        if !ok { return chain[i...].map(\.0) }
                    }
                    return []
                }
                running += 1
            }
            for await f in group { failed.formUnion(f) }
            return failed
        }
    }

    /// The order/store calls of `effects`, with their index in the event's effects.
    static func calls(_ effects: [DispatchEffect], at: Instant) -> [(Int, DispatchEffectCall)] {
        effects.enumerated().compactMap { i, e in
            switch e {
            case .order(let o, let effect): (i, .order(o, effect, at: at))
            case .store(let s, let effect): (i, .store(s, effect.storeCommand(at: at)))
            case .notify: nil
            }
        }
    }

    /// The `.notify` effects as outbox rows (topic `notify.<region>`, payload the notification).
    static func outboxRows(_ effects: [DispatchEffect], region: String, key: String) -> [OutboxRow] {
        effects.enumerated().compactMap { i, e in
            guard case .notify(let n) = e, let bytes = try? BinaryEncoder().encode(n) else { return nil }
            return OutboxRow(topic: OrderModel.notificationTopic(region: region), order: n.order.rawValue, kind: n.kind.rawValue,
                             dedupKey: "d/\(key)/\(i)", payload: bytes)
        }
    }

    // MARK: - Lock

    private func lock() async {
        if busy { await withCheckedContinuation { waiters.append($0) } } else { busy = true }
    }

    private func unlock() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }
}

/// A request waiting in a shell's queue, and its answer once handled. Lives only inside the shell
/// actor (never crosses it), so it needs no synchronisation.
final class QueuedRequest {
    let request: DispatchRequest
    let key: String
    var result: Result<DispatchResponse, any Error>?
    init(_ request: DispatchRequest, _ key: String) { self.request = request; self.key = key }
}

/// Set by a job's `shouldStop` when it stopped the job because this node could not write for the
/// region. Invariant: only the atomic is shared.
final class LeaseCut: Sendable { let flag = Atomic<Bool>(false) }

extension StoreEffect {
    /// The store actor's command for this effect, at `at` (the dispatcher event's instant).
    public func storeCommand(at: Instant) -> StoreCommand {
        switch self {
        case .reserve(let o, let lines): .reserve(o, lines: lines)
        case .release(let o): .release(o)
        case .pick(let o): .pick(o)
        case .markReady(let o, let code, let until): .markReady(o, at: at, code: code, holdUntil: until)
        case .handOver(let o): .handOverVerified(o, at: at)
        case .noShow(let o): .noShow(o, at: at)
        // The store knows the order's lines: picked goods go back to stock.
        case .restock(let o, _): .release(o)
        case .adjust(let sku, let delta, let reason, let note): .adjustStock(sku, delta: delta, reason: reason.rawValue, note: note, at: at)
        case .unlock(let o): .unlockHold(o, at: at)
        }
    }
}
