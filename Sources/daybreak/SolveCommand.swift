import Base
import Foundation
import Routing

// `daybreak solve PATH …`: read an instance file, solve it single-threaded under a time limit,
// verify the result independently of the solver, and print or write the CVRPLIB solution.

let solveCommand = Command(
    name: "solve",
    summary: "Solve a VRP instance file (Solomon / Gehring–Homberger, Li & Lim, VRPLIB) and print the solution.",
    usage: "PATH [--format solomon|lilim|vrplib] [--time-limit SECONDS] [--seed N] [--objective distance|fleet] [--rounding dimacs|exact] [--solution OUT] [--json]",
    options: [
        .value("format", "solomon|lilim|vrplib", "instance format (detected from the text when not given)"),
        .value("time-limit", "SECONDS", "search time (default 10; 0 = construction only)"),
        .value("seed", "N", "random seed (default 1)"),
        .value("objective", "distance|fleet", "distance only, or fewest vehicles then distance (default distance)"),
        .value("rounding", "dimacs|exact", "arc lengths truncated to 0.1 (DIMACS), or exact Euclidean (default dimacs)"),
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

    let instance: InstanceFile
    do throws(CommandFailure) { instance = try RoutingFiles.readInstance(path, format: format) } catch {
        printErr("daybreak solve: \(error.message)")
        return error.status
    }
    let run: RoutingRun
    do throws(CommandFailure) { run = try RoutingRun.solve(instance, rounding: rounding, objective: objective, seed: seed, timeLimit: timeLimit) } catch {
        printErr("daybreak solve: \(error.message)")
        return error.status
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
    }
    if run.solution.feasible != run.feasible {
        printErr("daybreak solve: warning: the solver says feasible=\(run.solution.feasible), the independent check says \(run.feasible)")
    }
    if json {
        print(JSONValue.object([
            ("instance", .string(instance.name)), ("feasible", .bool(run.feasible)), ("vehicles", .int(run.audit.vehicles)),
            ("distance", .double(run.distance)), ("time_s", .double(run.seconds.rounded(toPlaces: 3))),
            ("iterations", .int(run.solution.iterations)),
        ]).rendered())
    } else {
        print("\(instance.name): \(run.audit.vehicles) vehicles, distance \(formatFixed(run.distance, decimals: run.decimals)), "
              + "\(run.feasible ? "feasible" : "INFEASIBLE"), \(formatFixed(run.seconds, decimals: 2)) s, \(run.solution.iterations) iterations")
    }
    return ExitStatus.ok
}


/// Disk access for the routing commands; the Routing module itself only ever sees text.
enum RoutingFiles {
    /// Reads a file's bytes: 66 (no input) when missing, a directory or unreadable; 65 when larger
    /// than `InstanceLimits.maxFileBytes` (never more than that is read, so neither a huge file
    /// nor an endless one such as /dev/zero is taken in whole).
    static func readBytes(_ path: String, what: String) throws(CommandFailure) -> [UInt8] {
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
    static func readText(_ path: String, what: String) throws(CommandFailure) -> String {
        guard let text = String(validating: try readBytes(path, what: what), as: UTF8.self) else {
            throw CommandFailure(message: "\(what) \(path): not UTF-8 text", status: ExitStatus.dataError)
        }
        return text
    }

    /// Reads and parses an instance; a malformed file is a data error (65) naming file and line.
    static func readInstance(_ path: String, format: InstanceFile.Format?) throws(CommandFailure) -> InstanceFile {
        let bytes = try readBytes(path, what: "instance")
        do { return try InstanceFile.parse(bytes: bytes, file: path, format: format) } catch {
            throw CommandFailure(message: error.description, status: ExitStatus.dataError)
        }
    }
}

/// One timed solve plus its independent verification.
struct RoutingRun {
    var solution: Solution
    var audit: RouteAudit
    var seconds: Double
    /// Digits printed for this instance's distances: 1 for DIMACS, 2 for exact (as SINTEF prints), 0 for an integer matrix.
    var decimals: Int

    /// Feasible by the independent audit, with nothing left unassigned.
    var feasible: Bool { audit.feasible && solution.unassigned.isEmpty }
    /// The audited distance without floating-point noise: exact to the convention's unit (1e-4 for exact Euclidean).
    var distance: Double { audit.distance.rounded(toPlaces: decimals == 2 ? 4 : decimals) }

    /// Solves on the calling thread until `timeLimit` seconds have passed (the clock lives here, not in Routing).
    static func solve(_ instance: InstanceFile, rounding: Rounding, objective: ObjectiveMode, seed: UInt64,
                      timeLimit: Double) throws(CommandFailure) -> RoutingRun {
        let problem: Problem
        do { problem = try Problem(instance: instance, rounding: rounding) } catch {
            throw CommandFailure(message: "\(instance.name): \(error)", status: ExitStatus.dataError)
        }
        let clock = ContinuousClock()
        let start = clock.now
        let budget = Swift.Duration.milliseconds(Int64((timeLimit * 1000).rounded()))
        let deadline = start.advanced(by: budget)
        let limit = max(timeLimit, 1e-9)
        let options = SolveOptions(
            seed: seed, objective: objective,
            shouldStop: { clock.now >= deadline },
            progress: { (clock.now - start).seconds / limit })
        let solution = Routing.solve(problem, options: options)
        let seconds = (clock.now - start).seconds
        let audit = instance.audit(routes: solution.routes, rounding: rounding)
        let decimals = instance.explicitMatrix != nil ? 0 : (rounding == .dimacs ? 1 : 2)
        return RoutingRun(solution: solution, audit: audit, seconds: seconds, decimals: decimals)
    }
}

extension Swift.Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

extension Double {
    func rounded(toPlaces p: Int) -> Double { (self * pow(10, Double(p))).rounded() / pow(10, Double(p)) }
}
