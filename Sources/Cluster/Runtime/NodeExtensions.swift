import Base
import Distributed
import Storage

/// What the node grants an activation of a journaled actor kind it hosts: the identity, the
/// region's current token, the journal, the local fence (`mayWrite`, to ask right before every
/// append) and the step-down hook for a fenced write (`onFenced`).
public struct ActivationGrant: Sendable {
    public let identity: ActorIdentity
    public let token: FencingToken
    public let journal: Journal
    public let mayWrite: @Sendable () -> Bool
    public let onFenced: @Sendable () async -> Void
    public init(identity: ActorIdentity, token: FencingToken, journal: Journal, mayWrite: @escaping @Sendable () -> Bool,
                onFenced: @escaping @Sendable () async -> Void) {
        self.identity = identity; self.token = token; self.journal = journal; self.mayWrite = mayWrite; self.onFenced = onFenced
    }
}

/// A journaled actor kind hosted by the node beside the built-in counter, e.g. the domain's
/// `order` and `store` (module DaybreakNode, which Cluster cannot import).
public struct HostedActorKind: Sendable {
    public var kind: String
    /// Creates the actor inside `system.withIdentity(grant.identity) { … }` and returns it with
    /// its journaled activation (the node drains and snapshots it with its region).
    public var activate: @Sendable (ActivationGrant, ClusterActorSystem) throws -> (actor: any DistributedActor, activation: any JournaledActivation)
    /// Binds the kind's wire names (once per system, at start-up).
    public var registerTargets: @Sendable (ClusterActorSystem) async throws -> Void
    public init(kind: String,
                activate: @escaping @Sendable (ActivationGrant, ClusterActorSystem) throws -> (actor: any DistributedActor, activation: any JournaledActivation),
                registerTargets: @escaping @Sendable (ClusterActorSystem) async throws -> Void) {
        self.kind = kind; self.activate = activate; self.registerTargets = registerTargets
    }
}

/// What a layer above Cluster adds to a node: actor kinds, migrations (run after
/// `ClusterSchema.migrations` under the same lock; versions ≥ 200), and services that run for
/// the node's lifetime in its task group (cancelled when it leaves), e.g. an outbox publisher.
public struct NodeExtensions: Sendable {
    public var kinds: [HostedActorKind]
    public var migrations: [Migration]
    public var services: [@Sendable (ClusterActorSystem, PostgresPool, Logger) async -> Void]
    /// Checks run once after the migrations, before the node registers: a throw stops the node
    /// before it joins (e.g. a clock mode that differs from the deployment's).
    public var prepare: [@Sendable (PostgresConnection, Logger) async throws -> Void]
    public init(kinds: [HostedActorKind] = [], migrations: [Migration] = [],
                services: [@Sendable (ClusterActorSystem, PostgresPool, Logger) async -> Void] = [],
                prepare: [@Sendable (PostgresConnection, Logger) async throws -> Void] = []) {
        self.kinds = kinds; self.migrations = migrations; self.services = services; self.prepare = prepare
    }
}
