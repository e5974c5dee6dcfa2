import Base
import Testing
@testable import Warehouse

@Suite struct LifelongTests {
    /// The small League warehouse with `robots` seeded starts and two-errand tasks (emitter, then
    /// service cell) in the 2024 style.
    func instance(robots: Int, tasks: Int, seed: UInt64) throws -> (Grid, [Int], [[Int]]) {
        let text = try TestFloor.fixture("warehouse_small.map")
        let g = try MovingAIMap.parse(text, file: "warehouse_small.map")
        let chars = Array(text.split(separator: "\n").suffix(g.height).joined().utf8)
        let emitters = chars.indices.filter { chars[$0] == UInt8(ascii: "E") }
        let services = chars.indices.filter { chars[$0] == UInt8(ascii: "S") }
        #expect(emitters.count == 40 && services.count == 342)
        let p = TestFloor.randomProblem(g, agents: robots, seed: seed)
        var rng = SplitMix64(seed: seed)
        let list = (0..<tasks).map { _ in [emitters[rng.below(emitters.count)], services[rng.below(services.count)]] }
        return (g, p.starts, list)
    }

    /// Runs `steps` steps recording every position (and heading) for the independent validator.
    func run(_ sim: inout LifelongSimulation, steps: Int) -> (paths: [[Int]], headings: [[Int]]) {
        var paths = sim.positions.map { [Int($0)] }
        var heads = sim.headings.map { [Int($0)] }
        for _ in 0..<steps {
            sim.commit(sim.planStep())
            for r in 0..<sim.robots { paths[r].append(Int(sim.positions[r])); heads[r].append(Int(sim.headings[r])) }
        }
        return (paths, heads)
    }

    @Test func fourConnectedRunHasNoConflictOverThousandsOfSteps() throws {
        let (g, starts, tasks) = try instance(robots: 60, tasks: 500, seed: 1)
        var sim = LifelongSimulation(grid: g, starts: starts, tasks: tasks, poolSize: 90, options: LifelongOptions(seed: 1))
        let (paths, _) = run(&sim, steps: 2_000)
        let bad = TestFloor.validator(g).violations(paths: paths, starts: starts, goals: nil)
        #expect(bad.isEmpty, "\(bad.prefix(3))")
        #expect(sim.tasksFinished > 300, "only \(sim.tasksFinished) tasks in 2,000 steps")
        #expect(sim.errandsFinished >= 2 * sim.tasksFinished)
    }

    @Test func rotationRunHasNoConflictAndOnlyLegalActions() throws {
        let (g, starts, tasks) = try instance(robots: 60, tasks: 500, seed: 2)
        var sim = LifelongSimulation(grid: g, starts: starts, tasks: tasks, poolSize: 90, options: LifelongOptions(rotation: true, seed: 2))
        let (paths, heads) = run(&sim, steps: 2_000)
        let bad = TestFloor.validator(g).violations(paths: paths, starts: starts, goals: nil, headings: heads)
        #expect(bad.isEmpty, "\(bad.prefix(3))")
        #expect(sim.tasksFinished > 100, "only \(sim.tasksFinished) tasks in 2,000 steps")
    }

    @Test func denseRunStaysConflictFree() throws {
        // 400 robots on 1,277 cells: a third of the floor.
        let (g, starts, tasks) = try instance(robots: 400, tasks: 2_000, seed: 3)
        var sim = LifelongSimulation(grid: g, starts: starts, tasks: tasks, poolSize: 600, options: LifelongOptions(seed: 3))
        let (paths, _) = run(&sim, steps: 300)
        #expect(TestFloor.validator(g).violations(paths: paths, starts: starts, goals: nil).isEmpty)
        #expect(sim.tasksFinished > 0)
    }

    @Test func tasksAreFinishedOnlyByVisitingTheirErrandsInOrder() throws {
        // One robot on a corridor, one task 4 → 1: it must go to 4 first, then back to 1.
        let g = TestFloor.grid(["......"])
        var sim = LifelongSimulation(grid: g, starts: [0], tasks: [[4, 1]], poolSize: 1)
        var visited: [Int] = []
        for _ in 0..<7 { sim.commit(sim.planStep()); visited.append(Int(sim.positions[0])) }
        #expect(Array(visited.prefix(7)) == [1, 2, 3, 4, 3, 2, 1])
        #expect(sim.tasksFinished == 1 && sim.errandsFinished == 2)
        // Passing 1 on the way to 4 did not count.
    }

    @Test func waitingStepsChangeNothing() throws {
        let (g, starts, tasks) = try instance(robots: 20, tasks: 100, seed: 4)
        var sim = LifelongSimulation(grid: g, starts: starts, tasks: tasks, poolSize: 30)
        sim.commitWait()
        #expect(sim.positions.map(Int.init) == starts && sim.step == 1)
    }

    @Test func distanceCacheMatchesBreadthFirstSearchAndEvictsIdleTables() throws {
        let g = TestFloor.randomGrid(width: 12, height: 9, blocked: 0.25, seed: 5)
        let graph = FloorGraph(g)
        var cache = DistanceCache(graph: graph, capacity: 3)
        let free = (0..<g.cellCount).filter { g.passable[$0] }
        var held: [Int32] = []
        for (k, goal) in free.prefix(12).enumerated() {
            let slot = cache.slot(for: goal)
            let s = try #require(slot)
            let reference = g.distances(from: goal)
            for c in free { #expect(cache.distance(slot: s, cell: c) == Int(reference[c])) }
            if k < 2 { cache.retain(s); held.append(s) }
        }
        #expect(cache.resident == 3)
        #expect(cache.computed == 12)
        // The two retained tables survived every eviction.
        for (s, goal) in zip(held, free.prefix(2)) { #expect(cache.slot(for: goal) == s) }
        #expect(cache.computed == 12)
    }

    @Test func laneCostsAreShortestPathsWithTwoForAlongAndThreeAgainst() throws {
        let g = TestFloor.randomGrid(width: 11, height: 9, blocked: 0.2, seed: 6)
        var cache = DistanceCache(graph: FloorGraph(g), capacity: 2, lanes: true)
        let free = (0..<g.cellCount).filter { g.passable[$0] }
        let goal = free[free.count / 2]
        let slot = cache.slot(for: goal)
        let s = try #require(slot)
        let bfs = g.distances(from: goal)
        // Step cost written out here from the rule: rows alternate east (even y) / west, columns
        // south (even x) / north; 2 along the lane, 3 against.
        func cost(_ u: Int, _ v: Int) -> Int {
            let (ux, uy, vx, vy) = (u % g.width, u / g.width, v % g.width, v / g.width)
            if vy == uy { return (vx > ux) == (uy % 2 == 0) ? 2 : 3 }
            return (vy > uy) == (ux % 2 == 0) ? 2 : 3
        }
        for c in free {
            let d = cache.distance(slot: s, cell: c)
            #expect(d >= 2 * Int(bfs[c]) && d <= 3 * Int(bfs[c]))
            if c == goal { #expect(d == 0); continue }
            let best = g.neighbours(c).map { cost(c, $0) + cache.distance(slot: s, cell: $0) }.min()
            #expect(d == best, "cell \(g.cell(c))")
        }
    }
}
