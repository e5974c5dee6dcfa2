import Testing
@testable import Routing

@Suite struct SolverTests {
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
        #expect(seen == Set(p.jobs), "every job is routed or reported unassigned")
        #expect(Double(total) == s.distance * p.distanceScale)
        #expect(s.vehicles == s.routes.count && s.vehicles <= p.vehicles.count)
    }

    @Test func solutionsAreFeasibleAndAccountForEveryJob() {
        for seed in 1...12 as ClosedRange<UInt64> {
            let p = Generated.problem(seed: seed, .init(customers: 25, vehicles: 6, pairs: seed % 2 == 0 ? 4 : 0))
            let s = solve(p, options: SolveOptions(seed: seed, maxIterations: 300))
            check(p, s)
            #expect(s.feasible == s.unassigned.isEmpty)
        }
    }

    @Test func sameSeedSameSolution() {
        let p = Generated.problem(seed: 42, .init(customers: 30, vehicles: 8, pairs: 3))
        let a = solve(p, options: SolveOptions(seed: 9, maxIterations: 400))
        let b = solve(p, options: SolveOptions(seed: 9, maxIterations: 400))
        #expect(a == b)
    }

    @Test func searchNeverWorsensConstruction() {
        for seed in 1...6 as ClosedRange<UInt64> {
            let p = Generated.problem(seed: seed, .init(customers: 30, vehicles: 8))
            let c = solve(p, options: SolveOptions(seed: seed, maxIterations: 0))
            let s = solve(p, options: SolveOptions(seed: seed, maxIterations: 500))
            #expect(s.cost <= c.cost)
        }
    }

    @Test func smallInstancesReachTheBruteForceOptimum() {
        var checked = 0
        for seed in 1...10 as ClosedRange<UInt64> {
            let p = Generated.problem(seed: seed, .init(customers: 7, vehicles: 3, capacity: 30))
            guard let opt = Generated.optimum(p) else { continue }
            let s = solve(p, options: SolveOptions(seed: seed, maxIterations: 1500))
            check(p, s)
            #expect(s.unassigned.isEmpty)
            #expect(Int64(s.distance) >= opt, "never better than the optimum")
            #expect(Int64(s.distance) == opt, "seed \(seed): found \(s.distance), optimum \(opt)")
            checked += 1
        }
        #expect(checked >= 5)
    }

    @Test func fleetObjectiveNeverUsesMoreVehiclesThanDistanceObjective() {
        for seed in 1...4 as ClosedRange<UInt64> {
            let p = Generated.problem(seed: seed, .init(customers: 30, vehicles: 10))
            let d = solve(p, options: SolveOptions(seed: seed, objective: .distance, maxIterations: 400))
            let f = solve(p, options: SolveOptions(seed: seed, objective: .fleet, maxIterations: 400))
            check(p, f)
            #expect(f.vehicles <= d.vehicles)
        }
    }

    @Test func anytimeStopReturnsAFeasibleSolution() {
        let p = Generated.problem(seed: 5, .init(customers: 30, vehicles: 8))
        let s = solve(p, options: SolveOptions(seed: 1, shouldStop: { true }))
        check(p, s)
        #expect(s.iterations == 0)
    }
}

@Suite struct InsertionTests {
    /// Full cost of the engine's routes, recomputed by simulation.
    func simulatedCost(_ p: Problem, _ e: Engine) -> (Int64, Bool) {
        var total: Int64 = 0, ok = true
        for v in 0..<e.vehicleCount where e.size(v) > 0 {
            let r = e.visits[v].dropFirst().dropLast().map(Int.init)
            let s = Generated.simulate(p, vehicle: v, route: r)
            total += s.distance; ok = ok && s.feasible
        }
        return (total, ok)
    }

    @Test func bestInsertionDeltaEqualsRecomputedCostAndIsTheCheapest() {
        for seed in 1...80 as ClosedRange<UInt64> {
            // Tight capacity with pairs: a route whose pickups sit where the load is low must still
            // not take a delivery that overloads the vehicle while the pickup is on board.
            let p = Generated.problem(seed: seed, .init(customers: 10, vehicles: 3, capacity: seed % 2 == 0 ? 30 : 40, pairs: seed % 3 == 0 ? 0 : 2))
            let e = Engine(p, objective: .distance)
            var rng = SeededGenerator(seed: seed)
            e.regretConstruct(rng: &rng)
            // Take one job out and reinsert it.
            let routed = p.jobs.filter { e.routeOf[$0] >= 0 && (e.partner[$0] < 0 || e.isPairPickup[$0]) }
            guard let c = routed.first.map(Int32.init) else { continue }
            let v = e.detach(c); e.refresh(v)
            let (before, _) = simulatedCost(p, e)
            let pos = e.bestInsertion(c, blink: 0, rng: &rng)
            #expect(pos.vehicle >= 0, "its old position is still feasible")
            // Brute force: every position (pairs: every pickup/delivery position pair) in every route.
            var bruteBest = Int64.max
            for w in 0..<e.vehicleCount {
                let base = e.visits[w].dropFirst().dropLast().map(Int.init)
                let q = Int(e.partner[Int(c)])
                for i in 0...base.count {
                    if q < 0 {
                        var r = base; r.insert(Int(c), at: i)
                        let s = Generated.simulate(p, vehicle: w, route: r)
                        if s.feasible { bruteBest = min(bruteBest, s.distance - (e.size(w) > 0 ? e.cumD[w].last! : 0)) }
                    } else {
                        for j in i...base.count {
                            var r = base; r.insert(q, at: j); r.insert(Int(c), at: i)
                            let s = Generated.simulate(p, vehicle: w, route: r)
                            if s.feasible { bruteBest = min(bruteBest, s.distance - (e.size(w) > 0 ? e.cumD[w].last! : 0)) }
                        }
                    }
                }
            }
            #expect(pos.cost == bruteBest, "seed \(seed)")
            e.apply(c, pos)
            let (after, ok) = simulatedCost(p, e)
            #expect(ok)
            #expect(after - before == pos.cost, "claimed delta equals the recomputed change")
        }
    }

    @Test func insertionReportedImpossibleHasNoFeasiblePosition() {
        var impossible = 0
        for seed in 1...60 as ClosedRange<UInt64> {
            // Tight windows and capacity so some jobs do not fit.
            let p = Generated.problem(seed: seed, .init(customers: 9, vehicles: 2, capacity: 25, windowWidth: 10...60))
            let e = Engine(p, objective: .distance)
            var rng = SeededGenerator(seed: seed)
            e.regretConstruct(rng: &rng)
            for c in e.unassigned {
                impossible += 1
                for w in 0..<e.vehicleCount {
                    let base = e.visits[w].dropFirst().dropLast().map(Int.init)
                    for i in 0...base.count {
                        var r = base; r.insert(Int(c), at: i)
                        #expect(!Generated.simulate(p, vehicle: w, route: r).feasible)
                    }
                }
            }
        }
        #expect(impossible > 0, "the generator produced some impossible insertions")
    }
}
