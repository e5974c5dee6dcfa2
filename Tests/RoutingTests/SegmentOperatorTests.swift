import Testing
@testable import Routing

/// CROSS-exchange and intra-route 2-opt, by brute force: on small random instances (plain,
/// with pickup-delivery pairs, with asymmetric travel, with multiple trips), every candidate move
/// is evaluated and applied; the claimed delta must equal the re-simulated cost change, a
/// claimed-feasible result must be feasible by simulation, and a declined move must either be
/// infeasible by simulation or involve a stop the operators may not move (pair member, reload).
@Suite struct SegmentOperatorTests {
    enum Variant: CaseIterable { case plain, pairs, asymmetric, multiTrip }

    static func problem(seed: UInt64, _ variant: Variant) -> Problem {
        let base = Generated.problem(seed: seed, .init(customers: variant == .pairs ? 10 : 14, vehicles: 4,
                                                        capacity: variant == .multiTrip ? 30 : 50,
                                                        windowWidth: 80...500, pairs: variant == .pairs ? 3 : 0))
        switch variant {
        case .plain, .pairs: return base
        case .asymmetric:
            var rng = SeededGenerator(seed: seed &+ 1000)
            var d = base.distances
            let n = base.nodeCount
            for a in 0..<n { for b in 0..<n where a != b { d[a * n + b] += Int64(rng.below(25)) } }
            return try! Problem(nodes: base.nodes, vehicles: base.vehicles, distances: d, durations: d)
        case .multiTrip:
            let v = base.vehicles[0]
            let mv = Problem.Vehicle(start: v.start, end: v.end, capacity: v.capacity, shiftStart: v.shiftStart,
                                     shiftEnd: v.shiftEnd, maxTrips: 2, reloadTime: 15)
            return try! Problem(nodes: base.nodes, vehicles: Array(repeating: mv, count: 3),
                                distances: base.distances, durations: base.durations)
        }
    }

    struct Outcome { var cost: Int64; var feasible: Bool }

    /// Independent re-simulation of every used route, plus the pair rule: a paired delivery
    /// rides on its pickup's route, after it.
    static func simulate(_ p: Problem, _ e: Engine) -> Outcome {
        var cost: Int64 = 0, ok = true
        var where_ = [Int: (route: Int, pos: Int)]()
        for v in 0..<e.vehicleCount {
            let route = e.visits[v].dropFirst().dropLast().map(Int.init)
            for (k, c) in route.enumerated() { where_[c] = (v, k) }
            guard route.contains(where: { p.nodes[$0].isJob }) else { continue }
            let s = Generated.simulate(p, vehicle: v, route: route)
            cost += s.distance; ok = ok && s.feasible
        }
        for (i, node) in p.nodes.enumerated() {
            if case .pairedDelivery(let pk) = node.kind, let d = where_[i] {
                guard let q = where_[pk], q.route == d.route, q.pos < d.pos else { ok = false; continue }
            }
        }
        return Outcome(cost: cost, feasible: ok)
    }

    /// Whether a stop may be moved by these operators at all (what `Engine.movable` is meant to mean).
    static func movableKind(_ p: Problem, _ c: Int32) -> Bool {
        switch p.nodes[Int(c)].kind {
        case .delivery, .pickup: return true
        default: return false
        }
    }

    struct Tally { var feasible = 0; var infeasible = 0; var declinedForKind = 0 }

    /// Evaluates, applies, checks and undoes one move.
    static func check(_ name: String, _ p: Problem, _ e: Engine, stops: [Int32], tally: inout Tally,
                      evaluate: () -> Cost?, apply: () -> Void) {
        let before = simulate(p, e)
        let saved = e.routesSnapshot()
        let claimed = evaluate()
        apply()
        let after = simulate(p, e)
        if let claimed {
            tally.feasible += 1
            #expect(stops.allSatisfy { movableKind(p, $0) }, "\(name): moved a pair member or reload")
            #expect(after.feasible, "\(name): claimed feasible, simulation says not")
            #expect(after.cost - before.cost == claimed, "\(name): claimed \(claimed), real \(after.cost - before.cost)")
        } else if stops.allSatisfy({ movableKind(p, $0) }) {
            tally.infeasible += 1
            #expect(!after.feasible, "\(name): declined a feasible move of movable stops")
        } else {
            tally.declinedForKind += 1
        }
        e.load(saved)
    }

    func constructed(_ p: Problem, seed: UInt64) -> Engine {
        let e = Engine(p, objective: .distance)
        var rng = SeededGenerator(seed: seed)
        e.regretConstruct(rng: &rng)
        #expect(Self.simulate(p, e).feasible)
        return e
    }

    @Test(arguments: Variant.allCases)
    func crossExchangeEveryMoveByBruteForce(_ variant: Variant) {
        var tally = Tally()
        for seed in 1...8 as ClosedRange<UInt64> {
            let p = Self.problem(seed: seed, variant)
            let e = constructed(p, seed: seed)
            for u in 0..<e.vehicleCount { for v in 0..<e.vehicleCount where u != v {
                let mu = e.visits[u].count, mv = e.visits[v].count
                for i in stride(from: 1, to: mu - 1, by: 1) { for j in stride(from: 1, to: mv - 1, by: 1) {
                    for la in 1...3 where i + la <= mu - 1 { for lb in 1...3 where j + lb <= mv - 1 {
                        let a = e.visits[u][i], b = e.visits[v][j]
                        let stops = Array(e.visits[u][i..<(i + la)]) + Array(e.visits[v][j..<(j + lb)])
                        Self.check("cross \(variant) seed \(seed) \(u):\(i)+\(la) ⇄ \(v):\(j)+\(lb)", p, e, stops: stops, tally: &tally,
                                   evaluate: { e.evaluateCrossExchange(a, length: la, b, length: lb) },
                                   apply: { e.applyCrossExchange(a, length: la, b, length: lb) })
                    } }
                } }
            } }
        }
        #expect(tally.feasible > 20, "cross \(variant): enough feasible moves (\(tally.feasible))")
        #expect(tally.infeasible > 20, "cross \(variant): enough infeasible moves (\(tally.infeasible))")
        if variant == .pairs || variant == .multiTrip { #expect(tally.declinedForKind > 0) }
    }

    @Test(arguments: Variant.allCases)
    func twoOptEveryMoveByBruteForce(_ variant: Variant) {
        var tally = Tally()
        for seed in 1...8 as ClosedRange<UInt64> {
            let p = Self.problem(seed: seed, variant)
            let e = constructed(p, seed: seed)
            for r in 0..<e.vehicleCount {
                let m = e.visits[r].count
                for i in stride(from: 1, to: m - 1, by: 1) { for j in stride(from: i + 1, to: m - 1, by: 1) {
                    let stops = Array(e.visits[r][i...j])
                    if j - i + 1 > Engine.maxTwoOptLength {
                        #expect(e.evaluateTwoOpt(r, from: i, to: j) == nil); continue
                    }
                    Self.check("2-opt \(variant) seed \(seed) route \(r) \(i)…\(j)", p, e, stops: stops, tally: &tally,
                               evaluate: { e.evaluateTwoOpt(r, from: i, to: j) },
                               apply: { e.applyTwoOpt(r, from: i, to: j) })
                } }
            }
        }
        #expect(tally.feasible > 20, "2-opt \(variant): enough feasible moves (\(tally.feasible))")
        #expect(tally.infeasible > 20, "2-opt \(variant): enough infeasible moves (\(tally.infeasible))")
    }

    /// A 2-opt over a pickup and its delivery would serve the delivery first: it must be declined,
    /// and the simulation must agree that the reversed route is infeasible.
    @Test func twoOptNeverReversesAPair() {
        var seen = 0
        for seed in 1...20 as ClosedRange<UInt64> {
            let p = Self.problem(seed: seed, .pairs)
            let e = constructed(p, seed: seed)
            for r in 0..<e.vehicleCount {
                let vis = e.visits[r]
                for (k, c) in vis.enumerated() where e.partner[Int(c)] >= 0 && e.isPairPickup[Int(c)] {
                    guard let kd = vis.firstIndex(of: e.partner[Int(c)]), kd - k + 1 <= Engine.maxTwoOptLength else { continue }
                    seen += 1
                    #expect(e.evaluateTwoOpt(r, from: k, to: kd) == nil)
                    let saved = e.routesSnapshot()
                    e.applyTwoOpt(r, from: k, to: kd)
                    #expect(!Self.simulate(p, e).feasible)
                    e.load(saved)
                }
            }
        }
        #expect(seen > 5)
    }

    @Test func localSearchWithSegmentOperatorsNeverWorsens() {
        for variant in Variant.allCases { for seed in 1...6 as ClosedRange<UInt64> {
            let p = Self.problem(seed: seed, variant)
            let e = constructed(p, seed: seed)
            e.segmentOperators = true
            var rng = SeededGenerator(seed: seed)
            let before = e.totalCost
            e.localSearch(neighbours: e.buildNeighbours(limit: 20), rng: &rng)
            #expect(e.totalCost <= before)
            #expect(e.verify())
            #expect(Self.simulate(p, e).feasible)
        } }
    }

    /// The segment operators find improvements the other operators' local optima miss (on at least
    /// some instances), i.e. the hookup in `tryMoves` is live.
    @Test func segmentOperatorsImproveSomewhere() {
        var better = 0
        for seed in 1...15 as ClosedRange<UInt64> {
            let p = Generated.problem(seed: seed, .init(customers: 40, vehicles: 10, capacity: 60))
            var costs: [Cost] = []
            for on in [false, true] {
                let e = Engine(p, objective: .distance)
                e.segmentOperators = on
                var rng = SeededGenerator(seed: seed)
                e.regretConstruct(rng: &rng)
                e.localSearch(neighbours: e.buildNeighbours(limit: 20), rng: &rng)
                costs.append(e.totalCost)
            }
            if costs[1] < costs[0] { better += 1 }
        }
        #expect(better > 0)
    }
}

@Suite struct SegmentPolishTests {
    /// Same seed and iteration budget: the final polish only ever lowers the cost, and stays feasible.
    @Test func polishNeverWorsensTheReturnedSolution() {
        var strictlyBetter = 0
        for seed in 1...12 as ClosedRange<UInt64> {
            let p = Generated.problem(seed: seed, .init(customers: 40, vehicles: 10, capacity: 60))
            var off = SolveOptions(seed: seed, maxIterations: 300); off.segmentPolish = false
            var on = off; on.segmentPolish = true
            let a = solve(p, options: off), b = solve(p, options: on)
            #expect(b.cost <= a.cost, "seed \(seed): polish \(b.cost) vs \(a.cost)")
            #expect(b.feasible == a.feasible)
            if b.cost < a.cost { strictlyBetter += 1 }
        }
        #expect(strictlyBetter > 0, "the polish finds something on some instance")
    }
}
