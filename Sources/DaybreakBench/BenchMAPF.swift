import Base
import DaybreakCLI
import Foundation
import Routing
import Warehouse

// `daybreak bench mapf`: one-shot MAPF (LaCAM over PIBT) on the MovingAI warehouse maps, every plan
// checked in the executable, beside LaCAM3's measured reference on this machine.

struct MAPFBenchRun {
    var map: String
    var scen: String
    var agents: Int
    var solved: Bool
    var valid: Bool
    var firstSolution: Double?
    var soc: Int?
    var lb: Int
    var nodes: Int
    var seconds: Double
    /// LaCAM3's final SoC/LB and first-solution seconds from measured_2core_reference.csv.
    var reference: (ratio: Double, first: Double)?
}

enum MAPFBench {
    static let maps = ["warehouse-10-20-10-2-1", "warehouse-20-40-10-2-1", "warehouse-20-40-10-2-2"]
    static let agentCounts = [100, 200, 400, 600, 1000]

    static func readText(_ path: String, what: String) throws(CommandFailure) -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CommandFailure(message: "\(what) \(path) not found", status: ExitStatus.noInput)
        }
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw CommandFailure(message: "cannot read \(what) \(path): \(error.localizedDescription)", status: ExitStatus.noInput)
        }
    }

    static func data<T>(_ body: () throws(WarehouseFileError) -> T) throws(CommandFailure) -> T {
        do { return try body() } catch { throw CommandFailure(message: error.description, status: ExitStatus.dataError) }
    }

    /// LaCAM3 rows of the reference CSV: (map, scen, agents) → (final SoC/LB, first solution s).
    static func reference(_ path: String) -> [String: (Double, Double)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let records = try? CSVText.records(text, file: path), let head = records.first?.fields,
              let iMap = head.firstIndex(of: "map"), let iScen = head.firstIndex(of: "scen"), let iAgents = head.firstIndex(of: "agents"),
              let iSolver = head.firstIndex(of: "solver"), let iRatio = head.firstIndex(of: "soc_over_lb"),
              let iFirst = head.firstIndex(of: "t_first_solution_ms") else { return [:] }
        var out: [String: (Double, Double)] = [:]
        for r in records.dropFirst() where r.fields.count == head.count && r.fields[iSolver].hasPrefix("lacam3") {
            guard let ratio = Double(r.fields[iRatio]), let first = Double(r.fields[iFirst]) else { continue }
            out["\(r.fields[iMap])/\(r.fields[iScen])/\(r.fields[iAgents])"] = (ratio, first / 1000)
        }
        return out
    }

    static func run(problem: MAPFProblem, map: String, scen: String, timeLimit: Double, seed: UInt64, reinsert: Bool = true) -> (MAPFBenchRun, MAPFPlan?) {
        let start = ContinuousClock.now
        let limit = Swift.Duration.milliseconds(Int64(timeLimit * 1000))
        let elapsed: @Sendable () -> Double = { let d = ContinuousClock.now - start; return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
        var options = LaCAMOptions(seed: seed, shouldStop: { ContinuousClock.now - start > limit }, elapsed: elapsed)
        options.reinsert = reinsert
        let result = LaCAM.solve(problem, options: options)
        let seconds = elapsed()
        let valid = result.plan.map { $0.violation(of: problem) == nil } ?? false
        if let p = result.plan, let v = p.violation(of: problem) { printErr("bench mapf: \(map) \(scen) \(problem.agents): INVALID plan: \(v)") }
        return (MAPFBenchRun(map: map, scen: scen, agents: problem.agents, solved: result.plan != nil, valid: valid,
                             firstSolution: result.firstSolutionSeconds, soc: result.sumOfCosts, lb: result.lowerBound,
                             nodes: result.nodes, seconds: seconds, reference: nil), result.plan)
    }

    static func pad(_ s: String, _ w: Int, left: Bool = false) -> String { RoutingBenchTable.pad(s, w, left: left) }

    static let header = pad("map", 24, left: true) + pad("scen", 10) + pad("agents", 7) + pad("solved", 7) + pad("valid", 6)
        + pad("first s", 9) + pad("SoC", 9) + pad("LB", 9) + pad("SoC/LB", 8) + pad("nodes", 8) + pad("LaCAM3 first s", 15) + pad("LaCAM3 SoC/LB", 14)

    static func line(_ r: MAPFBenchRun) -> String {
        let ratio = r.soc.map { formatFixed(Double($0) / Double(max(r.lb, 1)), decimals: 3) } ?? "-"
        return pad(r.map, 24, left: true) + pad(r.scen, 10) + pad("\(r.agents)", 7) + pad(r.solved ? "yes" : "no", 7)
            + pad(r.solved ? (r.valid ? "yes" : "NO") : "-", 6) + pad(r.firstSolution.map { formatFixed($0, decimals: 2) } ?? "-", 9)
            + pad(r.soc.map(String.init) ?? "-", 9) + pad("\(r.lb)", 9) + pad(ratio, 8) + pad("\(r.nodes)", 8)
            + pad(r.reference.map { formatFixed($0.first, decimals: 2) } ?? "-", 15) + pad(r.reference.map { formatFixed($0.ratio, decimals: 3) } ?? "-", 14)
    }

    static func json(_ runs: [MAPFBenchRun]) -> JSONValue {
        .object([("runs", .array(runs.map { r in
            .object([("map", .string(r.map)), ("scen", .string(r.scen)), ("agents", .int(r.agents)), ("solved", .bool(r.solved && r.valid)),
                     ("first_solution_s", r.firstSolution.map { .double(($0 * 1000).rounded() / 1000) } ?? .null),
                     ("soc", r.soc.map { .int($0) } ?? .null), ("lb", .int(r.lb))])
        }))])
    }

    /// One line per agent: its cell `x,y` at every step, separated by spaces.
    static func planText(_ plan: MAPFPlan, grid: Grid) -> String {
        var out = ""
        for i in 0..<(plan.configurations.first?.count ?? 0) {
            out += plan.path(i).map { let c = grid.cell($0); return "\(c.x),\(c.y)" }.joined(separator: " ") + "\n"
        }
        return out
    }
}

let benchMAPFCommand = Command(
    name: "mapf",
    summary: "One-shot MAPF (LaCAM over PIBT) on the MovingAI warehouse maps, beside LaCAM3's measured reference.",
    usage: "[--data DIR] [--time-limit S] [--scens 1-5] [--agents N,N,...] [--seed N] [--json] | --map FILE --scen FILE --agents N [--plan OUT]",
    options: [
        .value("data", "DIR", "benchmark data folder (default ../shared/benchmarks)"),
        .value("time-limit", "S", "seconds per instance (default 10)"),
        .value("scens", "A-B", "random scenarios to run (default 1, i.e. random-1 only; 1-5 for the five first)"),
        .value("agents", "N,...", "agent counts (default 100,200,400,600,1000); with --map a single count"),
        .value("seed", "N", "random seed (default 0)"),
        .value("map", "FILE", "run one instance: this .map file"),
        .value("scen", "FILE", "run one instance: this .scen file"),
        .value("plan", "OUT", "with --map: write the plan, one line per agent, cells x,y per step"),
        .flag("no-reinsert", "LaCAM without pushing configurations met again back on the stack (the first LaCAM), for comparison"),
        .flag("pibt", "with --map: run PIBT alone (no LaCAM search) for up to 3000 steps, for comparison"),
        .flag("json", "end with one JSON line {\"runs\":[...]}"),
    ]
) { args in
    try await reportingFailures("bench mapf") {
        let timeLimit = try args.double("time-limit", default: 10, range: 0.01...86_400)
        let seed = try args.uint64("seed", default: 0)
        let data = args.string("data", default: "../shared/benchmarks")
        let counts: [Int]
        if let a = args.string("agents") {
            counts = try a.split(separator: ",").map { s throws(UsageError) -> Int in
                guard let n = Int(s), n >= 1, n <= 100_000 else { throw UsageError("option '--agents' expects counts like 100,200, got '\(displayed(String(s)))'") }
                return n
            }
        } else { counts = MAPFBench.agentCounts }

        func load(_ mapPath: String, _ scenPath: String, agents: Int) throws -> MAPFProblem {
            let mapText = try MAPFBench.readText(mapPath, what: "map")
            let scenText = try MAPFBench.readText(scenPath, what: "scenario")
            return try MAPFBench.data { () throws(WarehouseFileError) -> MAPFProblem in
                let grid = try MovingAIMap.parse(mapText, file: mapPath)
                guard grid.freeCellCount <= FloorGraph.maxFreeCells else {
                    throw .tooLarge(file: mapPath, freeCells: grid.freeCellCount, limit: FloorGraph.maxFreeCells)
                }
                let entries = try MovingAIScenario.parse(scenText, file: scenPath, grid: grid)
                return try MovingAIScenario.problem(entries, agents: agents, grid: grid, file: scenPath)
            }
        }
        let json = args.flag("json")

        // One instance from explicit files.
        if let mapPath = args.string("map") {
            guard let scenPath = args.string("scen"), counts.count == 1 else { throw UsageError("--map needs --scen FILE and --agents N") }
            let problem = try load(mapPath, scenPath, agents: counts[0])
            let name = ((mapPath as NSString).lastPathComponent as NSString).deletingPathExtension
            let scen = ((scenPath as NSString).lastPathComponent as NSString).deletingPathExtension
            printErr("bench mapf: \(name), \(scen), \(counts[0]) agents, \(formatFixed(timeLimit, decimals: 1)) s, seed \(seed)")
            if args.flag("pibt") {
                let start = ContinuousClock.now
                let r = PIBTRollout.solve(problem, seed: seed)
                let s = ContinuousClock.now - start
                let soc = r.plan.map { $0.sumOfCosts(goals: problem.goals) }
                printOut("PIBT alone: \(r.plan != nil ? "solved" : "not solved") after \(r.steps) steps, \(r.atGoal)/\(problem.agents) at their goals, "
                         + "SoC \(soc.map(String.init) ?? "-"), valid \(r.plan.map { $0.violation(of: problem) == nil ? "yes" : "NO" } ?? "-"), "
                         + "\(formatFixed(Double(s.components.seconds) + Double(s.components.attoseconds) * 1e-18, decimals: 2)) s")
                // Who never got there, and where they are stuck (the first 12).
                let g = problem.grid
                for i in (0..<problem.agents).filter({ Int(r.last[$0]) != problem.goals[$0] }).prefix(12) {
                    let at = g.cell(Int(r.last[i])), goal = g.cell(problem.goals[i])
                    printOut("  agent \(i) at \(at.x),\(at.y), goal \(goal.x),\(goal.y)")
                }
                return ExitStatus.ok
            }
            let (run, plan) = MAPFBench.run(problem: problem, map: name, scen: scen, timeLimit: timeLimit, seed: seed, reinsert: !args.flag("no-reinsert"))
            printOut(MAPFBench.header)
            printOut(MAPFBench.line(run))
            if let out = args.string("plan"), let plan {
                do { try MAPFBench.planText(plan, grid: problem.grid).write(toFile: out, atomically: true, encoding: .utf8) } catch {
                    throw CommandFailure(message: "cannot write \(out): \(error.localizedDescription)", status: ExitStatus.failure)
                }
            }
            if json { printOut(MAPFBench.json([run]).rendered()) }
            return run.solved && run.valid ? ExitStatus.ok : ExitStatus.failure
        }
        if args.string("scen") != nil || args.string("plan") != nil { throw UsageError("--scen and --plan go with --map") }

        var scens = [1]
        if let raw = args.string("scens") {
            let parts = raw.split(separator: "-").compactMap { Int($0) }
            guard (parts.count == 1 || parts.count == 2), parts.allSatisfy({ (1...25).contains($0) }), parts.first! <= parts.last! else {
                throw UsageError("option '--scens' expects N or A-B within 1-25, got '\(displayed(raw))'")
            }
            scens = Array(parts.first!...parts.last!)
        }
        let folder = (data as NSString).appendingPathComponent("mapf/movingai")
        guard FileManager.default.fileExists(atPath: folder) else {
            throw CommandFailure(message: "data folder \(folder) not found (give --data DIR)", status: ExitStatus.noInput)
        }
        let reference = MAPFBench.reference((folder as NSString).appendingPathComponent("measured_2core_reference.csv"))
        printErr("bench mapf: \(MAPFBench.maps.count) maps, random-\(scens.map(String.init).joined(separator: ",")), agents \(counts.map(String.init).joined(separator: "/")), "
                 + "\(formatFixed(timeLimit, decimals: 1)) s per instance (stops at the first solution), seed \(seed), single thread")
        printOut(MAPFBench.header)
        printOut(String(repeating: "-", count: MAPFBench.header.count))
        var runs: [MAPFBenchRun] = []
        for map in MAPFBench.maps {
            let dir = (folder as NSString).appendingPathComponent(map)
            for s in scens {
                for n in counts {
                    let scenName = "random-\(s)"
                    let problem = try load((dir as NSString).appendingPathComponent(map + ".map"),
                                           (dir as NSString).appendingPathComponent("\(map)-\(scenName).scen"), agents: n)
                    var (run, _) = MAPFBench.run(problem: problem, map: map, scen: scenName, timeLimit: timeLimit, seed: seed, reinsert: !args.flag("no-reinsert"))
                    run.reference = reference["\(map)/\(scenName)/\(n)"]
                    runs.append(run)
                    printOut(MAPFBench.line(run))
                }
            }
        }
        let solved = runs.count { $0.solved && $0.valid }
        let ratios = runs.compactMap { r in r.soc.map { Double($0) / Double(max(r.lb, 1)) } }
        printOut(String(repeating: "-", count: MAPFBench.header.count))
        printOut("solved \(solved)/\(runs.count) (every plan checked: starts, goals, moves, obstacles, vertex and swap conflicts); "
                 + "mean SoC/LB \(ratios.isEmpty ? "-" : formatFixed(ratios.reduce(0, +) / Double(ratios.count), decimals: 3)); "
                 + "\(formatFixed(runs.map(\.seconds).reduce(0, +), decimals: 1)) s in total")
        if json { printOut(MAPFBench.json(runs).rendered()) }
        return solved == runs.count ? ExitStatus.ok : ExitStatus.failure
    }
}
