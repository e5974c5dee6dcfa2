import Testing
@testable import Routing

/// Each operator's claimed delta equals the recomputed cost change, and "infeasible" means the
/// resulting routes really break a constraint (checked by plain simulation).
@Suite struct OperatorTests {
    struct Snapshot { var cost: Int64; var feasible: Bool }

    func simulate(_ p: Problem, _ e: Engine) -> Snapshot {
        var cost: Int64 = 0, ok = true
        for v in 0..<e.vehicleCount where e.size(v) > 0 {
            let s = Generated.simulate(p, vehicle: v, route: e.visits[v].dropFirst().dropLast().map(Int.init))
            cost += s.distance; ok = ok && s.feasible
        }
        return Snapshot(cost: cost, feasible: ok)
    }

    /// Runs `trials` random moves of one operator on constructed solutions of random instances.
    func exercise(_ name: String, seeds: ClosedRange<UInt64> = 1...25,
                  _ move: (Engine, inout SeededGenerator) -> (evaluate: () -> Cost?, apply: () -> Void)?) {
        var feasibleSeen = 0, infeasibleSeen = 0
        for seed in seeds {
            let p = Generated.problem(seed: seed, .init(customers: 16, vehicles: 5, capacity: 50, windowWidth: 80...500))
            let e = Engine(p, objective: .distance)
            var rng = SeededGenerator(seed: seed)
            e.regretConstruct(rng: &rng)
            for _ in 0..<40 {
                guard let m = move(e, &rng) else { continue }
                let before = simulate(p, e)
                #expect(before.feasible)
                let claimed = m.evaluate()
                let saved = e.routesSnapshot()
                m.apply()
                let after = simulate(p, e)
                if let claimed {
                    feasibleSeen += 1
                    #expect(after.feasible, "\(name): claimed feasible")
                    #expect(after.cost - before.cost == claimed, "\(name): claimed \(claimed), real \(after.cost - before.cost)")
                    if !after.feasible { e.load(saved) }
                } else {
                    infeasibleSeen += 1
                    #expect(!after.feasible, "\(name): claimed infeasible but the routes are feasible")
                    e.load(saved)
                }
            }
        }
        #expect(feasibleSeen > 10, "\(name): enough feasible moves exercised")
        #expect(infeasibleSeen > 10, "\(name): enough infeasible moves exercised")
    }

    func twoRoutes(_ e: Engine, _ rng: inout SeededGenerator) -> (Int, Int)? {
        let used = (0..<e.vehicleCount).filter { e.size($0) > 0 }
        guard used.count >= 2 else { return nil }
        let u = used[rng.below(used.count)]
        var v = used[rng.below(used.count)]
        if v == u { v = used[(used.firstIndex(of: u)! + 1) % used.count] }
        return (u, v)
    }

    @Test func relocateDeltaMatchesRecomputation() {
        exercise("relocate") { e, rng in
            guard let (u, v) = twoRoutes(e, &rng) else { return nil }
            let c = e.visits[u][1 + rng.below(e.size(u))]
            let j = rng.below(e.size(v) + 1)
            return ({ e.evaluateRelocate(c, to: v, after: j) }, { e.applyRelocate(c, to: v, after: j) })
        }
    }

    @Test func orOptDeltaMatchesRecomputation() {
        exercise("or-opt") { e, rng in
            guard let (u, v) = twoRoutes(e, &rng), e.size(u) >= 2 else { return nil }
            let len = min(e.size(u), 2 + rng.below(2))
            let i = 1 + rng.below(e.size(u) - len + 1)
            let c = e.visits[u][i]
            let j = rng.below(e.size(v) + 1)
            return ({ e.evaluateRelocate(c, length: len, to: v, after: j) }, { e.applyRelocate(c, length: len, to: v, after: j) })
        }
    }

    @Test func swapDeltaMatchesRecomputation() {
        exercise("swap") { e, rng in
            guard let (u, v) = twoRoutes(e, &rng) else { return nil }
            let a = e.visits[u][1 + rng.below(e.size(u))], b = e.visits[v][1 + rng.below(e.size(v))]
            return ({ e.evaluateSwap(a, b) }, { e.applySwap(a, b) })
        }
    }

    @Test func swapStarFindsTheBestExchangeAndClaimsItsTrueDelta() {
        var feasible = 0, infeasible = 0
        for seed in 1...25 as ClosedRange<UInt64> {
            // Half the instances carry pickup-delivery pairs: routes with a pickup are not
            // "plain deliveries", so moving a delivery across the pickup can overload the van.
            let p = Generated.problem(seed: seed, .init(customers: 14, vehicles: 4, capacity: 50, windowWidth: 80...500, pairs: seed % 2 == 0 ? 3 : 0))
            let e = Engine(p, objective: .distance)
            var rng = SeededGenerator(seed: seed)
            e.regretConstruct(rng: &rng)
            for _ in 0..<15 {
                guard let (u, v) = twoRoutes(e, &rng) else { continue }
                let a = e.visits[u][1 + rng.below(e.size(u))], b = e.visits[v][1 + rng.below(e.size(v))]
                guard p.nodes[Int(a)].kind == .delivery, p.nodes[Int(b)].kind == .delivery else { continue }
                let plain = { (r: Int) in e.visits[r].dropFirst().dropLast().allSatisfy { p.nodes[Int($0)].kind == .delivery } }
                if !plain(u) || !plain(v) {
                    // Out of SWAP*'s scope: it must decline rather than guess.
                    #expect(e.evaluateSwapStar(a, b) == nil, "SWAP* declines routes with pickups")
                    continue
                }
                let ru = e.visits[u].dropFirst().dropLast().map(Int.init).filter { $0 != Int(a) }
                let rv = e.visits[v].dropFirst().dropLast().map(Int.init).filter { $0 != Int(b) }
                let old = simulate(p, e).cost
                func bestSide(_ base: [Int], _ c: Int, _ w: Int) -> Int64? {
                    var best: Int64? = nil
                    for i in 0...base.count {
                        var r = base; r.insert(c, at: i)
                        let s = Generated.simulate(p, vehicle: w, route: r)
                        if s.feasible, best == nil || s.distance < best! { best = s.distance }
                    }
                    return best
                }
                var brute: Int64? = nil
                if let x = bestSide(ru, Int(b), u), let y = bestSide(rv, Int(a), v) {
                    let others = old - Generated.simulate(p, vehicle: u, route: e.visits[u].dropFirst().dropLast().map(Int.init)).distance
                        - Generated.simulate(p, vehicle: v, route: e.visits[v].dropFirst().dropLast().map(Int.init)).distance
                    brute = others + x + y - old
                }
                let mv = e.evaluateSwapStar(a, b)
                #expect(mv?.delta == brute, "seed \(seed): SWAP* claims \(String(describing: mv?.delta)), brute force \(String(describing: brute))")
                if let mv {
                    feasible += 1
                    e.applySwapStar(a, b, mv)
                    let after = simulate(p, e)
                    #expect(after.feasible)
                    #expect(after.cost - old == mv.delta)
                } else { infeasible += 1 }
            }
        }
        #expect(feasible > 10 && infeasible > 10)
    }

    @Test func twoOptStarDeltaMatchesRecomputation() {
        exercise("2-opt*") { e, rng in
            guard let (u, v) = twoRoutes(e, &rng) else { return nil }
            let i = rng.below(e.size(u) + 1), j = rng.below(e.size(v) + 1)
            return ({ e.evaluateTwoOptStar(u, after: i, v, after: j) }, { e.applyTwoOptStar(u, after: i, v, after: j) })
        }
    }

    @Test func localSearchNeverWorsensAndStaysFeasible() {
        for seed in 1...10 as ClosedRange<UInt64> {
            let p = Generated.problem(seed: seed, .init(customers: 40, vehicles: 10, capacity: 60))
            let e = Engine(p, objective: .distance)
            var rng = SeededGenerator(seed: seed)
            e.regretConstruct(rng: &rng)
            let before = e.totalCost
            e.localSearch(neighbours: e.buildNeighbours(limit: 20), rng: &rng)
            #expect(e.totalCost <= before)
            #expect(e.verify())
            #expect(simulate(p, e).feasible)
        }
    }
}
