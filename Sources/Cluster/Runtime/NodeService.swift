import Base
import Distributed
import Messaging
import Storage
import Synchronization

/// One Daybreak node: the I/O shell around `NodeCoordinator`. It registers in `cluster_nodes`,
/// heartbeats, reads nodes and leases with the database's now, feeds the coordinator and carries
/// out its directives (declare down, acquire / renew / drain / release leases, step down), and
/// hosts a `ClusterActorSystem` whose ownership is this node's lease view (`NodeRegionOwnership`) and
/// whose virtual actors are restored from the journal (`JournalActivator`).
///
/// Isolation: `run()` owns everything; all mutable state sits in one `Mutex` and is changed only in
/// short synchronous sections, so a check and the change it justifies never have an `await` between.
public final class NodeService: Sendable {
    public let configuration: NodeConfiguration
    let logger: Logger
    let state: Mutex<NodeState>
    /// Actor kinds, migrations and services added by the layer above (none by default).
    public let extensions: NodeExtensions

    public init(_ configuration: NodeConfiguration, logger: Logger, extensions: NodeExtensions = NodeExtensions()) {
        self.configuration = configuration
        self.extensions = extensions
        self.logger = logger.with("node", configuration.id)
        self.state = Mutex(NodeState(coordinator: NodeCoordinator(
            selfID: configuration.id, regions: configuration.regions,
            membership: configuration.membership, leases: configuration.leases)))
    }

    /// Runs the node until cancelled, then leaves gracefully: stops taking calls per region,
    /// finishes in-flight ones, writes snapshots, releases its leases (so others take over at once)
    /// and marks itself down. Cancellation starts the leave; the leave itself must not be cancelled
    /// (its database statements would fail), so it runs in a task that `run()` owns and always
    /// awaits, bounded by `leaveTimeout`.
    public func run() async throws {
        let body = Task { try await self.lifecycle() }
        try await withTaskCancellationHandler {
            try await body.value
        } onCancel: {
            self.requestLeave()
        }
    }

    /// Starts a graceful leave (also what cancelling `run()` does). Safe from any thread.
    public func requestLeave() {
        state.withLock { $0.leaveRequested = true }
    }

    /// The regions this node serves right now with their tokens.
    public func servingRegions() -> [RegionKey: FencingToken] {
        state.withLock { s in s.serving.filter { s.writeToken(for: $0.key) == $0.value } }
    }

    /// The endpoint others reach this node at (nil until bound).
    public var endpoint: String? { state.withLock { $0.endpoint } }

    // MARK: lifecycle

    private func lifecycle() async throws {
        let directory: PrincipalDirectory? = configuration.curve == nil ? nil : try PrincipalDirectory()
        let context = try MessagingContext(logger: logger.child("messaging"), curveAuthority: directory.map { NodePortAuthority(directory: $0) })
        state.withLock { $0.directory = directory }
        do {
            try await lifecycle(context)
        } catch {
            await context.shutdown()
            throw error
        }
        await context.shutdown()
    }

    private func lifecycle(_ context: MessagingContext) async throws {
        let cfg = configuration
        let database = cfg.schema.map { cfg.database.withSearchPath($0) } ?? cfg.database
        let control = try await PostgresConnection.connect(database, logger: logger.child("pg"))
        let pool = PostgresPool(database, size: 4, acquireTimeout: cfg.statementTimeout, logger: logger.child("pg"))
        let journal = Journal(pool: pool, node: cfg.id, timeout: cfg.statementTimeout)
        var systemConfig = ClusterActorSystem.Configuration(nodeID: cfg.id.rawValue)
        systemConfig.curve = cfg.curve
        systemConfig.endpoint = cfg.listen
        systemConfig.eventEndpoint = cfg.events
        systemConfig.maxInboundInFlight = cfg.maxInFlight
        let system: ClusterActorSystem
        do {
            system = try await ClusterActorSystem(context: context, configuration: systemConfig, ownership: NodeRegionOwnership(self),
                                                  activator: JournalActivator(service: self, journal: journal), logger: logger)
        } catch {
            await pool.close()
            await control.close()
            throw error
        }
        let endpoint = cfg.advertise ?? system.address.endpoint
        state.withLock { s in
            s.endpoint = endpoint
            s.system = system
        }
        do {
            if cfg.hostsDemoCounter { try await CounterActor.registerTargets(on: system) }
            for k in extensions.kinds { try await k.registerTargets(system) }
            let migrations = ClusterSchema.migrations.map { Migration(Int64($0.version), $0.name, sql: $0.sql) } + extensions.migrations
            let logger = self.logger
            // Bounded: another node's migration holds the advisory lock for at most this long.
            try await withDeadline(.seconds(30), "migrate and seed regions") {
                _ = try await Migrator(migrations, schema: cfg.schema, logger: logger).migrate(control)
                for r in cfg.regions {
                    try await control.execute(ClusterSchema.ensureRegion, [r.rawValue], purpose: "seed region")
                }
            }
            for check in extensions.prepare { try await check(control, logger) }
            if let keys = cfg.curve, let directory = state.withLock({ $0.directory }) {
                // The node's own key is a principal of role node; then who may connect is read before anyone can.
                _ = try await withDeadline(cfg.statementTimeout, "register node key") {
                    try await control.execute(PrincipalDirectory.upsert, [keys.publicKey, "node:\(cfg.id.rawValue)", Principal.node, ""],
                                              purpose: "register node key")
                }
                let n = try await directory.refresh(pool)
                logger.info("CURVE on every port", ["public_key": keys.publicKey, "principals": n])
            } else {
                logger.warning("serving plaintext: anyone who reaches this node's ports can call it (development only; pass a key)")
            }
            try await register(control, endpoint: endpoint)
            logger.info("node up", ["endpoint": endpoint, "regions": cfg.regions.count])
            try await withThrowingTaskGroup(of: Void.self) { group in
                let services = self.extensions.services, logger = self.logger
                group.addTask {
                    // The extension services live exactly as long as the system runs: cancelled when
                    // `run()` returns (shutdown), so the node's leave never waits for them.
                    await withTaskGroup(of: Bool.self) { inner in
                        inner.addTask { await system.run(); return true }
                        for service in services { inner.addTask { await service(system, pool, logger); return false } }
                        if let directory = self.state.withLock({ $0.directory }) {
                            let every = self.configuration.principalsRefresh
                            inner.addTask { await directory.run(pool, every: every, logger: logger); return false }
                        }
                        while let systemEnded = await inner.next() { if systemEnded { inner.cancelAll() } }
                    }
                }
                defer { group.cancelAll() }
                try await self.controlLoop(control)
                // Every region is handed over by now; answer whatever is still in flight (notOwner,
                // so callers move on) before the sockets close.
                await system.shutdown(drainFor: cfg.drainTimeout)
                try await group.waitForAll()
            }
        } catch {
            await system.shutdown()
            state.withLock { $0.system = nil }
            await pool.close()
            await control.close()
            throw error
        }
        state.withLock { $0.system = nil }
        await pool.close()
        await control.close()
        logger.info("node stopped")
    }

    private func register(_ control: PostgresConnection, endpoint: String) async throws {
        let id = configuration.id.rawValue
        let events = state.withLock { $0.system?.address.eventEndpoint }
        let rows = try await withDeadline(configuration.statementTimeout, "register") {
            try await control.query(ClusterSchema.registerNodeWithEvents, [id, endpoint, events, self.configuration.curve?.publicKey], purpose: "register node")
        }
        let started = try rows[0].decode(0, as: Int64.self)
        state.withLock { $0.startedAtUs = started }
    }

    // MARK: control loop

    private func controlLoop(_ control: PostgresConnection) async throws {
        let cfg = configuration
        let tickEvery = min(.milliseconds(100), cfg.safetyMargin / 4)
        var nextRound = ContinuousClock.now
        var leaveDeadline: ContinuousClock.Instant? = nil
        var roundsSinceLeave = 0
        while true {
            let (startLeave, leaving, idle) = state.withLock { s in
                (s.leaveRequested && !s.leaving, s.leaving, s.coordinator.leases.phases.isEmpty)
            }
            if startLeave {
                logger.info("leaving: draining and handing regions over")
                leaveDeadline = .now + cfg.leaveTimeout
                let (id, started) = (cfg.id.rawValue, state.withLock { $0.startedAtUs })
                do {
                    _ = try await withDeadline(cfg.statementTimeout, "mark leaving") {
                        try await control.execute(ClusterSchema.markNodeLeaving, [id, started], purpose: "mark leaving")
                    }
                } catch { logger.warning("mark leaving failed: \(error)") }
                state.withLock { $0.leaving = true }
                nextRound = .now
                continue
            }
            if leaving {
                if idle && roundsSinceLeave >= 1 { break }
                if let d = leaveDeadline, ContinuousClock.now >= d {
                    logger.warning("leave timed out; remaining leases will expire")
                    break
                }
            }
            if ContinuousClock.now >= nextRound {
                nextRound = .now + (leaving ? cfg.heartbeatInterval / 2 : cfg.heartbeatInterval)
                await round(control)
                if leaving { roundsSinceLeave += 1 }
            } else {
                let directives = state.withLock { s in s.coordinator.tick(now: s.now()) }
                await execute(directives, control)
            }
            try? await Task.sleep(for: tickEvery)
        }
        // Out of every plan at once; nothing is served any more.
        let (id, started) = (cfg.id.rawValue, state.withLock { $0.startedAtUs })
        do {
            _ = try await withDeadline(cfg.statementTimeout, "mark left") {
                try await control.execute(ClusterSchema.markNodeLeft, [id, started], purpose: "mark left")
            }
        } catch { logger.warning("mark left failed: \(error)") }
    }

    /// Tells the actor system about a live peer (its call client, and its events once peers publish).
    private func connect(_ node: NodeID, _ endpoint: String) async {
        guard node != configuration.id, let system = state.withLock({ $0.system }) else { return }
        let (events, key) = state.withLock { ($0.peerEvents[node], $0.peerKeys[node]) }
        do { try await system.connect(to: NodeAddress(id: node.rawValue, endpoint: endpoint, eventEndpoint: events, publicKey: key)) } catch {
            logger.warning("connect to \(node) at \(endpoint) failed: \(error)")
        }
    }

    /// After losing its incarnation the node registers a new one — retried every round until it
    /// works (the database may be what was lost). A leaving node never comes back.
    private func reregisterIfNeeded(_ control: PostgresConnection) async {
        let (needed, leaving, endpoint) = state.withLock { s in (!s.coordinator.registered, s.leaving || s.leaveRequested, s.endpoint) }
        guard needed, !leaving else { return }
        do {
            try await register(control, endpoint: endpoint ?? configuration.listen)
            state.withLock { $0.coordinator.reregistered() }
            logger.notice("re-registered as a new incarnation")
        } catch { logger.warning("re-register failed (retried next round): \(error)") }
    }

    /// One observation: heartbeat + nodes + leases in one round trip (one implicit transaction,
    /// so one `now()`), then the coordinator's directives.
    private func round(_ control: PostgresConnection) async {
        let cfg = configuration
        await reregisterIfNeeded(control)
        let sentAt = ContinuousClock.now
        let (id, started) = (cfg.id.rawValue, state.withLock { $0.startedAtUs })
        let results: [PostgresRows]
        do {
            results = try await withDeadline(cfg.statementTimeout, "observe") {
                try await control.pipeline([
                    PostgresStatement(ClusterSchema.heartbeat, [id, started]),
                    PostgresStatement(ClusterSchema.readNodes),
                    PostgresStatement(ClusterSchema.readLeases),
                ], purpose: "heartbeat and observe")
            }
        } catch {
            logger.warning("observation round failed: \(error)")
            return
        }
        let nodes: [NodeRecord]
        let leases: [Lease]
        let now: Timestamp
        do {
            nodes = try results[1].map { r in
                NodeRecord(id: NodeID(try r.decode(0, as: String.self)), endpoint: try r.decode(1, as: String.self),
                           startedAt: Timestamp(microsecondsSinceEpoch: try r.decode(2, as: Int64.self)),
                           lastHeartbeat: Timestamp(microsecondsSinceEpoch: try r.decode(3, as: Int64.self)),
                           status: NodeStatus(rawValue: try r.decode(4, as: String.self)) ?? .down)
            }
            leases = try results[2].map(Self.lease)
            let events = try results[1].map { r in (NodeID(try r.decode(0, as: String.self)), try r.decode(6, as: String?.self)) }
            let keys = try results[1].map { r in (NodeID(try r.decode(0, as: String.self)), try r.decode(7, as: String?.self)) }
            state.withLock { s in
                s.peerEvents = Dictionary(events.compactMap { id, e in e.map { (id, $0) } }, uniquingKeysWith: { a, _ in a })
                s.peerKeys = Dictionary(keys.compactMap { id, k in k.map { (id, $0) } }, uniquingKeysWith: { a, _ in a })
            }
            guard let nowUs = try results[1].first?.decode(5, as: Int64.self) ?? results[2].first?.decode(4, as: Int64.self) else { return }
            now = Timestamp(microsecondsSinceEpoch: nowUs)
        } catch {
            logger.error("unreadable cluster rows: \(error)")
            return
        }
        let beatOK = !results[0].isEmpty
        let endpoints = Dictionary(nodes.filter { $0.status == .alive }.map { ($0.id, $0.endpoint) }, uniquingKeysWith: { a, _ in a })
        let nodeKeys = state.withLock { $0.peerKeys }
        var owners: [String: NodeAddress] = [:]
        for l in leases where l.isHeld(at: now) {
            if let o = l.owner, let e = endpoints[o] {
                owners[l.region.rawValue] = NodeAddress(id: o.rawValue, endpoint: e, publicKey: o == cfg.id ? cfg.curve?.publicKey : nodeKeys[o])
            }
        }
        let (directives, woken) = state.withLock { s in
            s.dbNow = now
            s.readAt = sentAt
            var d = beatOK ? [] : s.coordinator.heartbeatRefused()
            d += s.coordinator.observe(nodes: nodes, leases: leases, now: now)
            return (d, s.setOwners(owners))
        }
        for w in woken { w.resume() }
        await execute(directives, control)
    }

    static func lease(_ r: PostgresRow) throws -> Lease {
        Lease(region: RegionKey(try r.decode(0, as: String.self)), owner: try r.decode(1, as: String?.self).map { NodeID($0) },
              token: FencingToken(UInt64(try r.decode(2, as: Int64.self))),
              expiresAt: Timestamp(microsecondsSinceEpoch: try r.decode(3, as: Int64.self)))
    }

    /// Carries out directives in order; results fed back to the coordinator may add more, which run next.
    private func execute(_ directives: [NodeDirective], _ control: PostgresConnection) async {
        var work = directives
        while !work.isEmpty {
            let d = work.removeFirst()
            work.insert(contentsOf: await execute(d, control), at: 0)
        }
    }

    private func execute(_ directive: NodeDirective, _ control: PostgresConnection) async -> [NodeDirective] {
        let cfg = configuration
        let id = cfg.id.rawValue
        let leaseMs = cfg.leaseDuration.wholeMilliseconds
        switch directive {
        case let .membership(.declareDown(node, lastHeartbeat, silentFor)):
            do {
                let n = try await withDeadline(cfg.statementTimeout, "mark down") {
                    try await control.execute(ClusterSchema.markNodeDown, [node.rawValue, lastHeartbeat.microsecondsSinceEpoch],
                                              purpose: "mark node down")
                }
                logger.notice(n == 1 ? "declared \(node) down (silent \(silentFor))" : "\(node) heartbeat raced the mark-down")
            } catch { logger.warning("mark \(node) down failed: \(error)") }
            return []
        case let .membership(.stopServing(reason)):
            logger.warning("this node is out of the cluster: \(reason)")
            return []
        case let .membership(.joined(node, endpoint)):
            logger.info("\(node) joined at \(endpoint)")
            await connect(node, endpoint)
            return []
        case let .membership(.restarted(node, endpoint)):
            logger.info("\(node) restarted at \(endpoint)")
            await state.withLock { $0.system }?.disconnect(nodeID: node.rawValue)
            await connect(node, endpoint)
            return []
        case let .membership(.removed(node)):
            logger.info("\(node) left the live set")
            // Fails in-flight calls to it at once (callers with a key retry at the new owner).
            if node != cfg.id { await state.withLock { $0.system }?.disconnect(nodeID: node.rawValue) }
            return []
        case let .membership(m):
            logger.debug("membership: \(m)")
            return []
        case .reregister:
            await reregisterIfNeeded(control)
            return []
        case let .lease(l):
            return await execute(l, control, id: id, leaseMs: leaseMs)
        }
    }

    private func execute(_ directive: LeaseDirective, _ control: PostgresConnection, id: String, leaseMs: Int64) async -> [NodeDirective] {
        let cfg = configuration
        switch directive {
        case let .acquire(region, expected):
            do {
                let rows = try await withDeadline(cfg.statementTimeout, "acquire \(region)") {
                    try await control.query(ClusterSchema.acquireLease, [region.rawValue, id, Int64(expected.value), leaseMs],
                                            purpose: "acquire lease")
                }
                if let r = rows.first {
                    let lease = try Self.lease(r)
                    let now = Timestamp(microsecondsSinceEpoch: try r.decode(4, as: Int64.self))
                    return state.withLock { $0.coordinator.acquired(lease, now: now) }
                }
            } catch { logger.warning("acquire \(region) failed: \(error)") }
            return state.withLock { $0.coordinator.leaseFailed(region) }
        case let .renew(region, token):
            do {
                let rows = try await withDeadline(cfg.statementTimeout, "renew \(region)") {
                    try await control.query(ClusterSchema.renewLease, [region.rawValue, id, Int64(token.value), leaseMs],
                                            purpose: "renew lease")
                }
                if let r = rows.first {
                    let lease = try Self.lease(r)
                    return state.withLock { $0.coordinator.renewed(lease) }
                }
                logger.warning("renewal of \(region) \(token) refused")
            } catch { logger.warning("renew \(region) failed: \(error)") }
            return state.withLock { $0.coordinator.leaseFailed(region) }
        case let .startServing(region, token):
            let woken = state.withLock { s in
                s.serving[region] = token
                s.draining.remove(region)
                s.lastToken[region] = token
                var owners = s.owners
                if let e = s.endpoint { owners[region.rawValue] = NodeAddress(id: configuration.id.rawValue, endpoint: e, publicKey: configuration.curve?.publicKey) }
                return s.setOwners(owners, force: true)
            }
            for w in woken { w.resume() }
            logger.info("serving \(region) with token \(token)")
            return []
        case let .beginDrain(region, token):
            logger.info("draining \(region) \(token)")
            let woken = state.withLock { s in
                s.draining.insert(region)
                return s.setOwners(s.owners, force: true)
            }
            for w in woken { w.resume() }
            // New calls are refused from here (`isServing` is false); let running ones finish.
            let until = ContinuousClock.now + cfg.drainTimeout
            let activations = state.withLock { s in s.activations.values.filter { $0.identity.region == region.rawValue } }
            for a in activations {
                while !(await a.isIdle), ContinuousClock.now < until { try? await Task.sleep(for: .milliseconds(5)) }
                do {
                    try await withDeadline(cfg.statementTimeout, "snapshot") { try await a.snapshot() }
                } catch { logger.warning("snapshot of \(a.identity) failed: \(error)") }
            }
            return state.withLock { $0.coordinator.drained(region) }
        case let .release(region, token):
            do {
                _ = try await withDeadline(cfg.statementTimeout, "release \(region)") {
                    try await control.execute(ClusterSchema.releaseLease, [region.rawValue, id, Int64(token.value)], purpose: "release lease")
                }
                logger.info("released \(region) \(token)")
            } catch { logger.warning("release \(region) failed (the lease will expire): \(error)") }
            state.withLock { $0.coordinator.released(region) }
            return []
        case let .stopServing(region, reason):
            await stopServingNow(region, reason: reason)
            return []
        }
    }

    /// Stops serving `region` at once: no more calls admitted, its activations dropped without writes
    /// (their in-flight commands fail their next write check, or the journal fences them).
    func stopServingNow(_ region: RegionKey, reason: String) async {
        let (had, system, woken) = state.withLock { s in
            s.draining.remove(region)
            s.activations = s.activations.filter { $0.key.region != region.rawValue }
            let had = s.serving.removeValue(forKey: region)
            var owners = s.owners
            if owners[region.rawValue]?.id == configuration.id.rawValue { owners[region.rawValue] = nil }
            return (had, s.system, s.setOwners(owners, force: true))
        }
        for w in woken { w.resume() }
        await system?.regionLost(region.rawValue)
        if had != nil { logger.notice("stopped serving \(region): \(reason)") }
    }

    /// The journal rejected a write of `region` under `token`: the lease is gone, step down now.
    func fenced(_ region: RegionKey, token: FencingToken) async {
        let directives = state.withLock { s in s.serving[region] == token ? s.coordinator.leaseFailed(region) : [] }
        logger.warning("the journal fenced a write to \(region) with token \(token); stepping down")
        for case let .lease(.stopServing(r, reason)) in directives { await stopServingNow(r, reason: reason) }
        if configuration.chaosSkipLocalFence { await stopServingNow(region, reason: "fenced by the journal") }
    }
}

/// The node's mutable state (inside `NodeService.state`).
struct NodeState: Sendable {
    var coordinator: NodeCoordinator
    var endpoint: String?
    var startedAtUs: Int64 = 0
    /// The database's now at the last read and the local instant the read was sent (so the
    /// estimate below runs slightly ahead of the database: conservative for leases).
    var dbNow = Timestamp(nanosecondsSinceEpoch: 0)
    var readAt = ContinuousClock.now
    /// Regions started (`startServing`) with their tokens.
    var serving: [RegionKey: FencingToken] = [:]
    /// Regions refusing new calls while in-flight ones finish.
    var draining: Set<RegionKey> = []
    /// The last token ever served per region (fault injection only).
    var lastToken: [RegionKey: FencingToken] = [:]
    /// Live activations of journaled actors (to drain and snapshot a region).
    var activations: [ActorIdentity: any JournaledActivation] = [:]
    var system: ClusterActorSystem?
    /// Ownership: region → the node holding its lease (from the last read, adjusted by this node's own changes).
    var owners: [String: NodeAddress] = [:]
    var ownershipVersion: UInt64 = 0
    var ownershipWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    var nextWaiter: UInt64 = 0
    /// Peers' event endpoints from the last read of `cluster_nodes`.
    var peerEvents: [NodeID: String] = [:]
    /// Peers' CURVE public keys from the last read of `cluster_nodes`.
    var peerKeys: [NodeID: String] = [:]
    /// Who may connect (CURVE), refreshed from `principals`; nil when the node serves plaintext.
    var directory: PrincipalDirectory?
    var leaveRequested = false
    var leaving = false

    /// Estimated database time now.
    func now() -> Timestamp { dbNow + (ContinuousClock.now - readAt) }

    /// The token a journal write for `region` may carry now, or nil.
    func writeToken(for region: RegionKey) -> FencingToken? {
        guard let t = serving[region], coordinator.leases.servingToken(for: region, now: now()) == t else { return nil }
        return t
    }
}

extension NodeState {
    /// Replaces the owner map; bumps the ownership version if anything changed (or `force`, when
    /// this node's own serving set changed). Returns the waiters to resume outside the lock.
    mutating func setOwners(_ new: [String: NodeAddress], force: Bool = false) -> [CheckedContinuation<Void, Never>] {
        guard force || new != owners else { return [] }
        owners = new
        ownershipVersion += 1
        defer { ownershipWaiters = [:] }
        return Array(ownershipWaiters.values)
    }
}
