import Base
import Cluster
import DispatchPlanning
import Distributed
import Storage
import Synchronization

/// The domain actor kinds as the node hosts them: `daybreak node` passes `DomainNode.extensions()`
/// to `NodeService`, which then activates `order/…`, `store/…`, `dispatcher/…`, `vehicle/…` and
/// `rider/…` in the regions it serves (with
/// the region's token, like the counter), runs the domain migrations after the cluster's, and
/// runs the outbox publisher for the node's lifetime.
public enum DomainNode {
    public static let order = HostedActorKind(kind: OrderModel.kind, activate: { grant, system in
        let entity = DomainEntity<OrderModel>(identity: grant.identity, token: grant.token, journal: grant.journal,
                                              mayWrite: grant.mayWrite, onFenced: grant.onFenced)
        return (system.withIdentity(grant.identity) { OrderActor(actorSystem: system, entity: entity) }, entity)
    }, registerTargets: { try await OrderActor.registerTargets(on: $0) })

    public static let store = HostedActorKind(kind: StoreModel.kind, activate: { grant, system in
        let entity = DomainEntity<StoreModel>(identity: grant.identity, token: grant.token, journal: grant.journal,
                                              mayWrite: grant.mayWrite, onFenced: grant.onFenced)
        return (system.withIdentity(grant.identity) { StoreActor(actorSystem: system, entity: entity) }, entity)
    }, registerTargets: { try await StoreActor.registerTargets(on: $0) })

    /// Order, store, the region dispatcher and the couriers (`vehicle`, `rider`).
    public static let kinds = [order, store, dispatcherKind(), vehicle, rider]

    /// Kinds, migrations and the outbox publisher (every node drains; `SKIP LOCKED` keeps two
    /// nodes off the same rows) publishing on the node's actor system. With `operating` (the
    /// deployment's files and clock, what `daybreak node` loads) the node also checks its clock
    /// mode against the deployment's before it joins (a mismatch stops it with `ClockError`), opens
    /// the service days of the regions it owns by itself and runs their schedule (`RegionDays`).
    public static func extensions(operating: OperatingConfig? = nil, drainEvery: Duration = .milliseconds(200)) -> NodeExtensions {
        let kinds = operating == nil ? Self.kinds : [order, store, dispatcherKind(operating: operating), vehicle, rider]
        var services: [@Sendable (ClusterActorSystem, PostgresPool, Logger) async -> Void] = [{ system, pool, logger in
            await OutboxPublisher(pool: pool).run(every: drainEvery, { topic, envelope in
                try system.publish(topic: topic, event: envelope)
            }, onError: { logger.warning("outbox drain failed", ["error": "\($0)"]) })
        }]
        var prepare: [@Sendable (PostgresConnection, Logger) async throws -> Void] = []
        if let operating {
            services.append({ system, _, logger in await DaySchedule.run(operating, system: system, logger: logger) })
            prepare.append({ conn, logger in
                let s = try await DeploymentClock.ensure(mode: operating.clock, start: operating.clockStart ?? operating.wallNow(),
                                                         offset: operating.operations.offset, on: conn, who: "this node")
                logger.info("clock", ["mode": s.mode.rawValue, "now": s.driven.map { DeploymentClock.iso($0, operating.operations.offset) } ?? "wall"])
            })
        }
        return NodeExtensions(kinds: kinds,
                              migrations: (DomainSchema.migrations + DeploymentSchema.migrations).map { Migration(Int64($0.version), $0.name, sql: $0.sql) },
                              services: services, prepare: prepare)
    }
}

/// The node's schedule of its regions' service days: for every region this node serves, one task
/// (owned by this service's task group) runs that region's `RegionDays.runSchedule` until the
/// region is no longer served here; the service wakes when the ownership's version changes (a lease
/// acquired or lost), not on a timer for due work: each region sleeps until its own next due instant.
enum DaySchedule {
    static func run(_ operating: OperatingConfig, system: ClusterActorSystem, logger: Logger) async {
        let running = RunningRegions()
        await withDiscardingTaskGroup { group in
            var seen = system.ownership.version
            while !Task.isCancelled {
                for r in operating.regions.map(\.rawValue) where system.ownership.isServing(region: r) {
                    guard running.set.withLock({ $0.insert(r).inserted }) else { continue }
                    group.addTask {
                        defer { running.set.withLock { _ = $0.remove(r) } }
                        await runRegion(r, operating, system: system, logger: logger)
                    }
                }
                // Woken when the node's serving set changes (a lease acquired or lost); the timeout only
                // re-checks regions whose schedule ended early (e.g. after a failure to activate).
                seen = await system.ownership.waitForChange(after: seen, timeout: .seconds(5))
            }
        }
    }

    /// Regions whose schedule task runs (shared by the loop and its child tasks).
    final class RunningRegions: Sendable { let set = Mutex<Set<String>>([]) }

    static func runRegion(_ region: String, _ operating: OperatingConfig, system: ClusterActorSystem, logger: Logger) async {
        let id = RegionDispatcher.identity(region: region)
        do {
            // The first call activates the dispatcher here (its region is served here), restoring its days.
            _ = try await ClusterCall.$timeout.withValue(.seconds(30)) {
                try await RegionDispatcher.resolve(id: id, using: system).status(now: nil)
            }
            guard let days = await (try RegionDispatcher.resolve(id: id, using: system)).whenLocal({ $0.days }) else { return }
            logger.info("scheduling the region's service days", ["region": region, "clock": operating.clock.rawValue])
            await days.runSchedule(mode: operating.clock, wallNow: operating.wallNow)
        } catch {
            logger.warning("cannot start the region's schedule (tried again at the next lease check)", ["region": region, "error": "\(error)"])
            try? await Task.sleep(for: .seconds(1))
        }
    }
}

/// An `ActorActivator` for the domain kinds outside `NodeService` (embedding, tests): one journal,
/// the write token of a region from `token` (nil: not served here → `notOwner`).
public struct DomainActivator: ActorActivator {
    public let journal: Journal
    public let token: @Sendable (_ region: String) -> FencingToken?
    public let kinds: [HostedActorKind]
    public init(journal: Journal, kinds: [HostedActorKind] = DomainNode.kinds, token: @escaping @Sendable (String) -> FencingToken?) {
        self.journal = journal; self.kinds = kinds; self.token = token
    }

    public func activate(_ id: ActorIdentity, in system: ClusterActorSystem) async throws -> any DistributedActor {
        guard let kind = kinds.first(where: { $0.kind == id.kind }) else {
            throw ClusterCallError(.unknownActor, "no domain actor kind '\(id.kind)'")
        }
        guard let t = token(id.region) else { throw ClusterCallError(.notOwner, "region \(id.region) is not served here") }
        let token = self.token, region = id.region
        let grant = ActivationGrant(identity: id, token: t, journal: journal, mayWrite: { token(region) == t }, onFenced: {})
        return try kind.activate(grant, system).actor
    }
}
