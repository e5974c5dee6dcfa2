import Base
import Distributed
import Messaging
import Synchronization

/// Daybreak's `DistributedActorSystem` over Messaging (ZeroMQ): calls to actors on other nodes
/// go as a Wire `call` frame in a DEALER→ROUTER request, with a deadline on every call; replies
/// and typed errors come back the same way (Docs/CLUSTER.md, "The actor system").
///
/// - Actors are addressed by `ActorIdentity`; the region decides the node (`RegionOwnership`).
///   Actors created without `withIdentity` get region `node:<node id>` (they live on this node).
/// - Methods go on the wire by stable names from the `CallTargetRegistry` (`register(_:on:_:)`).
/// - A call to an actor hosted here never touches the wire (`resolve` returns the instance).
/// - Virtual actors are activated on their first call by the `ActorActivator`.
///
/// Lifecycle: `try await ClusterActorSystem(context:configuration:ownership:…)` binds the server
/// and publisher; `run()` serves (call it in a task group you own); `shutdown()` closes the
/// sockets, which ends `run()`. The `MessagingContext` belongs to the caller.
///
/// Isolation: Sendable; all mutable state sits in one `Mutex` (short sections, never across an
/// `await`) plus atomics for counters.
public final class ClusterActorSystem: DistributedActorSystem, Sendable {
    public typealias ActorID = ActorIdentity
    public typealias SerializationRequirement = any Codable
    public typealias InvocationEncoder = ClusterInvocationEncoder
    public typealias InvocationDecoder = ClusterInvocationDecoder
    public typealias ResultHandler = ClusterResultHandler

    /// Tunables of one node's actor system.
    public struct Configuration: Sendable {
        /// This node's id (the `cluster_nodes` id); must match what `RegionOwnership` names.
        public var nodeID: String
        /// Where to bind the call server (ROUTER). `tcp://127.0.0.1:*` picks a port.
        public var endpoint: String = "tcp://127.0.0.1:*"
        /// Where to bind the event publisher (XPUB); nil: this node publishes no events.
        public var eventEndpoint: String? = "tcp://127.0.0.1:*"
        /// Deadline of remote calls without `ClusterCall.timeout`.
        public var defaultTimeout: Duration = .seconds(2)
        public var limits: WireLimits = .default
        /// Inbound calls running at once; one more is answered `overloaded`.
        public var maxInboundInFlight: Int = 10_000
        /// Completed idempotent calls remembered for replay.
        public var idempotencyCacheSize: Int = 10_000
        /// Virtual actors in memory, waiting per loading actor, idle passivation.
        public var activation = ActivationTable<ActivationWaiter>.Configuration()
        /// Run inbound calls on the Messaging I/O thread (`ctx.taskExecutor`): no thread hops,
        /// but every actor method then delays every socket of the context. For thin actors only
        /// (benchmarks, gateways' glue).
        public var serveOnIOThread: Bool = false
        /// Event batches buffered per local subscription; when full, new batches are dropped and
        /// counted in `stats.eventsDropped` (a subscriber that falls behind loses, others don't).
        public var subscriptionBufferBatches: Int = 4_096
        /// Retries of one call after `notOwner` (or, with an idempotency key, a lost connection).
        public var maxRetries: Int = 8
        /// This node's (or client's) CURVE key pair. Set: the call server and the publisher serve CURVE
        /// (the context's `CurveAuthority` decides who gets in, and each call target's roles who may
        /// call it), and peers are called and subscribed to with CURVE (a peer without a key is not
        /// called). nil: plaintext everywhere (development and tests only).
        public var curve: CurveKeyPair? = nil
        public var serverOptions = SocketOptions()
        public var clientOptions = SocketOptions()
        public var publisherOptions = SocketOptions.bulk
        public var subscriberOptions = SocketOptions.bulk
        public var faults: (any FaultInjector)?

        public init(nodeID: String) { self.nodeID = nodeID }
    }

    /// Counters (monotonic) of one system.
    public struct Stats: Sendable, Equatable {
        public var callsSent = 0
        public var callsRetried = 0
        public var callsServed = 0
        /// Inbound frames that did not decode, had the wrong version, wrong type, were oversized
        /// (each answered with a typed error reply).
        public var inboundRejected = 0
        public var repliesUndeliverable = 0
        public var eventsPublished = 0
        public var eventsReceived = 0
        public var eventsDropped = 0
        public var eventsUndecodable = 0
        public var faultsApplied = 0
        /// Requests without Messaging's 8-byte correlation frame or body: dropped by Messaging
        /// (no reply is possible without a correlation id), counted in its socket stats.
        public var inboundMalformedEnvelopes = 0
    }

    final class Counters: Sendable {
        let callsSent = Atomic<Int>(0), callsRetried = Atomic<Int>(0), callsServed = Atomic<Int>(0)
        let inboundRejected = Atomic<Int>(0), repliesUndeliverable = Atomic<Int>(0)
        let eventsPublished = Atomic<Int>(0), eventsReceived = Atomic<Int>(0)
        let eventsDropped = Atomic<Int>(0), eventsUndecodable = Atomic<Int>(0)
        let faultsApplied = Atomic<Int>(0), inboundInFlight = Atomic<Int>(0)
        let correlation = Atomic<UInt64>(0), subscriptionIDs = Atomic<UInt64>(0)
        let draining = Atomic<Bool>(false)
    }

    struct State {
        var hosted: [ActorIdentity: any DistributedActor] = [:]
        var activations: ActivationTable<ActivationWaiter>
        var idempotency: IdempotencyCache<OneShot<WireMessage>>
        var registry = CallTargetRegistry()
        var clients: [String: RequestClient] = [:]
        var peers: [String: NodeAddress] = [:]
        var peerSubscribers: [String: Subscriber] = [:]
        var subscriptions: [UInt64: LocalSubscription] = [:]
        var nextAnonymous = 0
        var closed = false
        /// When a forbidden call of each peer (user id) was last logged (rate limit).
        var forbiddenLogged: [String: ContinuousClock.Instant] = [:]
        /// Fulfilled when the last in-flight inbound call finishes during a drain.
        var drained: OneShot<Void>?
    }

    public let configuration: Configuration
    public let ownership: any RegionOwnership
    public let activator: (any ActorActivator)?
    public let context: MessagingContext
    let logger: Logger
    let codec: WireCodec
    let server: RequestServer
    let publisher: Publisher?
    let state: Mutex<State>
    let counters = Counters()
    let epoch = ContinuousClock.now
    /// Peers' event subscribers for `run()` to pump (bounded: one element per peer connection).
    let pumpStream: AsyncStream<(String, Subscriber)>
    let pumpContinuation: AsyncStream<(String, Subscriber)>.Continuation

    /// This node's address (endpoints resolved after binding).
    public let address: NodeAddress
    public var nodeID: String { configuration.nodeID }
    /// The Messaging I/O thread's executor, for callers that want no thread hops on a call path.
    public var taskExecutor: any TaskExecutor { context.taskExecutor }

    /// Binds the call server (and the publisher) on `context`. Serve with `run()`.
    public init(context: MessagingContext, configuration: Configuration, ownership: any RegionOwnership,
                activator: (any ActorActivator)? = nil, logger: Logger) async throws {
        self.configuration = configuration
        self.ownership = ownership
        self.activator = activator
        self.context = context
        self.logger = logger.child("actors").with("node", configuration.nodeID)
        self.codec = WireCodec(limits: configuration.limits)
        var serverOptions = configuration.serverOptions, publisherOptions = configuration.publisherOptions
        // No peer may hand this node a frame larger than the wire's largest message: libzmq drops the
        // connection of a peer announcing one, before allocating it (a flood of 10 MB frames costs nothing).
        serverOptions.maxMessageSize = min(serverOptions.maxMessageSize, configuration.limits.maxMessageBytes)
        publisherOptions.maxMessageSize = min(publisherOptions.maxMessageSize, configuration.limits.maxMessageBytes)
        if let keys = configuration.curve {
            serverOptions.curveServer = try CurveServer(keyPair: keys, domain: "daybreak-node")
            publisherOptions.curveServer = try CurveServer(keyPair: keys, domain: "daybreak-events", recheckEachMessage: false)
        }
        self.server = try await context.bindServer(configuration.endpoint, options: serverOptions)
        do {
            if let e = configuration.eventEndpoint {
                self.publisher = try await context.bindPublisher(e, options: publisherOptions)
            } else {
                self.publisher = nil
            }
        } catch {
            await server.close()
            throw error
        }
        self.address = NodeAddress(id: configuration.nodeID, endpoint: server.endpoint, eventEndpoint: publisher?.endpoint,
                                   publicKey: configuration.curve?.publicKey)
        self.state = Mutex(State(activations: ActivationTable(configuration: configuration.activation),
                                 idempotency: IdempotencyCache(capacity: configuration.idempotencyCacheSize)))
        (pumpStream, pumpContinuation) = AsyncStream.makeStream(of: (String, Subscriber).self, bufferingPolicy: .unbounded)
    }

    /// Serves inbound calls, pumps peers' events, passivates idle actors; returns after `shutdown()`.
    /// Own it in a task group (it is the only long-running work of the system).
    public func run() async {
        await withDiscardingTaskGroup { group in
            // With serveOnIOThread the ROUTER loop itself prefers the I/O executor too: a batch then
            // resumes it inline on the I/O thread instead of waking a pool thread that hands every
            // call straight back (two hops per inbound call, seen in perf).
            let preference: (any TaskExecutor)? = configuration.serveOnIOThread ? context.taskExecutor : nil
            group.addTask(executorPreference: preference) { await self.serveCalls() }
            group.addTask { await self.passivationLoop() }
            for await (node, subscriber) in pumpStream {
                group.addTask { await self.pumpEvents(from: node, subscriber) }
            }
            group.cancelAll()
        }
    }

    /// Stops serving: closes the server, publisher, clients and subscribers (in-flight outbound
    /// calls fail with `shutdown`), drops hosted actors. Idempotent.
    ///
    /// With `drainFor` > 0 it first stops admitting calls (new ones are answered `notOwner` with
    /// no owner named, which callers retry after their ownership changes: nothing ran) and waits
    /// up to that long for the calls in flight to finish and their replies to be queued.
    public func shutdown(drainFor: Duration = .zero) async {
        if drainFor > .zero && !isShutdown {
            let drained = OneShot<Void>()
            state.withLock { $0.drained = drained }
            counters.draining.store(true, ordering: .sequentiallyConsistent)
            if counters.inboundInFlight.load(ordering: .sequentiallyConsistent) == 0 { drained.fulfill(()) }
            let start = ContinuousClock.now
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    try? await Task.sleep(for: drainFor)
                    drained.fulfill(())
                }
                await drained.value()
                group.cancelAll()
            }
            // The last replies are queued; sockets close with LINGER 0, which would discard what
            // libzmq has not written yet. Wait for the outbox to empty, then give libzmq a moment
            // (bounded by what is left of the drain budget).
            // (Polled: Messaging's space wait is not cancellable, and a peer that stopped reading
            // could keep the outbox from ever emptying.)
            let end = start + drainFor
            while server.stats.outboxed > 0 && ContinuousClock.now < end {
                try? await Task.sleep(for: .milliseconds(1))
            }
            try? await Task.sleep(for: min(max(.zero, end - .now), .milliseconds(50)))
        }
        let (clients, subs, subscriptions, hosted) = state.withLock { s -> ([RequestClient], [Subscriber], [LocalSubscription], [any DistributedActor]) in
            if s.closed { return ([], [], [], []) }
            s.closed = true
            defer { s.clients = [:]; s.peerSubscribers = [:]; s.subscriptions = [:]; s.hosted = [:] }
            return (Array(s.clients.values), Array(s.peerSubscribers.values), Array(s.subscriptions.values), Array(s.hosted.values))
        }
        pumpContinuation.finish()
        await server.close()
        await publisher?.close()
        for c in clients { await c.close() }
        for s in subs { await s.close() }
        for s in subscriptions { s.finish() }
        _ = hosted   // released here, outside the lock (their deinit calls resignID)
    }

    public var isShutdown: Bool { state.withLock { $0.closed } }

    /// A snapshot of the counters.
    public var stats: Stats {
        let c = counters
        return Stats(callsSent: c.callsSent.load(ordering: .relaxed), callsRetried: c.callsRetried.load(ordering: .relaxed),
                     callsServed: c.callsServed.load(ordering: .relaxed), inboundRejected: c.inboundRejected.load(ordering: .relaxed),
                     repliesUndeliverable: c.repliesUndeliverable.load(ordering: .relaxed),
                     eventsPublished: c.eventsPublished.load(ordering: .relaxed), eventsReceived: c.eventsReceived.load(ordering: .relaxed),
                     eventsDropped: c.eventsDropped.load(ordering: .relaxed), eventsUndecodable: c.eventsUndecodable.load(ordering: .relaxed),
                     faultsApplied: c.faultsApplied.load(ordering: .relaxed),
                     inboundMalformedEnvelopes: server.stats.malformedFrames)
    }

    func now() -> Timestamp {
        let d = ContinuousClock.now - epoch
        return Timestamp(nanosecondsSinceEpoch: d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000)
    }

    // MARK: - Identities

    /// The identity `assignID` hands out in this scope (see `withIdentity`).
    @TaskLocal static var pendingIdentity: ActorIdentity?

    /// Creates an actor with exactly `id` (assignID receives no name, so the id travels as a task-local):
    /// `let v = system.withIdentity(id) { Vehicle(actorSystem: system) }`.
    public func withIdentity<A: DistributedActor>(_ id: ActorIdentity, _ make: () throws -> A) rethrows -> A
        where A.ActorSystem == ClusterActorSystem {
        try Self.$pendingIdentity.withValue(id) { try make() }
    }

    /// The region of actors that live on one node and never move: `node:<id>`.
    public static func nodeRegion(_ nodeID: String) -> String { "node:" + nodeID }

    public func assignID<Act>(_ actorType: Act.Type) -> ActorID where Act: DistributedActor, Act.ID == ActorID {
        if let id = Self.pendingIdentity { return id }
        let n = state.withLock { s -> Int in s.nextAnonymous += 1; return s.nextAnonymous }
        return ActorIdentity(kind: "anonymous", key: "a\(n)", region: Self.nodeRegion(nodeID))
    }

    public func actorReady<Act>(_ actor: Act) where Act: DistributedActor, Act.ID == ActorID {
        // A replaced instance leaves the lock before it is released (its deinit calls resignID).
        let replaced = state.withLock { s -> (any DistributedActor)? in
            s.closed ? nil : s.hosted.updateValue(actor, forKey: actor.id)
        }
        _ = replaced
    }

    /// Nothing to do: `hosted` holds its actors strongly, so an actor that deinitializes is not
    /// (or no longer) the one under its id there — removing by id would evict a newer instance
    /// with the same identity (a re-activation).
    public func resignID(_ id: ActorID) {}

    /// Forgets a hosted actor (it stops being reachable; it deinitializes when unreferenced).
    /// Hosted actors are held strongly until then, or until passivation, region loss or shutdown.
    public func remove(_ id: ActorIdentity) {
        // Released after the lock: the last release runs deinit → resignID, which locks.
        let a = state.withLock { $0.hosted.removeValue(forKey: id) }
        _ = a
    }

    /// The local instance when `id` is hosted here: calls then skip the wire entirely.
    public func resolve<Act>(id: ActorID, as actorType: Act.Type) throws -> Act? where Act: DistributedActor, Act.ID == ActorID {
        state.withLock { $0.hosted[id] } as? Act
    }

    public func makeInvocationEncoder() -> InvocationEncoder { ClusterInvocationEncoder() }

    // MARK: - Call targets

    /// While set, `remoteCall` reports the target's mangled identifier instead of calling.
    @TaskLocal static var recording = false
    struct Recorded: Error { var identifier: String }

    /// Binds the stable wire `name` to the distributed method that `call` invokes on `proxy`
    /// (run once per method at start-up, on every node, with the same names):
    /// `try await system.register("Vehicle.report", on: proxy) { try await $0.report(.zero) }`.
    /// `proxy` must be a remote reference (`Act.resolve(id:using:)` of an id not hosted here),
    /// e.g. `ActorIdentity(kind: "manifest", key: "-", region: "-")`.
    /// `roles`: who may call it over an authenticated (CURVE) port; others get `forbidden`.
    public func register<Act: DistributedActor>(_ name: String, on proxy: Act, roles: Set<String> = CallTargetRegistry.defaultRoles,
                                                _ call: (Act) async throws -> Void) async throws where Act.ID == ActorIdentity {
        do {
            try await Self.$recording.withValue(true) { try await call(proxy) }
        } catch let r as Recorded {
            try state.withLock { try $0.registry.register(name, mangled: r.identifier, roles: roles) }
            return
        }
        throw ClusterCallError(.unknownTarget, "registering \(name): the call did not reach remoteCall (is the proxy local?)")
    }

    /// The registry built so far.
    public var registry: CallTargetRegistry { state.withLock { $0.registry } }

    // MARK: - Remote calls (DistributedActorSystem)

    public func remoteCall<Act, Err, Res>(on actor: Act, target: RemoteCallTarget, invocation: inout InvocationEncoder,
                                          throwing: Err.Type, returning: Res.Type) async throws -> Res
        where Act: DistributedActor, Act.ID == ActorID, Err: Error, Res: Codable {
        if Self.recording { throw Recorded(identifier: target.identifier) }
        let payload = try await call(actor.id, target, invocation.payload)
        do {
            return try BinaryDecoder().decode(Res.self, from: payload)
        } catch {
            throw ClusterCallError(.badArguments, "reply of \(actor.id) does not decode as \(Res.self): \(error)")
        }
    }

    public func remoteCallVoid<Act, Err>(on actor: Act, target: RemoteCallTarget, invocation: inout InvocationEncoder,
                                         throwing: Err.Type) async throws
        where Act: DistributedActor, Act.ID == ActorID, Err: Error {
        if Self.recording { throw Recorded(identifier: target.identifier) }
        _ = try await call(actor.id, target, invocation.payload)
    }
}
