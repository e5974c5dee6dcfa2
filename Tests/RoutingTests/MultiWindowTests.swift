import Testing
@testable import Routing

@Suite struct MultiWindowTests {
    func problem(seed: UInt64) -> Problem {
        let base = Generated.problem(seed: seed, .init(customers: 20, vehicles: 4, capacity: 100, horizon: 2000))
        var nodes = base.nodes
        var rng = SeededGenerator(seed: seed)
        for j in 1..<nodes.count {
            // Two narrow windows; for every fourth job the first one cannot be reached in time.
            let a = Int64(100 + rng.below(600)), b = a + 500 + Int64(rng.below(400))
            if j % 4 == 0 { nodes[j].ready = 0; nodes[j].due = 0 } else { nodes[j].ready = a; nodes[j].due = a + 60 }
            nodes[j].alternativeWindows = [Problem.TimeWindow(ready: b, due: b + 60)]
        }
        return try! Problem(nodes: nodes, vehicles: base.vehicles, distances: base.distances, durations: base.durations)
    }

    @Test func everyJobIsServedInOneOfItsWindows() {
        for seed in 1...8 as ClosedRange<UInt64> {
            let p = problem(seed: seed)
            let e = Engine(p, objective: .distance)
            var rng = SeededGenerator(seed: seed)
            e.regretConstruct(rng: &rng)
            _ = e.search(options: SolveOptions(seed: seed, maxIterations: 300), scale: 1, rng: &rng)
            #expect(e.verify())
            // Re-simulate with each job's chosen window, which must be one of its own.
            var chosen = p.nodes
            for j in p.jobs where e.routeOf[j] >= 0 {
                let seg = e.nodeTime[j]
                let all = [Problem.TimeWindow(ready: p.nodes[j].ready, due: p.nodes[j].due)] + p.nodes[j].alternativeWindows
                #expect(all.contains(Problem.TimeWindow(ready: seg.earliest, due: seg.latest)))
                chosen[j].ready = seg.earliest; chosen[j].due = seg.latest; chosen[j].alternativeWindows = []
            }
            let q = try! Problem(nodes: chosen, vehicles: p.vehicles, distances: p.distances, durations: p.durations)
            for v in 0..<e.vehicleCount where e.jobCount[v] > 0 {
                #expect(Generated.simulate(q, vehicle: v, route: e.visits[v].dropFirst().dropLast().map(Int.init)).feasible)
            }
            // Jobs whose first window is unreachable are still served, in their second window.
            for j in p.jobs where j % 4 == 0 && e.routeOf[j] >= 0 { #expect(e.nodeTime[j].earliest == p.nodes[j].alternativeWindows[0].ready) }
            let s = solve(p, options: SolveOptions(seed: seed, maxIterations: 300))
            #expect(s.unassigned.count < p.jobs.count / 4, "second windows make the unreachable-first jobs servable")
        }
    }
}
