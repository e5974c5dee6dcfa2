import Base
import DaybreakCLI
import Foundation
import Routing
import Warehouse

// `daybreak bench lifelong`: a League of Robot Runners instance run step by step (assignment + PIBT),
// timing each step's planning; a step over the per-step budget makes every robot wait, as in the
// competition.

enum LifelongBench {
    /// Published scores (tasks finished) from the shared README: organisers' baseline and best known.
    static let published: [String: (baseline: Int?, best: Int)] = [
        "WAREHOUSE": (63_924, 154_834), "SORTATION": (85_039, 152_714),
        "warehouse_large_5000": (nil, 94_232), "sortation_large_2000": (nil, 15_508),
    ]

    /// The horizon from `simulation_time.json` one folder above the instance's domain folder
    /// (keys like `WAREHOUSE` or `I-10` for `MR23-I-10`), or nil.
    static func horizon(instancePath: String, name: String) -> Int? {
        let domain = (instancePath as NSString).deletingLastPathComponent
        let file = ((domain as NSString).deletingLastPathComponent as NSString).appendingPathComponent("simulation_time.json")
        guard let text = try? String(contentsOfFile: file, encoding: .utf8), let json = try? JSONValue.parse(text),
              case .object(let fields) = json else { return nil }
        for (k, v) in fields where k == name || name.hasSuffix("-" + k) {
            if let d = v.doubleValue { return Int(d) }
        }
        return nil
    }

    static func ms(_ d: Swift.Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) * 1e-15 }
}

let benchLifelongCommand = Command(
    name: "lifelong",
    summary: "Lifelong MAPF with task assignment on a League of Robot Runners instance: tasks finished within the horizon.",
    usage: "[--instance FILE] [--data DIR] [--steps N] [--rotation] [--no-lanes] [--time-limit MS] [--seed N] [--json]",
    options: [
        .value("instance", "FILE", "instance JSON (default DATA/mapf/robot-runners/2024/main_round/warehouse.domain/WAREHOUSE.json)"),
        .value("data", "DIR", "benchmark data folder (default ../shared/benchmarks)"),
        .value("steps", "N", "steps to simulate (default the instance's horizon from simulation_time.json, else 5000)"),
        .flag("no-lanes", "plan with plain step counts (default: lane costs, a step costs 2 with the lane's direction and 3 against; rows alternate E/W, columns S/N)"),
        .flag("rotation", "rotation model: forward, turn CW, turn CCW, wait (else 4-connected moves)"),
        .value("time-limit", "MS", "planning budget per step in ms; a late step makes every robot wait (default 1000)"),
        .value("seed", "N", "random seed (default 0)"),
        .value("progress", "N", "print progress to stderr every N steps (default 500; 0 for none)"),
        .flag("json", "end with one JSON summary line"),
    ]
) { args in
    try await reportingFailures("bench lifelong") {
        let data = args.string("data", default: "../shared/benchmarks")
        let path = args.string("instance", default: (data as NSString).appendingPathComponent("mapf/robot-runners/2024/main_round/warehouse.domain/WAREHOUSE.json"))
        let rotation = args.flag("rotation")
        let lanes = !args.flag("no-lanes")
        let budgetMs = try args.double("time-limit", default: 1000, range: 1...3_600_000)
        let seed = try args.uint64("seed", default: 0)
        let progress = try args.int("progress", default: 500, range: 0...1_000_000)
        let json = args.flag("json")
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let dir = (path as NSString).deletingLastPathComponent
        func rel(_ p: String) -> String { p.hasPrefix("/") ? p : (dir as NSString).appendingPathComponent(p) }

        let instanceText = try MAPFBench.readText(path, what: "instance")
        let instance = try MAPFBench.data { () throws(WarehouseFileError) in try RobotRunnersInstance.parse(instanceText, file: path) }
        let mapPath = rel(instance.mapFile), agentPath = rel(instance.agentFile), taskPath = rel(instance.taskFile)
        let mapText = try MAPFBench.readText(mapPath, what: "map")
        let agentText = try MAPFBench.readText(agentPath, what: "agents file")
        let taskText = try MAPFBench.readText(taskPath, what: "tasks file")
        let (grid, starts, tasks) = try MAPFBench.data { () throws(WarehouseFileError) -> (Grid, [Int], [[Int]]) in
            let g = try MovingAIMap.parse(mapText, file: mapPath)
            guard g.freeCellCount <= FloorGraph.maxFreeCells else { throw .tooLarge(file: mapPath, freeCells: g.freeCellCount, limit: FloorGraph.maxFreeCells) }
            let a = try RobotRunnersFiles.agents(agentText, file: agentPath, grid: g)
            guard a.count >= instance.teamSize else {
                throw .count(file: agentPath, line: 1, what: "agents for teamSize \(instance.teamSize)", expected: instance.teamSize, found: a.count)
            }
            return (g, Array(a.prefix(instance.teamSize)), try RobotRunnersFiles.tasks(taskText, file: taskPath, grid: g))
        }
        let steps = try args.int("steps", default: LifelongBench.horizon(instancePath: path, name: name) ?? 5000, range: 1...1_000_000)
        printErr("bench lifelong: \(name): \(grid.width)x\(grid.height), \(grid.freeCellCount) free cells, \(starts.count) robots, "
                 + "\(tasks.count) tasks (pool \(instance.poolSize)), \(steps) steps, \(rotation ? "rotation" : "4-connected") model, \(lanes ? "lane costs" : "plain distances"), "
                 + "budget \(formatFixed(budgetMs, decimals: 0)) ms per step, seed \(seed), single thread")

        let setupStart = ContinuousClock.now
        var sim = LifelongSimulation(grid: grid, starts: starts, tasks: tasks, poolSize: instance.poolSize,
                                     options: LifelongOptions(rotation: rotation, seed: seed, lanes: lanes))
        let setupMs = LifelongBench.ms(ContinuousClock.now - setupStart)
        var total = 0.0, worst = 0.0, late = 0
        let budget = Swift.Duration.microseconds(Int64(budgetMs * 1000))
        for t in 0..<steps {
            let start = ContinuousClock.now
            let moves = sim.planStep()
            let took = ContinuousClock.now - start
            let m = LifelongBench.ms(took)
            total += m; worst = max(worst, m)
            if took > budget { late += 1; sim.commitWait() } else { sim.commit(moves) }
            if progress > 0 && (t + 1) % progress == 0 {
                printErr("  step \(t + 1): \(sim.tasksFinished) tasks, mean \(formatFixed(total / Double(t + 1), decimals: 1)) ms/step, "
                         + "max \(formatFixed(worst, decimals: 0)) ms, \(sim.cacheComputed) distance tables computed, "
                         + "\(sim.robotsStill(for: 100)) robots still for 100+ steps")
            }
        }
        let mean = total / Double(steps)
        let pub = LifelongBench.published[name]
        let header = RoutingBenchTable.pad("instance", 22, left: true) + RoutingBenchTable.pad("model", 12) + RoutingBenchTable.pad("robots", 8)
            + RoutingBenchTable.pad("steps", 7) + RoutingBenchTable.pad("tasks", 9) + RoutingBenchTable.pad("errands", 9)
            + RoutingBenchTable.pad("mean ms", 9) + RoutingBenchTable.pad("max ms", 8) + RoutingBenchTable.pad("late", 6)
            + RoutingBenchTable.pad("tables", 8) + RoutingBenchTable.pad("baseline", 10) + RoutingBenchTable.pad("best known", 11)
        printOut(header)
        printOut(String(repeating: "-", count: header.count))
        printOut(RoutingBenchTable.pad(name, 22, left: true) + RoutingBenchTable.pad(rotation ? "rotation" : "4-connected", 12)
                 + RoutingBenchTable.pad("\(starts.count)", 8) + RoutingBenchTable.pad("\(steps)", 7) + RoutingBenchTable.pad("\(sim.tasksFinished)", 9)
                 + RoutingBenchTable.pad("\(sim.errandsFinished)", 9) + RoutingBenchTable.pad(formatFixed(mean, decimals: 1), 9)
                 + RoutingBenchTable.pad(formatFixed(worst, decimals: 0), 8) + RoutingBenchTable.pad("\(late)", 6)
                 + RoutingBenchTable.pad("\(sim.cacheComputed)", 8) + RoutingBenchTable.pad(pub?.baseline.map(String.init) ?? "-", 10)
                 + RoutingBenchTable.pad(pub.map { String($0.best) } ?? "-", 11))
        printErr("bench lifelong: setup \(formatFixed(setupMs, decimals: 0)) ms; \(late) steps over the budget (robots waited); "
                 + "\(sim.cacheComputed) breadth-first tables computed (cache of \(starts.count + 2048))")
        if json {
            printOut(JSONValue.object([
                ("instance", .string(name)), ("robots", .int(starts.count)), ("steps", .int(steps)), ("tasks_finished", .int(sim.tasksFinished)),
                ("mean_step_ms", .double((mean * 100).rounded() / 100)), ("max_step_ms", .double((worst * 10).rounded() / 10)),
                ("late_steps", .int(late)), ("rotation", .bool(rotation)), ("lanes", .bool(lanes)), ("errands_finished", .int(sim.errandsFinished)),
            ]).rendered())
        }
        return ExitStatus.ok
    }
}
