import Base
import DaybreakCLI
import Foundation
import Routing

// Owned by the Routing work: `daybreak bench live-plan`.
let benchLivePlanCommand = Command(
    name: "live-plan",
    summary: "Live-plan insertion and ETA latency; --tune FILES runs the solver on instances (developer aid).",
    usage: "[--json] [--dawn [--stops N --vans N --seconds S]] [--tune FILE,FILE,... --seconds S --bks CSV --seed N --fleet]",
    options: [
        .flag("json", "print one JSON line"),
        .value("tune", "FILES", "comma-separated instance files to solve (developer aid)"),
        .value("seconds", "S", "time limit per instance for --tune (default 10)"),
        .value("bks", "CSV", "best-known table for gaps"),
        .value("seed", "N", "seed (default 1)"),
        .flag("fleet", "fleet objective for --tune"),
        .flag("no-ls", "disable local search for --tune"),
        .flag("exact", "exact Euclidean rounding for --tune (default DIMACS)"),
        .flag("dawn", "plan a generated dawn wave instead (multi-trip vans, time-dependent travel)"),
        .value("stops", "N", "dawn wave stops (default 5000)"),
        .value("vans", "N", "dawn wave vans (default 80)"),
        .value("t0", "T", "initial temperature for --tune"),
        .value("tf", "T", "final temperature for --tune"),
    ],
    run: { args in
        if args.flag("dawn") {
            return try dawnWave(stops: args.int("stops", default: 5000, range: 10...20_000), vans: args.int("vans", default: 80, range: 1...1000),
                                seconds: args.double("seconds", default: 120), seed: args.uint64("seed", default: 1), json: args.flag("json"))
        }
        if let files = args.string("tune") {
            return try tuneSolver(files: files.split(separator: ",").map(String.init), args: args)
        }
        return try benchLivePlan(json: args.flag("json"), seed: args.uint64("seed", default: 1))
    })

private func tuneSolver(files: [String], args: ParsedArguments) throws -> Int32 {
    let seconds = try args.double("seconds", default: 10)
    let seed = try args.uint64("seed", default: 1)
    var bks: BestKnownTable? = nil
    if let b = args.string("bks") { bks = try BestKnownTable.parse(String(contentsOfFile: b, encoding: .utf8), file: b) }
    var gaps: [Double] = []
    for path in files {
        let inst = try InstanceFile.parse(String(contentsOfFile: path, encoding: .utf8), file: path)
        let problem = try Problem(instance: inst, rounding: args.flag("exact") ? .exact : .dimacs)
        let clock = ContinuousClock()
        let start = clock.now
        let limit = Swift.Duration.seconds(seconds)
        let opts = SolveOptions(seed: seed, objective: args.flag("fleet") ? .fleet : .distance,
                                shouldStop: { clock.now - start >= limit },
                                progress: { (clock.now - start) / limit })
        var o = opts
        o.localSearch = !args.flag("no-ls")
        o.initialTemperature = try args.double("t0", default: 30)
        o.finalTemperature = try args.double("tf", default: 1)
        let sol = solve(problem, options: o)
        let wall = clock.now - start
        var line = "\(inst.name)\tveh=\(sol.vehicles)\tdist=\(sol.distance)\tfeasible=\(sol.feasible)\tit=\(sol.iterations)\twall=\(wall)"
        if let e = bks?[inst.name], let d = e.distance {
            let gap = (sol.distance - d) / d * 100
            gaps.append(gap)
            line += "\tbks=\(d)\tgap=\(String(format: "%.2f", gap))%"
        }
        print(line)
    }
    if !gaps.isEmpty { print("mean gap \(String(format: "%.3f", gaps.reduce(0, +) / Double(gaps.count)))% over \(gaps.count)") }
    return ExitStatus.ok
}

/// A reproducible city: one depot, `vehicles` vans at their current positions, `jobs` planned
/// stops and `extra` stops that arrive later. Metres and seconds (40 km/h), 10-hour day.
private func liveCity(seed: UInt64, jobs: Int, extra: Int, vehicles: Int, capacity: Int64) throws -> Problem {
    var rng = SeededGenerator(seed: seed)
    let n = 1 + vehicles + jobs + extra
    var xs = [Double](), ys = [Double]()
    for _ in 0..<n { xs.append(Double(rng.below(20_000))); ys.append(Double(rng.below(20_000))) }
    xs[0] = 10_000; ys[0] = 10_000
    var dist = [Int64](repeating: 0, count: n * n), dur = [Int64](repeating: 0, count: n * n)
    for i in 0..<n { for j in 0..<n where i != j {
        let d = ((xs[i] - xs[j]) * (xs[i] - xs[j]) + (ys[i] - ys[j]) * (ys[i] - ys[j])).squareRoot() * 1.3
        dist[i * n + j] = Int64(d); dur[i * n + j] = Int64(d / 11.1)
    } }
    let day: Int64 = 36_000
    var nodes = [Problem.Node(kind: .depot, ready: 0, due: day)]
    for _ in 0..<vehicles { nodes.append(Problem.Node(kind: .depot, ready: 0, due: day)) }
    for _ in 0..<(jobs + extra) {
        let a = Int64(rng.below(28_800))
        nodes.append(Problem.Node(kind: .delivery, ready: a, due: a + 7_200, service: 180, demand: Load(Int64(1 + rng.below(10)), 0, 0, 0)))
    }
    let fleet = (0..<vehicles).map { Problem.Vehicle(start: 1 + $0, end: 0, capacity: Load(capacity, 0, 0, 0), shiftStart: 0, shiftEnd: day) }
    return try Problem(nodes: nodes, vehicles: fleet, distances: dist, durations: dur)
}

private func percentile(_ xs: [Double], _ q: Double) -> Double {
    let s = xs.sorted()
    return s[min(s.count - 1, Int(Double(s.count - 1) * q + 0.5))]
}

private func benchLivePlan(json: Bool, seed: UInt64) throws -> Int32 {
    let clock = ContinuousClock()
    let jobs = 1000, extra = 300, vehicles = 100
    let problem = try liveCity(seed: seed, jobs: jobs, extra: extra, vehicles: vehicles, capacity: 150)
    let plan = LivePlan(problem: problem, seed: seed)
    let firstJob = 1 + vehicles
    let t0 = clock.now
    let left = plan.plan(jobs: Array(firstJob..<(firstJob + jobs)), options: SolveOptions(seed: seed, maxIterations: 2_000))
    let buildTime = clock.now - t0
    for v in 0..<vehicles { plan.freeze(vehicle: v, stops: min(1, plan.route(v).count)) }
    var insertMs: [Double] = []
    var placed = 0
    for j in (firstJob + jobs)..<(firstJob + jobs + extra) {
        let s = clock.now
        let r = plan.insert(job: j)
        let e = clock.now - s
        insertMs.append(Double(e.components.attoseconds) / 1e15 + Double(e.components.seconds) * 1000)
        if case .success = r { placed += 1 }
        plan.cancel(job: j)   // keep the plan at 1,000 jobs
    }
    // ETAs of a 40-stop route after a position update.
    let small = try liveCity(seed: seed &+ 1, jobs: 40, extra: 0, vehicles: 1, capacity: 10_000)
    let one = LivePlan(problem: small, latenessWeight: 1, seed: seed)
    one.plan(jobs: Array(2..<42), options: SolveOptions(seed: seed, maxIterations: 0))
    let stops = one.route(0).count
    var etaUs: [Double] = []
    var sink: Int64 = 0
    for k in 0..<2_000 {
        let s = clock.now
        one.updatePosition(vehicle: 0, node: 1, time: Int64(k % 60))
        one.etas(0) { sink &+= $0.departure }
        let e = clock.now - s
        etaUs.append(Double(e.components.attoseconds) / 1e12 + Double(e.components.seconds) * 1e6)
    }
    let p50 = percentile(insertMs, 0.5), p99 = percentile(insertMs, 0.99), eta = percentile(etaUs, 0.5)
    if json {
        print(JSONValue.object([("insert_p50_ms", .double(p50)), ("insert_p99_ms", .double(p99)), ("eta_us", .double(eta)),
                                ("eta_p99_us", .double(percentile(etaUs, 0.99))), ("jobs", .int(jobs)), ("vehicles", .int(vehicles)),
                                ("inserted", .int(placed)), ("tried", .int(extra)), ("eta_route_stops", .int(stops)),
                                ("plan_unassigned", .int(left.count)), ("sink", .int(Int(sink & 1)))]).rendered())
    } else {
        print("live plan: \(jobs) jobs, \(vehicles) vehicles, built in \(buildTime) (\(left.count) unassigned)")
        print("insert one job: p50 \(String(format: "%.3f", p50)) ms, p99 \(String(format: "%.3f", p99)) ms (\(placed)/\(extra) placed; targets 1 ms / 5 ms)")
        print("ETAs of a \(stops)-stop route after a position update: p50 \(String(format: "%.2f", eta)) µs, p99 \(String(format: "%.2f", percentile(etaUs, 0.99))) µs (target 20 µs)")
    }
    return ExitStatus.ok
}

/// Dawn wave: a reproducible 20 × 20 km city of `stops` deliveries and `vans` vans with up to 3 trips
/// (15-minute reload), a 9-hour shift from 06:00 and a speed profile (slow morning peak).
/// Metres and seconds. Reports the distance after construction and after the search.
private func dawnWave(stops: Int, vans: Int, seconds: Double, seed: UInt64, json: Bool) throws -> Int32 {
    let clock = ContinuousClock()
    let t0 = clock.now
    var rng = SeededGenerator(seed: seed)
    let n = 1 + stops
    var xs = [Double](repeating: 10_000, count: n), ys = [Double](repeating: 10_000, count: n)
    for i in 1..<n {
        // Clustered city: a third uniform, the rest around 12 neighbourhood centres.
        if rng.below(3) == 0 { xs[i] = Double(rng.below(20_000)); ys[i] = Double(rng.below(20_000)) }
        else {
            var r2 = SeededGenerator(seed: UInt64(rng.below(12)) &+ 99)
            let cx = Double(r2.below(20_000)), cy = Double(r2.below(20_000))
            xs[i] = max(0, min(20_000, cx + Double(rng.below(3000)) - 1500)); ys[i] = max(0, min(20_000, cy + Double(rng.below(3000)) - 1500))
        }
    }
    var dist = [Int64](repeating: 0, count: n * n), dur = [Int64](repeating: 0, count: n * n)
    for i in 0..<n { for j in 0..<n where i != j {
        let d = ((xs[i] - xs[j]) * (xs[i] - xs[j]) + (ys[i] - ys[j]) * (ys[i] - ys[j])).squareRoot() * 1.3
        dist[i * n + j] = Int64(d); dur[i * n + j] = Int64(d / 9.7)   // ~35 km/h off-peak
    } }
    let shift: Int64 = 9 * 3600
    var nodes = [Problem.Node(kind: .depot, ready: 0, due: shift)]
    var demand: Int64 = 0
    for _ in 1..<n {
        let q = Int64(1 + rng.below(8))
        demand += q
        if rng.below(10) < 4 {
            let a = Int64(rng.below(Int(shift - 2 * 3600 - 1800))) + 1800
            nodes.append(Problem.Node(kind: .delivery, ready: a, due: a + 2 * 3600, service: 120, demand: Load(q, 0, 0, 0)))
        } else {
            nodes.append(Problem.Node(kind: .delivery, ready: 0, due: shift - 600, service: 120, demand: Load(q, 0, 0, 0)))
        }
    }
    let cap = (demand + Int64(vans) * 2 - 1) / (Int64(vans) * 2) + 4   // about two full loads per van
    let van = Problem.Vehicle(start: 0, end: 0, capacity: Load(cap, 0, 0, 0), shiftStart: 0, shiftEnd: shift,
                              maxTrips: 3, reloadTime: 900)
    var problem = try Problem(nodes: nodes, vehicles: Array(repeating: van, count: vans), distances: dist, durations: dur)
    dist = []; dur = []
    let td = try TimeDependentDurations(nodeCount: problem.nodeCount, slotLength: 2 * 3600, base: problem.durations,
                                        factors: [1.35, 1.1, 1.0, 1.2])
    problem = try problem.withTimeDependentDurations(td)
    let built = clock.now - t0
    let start = clock.now
    let limit = Swift.Duration.seconds(seconds)
    let sol = solve(problem, options: SolveOptions(seed: seed, shouldStop: { clock.now - start >= limit },
                                                   progress: { (clock.now - start) / limit }))
    let wall = clock.now - start
    let gain = sol.constructionDistance > 0 ? (sol.constructionDistance - sol.distance) / sol.constructionDistance * 100 : 0
    let trips = sol.trips.map(\.count).reduce(0, +)
    let wallS = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
    if json {
        print(JSONValue.object([("stops", .int(stops)), ("vans", .int(vans)), ("construction_km", .double(sol.constructionDistance / 1000)),
                                ("final_km", .double(sol.distance / 1000)), ("gain_pct", .double(gain)), ("vans_used", .int(sol.vehicles)),
                                ("trips", .int(trips)), ("unassigned", .int(sol.unassigned.count)), ("feasible", .bool(sol.feasible)),
                                ("iterations", .int(sol.iterations)), ("solve_s", .double(wallS))]).rendered())
    } else {
        print("dawn wave: \(stops) stops, \(vans) vans (capacity \(cap), up to 3 trips, 15 min reload), speed profile 1.35/1.1/1.0/1.2; instance built in \(built)")
        print("construction \(String(format: "%.1f", sol.constructionDistance / 1000)) km → \(String(format: "%.1f", sol.distance / 1000)) km after \(String(format: "%.1f", wallS)) s (gain \(String(format: "%.2f", gain))%)")
        print("\(sol.vehicles) vans, \(trips) trips, \(sol.unassigned.count) unassigned, feasible \(sol.feasible), \(sol.iterations) iterations")
    }
    return ExitStatus.ok
}
