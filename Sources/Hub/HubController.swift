import Base
import Cluster
import Distributed
import Floor
import Warehouse

/// The answer of the hub controller: accepted with the hub's summary, or rejected (typed).
public enum HubReply: Sendable, Codable, Equatable {
    case accepted(HubSummary)
    case rejected(HubRejection)
}

/// What the hub has done, for callers and reports.
public struct HubSummary: Sendable, Codable, Equatable {
    public var parcels = 0
    public var waiting = 0
    public var picking = 0
    public var picked = 0
    public var sorted = 0
    public var loaded = 0
    public var rounds = 0
    public var faulted: [String] = []
    public var vans: [VanOutcome] = []
    public var done = false
    /// The journal seq the summary reflects.
    public var seq: Int64 = 0

    public init() {}
    public init(_ s: HubState, seq: Int64) {
        parcels = s.parcels.count
        for p in s.parcels {
            switch p.stage {
            case .waiting: waiting += 1
            case .picking: picking += 1
            case .picked: picked += 1
            case .sorted: sorted += 1
            case .loaded: loaded += 1
            }
        }
        rounds = s.rounds
        faulted = s.faulted
        vans = s.vanReport
        done = s.isDone
        self.seq = seq
    }
}

/// How a hub controller reaches its floor on this node: the site, the link host (bound at the
/// site's endpoint on first use), the robots, the hub's clock and the floor controller's tuning.
public struct HubFloor: Sendable {
    public var site: SiteLayout
    public var host: HubFloorHost
    public var robots: [String]
    /// Picks released per live robot per round (a round is one `FloorController` run).
    public var picksPerRobot: Int
    /// The hub's clock, seconds (the wave's times are on it).
    public var clock: @Sendable () -> Double
    public var controller: FloorController.Configuration
    public init(site: SiteLayout, host: HubFloorHost, robots: [String], picksPerRobot: Int = 2,
                clock: @escaping @Sendable () -> Double, controller: FloorController.Configuration = .init()) {
        self.site = site; self.host = host; self.robots = robots; self.picksPerRobot = max(1, picksPerRobot)
        self.clock = clock; self.controller = controller
    }
}

/// The hub's controller, `hub/<site>@<region>`, owned with the site's region (activated by the
/// node holding the region's lease, journaled with the region's fencing token, restored from its
/// journal by the next owner after a failover). Decides in `Warehouse.HubState`, acts here, journal
/// first: a pick is released (journaled) before robots are commanded, a pick is journaled picked
/// before the parcel is sorted, a drop into a chute is journaled before the next parcel is.
///
/// `round()` is one step of the wave: vans whose loading or departure is due, parcels waiting at
/// the sorter (or recirculating), then the next picks (the waiting parcels of the earliest vans,
/// `picksPerRobot` per live robot) run on the floor by a `FloorController` (VDA 5050 over ZeroMQ),
/// whose finished picks are journaled per robot and sorted. The caller (a node service, the
/// simulation, a test) calls `round()` until the summary says `done`; after a failover it calls the
/// new owner, which carries on from the journal: picks released by the dead owner and not
/// journaled picked are released again (a parcel is journaled picked once, whatever the floor did).
///
/// Wire names: "hub.open", "hub.round", "hub.status".
public distributed actor HubController {
    public typealias ActorSystem = ClusterActorSystem

    let entity: JournaledEntity<HubModel>
    let floor: HubFloor?
    private var running = false

    public init(actorSystem: ClusterActorSystem, entity: JournaledEntity<HubModel>, floor: HubFloor?) {
        self.actorSystem = actorSystem
        self.entity = entity
        self.floor = floor
    }

    public static func identity(site: String, region: String) -> ActorIdentity {
        ActorIdentity(kind: HubModel.kind, key: site, region: region)
    }

    /// Opens the wave (once; the same wave again is `.rejected(.alreadyOpen)`).
    public distributed func open(_ wave: HubWave, idempotencyKey: String) async throws -> HubReply {
        guard wave.site == id.key else { return .rejected(.invalid("the wave is for \(wave.site), this hub is \(id.key)")) }
        do {
            let ack = try await entity.handle(.open(wave), idempotencyKey: "open:" + idempotencyKey)
            return .accepted(HubSummary(ack.state.hub, seq: ack.seq))
        } catch let r as HubRejection {
            return .rejected(r)
        } catch { throw NodeCallFailure(error) }
    }

    public distributed func status() async throws -> HubSummary {
        do {
            let ack = try await entity.read()
            return HubSummary(ack.state.hub, seq: ack.seq)
        } catch { throw NodeCallFailure(error) }
    }

    /// The whole state (reports: per parcel times, chutes).
    public distributed func state() async throws -> HubState {
        do { return try await entity.read().state.hub } catch { throw NodeCallFailure(error) }
    }

    /// One round of the wave (see the type). One at a time: a second caller is refused while one runs.
    public distributed func round() async throws -> HubReply {
        guard let floor else { return .rejected(.invalid("hub \(id.key) has no floor on this node")) }
        guard !running else { return .rejected(.invalid("a round of hub \(id.key) is running")) }
        running = true
        defer { running = false }
        do {
            return .accepted(try await runRound(floor))
        } catch let r as HubRejection {
            return .rejected(r)
        } catch { throw NodeCallFailure(error) }
    }

    // MARK: - Acting

    private func journal(_ command: HubCommand, key: String) async throws -> HubState {
        try await entity.handle(command, idempotencyKey: key).state.hub
    }

    private func runRound(_ floor: HubFloor) async throws -> HubSummary {
        var s = try await entity.read().state.hub
        guard let wave = s.wave else { throw HubRejection.notOpen }
        s = try await dueVans(s, now: floor.clock())
        s = try await sortWaiting(s, now: floor.clock())
        let live = floor.robots.filter { !s.faulted.contains($0) }
        let next = Array(s.toPick().prefix(floor.picksPerRobot * live.count))
        if !next.isEmpty {
            let round = s.rounds
            s = try await journal(.release(round: round, parcels: next, at: floor.clock()), key: "release:\(round)")
            let racks = floor.site.features(.storage).map(\.access), stations = floor.site.features(.pick).map(\.cell)
            let tasks = next.map { p in
                PickTask(id: p, pickup: racks[wave.parcels[p].storage % racks.count], dropoff: stations[p % stations.count], release: 0)
            }
            var config = floor.controller
            config.orderTag = "r\(round)-t\(entity.token.value)"
            config.seed = config.seed &+ UInt64(round)
            let link = try await floor.host.bound()
            // Every robot, faulted ones too: the floor controller sees their FATAL state and keeps
            // their cells as obstacles (a robot left out would be invisible to the plan).
            let controller = FloorController(link: link, site: floor.site, robots: floor.robots, tasks: tasks, configuration: config)
            let report = try await controller.run()
            for r in report.faulted where !s.faulted.contains(r) {
                s = try await journal(.robotFaulted(r, at: floor.clock()), key: "fault:\(r)")
            }
            var byRobot: [String: [Int]] = [:]
            for t in report.finished { byRobot[report.finishedBy[t] ?? "?", default: []].append(t) }
            let at = floor.clock()
            for (robot, ps) in byRobot.sorted(by: { $0.key < $1.key }) {
                s = try await journal(.picked(parcels: ps, robot: robot, at: at), key: "picked:\(round):\(robot)")
            }
            s = try await sortWaiting(s, now: floor.clock())
        }
        s = try await dueVans(s, now: floor.clock())
        return HubSummary(s, seq: try await entity.read().seq)
    }

    /// Loading and departures due at `now`, in time order (loading first).
    private func dueVans(_ s0: HubState, now: Double) async throws -> HubState {
        var s = s0
        for v in s.loadingDue(at: now) { s = try await journal(.startLoading(van: v, at: now), key: "load:\(v)") }
        s = try await sortWaiting(s, now: now)
        for v in s.departuresDue(at: now) { s = try await journal(.departureDue(van: v, at: now), key: "due:\(v)") }
        return s
    }

    /// The sorter: every picked parcel into its van's chute with most room (journaled drop by drop);
    /// a parcel whose chutes are all full stays picked (it recirculates) until loading empties them.
    private func sortWaiting(_ s0: HubState, now: Double) async throws -> HubState {
        var s = s0
        for p in s.toSort {
            guard let c = s.chute(for: p) else { continue }
            s = try await journal(.sort(parcel: p, chute: c, at: now), key: "sort:\(p)")
        }
        return s
    }

    // MARK: - Hosting

    /// The kind for a node: `floor(site)` gives the site's floor on this node (nil: the hub has no
    /// robots here; `round()` is then refused).
    public static func kind(floor: @escaping @Sendable (String) -> HubFloor?) -> HostedActorKind {
        HostedActorKind(kind: HubModel.kind, activate: { grant, system in
            let entity = JournaledEntity<HubModel>(identity: grant.identity, token: grant.token, journal: grant.journal,
                                                   mayWrite: grant.mayWrite, onFenced: grant.onFenced)
            let f = floor(grant.identity.key)
            return (system.withIdentity(grant.identity) { HubController(actorSystem: system, entity: entity, floor: f) }, entity)
        }, registerTargets: { try await registerTargets(on: $0) })
    }

    public static func registerTargets(on system: ClusterActorSystem) async throws {
        let proxy = try HubController.resolve(id: ActorIdentity(kind: "manifest", key: "-", region: "-"), using: system)
        try await system.register("hub.open", on: proxy, roles: CallTargetRegistry.nodeOnly) {
            _ = try await $0.open(HubWave(site: "-", vans: [], parcels: [], chutes: 1, chuteCapacity: 1, start: 0), idempotencyKey: "")
        }
        try await system.register("hub.round", on: proxy, roles: CallTargetRegistry.nodeOnly) { _ = try await $0.round() }
        try await system.register("hub.status", on: proxy, roles: CallTargetRegistry.nodeAndOperator) { _ = try await $0.status() }
        try await system.register("hub.state", on: proxy, roles: CallTargetRegistry.nodeAndOperator) { _ = try await $0.state() }
    }
}
