import Distributed
import Synchronization

/// A node as the actor system addresses it: its id (the `cluster_nodes` id) and the endpoints of
/// its call server (ROUTER) and event publisher (XPUB).
public struct NodeAddress: Hashable, Sendable, Codable, CustomStringConvertible {
    public var id: String
    /// Where its `RequestServer` is bound, e.g. `tcp://10.0.0.7:7400`.
    public var endpoint: String
    /// Where its event `Publisher` is bound; nil when it publishes nothing.
    public var eventEndpoint: String?
    /// Its CURVE public key (Z85), which a caller and a subscriber present as the server key; nil:
    /// the node serves plaintext (development only), and a node or client holding a key will not call it.
    public var publicKey: String?

    public init(id: String, endpoint: String, eventEndpoint: String? = nil, publicKey: String? = nil) {
        self.id = id; self.endpoint = endpoint; self.eventEndpoint = eventEndpoint; self.publicKey = publicKey
    }

    public var description: String { "\(id)@\(endpoint)" }

    /// What a caller's connection to it is keyed by: the endpoint and the server key it was made with.
    var clientKey: String { publicKey.map { endpoint + "#" + $0 } ?? endpoint }
}

/// Where actors live: which node owns a region now, and whether this node may serve it.
/// Implemented by the node service from its `NodeCoordinator` plan and `LeaseKeeper`
/// (an `StaticRegionOwnership` serves tests and benchmarks).
///
/// Contract (all members are called on the call path, from any task, concurrently):
/// - cheap and non-blocking: read a snapshot (a `Mutex`-held value), never query the database;
/// - `isServing(region:)` is the gate of every inbound call: true only while this node holds the
///   region's lease with margin and is not draining it (`LeaseKeeper.servingToken(for:now:) != nil`);
/// - `version` increases (never decreases) whenever anything `owner(ofRegion:)` or `isServing`
///   would answer changes, so a caller that got `notOwner` can wait for news instead of spinning.
public protocol RegionOwnership: Sendable {
    /// The node that owns `region` as this node believes now, or nil when no live node owns it
    /// (unassigned, or its owner is down and the take-over has not happened yet).
    func owner(ofRegion region: String) -> NodeAddress?

    /// Whether this node serves `region` right now. Inbound calls for regions it does not serve
    /// are answered `notOwner` (naming `owner(ofRegion:)` when known) without running.
    func isServing(region: String) -> Bool

    /// Increases on every ownership change this node learns of.
    var version: UInt64 { get }

    /// Returns once `version > after` or `timeout` has passed (whichever first), with the
    /// current version. Must honour task cancellation (return early).
    func waitForChange(after version: UInt64, timeout: Duration) async -> UInt64
}

/// Creates (restores) virtual actors on demand: an inbound call for an actor that is not in
/// memory but whose region this node serves asks the activator for it. Driven by the pure
/// `ActivationTable` (bounded waiting per actor, LRU/idle passivation, drop on region loss).
///
/// Implemented by the node service (snapshot + journal replay); `FactoryActivator` serves tests.
public protocol ActorActivator: Sendable {
    /// Loads and creates the actor `id` on `system`. Create it inside
    /// `system.withIdentity(id) { Kind(actorSystem: system, …) }` so it gets exactly `id`.
    /// Throwing rejects the calls waiting for it (`handlerFailed`, or the `ClusterCallError`'s
    /// remote code if you throw one); the next call tries again.
    func activate(_ id: ActorIdentity, in system: ClusterActorSystem) async throws -> any DistributedActor

    /// The actor is being passivated (idle, or evicted for room): write its snapshot. It is
    /// dropped afterwards whatever this does. Not called when its region is lost (no writes then).
    func passivate(_ actor: any DistributedActor, id: ActorIdentity, in system: ClusterActorSystem) async
}

extension ActorActivator {
    public func passivate(_ actor: any DistributedActor, id: ActorIdentity, in system: ClusterActorSystem) async {}
}

/// A static ownership map for tests and benchmarks: region → node, changed by `assign`.
/// Every change bumps `version` and wakes `waitForChange`. Thread-safe (one `Mutex`).
public final class StaticRegionOwnership: RegionOwnership {
    struct State {
        var owners: [String: NodeAddress] = [:]
        var version: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }
    private let state = Mutex(State())
    /// This node's id: `isServing` is true for regions assigned to it.
    public let localNodeID: String

    public init(localNodeID: String, owners: [String: NodeAddress] = [:]) {
        self.localNodeID = localNodeID
        state.withLock { $0.owners = owners }
    }

    /// Assigns `region` to `node` (nil: nobody owns it) and wakes waiters.
    public func assign(_ region: String, to node: NodeAddress?) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.owners[region] = node
            s.version += 1
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume() }
    }

    public func owner(ofRegion region: String) -> NodeAddress? { state.withLock { $0.owners[region] } }

    public func isServing(region: String) -> Bool { state.withLock { $0.owners[region]?.id == localNodeID } }

    public var version: UInt64 { state.withLock { $0.version } }

    public func waitForChange(after version: UInt64, timeout: Duration) async -> UInt64 {
        // Race the change against a timer; whichever ends first cancels the other.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.changed(after: version) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        return self.version
    }

    private func changed(after version: UInt64) async {
        let id = state.withLock { s -> UInt64 in s.nextWaiter += 1; return s.nextWaiter }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (k: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.version > version || Task.isCancelled { return true }
                    s.waiters[id] = k
                    return false
                }
                if resumeNow { k.resume() }
            }
        } onCancel: {
            let k = state.withLock { $0.waiters.removeValue(forKey: id) }
            k?.resume()
        }
    }
}

/// Activates actors from a factory per kind (tests, benchmarks, stateless actors).
public struct FactoryActivator: ActorActivator {
    public typealias Factory = @Sendable (ActorIdentity, ClusterActorSystem) async throws -> any DistributedActor
    let factories: [String: Factory]

    public init(_ factories: [String: Factory]) { self.factories = factories }

    public func activate(_ id: ActorIdentity, in system: ClusterActorSystem) async throws -> any DistributedActor {
        guard let make = factories[id.kind] else {
            throw ClusterCallError(.unknownActor, "no factory for actor kind \(id.kind)")
        }
        return try await make(id, system)
    }
}
