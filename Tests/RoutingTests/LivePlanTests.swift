import Testing
@testable import Routing

@Suite struct LivePlanTests {
    /// A generated problem whose vehicles start at their own position nodes (depot kind).
    func liveProblem(seed: UInt64, customers: Int = 30, vehicles: Int = 4, windowWidth: ClosedRange<Int64> = 100...500) -> Problem {
        Generated.problem(seed: seed, .init(customers: customers, vehicles: vehicles, capacity: 60, windowWidth: windowWidth))
    }

    @Test func insertionNeverMovesAFrozenStop() {
        for seed in 1...8 as ClosedRange<UInt64> {
            let p = liveProblem(seed: seed)
            let plan = LivePlan(problem: p)
            let jobs = p.jobs
            plan.plan(jobs: Array(jobs.prefix(20)), options: SolveOptions(seed: seed, maxIterations: 200))
            var frozenPrefix: [[Int]] = []
            for v in 0..<plan.vehicleCount {
                plan.freeze(vehicle: v, stops: min(2, plan.route(v).count))
                frozenPrefix.append(Array(plan.route(v).prefix(plan.frozenCount(v))))
            }
            for j in jobs.dropFirst(20) { _ = plan.insert(job: j) }
            plan.reoptimize(options: SolveOptions(seed: seed, maxIterations: 300))
            for v in 0..<plan.vehicleCount {
                #expect(Array(plan.route(v).prefix(frozenPrefix[v].count)) == frozenPrefix[v], "frozen stops stay first and in order")
            }
        }
    }

    @Test func etasEqualAReSimulationOfTheRoute() {
        for seed in 1...8 as ClosedRange<UInt64> {
            let p = liveProblem(seed: seed)
            let plan = LivePlan(problem: p)
            plan.plan(jobs: p.jobs, options: SolveOptions(seed: seed, maxIterations: 100))
            for v in 0..<plan.vehicleCount where !plan.route(v).isEmpty {
                plan.updatePosition(vehicle: v, node: plan.route(v)[0], time: 37 + Int64(v))
                let r = plan.route(v)
                guard !r.isEmpty else { continue }
                var time: Int64 = 37 + Int64(v), prev = plan.engine.vStart[v]
                for (k, eta) in plan.etas(v).enumerated() {
                    #expect(eta.job == r[k])
                    let node = p.nodes[r[k]]
                    let arrival = time + p.duration(Int(prev), r[k])
                    #expect(eta.arrival == arrival)
                    #expect(eta.serviceStart == max(arrival, node.ready))
                    #expect(eta.departure == eta.serviceStart + node.service)
                    if plan.engine.latenessWeight == 0 { #expect(eta.serviceStart <= node.due, "hard windows hold after repair") }
                    time = eta.departure; prev = Int32(r[k])
                }
            }
        }
    }

    @Test func insertionReportedInfeasibleHasNoFeasiblePosition() {
        var failures = 0
        for seed in 1...40 as ClosedRange<UInt64> {
            let p = liveProblem(seed: seed, customers: 10, vehicles: 2, windowWidth: 10...60)
            let plan = LivePlan(problem: p)
            plan.plan(jobs: Array(p.jobs.prefix(6)), options: SolveOptions(seed: seed, maxIterations: 50))
            for j in p.jobs.dropFirst(6) {
                let before = (0..<plan.vehicleCount).map { plan.route($0) }
                switch plan.insert(job: j) {
                case .success(let ins):
                    let r = plan.route(ins.vehicle)
                    #expect(r[ins.position] == j)
                    #expect(Generated.simulate(p, vehicle: ins.vehicle, route: r).feasible)
                    let oldD = Generated.simulate(p, vehicle: ins.vehicle, route: before[ins.vehicle]).distance
                    let newD = Generated.simulate(p, vehicle: ins.vehicle, route: r).distance
                    #expect(ins.costDelta == newD - (before[ins.vehicle].isEmpty ? 0 : oldD), "claimed delta equals the recomputed change")
                case .failure(let why):
                    failures += 1
                    #expect(why == .timeWindow || why == .capacity)
                    for v in 0..<plan.vehicleCount {
                        for i in 0...before[v].count {
                            var r = before[v]; r.insert(j, at: i)
                            #expect(!Generated.simulate(p, vehicle: v, route: r).feasible, "job \(j) fits vehicle \(v) at \(i)")
                        }
                    }
                    #expect(plan.unassigned.contains(j), "never silently dropped")
                }
            }
        }
        #expect(failures > 0)
    }

    @Test func breakdownMovesEveryRemainingJobOrReportsIt() {
        for seed in 1...6 as ClosedRange<UInt64> {
            let p = liveProblem(seed: seed, customers: 30, vehicles: 6)
            let plan = LivePlan(problem: p)
            plan.plan(jobs: p.jobs, options: SolveOptions(seed: seed, maxIterations: 100))
            let v = (0..<plan.vehicleCount).first { !plan.route($0).isEmpty }!
            let victims = plan.route(v)
            let unassigned = plan.breakdown(vehicle: v)
            #expect(plan.route(v).isEmpty)
            for j in victims {
                let placed = (0..<plan.vehicleCount).contains { plan.route($0).contains(j) }
                #expect(placed != unassigned.contains(j))
            }
            for w in 0..<plan.vehicleCount { #expect(Generated.simulate(p, vehicle: w, route: plan.route(w)).feasible) }
        }
    }

    @Test func cancelAndCompleteRemoveStops() {
        let p = liveProblem(seed: 3)
        let plan = LivePlan(problem: p)
        plan.plan(jobs: p.jobs, options: SolveOptions(seed: 3, maxIterations: 50))
        let v = (0..<plan.vehicleCount).first { plan.route($0).count >= 3 }!
        let r = plan.route(v)
        #expect(plan.cancel(job: r[1]))
        #expect(!plan.route(v).contains(r[1]))
        #expect(plan.completeNextStop(vehicle: v, departedAt: 500) == r[0])
        #expect(plan.route(v) == Array(r.dropFirst(2)))
        #expect(plan.etas(v).first?.arrival == 500 + p.duration(r[0], r[2]))
    }
}

@Suite struct LivePlanDeterminismTests {
    @Test func sameSeedSameEventsSamePlan() {
        func run() -> [[Int]] {
            let p = Generated.problem(seed: 21, .init(customers: 40, vehicles: 6, capacity: 80))
            let plan = LivePlan(problem: p, seed: 4)
            plan.plan(jobs: Array(p.jobs.prefix(30)), options: SolveOptions(seed: 4, maxIterations: 200))
            for j in p.jobs.dropFirst(30) { _ = plan.insert(job: j) }
            plan.delay(vehicle: 0, by: 25)
            plan.reoptimize(options: SolveOptions(seed: 4, maxIterations: 200))
            return (0..<plan.vehicleCount).map { plan.route($0) }
        }
        #expect(run() == run())
    }

    @Test func reoptimizeNeverWorsensThePlan() {
        for seed in 1...5 as ClosedRange<UInt64> {
            let p = Generated.problem(seed: seed, .init(customers: 40, vehicles: 8, capacity: 80))
            let plan = LivePlan(problem: p, seed: seed)
            plan.plan(jobs: p.jobs, options: SolveOptions(seed: seed, maxIterations: 0))
            let before = plan.cost
            plan.reoptimize(options: SolveOptions(seed: seed, maxIterations: 300))
            #expect(plan.cost <= before)
            for v in 0..<plan.vehicleCount { #expect(Generated.simulate(p, vehicle: v, route: plan.route(v)).feasible) }
        }
    }
}
