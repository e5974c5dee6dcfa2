/// What the activation shell must do.
public enum ActivationDirective<Waiter: Sendable>: Sendable {
    /// Load the actor (snapshot + replay) and create it; then call `loaded` or `loadFailed`.
    case load(ActorIdentity)
    /// Run the call on the (active) actor; call `finished` when it completes.
    case deliver(Waiter, to: ActorIdentity)
    /// Answer the call with an error reply.
    case reject(Waiter, RemoteErrorCode, String)
    /// Write the actor's snapshot, then drop it; then call `passivated`.
    case passivate(ActorIdentity)
    /// Drop the actor now, writing nothing (its region was lost).
    case drop(ActorIdentity)
}

/// Virtual-actor activations on one node as a pure state machine: actors come into memory on
/// their first call (loaded from the journal), serve calls, and leave after being idle or to make
/// room; calls that arrive while an actor loads wait in a bounded queue. Generic over the waiting
/// call (`Waiter`: an inbound request, a continuation…), so it holds no I/O.
///
/// Bounded everything: at most `maxActive` actors (least recently used idle one is passivated to
/// make room; if none is idle the call is rejected `overloaded`), at most `maxWaitingPerActor`
/// calls queued per loading actor (more → `overloaded`). O(1) per call except eviction, O(active).
public struct ActivationTable<Waiter: Sendable>: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var maxActive: Int
        public var maxWaitingPerActor: Int
        /// Passivate an actor with no call in flight for this long.
        public var idleAfter: Duration
        public init(maxActive: Int = 100_000, maxWaitingPerActor: Int = 1_000, idleAfter: Duration = .seconds(600)) {
            self.maxActive = maxActive; self.maxWaitingPerActor = maxWaitingPerActor; self.idleAfter = idleAfter
        }
    }

    enum Entry: Sendable {
        case loading(waiters: [Waiter])
        case active(lastUsed: Timestamp, inFlight: Int)
        /// Being snapshotted out; calls that arrive wait and trigger a reload afterwards.
        case passivating(waiters: [Waiter])
    }

    public let configuration: Configuration
    private(set) var entries: [ActorIdentity: Entry] = [:]

    public init(configuration: Configuration = .init()) { self.configuration = configuration }

    /// Actors in memory or on their way in or out.
    public var count: Int { entries.count }

    public func isActive(_ id: ActorIdentity) -> Bool {
        if case .active = entries[id] { true } else { false }
    }

    /// An inbound call for `id`. `serving` is whether this node may serve `id.region` now
    /// (`LeaseKeeper.servingToken(for:now:) != nil`).
    public mutating func call(_ id: ActorIdentity, _ waiter: Waiter, serving: Bool, now: Timestamp) -> [ActivationDirective<Waiter>] {
        guard serving else { return [.reject(waiter, .notOwner, "region \(id.region) is not served here")] }
        switch entries[id] {
        case let .active(_, inFlight):
            entries[id] = .active(lastUsed: now, inFlight: inFlight + 1)
            return [.deliver(waiter, to: id)]
        case var .loading(waiters):
            guard waiters.count < configuration.maxWaitingPerActor else {
                return [.reject(waiter, .overloaded, "\(id) is loading with \(waiters.count) calls queued")]
            }
            waiters.append(waiter)
            entries[id] = .loading(waiters: waiters)
            return []
        case var .passivating(waiters):
            guard waiters.count < configuration.maxWaitingPerActor else {
                return [.reject(waiter, .overloaded, "\(id) is passivating with \(waiters.count) calls queued")]
            }
            waiters.append(waiter)
            entries[id] = .passivating(waiters: waiters)
            return []
        case nil:
            var out: [ActivationDirective<Waiter>] = []
            if entries.count >= configuration.maxActive {
                guard let victim = leastRecentlyUsedIdle() else {
                    return [.reject(waiter, .overloaded, "\(entries.count) actors active, none idle")]
                }
                entries[victim] = .passivating(waiters: [])
                out.append(.passivate(victim))
            }
            entries[id] = .loading(waiters: [waiter])
            out.append(.load(id))
            return out
        }
    }

    private func leastRecentlyUsedIdle() -> ActorIdentity? {
        var best: (ActorIdentity, Timestamp)?
        for (id, entry) in entries {
            guard case let .active(lastUsed, 0) = entry else { continue }
            if best == nil || lastUsed < best!.1 || (lastUsed == best!.1 && id.description < best!.0.description) {
                best = (id, lastUsed)
            }
        }
        return best?.0
    }

    /// The actor is in memory: deliver everything that waited, in arrival order. If its region was
    /// dropped while it loaded, the answer is `.drop`: discard the instance.
    public mutating func loaded(_ id: ActorIdentity, now: Timestamp) -> [ActivationDirective<Waiter>] {
        guard case let .loading(waiters) = entries[id] else { return [.drop(id)] }
        entries[id] = .active(lastUsed: now, inFlight: waiters.count)
        return waiters.map { .deliver($0, to: id) }
    }

    /// Loading failed (journal unreadable, fenced): reject the waiters; the next call retries.
    public mutating func loadFailed(_ id: ActorIdentity, code: RemoteErrorCode = .handlerFailed, reason: String) -> [ActivationDirective<Waiter>] {
        guard case let .loading(waiters) = entries[id] else { return [] }
        entries[id] = nil
        return waiters.map { .reject($0, code, "\(id) failed to load: \(reason)") }
    }

    /// A delivered call completed.
    public mutating func finished(_ id: ActorIdentity, now: Timestamp) {
        guard case let .active(_, inFlight) = entries[id] else { return }
        entries[id] = .active(lastUsed: now, inFlight: max(0, inFlight - 1))
    }

    /// Passivate actors idle for `idleAfter`, oldest first.
    public mutating func tick(now: Timestamp) -> [ActivationDirective<Waiter>] {
        var idle: [(ActorIdentity, Timestamp)] = []
        for (id, entry) in entries {
            if case let .active(lastUsed, 0) = entry, now - lastUsed >= configuration.idleAfter { idle.append((id, lastUsed)) }
        }
        idle.sort { ($0.1, $0.0.description) < ($1.1, $1.0.description) }
        return idle.map { id, _ in
            entries[id] = .passivating(waiters: [])
            return .passivate(id)
        }
    }

    /// The snapshot is written and the actor dropped. Calls that arrived meanwhile reload it.
    public mutating func passivated(_ id: ActorIdentity) -> [ActivationDirective<Waiter>] {
        guard case let .passivating(waiters) = entries[id] else { return [] }
        if waiters.isEmpty { entries[id] = nil; return [] }
        entries[id] = .loading(waiters: waiters)
        return [.load(id)]
    }

    /// The region was lost (`stopServing`): drop its actors without writing; reject their waiters.
    public mutating func dropRegion(_ region: String) -> [ActivationDirective<Waiter>] {
        var out: [ActivationDirective<Waiter>] = []
        for id in entries.keys.filter({ $0.region == region }).sorted(by: { $0.description < $1.description }) {
            switch entries.removeValue(forKey: id)! {
            case let .loading(waiters), let .passivating(waiters):
                out += waiters.map { .reject($0, .fenced, "region \(region) was lost") }
            case .active:
                break
            }
            out.append(.drop(id))
        }
        return out
    }
}
