import Testing
@testable import Routing

@Suite struct TimeDependentTests {
    func td(seed: UInt64, n: Int = 6, slots: Int = 4, slotLength: Int64 = 100) -> TimeDependentDurations {
        var rng = SeededGenerator(seed: seed)
        var ms: [[Int64]] = []
        for _ in 0..<slots { ms.append((0..<(n * n)).map { $0 / n == $0 % n ? 0 : Int64(20 + rng.below(200)) }) }
        return try! TimeDependentDurations(nodeCount: n, slotLength: slotLength, matrices: ms)
    }

    @Test func leavingLaterNeverArrivesEarlier() {
        for seed in 1...20 as ClosedRange<UInt64> {
            let t = td(seed: seed)
            for a in 0..<6 { for b in 0..<6 where a != b {
                var lastArrival = Int64.min
                for dep in stride(from: -50 as Int64, through: 600, by: 3) {
                    let arr = dep + t.travel(from: a, to: b, departingAt: dep)
                    #expect(arr >= lastArrival, "FIFO")
                    lastArrival = arr
                    let lo = t.matrices.map { $0[a * 6 + b] }.min()!, hi = t.upperBound[a * 6 + b]
                    let x = t.travel(from: a, to: b, departingAt: dep)
                    #expect(x >= lo - 1 && x <= hi, "between the fastest and slowest slot")
                }
            } }
        }
    }

    @Test func aTripInsideOneSlotTakesThatSlotsTime() {
        let t = td(seed: 3, slotLength: 10_000)
        #expect(t.travel(from: 1, to: 2, departingAt: 10_000) == t.matrices[1][1 * 6 + 2])
    }

    @Test func etasFollowTheSlotsAndPlannedWindowsHold() {
        for seed in 1...6 as ClosedRange<UInt64> {
            let base = Generated.problem(seed: seed, .init(customers: 20, vehicles: 5, capacity: 80))
            let n = base.nodeCount
            var rng = SeededGenerator(seed: seed)
            let slots = (0..<3).map { _ in base.durations.map { $0 == 0 ? 0 : $0 * Int64(6 + rng.below(5)) / 10 } }
            let t = try! TimeDependentDurations(nodeCount: n, slotLength: 250, matrices: slots)
            let p = try! base.withTimeDependentDurations(t)
            let plan = LivePlan(problem: p)
            plan.plan(jobs: p.jobs, options: SolveOptions(seed: seed, maxIterations: 100))
            for v in 0..<plan.vehicleCount {
                var time = p.vehicles[v].shiftStart, prev = p.vehicles[v].start
                for eta in plan.etas(v) {
                    let arrival = time + t.travel(from: prev, to: eta.job, departingAt: time)
                    #expect(eta.arrival == arrival)
                    #expect(eta.serviceStart == max(arrival, p.nodes[eta.job].ready))
                    #expect(eta.serviceStart <= p.nodes[eta.job].due, "planned on the slowest slot, so never late")
                    time = eta.departure; prev = eta.job
                }
            }
        }
    }
}

@Suite struct RichModelTests {
    @Test func softWindowsServeJobsThatHardWindowsCannot() {
        var helped = 0
        for seed in 1...10 as ClosedRange<UInt64> {
            let p = Generated.problem(seed: seed, .init(customers: 14, vehicles: 2, capacity: 1000, windowWidth: 5...30))
            let hard = solve(p, options: SolveOptions(seed: seed, maxIterations: 300))
            var o = SolveOptions(seed: seed, maxIterations: 300); o.latenessWeight = 1
            let soft = solve(p, options: o)
            #expect(soft.unassigned.isEmpty, "with soft windows and ample capacity every job is served")
            if !hard.unassigned.isEmpty { helped += 1 }
        }
        #expect(helped > 0)
    }

    @Test func higherPriorityJobsAreServedFirstWhenCapacityIsShort() {
        for seed in 1...8 as ClosedRange<UInt64> {
            var p = Generated.problem(seed: seed, .init(customers: 12, vehicles: 1, capacity: 1000, horizon: 100_000))
            // Equal demands, room for 6 jobs; jobs 1...4 get priority.
            var nodes = p.nodes
            for j in 1...12 { nodes[j].demand = Load(10, 0, 0, 0); nodes[j].ready = 0; nodes[j].due = 90_000; nodes[j].priority = j <= 4 ? 1 : 0 }
            var v = p.vehicles[0]; v.capacity = Load(60, 0, 0, 0)
            p = try! Problem(nodes: nodes, vehicles: [v], distances: p.distances, durations: p.durations)
            let s = solve(p, options: SolveOptions(seed: seed, maxIterations: 300))
            #expect(s.unassigned.count == 6)
            for j in 1...4 { #expect(!s.unassigned.contains(j), "priority job \(j) served") }
        }
    }

    @Test func skillsAndVectorCapacityAreRespected() {
        for seed in 1...8 as ClosedRange<UInt64> {
            let base = Generated.problem(seed: seed, .init(customers: 20, vehicles: 4, capacity: 1000))
            var nodes = base.nodes
            var rng = SeededGenerator(seed: seed)
            for j in 1..<nodes.count {
                nodes[j].demand = Load(Int64(rng.below(10)), Int64(rng.below(10)), j % 3 == 0 ? 5 : 0, 0)
                nodes[j].requiredSkills = j % 4 == 0 ? 0b10 : 0
            }
            var fleet = base.vehicles
            for k in fleet.indices {
                fleet[k].capacity = Load(60, 40, k == 0 ? 0 : 30, 0)   // vehicle 0 has no chilled space
                fleet[k].skills = k == 1 ? 0b11 : 0b01                  // only vehicle 1 has skill 2
            }
            let p = try! Problem(nodes: nodes, vehicles: fleet, distances: base.distances, durations: base.durations)
            let s = solve(p, options: SolveOptions(seed: seed, maxIterations: 200))
            for (r, route) in s.routes.enumerated() {
                let v = s.vehicleOfRoute[r]
                var load = Load.zero
                for j in route {
                    load &+= p.nodes[j].demand
                    #expect(p.nodes[j].requiredSkills & ~fleet[v].skills == 0, "skills")
                }
                #expect(!any(load .> fleet[v].capacity), "every dimension fits")
            }
            #expect(s.routes.flatMap { $0 }.count + s.unassigned.count == 20)
        }
    }
}
