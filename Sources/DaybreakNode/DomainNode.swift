import Base
import Cluster
import Distributed
import Storage

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
    /// nodes off the same rows) publishing on the node's actor system.
    public static func extensions(drainEvery: Duration = .milliseconds(200)) -> NodeExtensions {
        NodeExtensions(kinds: kinds, migrations: DomainSchema.migrations.map { Migration(Int64($0.version), $0.name, sql: $0.sql) },
                       services: [{ system, pool, logger in
                           await OutboxPublisher(pool: pool).run(every: drainEvery, { topic, envelope in
                               try system.publish(topic: topic, event: envelope)
                           }, onError: { logger.warning("outbox drain failed", ["error": "\($0)"]) })
                       }])
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
