import Cluster
import Distributed
import Fleet
import Geo

/// The answer of an order actor to a command: accepted (journaled; `ack.duplicate` for a retry of
/// an applied idempotency key) or rejected with the typed reason (nothing journaled).
public enum OrderReply: Sendable, Codable {
    case accepted(CommandAck<OrderModel>)
    case rejected(OrderRejection)
}

/// The virtual actor of one order, `order/<order id>@<region>`, journaled through `DomainEntity`:
/// each accepted command is one journal event with Fleet's stable type string, and the customer
/// notifications it triggers are outbox rows in the same transaction.
///
/// Wire names (stable, the protocol): "order.handle", "order.state".
public distributed actor OrderActor {
    public typealias ActorSystem = ClusterActorSystem

    let entity: DomainEntity<OrderModel>

    public init(actorSystem: ClusterActorSystem, entity: DomainEntity<OrderModel>) {
        self.actorSystem = actorSystem
        self.entity = entity
    }

    /// Runs `command`. A rejection comes back as `.rejected` (a value, so the caller gets the typed
    /// reason across the wire); journal and database failures throw `NodeCallFailure` with their
    /// retriable wire codes. Retry with the same `idempotencyKey`: applied at most once.
    public distributed func handle(_ command: OrderCommandEnvelope, idempotencyKey: String) async throws -> OrderReply {
        if case .create(let o) = command.command, o.id.rawValue != id.key {
            return .rejected(OrderRejection(order: id.key, state: nil, command: "create",
                                            problem: .invalidOrder("the order's id is \(o.id), the actor's key \(id.key)")))
        }
        do {
            return .accepted(try await entity.handle(command, idempotencyKey: "o:" + idempotencyKey))
        } catch let r as OrderRejection {
            return .rejected(r)
        } catch {
            throw NodeCallFailure(error)
        }
    }

    /// The order now (restored from the journal on activation) and the last applied seq.
    public distributed func state() async throws -> CommandAck<OrderModel> {
        do { return try await entity.read() } catch { throw NodeCallFailure(error) }
    }

    /// `handle` with the rejection thrown as `OrderRejection`. Works on a local or remote reference.
    public nonisolated func send(_ command: OrderActorCommand, at: Instant, idempotencyKey: String) async throws -> CommandAck<OrderModel> {
        switch try await handle(OrderCommandEnvelope(command, at: at), idempotencyKey: idempotencyKey) {
        case .accepted(let ack): return ack
        case .rejected(let r): throw r
        }
    }

    /// The identity of order `id` in `region`.
    public static func identity(_ id: OrderID, region: String) -> ActorIdentity {
        ActorIdentity(kind: OrderModel.kind, key: id.rawValue, region: region)
    }

    /// Binds the stable names to the methods on `system` (once per system, at start-up).
    public static func registerTargets(on system: ClusterActorSystem) async throws {
        let proxy = try OrderActor.resolve(id: ActorIdentity(kind: "manifest", key: "-", region: "-"), using: system)
        try await system.register("order.handle", on: proxy, roles: CallTargetRegistry.nodeOnly) {
            _ = try await $0.handle(OrderCommandEnvelope(.accept, at: Instant(epochSeconds: 0)), idempotencyKey: "")
        }
        try await system.register("order.state", on: proxy, roles: CallTargetRegistry.nodeOnly) { _ = try await $0.state() }
    }
}
