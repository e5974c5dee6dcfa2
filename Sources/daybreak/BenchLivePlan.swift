import Base
import Foundation
import Routing

// Owned by the Routing work: `daybreak bench live-plan`.
let benchLivePlanCommand = Command(
    name: "live-plan",
    summary: "Live-plan insertion and ETA latency; --tune FILES runs the solver on instances (developer aid).",
    usage: "[--json] [--tune FILE,FILE,... --seconds S --bks CSV --seed N --fleet]",
    options: [
        .flag("json", "print one JSON line"),
        .value("tune", "FILES", "comma-separated instance files to solve (developer aid)"),
        .value("seconds", "S", "time limit per instance for --tune (default 10)"),
        .value("bks", "CSV", "best-known table for gaps"),
        .value("seed", "N", "seed (default 1)"),
        .flag("fleet", "fleet objective for --tune"),
    ],
    run: { args in
        if let files = args.string("tune") {
            return try tuneSolver(files: files.split(separator: ",").map(String.init), args: args)
        }
        printErr("bench live-plan: not built yet")
        return ExitStatus.unavailable
    })

private func tuneSolver(files: [String], args: ParsedArguments) throws -> Int32 {
    let seconds = try args.double("seconds", default: 10)
    let seed = try args.uint64("seed", default: 1)
    var bks: BestKnownTable? = nil
    if let b = args.string("bks") { bks = try BestKnownTable.parse(String(contentsOfFile: b, encoding: .utf8), file: b) }
    var gaps: [Double] = []
    for path in files {
        let inst = try InstanceFile.parse(String(contentsOfFile: path, encoding: .utf8), file: path)
        let problem = try Problem(instance: inst, rounding: .dimacs)
        let clock = ContinuousClock()
        let start = clock.now
        let limit = Swift.Duration.seconds(seconds)
        let opts = SolveOptions(seed: seed, objective: args.flag("fleet") ? .fleet : .distance,
                                shouldStop: { clock.now - start >= limit },
                                progress: { (clock.now - start) / limit })
        let sol = solve(problem, options: opts)
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
