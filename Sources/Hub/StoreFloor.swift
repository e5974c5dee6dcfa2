import Base
import Cluster
import Distributed
import Floor
import Warehouse

/// `Warehouse.StorePickState` as a journaled state.
public struct StoreFloorModel: EventSourced, Equatable {
    public typealias Command = StorePickCommand
    public typealias Event = StorePickEvent
    public static let kind = "store-floor"
    public var floor = StorePickState()
    public init() {}
    public func decide(_ command: StorePickCommand) throws -> StorePickEvent { try floor.decide(command) }
    public mutating func apply(_ event: StorePickEvent) { floor.apply(event) }
    public static func eventType(of event: StorePickEvent) -> String { event.type }
}

public struct StoreFloorSummary: Sendable, Codable, Equatable {
    public var requested = 0
    public var waiting = 0
    public var picking = 0
    public var picked = 0
    public var rounds = 0
    public var faulted: [String] = []
    /// Pick ids picked after their due time.
    public var late: [String] = []
    public init(_ s: StorePickState) {
        requested = s.picks.count
        for p in s.progress {
            switch p.stage { case .waiting: waiting += 1; case .picking: picking += 1; case .picked: picked += 1 }
        }
        rounds = s.rounds
        faulted = s.faulted
        late = s.late.map(\.id)
    }
}

/// A store's floor, `store-floor/<site>@<region>`: the same shape as `HubController` for a store's
/// quick and BOPIS picks. Picks are requested (journaled) with their due time; `round()` releases
/// the earliest-due ones, at most the store's capacity and `picksPerRobot` per live robot
/// (journaled), runs them on the store's robots with a `FloorController` and journals each robot's
/// finished picks. Restored from its journal by the region's next owner like the hub.
/// Wire names: "storeFloor.open", "storeFloor.request", "storeFloor.round", "storeFloor.state".
public distributed actor StoreFloor {
    public typealias ActorSystem = ClusterActorSystem

    let entity: JournaledEntity<StoreFloorModel>
    let floor: HubFloor?
    private var running = false

    public init(actorSystem: ClusterActorSystem, entity: JournaledEntity<StoreFloorModel>, floor: HubFloor?) {
        self.actorSystem = actorSystem
        self.entity = entity
        self.floor = floor
    }

    public static func identity(site: String, region: String) -> ActorIdentity {
        ActorIdentity(kind: StoreFloorModel.kind, key: site, region: region)
    }

    private func handle(_ c: StorePickCommand, key: String) async throws -> StorePickState {
        try await entity.handle(c, idempotencyKey: key).state.floor
    }

    /// Opens the floor with its capacity (picks in progress at once).
    public distributed func open(capacity: Int) async throws -> Bool {
        do { _ = try await handle(.open(site: id.key, capacity: capacity), key: "open"); return true }
        catch let r as HubRejection where r == .alreadyOpen { return false }
        catch { throw NodeCallFailure(error) }
    }

    /// Requests a pick (idempotent by its id).
    public distributed func request(_ pick: StorePick, at: Double) async throws -> StoreFloorSummary {
        do { return StoreFloorSummary(try await handle(.request(pick, at: at), key: "request:" + pick.id)) }
        catch { throw NodeCallFailure(error) }
    }

    public distributed func state() async throws -> StorePickState {
        do { return try await entity.read().state.floor } catch { throw NodeCallFailure(error) }
    }

    /// One round: the earliest-due picks up to the capacity on the store's robots.
    public distributed func round() async throws -> StoreFloorSummary {
        guard let floor else { throw NodeCallFailure(HubRejection.invalid("store \(id.key) has no floor on this node")) }
        guard !running else { throw NodeCallFailure(HubRejection.invalid("a round of store \(id.key) is running")) }
        running = true
        defer { running = false }
        do { return try await runRound(floor) } catch { throw NodeCallFailure(error) }
    }

    private func runRound(_ floor: HubFloor) async throws -> StoreFloorSummary {
        var s = try await entity.read().state.floor
        guard s.isOpen else { throw HubRejection.notOpen }
        let live = floor.robots.filter { !s.faulted.contains($0) }
        let next = s.next(limit: floor.picksPerRobot * live.count)
        guard !next.isEmpty else { return StoreFloorSummary(s) }
        let round = s.rounds
        s = try await handle(.release(round: round, picks: next, at: floor.clock()), key: "release:\(round)")
        let racks = floor.site.features(.storage).map(\.access), stations = floor.site.features(.pick).map(\.cell)
        let tasks = next.map { p in PickTask(id: p, pickup: racks[s.picks[p].storage % racks.count], dropoff: stations[p % stations.count], release: 0) }
        var config = floor.controller
        config.orderTag = "s\(round)-t\(entity.token.value)"
        config.seed = config.seed &+ UInt64(round)
        let report = try await FloorController(link: try await floor.host.bound(), site: floor.site, robots: floor.robots, tasks: tasks, configuration: config).run()
        for r in report.faulted where !s.faulted.contains(r) { s = try await handle(.robotFaulted(r, at: floor.clock()), key: "fault:\(r)") }
        var byRobot: [String: [Int]] = [:]
        for t in report.finished { byRobot[report.finishedBy[t] ?? "?", default: []].append(t) }
        let at = floor.clock()
        for (robot, ps) in byRobot.sorted(by: { $0.key < $1.key }) {
            s = try await handle(.picked(picks: ps, robot: robot, at: at), key: "picked:\(round):\(robot)")
        }
        return StoreFloorSummary(s)
    }

    public static func kind(floor: @escaping @Sendable (String) -> HubFloor?) -> HostedActorKind {
        HostedActorKind(kind: StoreFloorModel.kind, activate: { grant, system in
            let entity = JournaledEntity<StoreFloorModel>(identity: grant.identity, token: grant.token, journal: grant.journal,
                                                          mayWrite: grant.mayWrite, onFenced: grant.onFenced)
            let f = floor(grant.identity.key)
            return (system.withIdentity(grant.identity) { StoreFloor(actorSystem: system, entity: entity, floor: f) }, entity)
        }, registerTargets: { system in
            let proxy = try StoreFloor.resolve(id: ActorIdentity(kind: "manifest", key: "-", region: "-"), using: system)
            try await system.register("storeFloor.open", on: proxy, roles: CallTargetRegistry.nodeOnly) { _ = try await $0.open(capacity: 1) }
            try await system.register("storeFloor.request", on: proxy, roles: CallTargetRegistry.nodeOnly) {
                _ = try await $0.request(StorePick(id: "-", storage: 0, due: 0), at: 0)
            }
            try await system.register("storeFloor.round", on: proxy, roles: CallTargetRegistry.nodeOnly) { _ = try await $0.round() }
            try await system.register("storeFloor.state", on: proxy, roles: CallTargetRegistry.nodeAndOperator) { _ = try await $0.state() }
        })
    }
}
