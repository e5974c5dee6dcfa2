import Testing
@testable import Routing

/// The penalised search (time warp allowed at a weight per unit): every move's claimed change equals
/// the re-simulated change of distance + weight × time warp; a repair either yields routes that are
/// feasible by simulation or leaves the solution as it was; solutions agree with brute force.
@Suite struct PenalisedSearchTests {
    struct Priced { var cost: Int64; var warp: Int64; var loadOK: Bool }

    func price(_ p: Problem, _ e: Engine) -> Priced {
        var cost: Int64 = 0, warp: Int64 = 0, ok = true
        for v in 0..<e.vehicleCount where e.size(v) > 0 {
            let s = Generated.simulate(p, vehicle: v, route: e.visits[v].dropFirst().dropLast().map(Int.init))
            cost += s.distance + e.latenessWeight * s.timeWarp
            warp += s.timeWarp
            ok = ok && s.loadAndDurationOK
        }
        return Priced(cost: cost, warp: warp, loadOK: ok)
    }

    func twoRoutes(_ e: Engine, _ rng: inout SeededGenerator) -> (Int, Int)? {
        let used = (0..<e.vehicleCount).filter { e.size($0) > 0 }
        guard used.count >= 2 else { return nil }
        let u = used[rng.below(used.count)]
        var v = used[rng.below(used.count)]
        if v == u { v = used[(used.firstIndex(of: u)! + 1) % used.count] }
        return (u, v)
    }

    /// Solutions with time warp: tight windows, few vehicles, construction under the weight.
    func warped(_ seed: UInt64) -> (Problem, Engine) {
        let p = Generated.problem(seed: seed, .init(customers: 16, vehicles: 4, capacity: 60, windowWidth: 20...150))
        let e = Engine(p, objective: .distance)
        e.latenessWeight = Cost(1 + seed % 5)
        var rng = SeededGenerator(seed: seed)
        e.regretConstruct(rng: &rng)
        return (p, e)
    }

    func exercise(_ name: String, _ move: (Engine, inout SeededGenerator) -> (evaluate: () -> Cost?, apply: () -> Void)?) {
        var claimed = 0, declined = 0, warpedSeen = 0
        for seed in 1...30 as ClosedRange<UInt64> {
            let (p, e) = warped(seed)
            var rng = SeededGenerator(seed: seed &* 7)
            #expect(e.totalWarp == price(p, e).warp, "the engine's time warp is the simulated one")
            for _ in 0..<30 {
                guard let m = move(e, &rng) else { continue }
                let before = price(p, e)
                if before.warp > 0 { warpedSeen += 1 }
                let delta = m.evaluate()
                let saved = e.routesSnapshot()
                m.apply()
                let after = price(p, e)
                if let delta {
                    claimed += 1
                    #expect(after.loadOK, "\(name): claimed within capacity")
                    #expect(after.cost - before.cost == delta, "\(name) seed \(seed): claimed \(delta), simulated \(after.cost - before.cost)")
                    #expect((0..<e.vehicleCount).reduce(Int64(0)) { $0 + e.routeCost[$1] } == after.cost, "\(name): the engine's cost is the simulated penalised cost")
                } else {
                    declined += 1
                    #expect(!after.loadOK, "\(name): declined although only windows (priced) were broken")
                    e.load(saved)
                }
            }
        }
        #expect(claimed > 20 && declined > 5 && warpedSeen > 20, "\(name): \(claimed) claimed, \(declined) declined, \(warpedSeen) warped")
    }

    @Test func relocateWithTimeWarp() {
        exercise("relocate") { e, rng in
            guard let (u, v) = twoRoutes(e, &rng) else { return nil }
            let c = e.visits[u][1 + rng.below(e.size(u))]
            let j = rng.below(e.size(v) + 1)
            return ({ e.evaluateRelocate(c, to: v, after: j) }, { e.applyRelocate(c, to: v, after: j) })
        }
    }

    @Test func swapWithTimeWarp() {
        exercise("swap") { e, rng in
            guard let (u, v) = twoRoutes(e, &rng) else { return nil }
            let a = e.visits[u][1 + rng.below(e.size(u))], b = e.visits[v][1 + rng.below(e.size(v))]
            return ({ e.evaluateSwap(a, b) }, { e.applySwap(a, b) })
        }
    }

    @Test func twoOptStarWithTimeWarp() {
        exercise("2-opt*") { e, rng in
            guard let (u, v) = twoRoutes(e, &rng) else { return nil }
            let i = rng.below(e.size(u) + 1), j = rng.below(e.size(v) + 1)
            return ({ e.evaluateTwoOptStar(u, after: i, v, after: j) }, { e.applyTwoOptStar(u, after: i, v, after: j) })
        }
    }

    @Test func insertionPricesTimeWarp() {
        // The cheapest insertion under the weight equals the brute-force best over every position.
        var checked = 0
        for seed in 1...20 as ClosedRange<UInt64> {
            let (p, e) = warped(seed)
            var rng = SeededGenerator(seed: seed)
            let used = (0..<e.vehicleCount).filter { e.size($0) > 0 }
            guard let v = used.first, e.size(v) >= 2 else { continue }
            let c = e.visits[v][1]
            _ = e.detach(c); e.refresh(v)
            let route = e.visits[v].dropFirst().dropLast().map(Int.init)
            let base = Generated.simulate(p, vehicle: v, route: route)
            var brute = Int64.max
            for i in 0...route.count {
                var r = route; r.insert(Int(c), at: i)
                let s = Generated.simulate(p, vehicle: v, route: r)
                guard s.loadAndDurationOK else { continue }
                brute = min(brute, s.distance + e.latenessWeight * s.timeWarp - base.distance - e.latenessWeight * base.timeWarp)
            }
            let pos = e.bestInRoute(c, v, blink: 0, rng: &rng)
            #expect((pos.vehicle < 0 ? Int64.max : pos.cost) == brute, "seed \(seed)")
            checked += 1
        }
        #expect(checked > 10)
    }

    @Test func repairEitherMakesItFeasibleOrChangesNothing() {
        var repaired = 0, kept = 0
        for seed in 1...30 as ClosedRange<UInt64> {
            let (p, e) = warped(seed)
            guard e.totalWarp > 0 else { continue }
            var o = SolveOptions(seed: seed); o.penalisedTimeWarp = true
            let w = e.latenessWeight
            e.latenessWeight = 0
            var s = e.startSearch(e.prepareSearch(options: o, scale: 1))
            e.setWeight(w); s.weight = w
            var rng = SeededGenerator(seed: seed)
            let before = e.routesSnapshot().routes
            let jobs = Set(p.jobs.filter { e.routeOf[$0] >= 0 })
            if e.repairWarp(&s, rng: &rng) {
                repaired += 1
                #expect(price(p, e).warp == 0 && price(p, e).loadOK, "seed \(seed): repaired routes are feasible by simulation")
                #expect(Set(p.jobs.filter { e.routeOf[$0] >= 0 }) == jobs, "the same jobs stay routed")
                #expect(e.latenessWeight == w, "the weight is restored")
            } else {
                kept += 1
                #expect(e.routesSnapshot().routes == before, "seed \(seed): a failed repair leaves the routes as they were")
                #expect((0..<e.vehicleCount).reduce(Int64(0)) { $0 + e.routeCost[$1] } == price(p, e).cost)
            }
        }
        #expect(repaired + kept > 10)
    }

    @Test func penalisedSolveIsFeasibleAndReachesTheBruteForceOptimum() {
        var checked = 0
        for seed in 1...10 as ClosedRange<UInt64> {
            let p = Generated.problem(seed: seed, .init(customers: 7, vehicles: 3, capacity: 30))
            guard let opt = Generated.optimum(p) else { continue }
            var o = SolveOptions(seed: seed, maxIterations: 1500); o.penalisedTimeWarp = true
            let s = solve(p, options: o)
            #expect(s.unassigned.isEmpty && s.feasible)
            for (k, r) in s.routes.enumerated() { #expect(Generated.simulate(p, vehicle: s.vehicleOfRoute[k], route: r).feasible) }
            #expect(Int64(s.distance) == opt, "seed \(seed): found \(s.distance), optimum \(opt)")
            checked += 1
        }
        #expect(checked >= 5)
    }

    @Test func penalisedSolveOnLargerInstancesStaysFeasibleAndReproducible() {
        for seed in 1...4 as ClosedRange<UInt64> {
            let p = Generated.problem(seed: seed, .init(customers: 40, vehicles: 10, windowWidth: 30...200))
            var o = SolveOptions(seed: seed, maxIterations: 800); o.penalisedTimeWarp = true
            let a = solve(p, options: o), b = solve(p, options: o)
            #expect(a == b)
            for (k, r) in a.routes.enumerated() { #expect(Generated.simulate(p, vehicle: a.vehicleOfRoute[k], route: r).feasible) }
            var c = SolveOptions(seed: seed, maxIterations: 0); c.segmentPolish = false
            let cold = solve(p, options: c)
            #expect(a.cost <= cold.cost)
        }
    }
}
