import Base
import Foundation
import Routing
import Synchronization

// `daybreak solve PATH …`: read an instance file, solve it under a time limit on N threads
// (optionally from a given solution), verify the result independently of the solver, and print or
// write the CVRPLIB solution.

package let solveCommand = Command(
    name: "solve",
    summary: "Solve a VRP instance file (Solomon / Gehring–Homberger, Li & Lim, VRPLIB) and print the solution.",
    usage: "PATH [--format solomon|lilim|vrplib] [--time-limit SECONDS] [--seed N] [--objective distance|fleet] [--rounding dimacs|exact] [--threads N] [--initial SOLUTION] [--solution OUT] [--json]",
    options: [
        .value("format", "solomon|lilim|vrplib", "instance format (detected from the text when not given)"),
        .value("time-limit", "SECONDS", "search time (default 10; 0 = construction only)"),
        .value("seed", "N", "random seed (default 1)"),
        .value("objective", "distance|fleet", "distance only, or fewest vehicles then distance (default distance)"),
        .value("rounding", "dimacs|exact", "arc lengths truncated to 0.1 (DIMACS), or exact Euclidean (default dimacs)"),
        .value("threads", "N", "search threads (default: all cores, \(ProcessInfo.processInfo.activeProcessorCount) here); same seed and N give the same search"),
        .value("initial", "SOLUTION", "start from this CVRPLIB solution ('Route #k:' lines, 'Cost'); an infeasible one is repaired"),
        .flag("penalised", "penalised search: candidates may break time windows at an adaptive cost per unit of time warp"),
        .value("solution", "OUT", "write the solution (CVRPLIB 'Route #k:' lines and 'Cost') to OUT instead of stdout"),
        .flag("json", "end with one JSON line: instance, feasible, vehicles, distance, time_s, iterations"),
    ],
    maxPositionals: 1
) { args in
    let path = try args.positional(0, name: "PATH")
    let format = try args.choice("format", InstanceFile.Format.allCases.map(\.rawValue)).flatMap(InstanceFile.Format.init(rawValue:))
    let timeLimit = try args.double("time-limit", default: 10, range: 0...1_000_000)
    let seed = try args.uint64("seed", default: 1)
    let objective = ObjectiveMode(rawValue: try args.choice("objective", ObjectiveMode.allCases.map(\.rawValue), default: "distance")!)!
    let rounding = Rounding(rawValue: try args.choice("rounding", Rounding.allCases.map(\.rawValue), default: "dimacs")!)!
    let json = args.flag("json")
    let threads = try args.int("threads", default: ProcessInfo.processInfo.activeProcessorCount, range: 1...256)

    let instance: InstanceFile
    var initial: SolutionFile? = nil
    do throws(CommandFailure) {
        instance = try RoutingFiles.readInstance(path, format: format)
        if let start = args.string("initial") {
            let text = try RoutingFiles.readText(start, what: "initial solution")
            do throws(InstanceError) { initial = try SolutionFile.parse(text, file: start, for: instance) } catch {
                throw CommandFailure(message: error.description, status: ExitStatus.dataError)
            }
        }
    } catch {
        printErr("daybreak solve: \(error.message)")
        return error.status
    }
    let run: RoutingRun
    do throws(CommandFailure) {
        run = try await RoutingRun.solve(instance, rounding: rounding, objective: objective, seed: seed, timeLimit: timeLimit,
                                         threads: threads, initial: initial?.routes, penalised: args.flag("penalised"))
    } catch {
        printErr("daybreak solve: \(error.message)")
        return error.status
    }
    let id = { (i: Int) in SolutionFile.writtenID(i, in: instance) }
    for r in run.solution.repairs.prefix(20) {
        printErr("daybreak solve: initial solution: route #\(r.route): customer \(id(r.job)) removed (\(r.reason))")
    }
    if run.solution.repairs.count > 20 {
        printErr("daybreak solve: initial solution: … and \(run.solution.repairs.count - 20) more removed; all were re-inserted by the search unless named below")
    }

    let text = SolutionFile(routes: run.solution.routes, cost: run.distance).render(for: instance, decimals: run.decimals)
    if let out = args.string("solution") {
        do { try text.write(toFile: out, atomically: true, encoding: .utf8) } catch {
            printErr("daybreak solve: cannot write the solution to \(out): \(error.localizedDescription)")
            return ExitStatus.failure
        }
    } else {
        print(text, terminator: "")
    }
    for p in run.audit.problems.prefix(10) { printErr("daybreak solve: infeasible: \(p)") }
    if !run.solution.unassigned.isEmpty {
        printErr("daybreak solve: \(run.solution.unassigned.count) customer(s) left unassigned")
        if initial != nil {
            // A warm start that could not be made feasible: say which customers and why.
            let why = Dictionary(run.solution.repairs.map { ($0.job, $0) }, uniquingKeysWith: { a, _ in a })
            for u in run.solution.unassigned.prefix(20) {
                let origin = why[u].map { "removed from route #\($0.route) of the initial solution: \($0.reason)" } ?? "not in the initial solution"
                printErr("daybreak solve: initial solution: customer \(id(u)) could not be placed on any route (\(origin))")
            }
        }
    }
    if run.solution.feasible != run.feasible {
        printErr("daybreak solve: warning: the solver says feasible=\(run.solution.feasible), the independent check says \(run.feasible)")
    }
    if json {
        print(JSONValue.object([
            ("instance", .string(instance.name)), ("feasible", .bool(run.feasible)), ("vehicles", .int(run.audit.vehicles)),
            ("distance", .double(run.distance)), ("time_s", .double(run.seconds.rounded(toPlaces: 3))),
            ("iterations", .int(run.solution.iterations)), ("threads", .int(threads)),
            ("repaired", .int(run.solution.repairs.count)), ("unassigned", .int(run.solution.unassigned.count)),
        ]).rendered())
    } else {
        print("\(instance.name): \(run.audit.vehicles) vehicles, distance \(formatFixed(run.distance, decimals: run.decimals)), "
              + "\(run.feasible ? "feasible" : "INFEASIBLE"), \(formatFixed(run.seconds, decimals: 2)) s, \(run.solution.iterations) iterations, \(threads) thread(s)")
    }
    // A warm start that stays infeasible is an error (the reasons are printed above).
    return initial != nil && !run.feasible ? ExitStatus.dataError : ExitStatus.ok
}


/// Disk access for the routing commands; the Routing module itself only ever sees text.
package enum RoutingFiles {
    /// Reads a file's bytes: 66 (no input) when missing, a directory or unreadable; 65 when larger
    /// than `InstanceLimits.maxFileBytes` (never more than that is read, so neither a huge file
    /// nor an endless one such as /dev/zero is taken in whole).
    package static func readBytes(_ path: String, what: String) throws(CommandFailure) -> [UInt8] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CommandFailure(message: "\(what) \(path): no such file", status: ExitStatus.noInput)
        }
        guard !isDir.boolValue else { throw CommandFailure(message: "\(what) \(path): is a directory", status: ExitStatus.noInput) }
        let limit = InstanceLimits.maxFileBytes
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber, size.int64Value > Int64(limit) {
            throw CommandFailure(message: "\(what) \(path): \(size.int64Value) bytes is more than the readers' limit of \(limit) bytes (64 MiB)",
                                 status: ExitStatus.dataError)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CommandFailure(message: "\(what) \(path): cannot be read (permissions?)", status: ExitStatus.noInput)
        }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: limit + 1) ?? Data() } catch {
            throw CommandFailure(message: "\(what) \(path): cannot be read: \(error.localizedDescription)", status: ExitStatus.noInput)
        }
        guard data.count <= limit else {
            throw CommandFailure(message: "\(what) \(path): more than the readers' limit of \(limit) bytes (64 MiB)", status: ExitStatus.dataError)
        }
        return [UInt8](data)
    }

    /// Reads a text file; not UTF-8 is a data error (65).
    package static func readText(_ path: String, what: String) throws(CommandFailure) -> String {
        guard let text = String(validating: try readBytes(path, what: what), as: UTF8.self) else {
            throw CommandFailure(message: "\(what) \(path): not UTF-8 text", status: ExitStatus.dataError)
        }
        return text
    }

    /// Reads and parses an instance; a malformed file is a data error (65) naming file and line.
    package static func readInstance(_ path: String, format: InstanceFile.Format?) throws(CommandFailure) -> InstanceFile {
        let bytes = try readBytes(path, what: "instance")
        do { return try InstanceFile.parse(bytes: bytes, file: path, format: format) } catch {
            throw CommandFailure(message: error.description, status: ExitStatus.dataError)
        }
    }
}

/// One timed solve plus its independent verification.
package struct RoutingRun {
    package var solution: Solution
    package var audit: RouteAudit
    package var seconds: Double
    /// Digits printed for this instance's distances: 1 for DIMACS, 2 for exact (as SINTEF prints), 0 for an integer matrix.
    package var decimals: Int

    /// Feasible by the independent audit, with nothing left unassigned.
    package var feasible: Bool { audit.feasible && solution.unassigned.isEmpty }
    /// The audited distance without floating-point noise: exact to the convention's unit (1e-4 for exact Euclidean).
    package var distance: Double { audit.distance.rounded(toPlaces: decimals == 2 ? 4 : decimals) }

    /// Solves on a dedicated thread (plus the solver's own `threads − 1`) until `timeLimit` seconds have
    /// passed (the clock lives here, not in Routing); `trace` records each new best with its time.
    package static func solve(_ instance: InstanceFile, rounding: Rounding, objective: ObjectiveMode, seed: UInt64,
                      timeLimit: Double, threads: Int = 1, initial: [[Int]]? = nil, penalised: Bool = false,
                      tune: [String: Double] = [:], trace: IncumbentTrace? = nil) async throws(CommandFailure) -> RoutingRun {
        let problem: Problem
        do { problem = try Problem(instance: instance, rounding: rounding) } catch {
            throw CommandFailure(message: "\(instance.name): \(error)", status: ExitStatus.dataError)
        }
        let result: Result<(Solution, Double), CommandFailure> = await onDedicatedThread(name: "solve") {
            let clock = ContinuousClock()
            let start = clock.now
            let budget = Swift.Duration.milliseconds(Int64((timeLimit * 1000).rounded()))
            let deadline = start.advanced(by: budget)
            let limit = max(timeLimit, 1e-9)
            var options = SolveOptions(
                seed: seed, objective: objective,
                shouldStop: { clock.now >= deadline },
                progress: { (clock.now - start).seconds / limit })
            options.threads = threads
            options.penalisedTimeWarp = penalised
            if let x = tune["cbar"] { options.averageRemoved = x }
            if let x = tune["ls"] { options.localSearchInterval = Int(x) }
            if let x = tune["t0"] { options.initialTemperature = x }
            if let x = tune["tf"] { options.finalTemperature = x }
            if let x = tune["exchange"] { options.exchangeInterval = Int(x) }
            if let trace {
                options.onNewBest = { distance, unassigned in
                    if unassigned == 0 { trace.record(seconds: (clock.now - start).seconds, distance: distance) }
                }
            }
            let solution: Solution
            if let initial {
                do throws(WarmStartError) { solution = try Routing.solve(problem, from: initial, options: options) } catch {
                    return .failure(CommandFailure(message: "initial solution: \(error.message)", status: ExitStatus.dataError))
                }
            } else {
                solution = Routing.solve(problem, options: options)
            }
            return .success((solution, (clock.now - start).seconds))
        }
        let (solution, seconds) = try result.get()
        let audit = instance.audit(routes: solution.routes, rounding: rounding)
        let decimals = instance.explicitMatrix != nil ? 0 : (rounding == .dimacs ? 1 : 2)
        return RoutingRun(solution: solution, audit: audit, seconds: seconds, decimals: decimals)
    }
}

/// The best feasible distance over time, as the solver reports new bests (from its threads).
package final class IncumbentTrace: Sendable {
    private let points = Mutex<[(seconds: Double, distance: Double)]>([])
    package init() {}
    package func record(seconds: Double, distance: Double) { points.withLock { $0.append((seconds, distance)) } }
    /// The best distance found by `seconds` (nil before the first feasible solution).
    package func best(at seconds: Double) -> Double? {
        points.withLock { ps in ps.filter { $0.seconds <= seconds }.map(\.distance).min() }
    }
}

extension Swift.Duration {
    package var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

extension Double {
    package func rounded(toPlaces p: Int) -> Double { (self * pow(10, Double(p))).rounded() / pow(10, Double(p)) }
}
