import Distributed
import Storage

/// The demo virtual actor the node hosts (failover tests, the benchmark, `daybreak ctl call`):
/// a journaled counter keyed by id within a region. Its state is `fold(events)` of `CounterState`
/// (see `JournaledEntity`): validate purely, append (fenced, idempotent), apply, acknowledge.
///
/// Wire names (stable, the protocol): "counter.apply", "counter.state".
public distributed actor CounterActor {
    public typealias ActorSystem = ClusterActorSystem

    let entity: JournaledEntity<CounterState>

    public init(actorSystem: ClusterActorSystem, entity: JournaledEntity<CounterState>) {
        self.actorSystem = actorSystem
        self.entity = entity
    }

    /// Adds `command.amount`. A repeat of `idempotencyKey` answers with the original seq and changes nothing.
    public distributed func apply(_ command: CounterState.Command, idempotencyKey: String) async throws -> CommandAck<CounterState> {
        let ack: CommandAck<CounterState>
        do { ack = try await entity.handle(command, idempotencyKey: "t:" + idempotencyKey) } catch { throw NodeCallFailure(error) }
        // Published only after the event is durable (journal first); best effort, at most once per
        // accepted command on this node (a duplicate publishes nothing).
        if !ack.duplicate {
            try? actorSystem.publish(topic: Self.changedTopic(region: id.region),
                                     event: CounterChanged(key: id.key, seq: ack.seq, total: ack.state.total))
        }
        return ack
    }

    /// The topic of a region's counter changes.
    public static func changedTopic(region: String) -> String { "counter.changed." + region }

    /// The state now (restored from the journal on activation).
    public distributed func state() async throws -> CommandAck<CounterState> {
        do { return try await entity.read() } catch { throw NodeCallFailure(error) }
    }

    /// Binds the stable names to the methods on `system` (once per system, at start-up).
    public static func registerTargets(on system: ClusterActorSystem) async throws {
        let proxy = try CounterActor.resolve(id: ActorIdentity(kind: "manifest", key: "-", region: "-"), using: system)
        try await system.register("counter.apply", on: proxy, roles: CallTargetRegistry.nodeAndOperator) { _ = try await $0.apply(.init(amount: 0), idempotencyKey: "") }
        try await system.register("counter.state", on: proxy, roles: CallTargetRegistry.nodeAndOperator) { _ = try await $0.state() }
    }
}

/// Published on `CounterActor.changedTopic(region:)` after an accepted command.
public struct CounterChanged: Codable, Sendable, Hashable {
    public var key: String
    public var seq: Int64
    public var total: Int64
}

/// A journaled actor's failure with its wire code: a journal the database fenced → `fenced`;
/// a lease this node no longer serves → `notOwner` (nothing was written); the database not
/// answering → `overloaded` (retriable with the idempotency key); a rejected command → `handlerFailed`.
public struct NodeCallFailure: RemoteCodedError, CustomStringConvertible {
    public var remoteErrorCode: RemoteErrorCode
    public var description: String

    public init(_ error: any Error) {
        description = "\(error)"
        switch error {
        case let e as JournalError:
            remoteErrorCode = switch e.code {
            case .fenced, .sequenceConflict: .fenced
            case .notServing: .notOwner
            default: .handlerFailed
            }
        case is PostgresError, is DeadlineExceeded:
            remoteErrorCode = .overloaded
        default:
            remoteErrorCode = .handlerFailed
        }
    }
}
