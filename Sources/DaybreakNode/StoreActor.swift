import Cluster
import Distributed
import Fleet
import DispatchPlanning
import Geo

/// The answer of a store actor: accepted (journaled) or rejected with the typed reason.
public enum StoreReply: Sendable, Codable {
    case accepted(CommandAck<StoreModel>)
    case rejected(StoreRejection)
}

/// The virtual actor of one micro-fulfillment store, `store/<site id>@<region>`: inventory with
/// reservations and the BOPIS counter (pickup codes, handover, no-shows), journaled through
/// `DomainEntity`. Wire names (stable): "store.handle", "store.state", "store.expireHolds".
public distributed actor StoreActor {
    public typealias ActorSystem = ClusterActorSystem

    let entity: DomainEntity<StoreModel>

    public init(actorSystem: ClusterActorSystem, entity: DomainEntity<StoreModel>) {
        self.actorSystem = actorSystem
        self.entity = entity
    }

    /// Runs `command`. A wrong pickup code is journaled (it cost an attempt) and still comes back
    /// `.rejected(.wrongCode)` / `.rejected(.locked)`; so does its retry with the same key.
    public distributed func handle(_ command: StoreCommand, idempotencyKey: String) async throws -> StoreReply {
        if case .open(let site, _, _, _, _) = command, site.rawValue != Self.site(ofKey: id.key) {
            return .rejected(StoreRejection(store: id.key, order: nil, problem: .invalid("open names site \(site), actor is \(id.key)")))
        }
        let ack: CommandAck<StoreModel>
        do {
            ack = try await entity.handle(command, idempotencyKey: "s:" + idempotencyKey)
        } catch let r as StoreRejection {
            return .rejected(r)
        } catch {
            throw NodeCallFailure(error)
        }
        // A handover that did not hand over was a wrong code: the attempt is spent, the answer is no.
        if case .handOver(let o, _, _) = command, ack.state.orders[o]?.stage != .pickedUp, let h = ack.state.counter?.holds[o] {
            return .rejected(StoreRejection(store: id.key, order: o.rawValue,
                                            problem: h.attemptsLeft == 0 ? .locked : .wrongCode(attemptsLeft: h.attemptsLeft)))
        }
        return .accepted(ack)
    }

    /// Turns overdue holds into no-shows (goods back to stock); returns them. Nothing is journaled
    /// when none is due. Key it by the tick (e.g. "expire@<epoch>") so a retry applies once.
    public distributed func expireHolds(at: Instant, idempotencyKey: String) async throws -> [OrderID] {
        switch try await handle(.expireHolds(at: at), idempotencyKey: idempotencyKey) {
        case .accepted(let ack):
            return ack.state.lastNoShows
        case .rejected(let r) where r.problem == .nothingDue:
            return []
        case .rejected(let r):
            throw NodeCallFailure(r)
        }
    }

    public distributed func state() async throws -> CommandAck<StoreModel> {
        do { return try await entity.read() } catch { throw NodeCallFailure(error) }
    }

    /// `handle` with the rejection thrown as `StoreRejection`.
    public nonisolated func send(_ command: StoreCommand, idempotencyKey: String) async throws -> CommandAck<StoreModel> {
        switch try await handle(command, idempotencyKey: idempotencyKey) {
        case .accepted(let ack): return ack
        case .rejected(let r): throw r
        }
    }

    public static func identity(_ site: SiteID, region: String) -> ActorIdentity {
        ActorIdentity(kind: StoreModel.kind, key: site.rawValue, region: region)
    }

    /// A site's stock and counter for one service day, `store/<site>/<YYYY-MM-DD>@<region>`: each
    /// day opens with its own stock (the nightly count) and its own BOPIS counter, so two open days
    /// (today's deliveries, tonight's dawn orders) never write the same store actor.
    public static func identity(_ site: SiteID, region: String, day: LocalDay) -> ActorIdentity {
        ActorIdentity(kind: StoreModel.kind, key: site.rawValue + "/" + day.isoDate, region: region)
    }

    /// The site a store actor's key names (`<site>` or `<site>/<day>`).
    static func site(ofKey key: String) -> String { key.split(separator: "/", maxSplits: 1).first.map(String.init) ?? key }

    public static func registerTargets(on system: ClusterActorSystem) async throws {
        let proxy = try StoreActor.resolve(id: ActorIdentity(kind: "manifest", key: "-", region: "-"), using: system)
        try await system.register("store.handle", on: proxy, roles: CallTargetRegistry.nodeOnly) { _ = try await $0.handle(.pick("-"), idempotencyKey: "") }
        try await system.register("store.state", on: proxy, roles: CallTargetRegistry.nodeAndOperator) { _ = try await $0.state() }
        try await system.register("store.expireHolds", on: proxy, roles: CallTargetRegistry.nodeOnly) { _ = try await $0.expireHolds(at: Instant(epochSeconds: 0), idempotencyKey: "") }
    }
}
