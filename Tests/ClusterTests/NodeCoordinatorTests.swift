import Base
import Testing
@testable import Cluster

/// A whole cluster in one process: a simulated database (`cluster_nodes`, `region_leases` with the
/// SQL's semantics), one shared clock, nodes that crash, restart, get partitioned from the
/// database, and leave gracefully. No network, no sleeps; seeded.
struct ClusterSimulation {
    struct Node {
        var coordinator: NodeCoordinator
        var startedAt: Timestamp
        var crashed = false
        var partitioned = false
        var leaving = false
        var draining: [RegionKey] = []
    }

    let regions: [RegionKey]
    let membershipConfig = Membership.Configuration(ttl: .seconds(10), heartbeatInterval: .seconds(2))
    let leaseConfig = LeaseKeeper.Configuration(leaseDuration: .seconds(15), renewWhenRemaining: .seconds(10), safetyMargin: .seconds(2))
    var now = Timestamp.seconds(1_800_000_000)
    var rows: [NodeID: NodeRecord] = [:]
    var leases: [RegionKey: Lease]
    var nodes: [NodeID: Node] = [:]
    var lastToken: [RegionKey: FencingToken]
    var rng: SplitMix64

    init(nodes ids: [NodeID], regions: [RegionKey], seed: UInt64) {
        self.regions = regions
        leases = Dictionary(uniqueKeysWithValues: regions.map { ($0, Lease.unowned($0)) })
        lastToken = Dictionary(uniqueKeysWithValues: regions.map { ($0, FencingToken.zero) })
        rng = SplitMix64(seed: seed)
        for id in ids { start(id) }
    }

    mutating func start(_ id: NodeID) {
        nodes[id] = Node(coordinator: NodeCoordinator(selfID: id, regions: regions, membership: membershipConfig, leases: leaseConfig),
                         startedAt: now)
        register(id)
    }

    /// `ClusterSchema.registerNode`: a strictly newer incarnation even at the same instant.
    mutating func register(_ id: NodeID) {
        let previous = incarnations[id].map { $0 + .microseconds(1) } ?? now
        let startedAt = max(now, previous)
        incarnations[id] = startedAt
        nodes[id]!.startedAt = startedAt
        rows[id] = NodeRecord(id: id, endpoint: "tcp://\(id)", startedAt: startedAt, lastHeartbeat: now, status: .alive)
    }
    var incarnations: [NodeID: Timestamp] = [:]
    /// Every successful acquisition's token, per region.
    var acquisitions: [RegionKey: [FencingToken]] = [:]

    /// One round of node `id`'s shell: heartbeat, read, observe, act.
    mutating func act(_ id: NodeID, drainImmediately: Bool = false) {
        guard let node = nodes[id], !node.crashed else { return }
        if node.partitioned { run(id, nodes[id]!.coordinator.tick(now: now)); return }
        // `ClusterSchema.heartbeat`
        if let row = rows[id], row.startedAt == node.startedAt, row.status != .down {
            rows[id]!.lastHeartbeat = now
        } else {
            run(id, nodes[id]!.coordinator.heartbeatRefused())
        }
        run(id, nodes[id]!.coordinator.observe(nodes: Array(rows.values), leases: Array(leases.values), now: now))
        if drainImmediately || Bool.random(using: &rng) {
            for r in nodes[id]!.draining { run(id, nodes[id]!.coordinator.drained(r)) }
            nodes[id]!.draining = []
        }
        if nodes[id]!.leaving, nodes[id]!.coordinator.leases.phases.isEmpty {
            rows[id] = nil            // deregistered
            nodes[id]!.crashed = true // and exited
        }
    }

    /// Calm: no lost acknowledgements.
    var reliable = false
    mutating func run(_ id: NodeID, _ directives: [NodeDirective]) {
        var queue = directives
        while !queue.isEmpty {
            let d = queue.removeFirst()
            let ackLost = !reliable && Int.random(in: 0..<20, using: &rng) == 0
            switch d {
            case .membership(.declareDown(let other, let lastHeartbeat, _)):
                if let row = rows[other], row.status != .down, row.lastHeartbeat == lastHeartbeat { rows[other]!.status = .down }
            case .membership: break
            case .reregister:
                register(id)
                nodes[id]!.coordinator.reregistered()
            case .lease(let l):
                var c = nodes[id]!.coordinator
                switch l {
                case let .acquire(r, expected):
                    if let won = leases[r]!.acquired(by: id, expected: expected, now: now, duration: leaseConfig.leaseDuration) {
                        #expect(won.token > (acquisitions[r]?.last ?? .zero), "tokens strictly increase per acquisition")
                        acquisitions[r, default: []].append(won.token)
                        leases[r] = won
                        queue += ackLost ? c.leaseFailed(r) : c.acquired(won, now: now)
                    } else { queue += c.leaseFailed(r) }
                case let .renew(r, token):
                    if let ok = leases[r]!.renewed(by: id, token: token, now: now, duration: leaseConfig.leaseDuration) {
                        leases[r] = ok
                        queue += ackLost ? c.leaseFailed(r) : c.renewed(ok)
                    } else { queue += c.leaseFailed(r) }
                case let .beginDrain(r, _): nodes[id]!.draining.append(r)
                case let .release(r, token):
                    if let freed = leases[r]!.released(by: id, token: token, now: now) { leases[r] = freed }
                    c.released(r)
                case .startServing, .stopServing: break
                }
                nodes[id]!.coordinator = c
            }
        }
    }

    /// Servers of `region` now: nodes whose keeper would let them write.
    func servers(_ region: RegionKey) -> [NodeID] {
        nodes.keys.sorted().filter { id in
            !nodes[id]!.crashed && nodes[id]!.coordinator.leases.servingToken(for: region, now: now) != nil
        }
    }

    mutating func checkSafety(_ context: String) {
        for r in regions {
            let s = servers(r)
            #expect(s.count <= 1, "\(context): \(r) served by \(s)")
            for id in s {
                let token = nodes[id]!.coordinator.leases.servingToken(for: r, now: now)!
                #expect(Fencing.check(token: token, against: leases[r]!, now: now) == .accepted, "\(context): \(id) on \(r)")
            }
            #expect(leases[r]!.token >= lastToken[r]!, "\(context): token of \(r) went back")
            lastToken[r] = leases[r]!.token
        }
    }
}

@Suite struct NodeCoordinatorTests {
    let regions: [RegionKey] = ["central", "northeast", "east", "gangnam", "southwest", "south"]

    @Test func threeNodesSettleOnABalancedPlanWithOneServerPerRegion() {
        var sim = ClusterSimulation(nodes: ["a", "b", "c"], regions: regions, seed: 1)
        for _ in 0..<30 {
            for id in ["a", "b", "c"] as [NodeID] { sim.act(id, drainImmediately: true); sim.checkSafety("settle") }
            sim.now = sim.now + .seconds(1)
        }
        for r in regions { #expect(sim.servers(r).count == 1, "\(r)") }
        let loads = ["a", "b", "c"].map { id in regions.filter { sim.servers($0) == [NodeID(id)] }.count }
        #expect(loads == [2, 2, 2])
    }

    @Test func aCrashedNodesRegionsMoveAfterItsLeasesExpire() {
        var sim = ClusterSimulation(nodes: ["a", "b", "c"], regions: regions, seed: 2)
        for _ in 0..<20 {
            for id in ["a", "b", "c"] as [NodeID] { sim.act(id, drainImmediately: true) }
            sim.now = sim.now + .seconds(1)
        }
        let cRegions = regions.filter { sim.servers($0) == ["c"] }
        #expect(cRegions.count == 2)
        sim.nodes["c"]!.crashed = true
        var movedAfter: Duration?
        let crashAt = sim.now
        for _ in 0..<40 {
            for id in ["a", "b"] as [NodeID] { sim.act(id, drainImmediately: true); sim.checkSafety("failover") }
            sim.now = sim.now + .seconds(1)
            if movedAfter == nil, cRegions.allSatisfy({ sim.servers($0).count == 1 }) { movedAfter = sim.now - crashAt }
        }
        // Declared down after the 10 s TTL; the leases ran out within 15 s of the last renewal.
        #expect(movedAfter != nil && movedAfter! <= .seconds(17))
        #expect(sim.rows["c"]?.status == .down)
        let loads = ["a", "b"].map { id in regions.filter { sim.servers($0) == [NodeID(id)] }.count }
        #expect(loads == [3, 3])
    }

    @Test func aGracefulLeaveHandsOverWithoutWaitingForExpiry() {
        var sim = ClusterSimulation(nodes: ["a", "b", "c"], regions: regions, seed: 3)
        for _ in 0..<20 {
            for id in ["a", "b", "c"] as [NodeID] { sim.act(id, drainImmediately: true) }
            sim.now = sim.now + .seconds(1)
        }
        let cRegions = regions.filter { sim.servers($0) == ["c"] }
        let tokensBefore = cRegions.map { sim.leases[$0]!.token }
        sim.rows["c"]!.status = .leaving          // `ClusterSchema.markNodeLeaving`
        sim.nodes["c"]!.leaving = true
        for _ in 0..<3 {
            for id in ["c", "a", "b"] as [NodeID] { sim.act(id, drainImmediately: true); sim.checkSafety("leave") }
            sim.now = sim.now + .seconds(1)
        }
        // Within a few seconds (no 15 s lease wait) and with token + 1.
        for (r, before) in zip(cRegions, tokensBefore) {
            #expect(sim.servers(r).count == 1 && sim.servers(r) != ["c"], "\(r)")
            #expect(sim.leases[r]!.token == before.next)
        }
        #expect(sim.rows["c"] == nil)
    }

    @Test func aPartitionedNodeStopsServingBeforeAnyoneElseStarts() {
        var sim = ClusterSimulation(nodes: ["a", "b"], regions: regions, seed: 4)
        for _ in 0..<20 {
            for id in ["a", "b"] as [NodeID] { sim.act(id, drainImmediately: true) }
            sim.now = sim.now + .seconds(1)
        }
        sim.nodes["b"]!.partitioned = true
        for _ in 0..<40 {
            for id in ["a", "b"] as [NodeID] { sim.act(id, drainImmediately: true); sim.checkSafety("partition") }
            sim.now = sim.now + .seconds(1)
        }
        #expect(regions.allSatisfy { sim.servers($0) == ["a"] })
        // Healed: b's old incarnation is refused, it re-registers and gets its share back.
        sim.nodes["b"]!.partitioned = false
        for _ in 0..<60 {
            for id in ["a", "b"] as [NodeID] { sim.act(id, drainImmediately: true); sim.checkSafety("heal") }
            sim.now = sim.now + .seconds(1)
        }
        #expect(regions.filter { sim.servers($0) == ["b"] }.count == 3)
        #expect(sim.rows["b"]?.status == .alive)
    }

    /// Random crashes, restarts, partitions, leaves, lost acknowledgements and slow drains:
    /// never two servers, tokens only grow; once the chaos stops, the cluster converges to one
    /// server per region, balanced over the live nodes.
    @Test(arguments: UInt64(1)...24)
    func chaosIsSafeAndConverges(seed: UInt64) {
        let ids: [NodeID] = ["a", "b", "c", "d"]
        var sim = ClusterSimulation(nodes: ids, regions: regions, seed: seed)
        var rng = SplitMix64(seed: seed &* 31)
        for step in 0..<600 {
            let id = ids.randomElement(using: &rng)!
            switch Int.random(in: 0..<40, using: &rng) {
            case 0:
                if !sim.nodes[id]!.crashed { sim.nodes[id]!.crashed = true }
                else if !sim.nodes[id]!.leaving || sim.rows[id] == nil { sim.start(id) }
            case 1: sim.nodes[id]!.partitioned.toggle()
            case 2:
                if !sim.nodes[id]!.crashed, !sim.nodes[id]!.partitioned, sim.rows[id]?.status == .alive {
                    sim.rows[id]!.status = .leaving; sim.nodes[id]!.leaving = true
                }
            case 3...12: sim.now = sim.now + .milliseconds(Int64.random(in: 0...3000, using: &rng))
            default: sim.act(id)
            }
            sim.checkSafety("seed \(seed) step \(step)")
        }
        // Calm: everyone back, partitions healed, drains prompt.
        for id in ids {
            sim.nodes[id]!.partitioned = false
            if sim.nodes[id]!.crashed { sim.nodes[id]!.leaving = false; sim.start(id) }
        }
        sim.reliable = true
        for _ in 0..<60 {
            for id in ids { sim.act(id, drainImmediately: true); sim.checkSafety("seed \(seed) calm") }
            sim.now = sim.now + .seconds(1)
        }
        for r in regions { #expect(sim.servers(r).count == 1, "seed \(seed): \(r) served by \(sim.servers(r))") }
        #expect(sim.acquisitions.values.map(\.count).reduce(0, +) > regions.count, "seed \(seed): leases changed hands")
        // A node that was leaving when the calm began finishes leaving; the rest share the load.
        let live = ids.filter { !sim.nodes[$0]!.crashed && sim.rows[$0]?.status == .alive }
        #expect(!live.isEmpty)
        let loads = live.map { id in regions.filter { sim.servers($0) == [id] }.count }
        #expect(loads.max()! - loads.min()! <= 1, "seed \(seed): loads \(loads)")
        #expect(regions.allSatisfy { r in sim.servers(r).allSatisfy(live.contains) })
    }
}
