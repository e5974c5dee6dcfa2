import Base
import Testing
@testable import Warehouse

@Suite struct RobotFleetTests {
    static func permutations(_ n: Int) -> [[Int]] {
        guard n > 0 else { return [[]] }
        return permutations(n - 1).flatMap { p in (0...p.count).map { i in var q = p; q.insert(n - 1, at: i); return q } }
    }

    /// The best total over all ways to give each row a distinct column (rows ≤ columns).
    static func bruteForce(_ cost: [[Int64]]) -> Int64 {
        let n = cost.count, m = cost[0].count
        var best = Int64.max
        for p in permutations(m) {
            best = min(best, (0..<n).reduce(Int64(0)) { $0 + cost[$1][p[$1]] })
        }
        return best
    }

    @Test func assignmentIsOptimalAgainstBruteForce() {
        var rng = SplitMix64(seed: 7)
        for shape in [(3, 3), (2, 4), (3, 5), (4, 4), (5, 3)] {
            for _ in 0..<60 {
                let cost = (0..<shape.0).map { _ in (0..<shape.1).map { _ in Int64.random(in: 0...50, using: &rng) } }
                let match = MinCostAssignment.minimumCost(cost)
                let used = match.compactMap { $0 }
                #expect(used.count == min(shape.0, shape.1) && Set(used).count == used.count)
                var total: Int64 = 0
                for (i, j) in match.enumerated() { if let j { total += cost[i][j] } }
                let best = shape.0 <= shape.1 ? Self.bruteForce(cost) : Self.bruteForce((0..<shape.1).map { j in (0..<shape.0).map { cost[$0][j] } })
                #expect(total == best, "\(cost)")
            }
        }
    }

    /// An open 12×8 floor with racks; chargers in the bottom-left corner.
    static let floor = try! SiteLayout.parse("""
    site test-floor
    kind store
    width 14
    height 10
    map
    @@@@@@@@@@@@@@
    @............@
    @.SSSS..SSSS.@
    @.SSSS..SSSS.@
    @............@
    @.SSSS..SSSS.@
    @.SSSS..SSSS.@
    @............@
    @BB..P....P..@
    @@@@@@@@@@@@@@
    """, file: "floor")

    @Test func threeRobotsTakeThreeTasksByMinimumTotalTravel() {
        let l = Self.floor
        let g = l.grid
        let racks = l.features(.storage).map(\.access)
        let station = l.features(.pick)[0].cell
        let starts = [g.index(GridCell(x: 1, y: 1)), g.index(GridCell(x: 12, y: 1)), g.index(GridCell(x: 6, y: 7))]
        let pickups = [racks[0], racks[racks.count - 1], racks[racks.count / 2]]
        let tasks = pickups.enumerated().map { PickTask(id: $0.offset, pickup: $0.element, dropoff: station, release: 0) }
        let run = RobotFleet.run(grid: g, chargers: l.features(.charger).map(\.cell), robotsAt: starts, tasks: tasks)
        let first = run.decisions.prefix(3).compactMap { d -> (Int, Int)? in
            if case let .assign(t, r) = d.decision { return (t, r) } else { return nil }
        }
        #expect(first.count == 3)
        let total = first.reduce(0) { $0 + Int(g.distances(from: tasks[$1.0].pickup)[starts[$1.1]]) }
        let cost = starts.map { s in tasks.map { Int64(g.distances(from: $0.pickup)[s]) } }
        #expect(Int64(total) == Self.bruteForce(cost))
        #expect(run.tasksDone == 3)
    }

    @Test func aLongRandomRunNeverRunsFlatAndFinishesEveryTask() {
        let l = Self.floor
        let g = l.grid
        let racks = l.features(.storage).map(\.access)
        let stations = l.features(.pick).map(\.cell)
        var rng = SplitMix64(seed: 2026)
        var t = 0.0
        let tasks = (0..<800).map { i -> PickTask in
            t += Double(Int.random(in: 0...12, using: &rng))
            return PickTask(id: i, pickup: racks.randomElement(using: &rng)!, dropoff: stations.randomElement(using: &rng)!, release: t, handlingSeconds: 5)
        }
        // A small battery (≈ 300 steps) so that every robot charges many times in the run.
        let battery = BatteryModel(drainPerStep: 1.0 / 300, drainPerStepLoaded: 1.0 / 200, chargePerSecond: 1.0 / 200, secondsPerStep: 1)
        let starts = (0..<8).map { g.index(GridCell(x: 1 + $0, y: 1)) }
        for topUp in [true, false] {
            let run = RobotFleet.run(grid: g, chargers: l.features(.charger).map(\.cell), robotsAt: starts, tasks: tasks, battery: battery,
                                     policy: ChargingPolicy(topUpWhenIdle: topUp))
            if !topUp { #expect(run.topUps == 0) }
            #expect(run.charges - run.topUps >= 10)   // the low threshold sends robots to charge
            #expect(run.tasksDone == tasks.count)
            #expect(run.lowestCharge > 0)
            #expect(run.lowestCharge >= ChargingPolicy().reserve - 1e-9)
            #expect(run.charges >= 20)
            // Every task was done by one robot, after its release.
            for (i, task) in tasks.enumerated() { #expect(run.robotOfTask[i] >= 0 && run.finishedAt[i] >= task.release) }
            // Throughput holds: the fleet keeps up with the arrivals (done within 10 minutes of the last
            // release with opportunity charging, 20 without: robots then all charge from low, in bursts).
            #expect(run.makespan <= t + (topUp ? 600 : 1200), "top-up \(topUp)")
            // Chargers are never shared: at most one robot sent to a charger until it leaves.
            var at: [Int: Int] = [:]
            for d in run.decisions {
                switch d.decision {
                case let .sendToCharger(r, k): #expect(at[k] == nil); at[k] = r
                case let .leaveCharger(r): at = at.filter { $0.value != r }
                default: break
                }
            }
        }
    }
}
