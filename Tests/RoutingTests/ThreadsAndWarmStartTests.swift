import Testing
@testable import Routing

/// Several search threads (deterministic exchange of the best) and starting from a given solution.
@Suite struct ThreadsAndWarmStartTests {
    /// Every route re-simulated stop by stop; every job routed once or reported unassigned.
    func check(_ p: Problem, _ s: Solution) {
        var seen = Set<Int>()
        var total: Int64 = 0
        for (k, r) in s.routes.enumerated() {
            let sim = Generated.simulate(p, vehicle: s.vehicleOfRoute[k], route: r)
            #expect(sim.feasible, "route \(r) infeasible")
            total += sim.distance
            for c in r { #expect(seen.insert(c).inserted, "job \(c) served twice") }
        }
        for c in s.unassigned { #expect(seen.insert(c).inserted, "job \(c) both routed and unassigned") }
        #expect(seen == Set(p.jobs))
        #expect(Double(total) == s.distance * p.distanceScale)
    }

    func options(seed: UInt64, threads: Int, iterations: Int) -> SolveOptions {
        var o = SolveOptions(seed: seed, maxIterations: iterations)
        o.threads = threads
        o.exchangeInterval = 150
        return o
    }

    @Test func sameSeedAndThreadCountGiveTheSameSolution() {
        for threads in [2, 3] {
            let p = Generated.problem(seed: 7, .init(customers: 40, vehicles: 10, pairs: 3))
            let a = solve(p, options: options(seed: 5, threads: threads, iterations: 700))
            let b = solve(p, options: options(seed: 5, threads: threads, iterations: 700))
            #expect(a == b, "\(threads) threads")
            check(p, a)
            // Every thread ran its iterations: the count is the sum over threads.
            #expect(a.iterations == threads * 700)
        }
    }

    @Test func oneThreadFollowsTheSingleThreadedTrajectory() {
        let p = Generated.problem(seed: 11, .init(customers: 30, vehicles: 8))
        var o = SolveOptions(seed: 3, maxIterations: 500)
        let plain = solve(p, options: o)
        o.threads = 1
        o.exchangeInterval = 7   // ignored with one thread
        #expect(solve(p, options: o) == plain)
    }

    @Test func threadsFindFeasibleSolutionsNoWorseThanTheirConstruction() {
        for seed in 1...4 as ClosedRange<UInt64> {
            let p = Generated.problem(seed: seed, .init(customers: 30, vehicles: 8, pairs: seed % 2 == 0 ? 3 : 0))
            // Construction and its local search, without the final polish (whose result depends on
            // the generator's state, so it is not comparable across runs of different lengths).
            var o = SolveOptions(seed: seed, maxIterations: 0); o.segmentPolish = false
            let c = solve(p, options: o)
            let s = solve(p, options: options(seed: seed, threads: 2, iterations: 400))
            check(p, s)
            #expect(s.cost <= c.cost)
        }
    }

    @Test func fleetObjectiveWithThreads() {
        let p = Generated.problem(seed: 21, .init(customers: 30, vehicles: 10))
        var o = options(seed: 2, threads: 2, iterations: 600)
        o.objective = .fleet
        let a = solve(p, options: o), b = solve(p, options: o)
        #expect(a == b)
        check(p, a)
    }

    // MARK: Warm start

    @Test func warmStartFromAFeasibleSolutionIsNeverWorse() {
        for seed in 1...8 as ClosedRange<UInt64> {
            let p = Generated.problem(seed: seed, .init(customers: 30, vehicles: 8, pairs: seed % 2 == 0 ? 3 : 0))
            let start = solve(p, options: SolveOptions(seed: seed &+ 100, maxIterations: seed % 3 == 0 ? 0 : 50))
            guard start.unassigned.isEmpty else { continue }
            for threads in [1, 2] {
                let s = try! solve(p, from: start.routes, options: options(seed: seed, threads: threads, iterations: 200))
                check(p, s)
                #expect(s.repairs.isEmpty, "a feasible start needs no repair")
                #expect(s.cost <= start.cost, "seed \(seed), \(threads) thread(s): \(s.cost) > start \(start.cost)")
                #expect(s.unassigned.isEmpty)
            }
            // Zero iterations: the start itself (possibly polished), never worse.
            let zero = try! solve(p, from: start.routes, options: SolveOptions(seed: seed, maxIterations: 0))
            #expect(zero.cost <= start.cost)
        }
    }

    @Test func warmStartFromAnInfeasibleSolutionIsRepaired() {
        for seed in 1...6 as ClosedRange<UInt64> {
            let p = Generated.problem(seed: seed, .init(customers: 30, vehicles: 8, capacity: 60))
            // Everything on one route in index order: over capacity and late almost everywhere.
            let bad = [p.jobs]
            let s = try! solve(p, from: bad, options: SolveOptions(seed: seed, maxIterations: 300))
            check(p, s)
            #expect(!s.repairs.isEmpty)
            #expect(s.repairs.allSatisfy { $0.route == 1 && p.jobs.contains($0.job) })
            // What was kept on route 1 (the jobs not repaired) is feasible as a route on its own.
            let removed = Set(s.repairs.map(\.job))
            let kept = p.jobs.filter { !removed.contains($0) }
            #expect(Generated.simulate(p, vehicle: 0, route: kept).feasible, "the repaired route is feasible")
            // Reasons name the constraint.
            #expect(s.repairs.allSatisfy { $0.reason.contains("capacity") || $0.reason.contains("time window") || $0.reason.contains("depot") })
            let fresh = solve(p, options: SolveOptions(seed: seed, maxIterations: 300))
            if fresh.unassigned.isEmpty { #expect(s.unassigned.isEmpty, "seed \(seed): the repaired start placed everything a cold start places") }
        }
    }

    @Test func warmStartSaysWhichJobCannotBePlaced() throws {
        // Job 3's window closes before any vehicle can reach it: no route can serve it.
        var nodes = [Problem.Node(kind: .depot, ready: 0, due: 1000)]
        for k in 1...4 { nodes.append(Problem.Node(kind: .delivery, ready: 0, due: k == 3 ? 5 : 900, service: 1, demand: Load(1, 0, 0, 0))) }
        let n = nodes.count
        var dist = [Int64](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n where i != j { dist[i * n + j] = 10 + Int64(abs(i - j)) } }
        let v = Problem.Vehicle(start: 0, end: 0, capacity: Load(10, 0, 0, 0), shiftStart: 0, shiftEnd: 1000)
        let p = try Problem(nodes: nodes, vehicles: [v, v], distances: dist, durations: dist)
        let s = try solve(p, from: [[1, 2], [3, 4]], options: SolveOptions(seed: 1, maxIterations: 100))
        #expect(s.unassigned == [3])
        #expect(s.repairs == [WarmStartRepair(route: 2, job: 3, reason: "its time window closes before the vehicle can get there")])
        #expect(!s.feasible)
    }

    @Test func warmStartDropsDuplicatesAndExtraRoutes() throws {
        let p = Generated.problem(seed: 3, .init(customers: 6, vehicles: 2, capacity: 100, windowWidth: 900...1000))
        let s = try solve(p, from: [[1, 2], [2, 3], [4, 5, 6]], options: SolveOptions(seed: 1, maxIterations: 100))
        check(p, s)
        #expect(s.repairs.contains(WarmStartRepair(route: 2, job: 2, reason: "already on route #1")))
        #expect(s.repairs.filter { $0.route == 3 }.map(\.job) == [4, 5, 6])
    }

    @Test func warmStartRefusesWhatIsNotAJob() {
        let p = Generated.problem(seed: 3, .init(customers: 6, vehicles: 2))
        #expect(throws: WarmStartError("route #2: 99 is not a node of the problem")) {
            _ = try solve(p, from: [[1], [99]], options: SolveOptions(seed: 1, maxIterations: 10))
        }
        #expect(throws: WarmStartError("route #1: node 0 is a depot, not a job")) {
            _ = try solve(p, from: [[0, 1]], options: SolveOptions(seed: 1, maxIterations: 10))
        }
    }

    @Test func pairsAreKeptTogetherOrDroppedTogether() throws {
        let p = Generated.problem(seed: 4, .init(customers: 4, vehicles: 3, capacity: 100, windowWidth: 900...1000, pairs: 2))
        // Pair (5, 6) split over two routes, pair (7, 8) delivered before picked up.
        let s = try solve(p, from: [[1, 5, 2], [6, 3], [8, 7, 4]], options: SolveOptions(seed: 1, maxIterations: 200))
        check(p, s)
        let dropped = Set(s.repairs.map(\.job))
        #expect(dropped.isSuperset(of: [5, 6, 7, 8]))
        #expect(s.unassigned.isEmpty)
    }
}
