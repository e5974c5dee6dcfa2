import Testing
@testable import Routing

@Suite struct MultiTripTests {
    @Test func loadSummariesWithReloadsMatchTripByTripSimulation() {
        var rng = SeededGenerator(seed: 11)
        let cap = Load(12, 12, 0, 0)
        for _ in 0..<800 {
            var segs: [LoadSegment] = []
            var trips: [[(delivery: Bool, q: Load)]] = [[]]
            for _ in 0..<(3 + rng.below(8)) {
                if rng.below(4) == 0 { segs.append(.reload); trips.append([]); continue }
                let q = Load(Int64(rng.below(6)), Int64(rng.below(6)), 0, 0)
                let isDelivery = rng.below(2) == 0
                segs.append(isDelivery ? LoadSegment(delivery: q, pickup: .zero, peak: q) : LoadSegment(delivery: .zero, pickup: q, peak: q))
                trips[trips.count - 1].append((isDelivery, q))
            }
            var fits = true
            for t in trips {
                var load = t.filter(\.delivery).reduce(Load.zero) { $0 &+ $1.q }
                var peak = load
                for s in t { load = s.delivery ? load &- s.q : load &+ s.q; peak = pointwiseMax(peak, load) }
                if any(peak .> cap) { fits = false }
            }
            // Any split point gives the same answer (associativity through reloads).
            let k = rng.below(segs.count)
            let left = segs[..<k].reduce(LoadSegment.empty) { LoadSegment.merge($0, $1) }
            let right = segs[k...].reduce(LoadSegment.empty) { LoadSegment.merge($0, $1) }
            #expect(LoadSegment.merge(left, right).fits(cap) == fits)
        }
    }

    func problem(seed: UInt64, trips: Int) -> Problem {
        let base = Generated.problem(seed: seed, .init(customers: 18, vehicles: 1, capacity: 1000, horizon: 20_000))
        var nodes = base.nodes
        for j in 1..<nodes.count { nodes[j].ready = 0; nodes[j].due = 15_000; nodes[j].demand = Load(10, 0, 0, 0) }
        let v = Problem.Vehicle(start: 0, end: 0, capacity: Load(60, 0, 0, 0), shiftStart: 0, shiftEnd: 20_000,
                                maxTrips: trips, reloadTime: 30)
        return try! Problem(nodes: nodes, vehicles: [v], distances: base.distances, durations: base.durations)
    }

    @Test func aVehicleWithReloadsServesMoreThanOneLoad() {
        for seed in 1...5 as ClosedRange<UInt64> {
            let single = solve(problem(seed: seed, trips: 1), options: SolveOptions(seed: seed, maxIterations: 200))
            #expect(single.unassigned.count == 12, "one trip carries 6 of 18 jobs")
            let p = problem(seed: seed, trips: 3)
            let multi = solve(p, options: SolveOptions(seed: seed, maxIterations: 300))
            #expect(multi.unassigned.isEmpty)
            #expect(multi.feasible)
            for trip in multi.trips.flatMap({ $0 }) { #expect(trip.count <= 6, "each trip fits the van") }
            #expect(multi.trips.flatMap { $0 }.flatMap { $0 }.count == 18)
        }
    }

    @Test func reloadTimeIsSpentOnlyBeforeAJobAndSchedulesSimulateCleanly() {
        for seed in 1...5 as ClosedRange<UInt64> {
            let p = problem(seed: seed, trips: 4)
            let plan = LivePlan(problem: p)
            plan.plan(jobs: p.jobs, options: SolveOptions(seed: seed, maxIterations: 200))
            let stops = plan.stops(0)
            #expect(Generated.simulate(p, vehicle: 0, route: stops).feasible)
            #expect(plan.route(0).count == 18)
            // ETA gaps: after a used reload the next arrival includes the 30-unit reload time.
            var prev = 0, time: Int64 = 0
            var etas = plan.etas(0).makeIterator()
            for s in stops {
                if case .reload = p.nodes[s].kind { time += p.duration(prev, s); prev = s; continue }
                let e = etas.next()!
                #expect(e.arrival == time + p.duration(prev, s))
                time = e.departure; prev = s
            }
        }
    }
}
