import Base
import DaybreakCLI
import Foundation
import Routing

// `daybreak bench routing`: solve a benchmark set (or any instance files) instance by instance, verify
// each result independently of the solver, print the gap to the best known over time (1, 5, 10, 30 s
// of one run), and optionally run PyVRP on the same instances at the same time limit, alternating
// with ours per instance, its solutions checked by the same independent check.

/// One benchmark set: where its files are, which best-known table fits its objective, and the convention.
struct RoutingBenchSet: Sendable {
    var name: String
    var folder: String
    /// Best-known table under the data folder; nil when none exists (ORTEC: gaps then need --bks).
    var bks: String?
    var rounding: Rounding
    var objective: ObjectiveMode
    /// Whether a file name belongs to the set.
    var includes: @Sendable (String) -> Bool

    static let all: [RoutingBenchSet] = [
        RoutingBenchSet(name: "solomon", folder: "solomon", bks: "bks/solomon_distance_only.csv",
                        rounding: .dimacs, objective: .distance, includes: { $0.lowercased().hasSuffix(".txt") }),
        RoutingBenchSet(name: "homberger200", folder: "homberger", bks: "bks/homberger_distance_only_cvrplib.csv",
                        rounding: .dimacs, objective: .distance, includes: { $0.lowercased().hasSuffix(".txt") && $0.contains("_2_") }),
        RoutingBenchSet(name: "homberger400", folder: "homberger", bks: "bks/homberger_distance_only_cvrplib.csv",
                        rounding: .dimacs, objective: .distance, includes: { $0.lowercased().hasSuffix(".txt") && $0.contains("_4_") }),
        RoutingBenchSet(name: "ortec", folder: "ortec", bks: nil,
                        rounding: .dimacs, objective: .distance, includes: { $0.hasPrefix("ORTEC") && $0.lowercased().hasSuffix(".txt") }),
        RoutingBenchSet(name: "lilim100", folder: "lilim", bks: "bks/lilim_sintef.csv",
                        rounding: .exact, objective: .fleet, includes: { name in
                            // lc101 … lrc208: letters, then exactly three digits.
                            guard name.lowercased().hasSuffix(".txt") else { return false }
                            let stem = InstanceFile.stem(of: name)
                            let letters = stem.prefix { $0.isLetter }
                            let rest = stem.dropFirst(letters.count)
                            return ["lc", "lr", "lrc"].contains(letters.lowercased()) && rest.count == 3 && rest.allSatisfy(\.isNumber)
                        }),
    ]
}

/// PyVRP's result on one instance, re-checked by us.
struct PeerRun {
    var audit: RouteAudit
    var seconds: Double
    var feasible: Bool { audit.feasible }
}

/// One row of the table.
struct RoutingBenchRow {
    var instance: String
    var run: RoutingRun
    var bks: Double?
    var bksVehicles: Int?
    /// Best distance found by each checkpoint of `RoutingBenchSummary.checkpoints` (the solver's own figure).
    var curve: [Double?]
    var peer: PeerRun?

    static func gap(_ x: Double?, _ bks: Double?) -> Double? {
        guard let x, let d = bks, d > 0 else { return nil }
        return (x - d) / d * 100
    }
    var gap: Double? { run.feasible ? Self.gap(run.distance, bks) : nil }
    var peerGap: Double? { peer.flatMap { $0.feasible ? Self.gap($0.audit.distance, bks) : nil } }
}

let benchRoutingCommand = Command(
    name: "routing",
    summary: "Solve a benchmark set or instance files, report gaps to the best known over time, optionally beside PyVRP.",
    usage: "--set solomon|homberger200|homberger400|ortec|lilim100 | --instances FILE… --bks CSV  [--time-limit S] [--threads N] [--peer pyvrp] [--data DIR] [--seed N] [--solutions DIR] [--json]",
    options: [
        .value("set", "NAME", "benchmark set: solomon, homberger200, homberger400, ortec, lilim100"),
        .value("instances", "A,B,…|FILE…", "with --set: only these instances (names without extension, any case); without: instance files (VRPLIB or Solomon; more may follow as arguments)"),
        .value("bks", "CSV", "best-known costs (instance,cost or instance,vehicles,distance,source); default the set's table"),
        .value("rounding", "dimacs|exact", "convention for --instances files (default dimacs; explicit matrices are used as given)"),
        .value("time-limit", "S", "seconds per instance (default 10)"),
        .value("threads", "N", "search threads per instance (default 1)"),
        .flag("penalised", "our penalised search (time warp allowed at an adaptive cost; SolveOptions.penalisedTimeWarp)"),
        .value("tune", "K=V,…", "developer aid: cbar (jobs removed per iteration), ls (iterations between local searches of a new best), t0, tf, exchange"),
        .value("peer", "pyvrp", "also solve each instance with PyVRP (Tools/peers/pyvrp/run), alternating with ours"),
        .value("peer-script", "PATH", "the peer's runner (default Tools/peers/<peer>/run)"),
        .value("data", "DIR", "benchmark data folder (default ../shared/benchmarks)"),
        .value("seed", "N", "random seed (default 1)"),
        .value("solutions", "DIR", "also write each solution to DIR/<instance>.sol (CVRPLIB format)"),
        .flag("json", "end with one JSON line per run (set, time_limit, instances, feasible, mean_gap_pct, …)"),
    ],
    maxPositionals: 10_000
) { args in
    let timeLimit = try args.double("time-limit", default: 10, range: 0...86_400)
    let seed = try args.uint64("seed", default: 1)
    let threads = try args.int("threads", default: 1, range: 1...256)
    let data = args.string("data", default: "../shared/benchmarks")
    let json = args.flag("json")
    let peer = try args.choice("peer", ["pyvrp"])
    let solutionsDir = args.string("solutions")
    var tune: [String: Double] = [:]
    for item in (args.string("tune") ?? "").split(separator: ",") {
        let kv = item.split(separator: "=")
        guard kv.count == 2, ["cbar", "ls", "t0", "tf", "exchange"].contains(String(kv[0])), let x = Double(kv[1]), x.isFinite, x >= 0 else {
            throw UsageError("--tune: expected K=V with K one of cbar, ls, t0, tf, exchange and V a number ≥ 0, got '\(displayed(String(item)))'")
        }
        tune[String(kv[0])] = x
    }
    if let dir = solutionsDir {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            printErr("bench routing: cannot create \(dir): \(error.localizedDescription)")
            return ExitStatus.failure
        }
    }

    // Which files, under which convention.
    var set: RoutingBenchSet
    var paths: [String]
    if let setName = try args.choice("set", RoutingBenchSet.all.map(\.name)) {
        guard args.positionals.isEmpty else { throw UsageError("unexpected argument '\(displayed(args.positionals[0]))' with --set") }
        set = RoutingBenchSet.all.first { $0.name == setName }!
        let folder = (data as NSString).appendingPathComponent(set.folder)
        guard let listing = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
            printErr("bench routing: data folder \(folder) not found (give --data DIR)")
            return ExitStatus.noInput
        }
        var files = listing.filter { set.includes($0) }
        files.sort { $0.compare($1, options: [.numeric, .caseInsensitive]) == .orderedAscending }
        if let wanted = args.string("instances") {
            let names = wanted.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            let known = Dictionary(files.map { (InstanceFile.stem(of: $0).lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
            if let unknown = names.first(where: { known[$0] == nil }) {
                throw UsageError("unknown instance '\(unknown)' in set \(set.name) (files in \(folder))")
            }
            files = names.map { known[$0]! }
        }
        paths = files.map { (folder as NSString).appendingPathComponent($0) }
    } else if let first = args.string("instances") {
        paths = [first] + args.positionals
        guard args.string("bks") != nil else { throw UsageError("--instances FILE… needs --bks CSV (instance,cost) for the gaps") }
        let rounding = Rounding(rawValue: try args.choice("rounding", Rounding.allCases.map(\.rawValue), default: "dimacs")!)!
        set = RoutingBenchSet(name: "files", folder: "", bks: nil, rounding: rounding, objective: .distance, includes: { _ in true })
    } else {
        throw UsageError("give --set NAME or --instances FILE… (with --bks CSV)")
    }
    guard !paths.isEmpty else {
        printErr("bench routing: no instance files of set \(set.name)")
        return ExitStatus.noInput
    }

    let bks: BestKnownTable?
    var peerScript: String? = nil
    do throws(CommandFailure) {
        let bksPath = args.string("bks") ?? set.bks.map { (data as NSString).appendingPathComponent($0) }
        if let bksPath {
            let text = try RoutingFiles.readText(bksPath, what: "best-known table")
            do throws(InstanceError) { bks = try BestKnownTable.parse(text, file: bksPath) } catch {
                throw CommandFailure(message: error.description, status: ExitStatus.dataError)
            }
        } else {
            bks = nil
        }
        if let peer {
            let script = args.string("peer-script") ?? "Tools/peers/\(peer)/run"
            guard FileManager.default.isExecutableFile(atPath: script) else {
                throw CommandFailure(message: "peer \(peer): \(script) is not an executable file (run from the repository root, or give --peer-script)",
                                     status: ExitStatus.noInput)
            }
            peerScript = script
        }
    } catch {
        printErr("bench routing: \(error.message)")
        return error.status
    }
    if set.name == "ortec" && bks == nil {
        printErr("bench routing: no best-known table for ORTEC here: gaps are to the best of the solvers in this run (give --bks CSV for real ones)")
    }

    let checkpoints = RoutingBenchSummary.checkpoints(timeLimit)
    printErr("bench routing: set \(set.name), \(paths.count) instances, \(formatFixed(timeLimit, decimals: 1)) s each, seed \(seed), "
             + "\(set.rounding.rawValue) rounding, \(set.objective.rawValue) objective, \(threads) thread(s)"
             + (args.flag("penalised") ? ", penalised search" : "") + (tune.isEmpty ? "" : ", tune \(args.string("tune")!)")
             + (peer.map { ", peer \($0) after ours on each instance" } ?? ""))
    let header = RoutingBenchTable.header(checkpoints, peer: peer != nil)
    printOut(header)
    printOut(String(repeating: "-", count: header.count))
    var rows: [RoutingBenchRow] = []
    var failures = 0
    let scratch = NSTemporaryDirectory() + "daybreak-bench-routing-\(getpid())"
    if peerScript != nil { try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true) }
    defer { if peerScript != nil { try? FileManager.default.removeItem(atPath: scratch) } }
    for (k, path) in paths.enumerated() {
        let file = (path as NSString).lastPathComponent
        printErr("[\(k + 1)/\(paths.count)] \(file) …")
        do throws(CommandFailure) {
            let instance = try RoutingFiles.readInstance(path, format: nil)
            let trace = IncumbentTrace()
            let run = try await RoutingRun.solve(instance, rounding: set.rounding, objective: set.objective, seed: seed,
                                                 timeLimit: timeLimit, threads: threads,
                                                 penalised: args.flag("penalised"), tune: tune, trace: trace)
            let stem = InstanceFile.stem(of: file)
            var peerRun: PeerRun? = nil
            if let script = peerScript {
                do throws(CommandFailure) {
                    peerRun = try await PyVRPPeer.solve(instance, rounding: set.rounding, script: script, scratch: scratch,
                                                        timeLimit: timeLimit, seed: seed)
                } catch {
                    printErr("bench routing: peer on \(file): \(error.message)")
                }
            }
            let curve = checkpoints.map { t in t >= timeLimit ? (run.feasible ? run.distance : nil) : trace.best(at: t) }
            var row = RoutingBenchRow(instance: stem, run: run, bks: bks?[stem]?.distance, bksVehicles: bks?[stem]?.vehicles,
                                      curve: curve, peer: peerRun)
            if row.bks == nil && bks == nil {
                // No best-known table (ORTEC): the best of the solvers in this run is the reference.
                row.bks = [run.feasible ? run.distance : nil, peerRun.flatMap { $0.feasible ? $0.audit.distance : nil }].compactMap { $0 }.min()
            }
            if row.bks == nil && set.name == "files" {
                printErr("bench routing: \(stem) has no best-known cost in the --bks table: no gap for it")
            }
            rows.append(row)
            printOut(RoutingBenchTable.line(row, set, checkpoints: checkpoints, peer: peer != nil))
            if let dir = solutionsDir {
                let text = SolutionFile(routes: run.solution.routes, cost: run.distance).render(for: instance, decimals: run.decimals)
                let out = (dir as NSString).appendingPathComponent(stem + ".sol")
                do { try text.write(toFile: out, atomically: true, encoding: .utf8) } catch {
                    printErr("bench routing: cannot write \(out): \(error.localizedDescription)")
                }
            }
            for p in run.audit.problems.prefix(3) { printErr("  infeasible: \(p)") }
            for p in (peerRun?.audit.problems ?? []).prefix(3) { printErr("  PyVRP infeasible: \(p)") }
        } catch {
            failures += 1
            printErr("bench routing: \(error.message)")
        }
    }
    let summary = RoutingBenchSummary(set: set, rows: rows, failures: failures, timeLimit: timeLimit, seed: seed,
                                      threads: threads, peer: peer, checkpoints: checkpoints, penalised: args.flag("penalised"))
    printOut(String(repeating: "-", count: header.count))
    printOut(summary.text)
    if json { printOut(summary.json.rendered()) }
    return failures == 0 ? ExitStatus.ok : ExitStatus.dataError
}

/// Runs Tools/peers/pyvrp/run on the same integers our solver uses (written as an explicit-matrix
/// VRPLIB file) and re-checks the routes it prints against the original instance file.
enum PyVRPPeer {
    /// The problem as our solver sees it (DIMACS: ×10 and truncated; ORTEC: the matrix as given),
    /// as VRPLIB with an explicit full matrix, so PyVRP solves exactly the same integers.
    static func vrplib(_ problem: Problem, name: String) -> String {
        let n = problem.nodeCount
        var out = "NAME : \(name)\nTYPE : VRPTW\nDIMENSION : \(n)\nEDGE_WEIGHT_TYPE : EXPLICIT\nEDGE_WEIGHT_FORMAT : FULL_MATRIX\n"
        out += "VEHICLES : \(problem.vehicles.count)\nCAPACITY : \(problem.vehicles[0].capacity[0])\nEDGE_WEIGHT_SECTION\n"
        for i in 0..<n {
            out += (0..<n).map { String(problem.distance(i, $0)) }.joined(separator: " ") + "\n"
        }
        out += "DEMAND_SECTION\n"
        for i in 0..<n { out += "\(i + 1) \(problem.nodes[i].demand[0])\n" }
        out += "DEPOT_SECTION\n1\n-1\nSERVICE_TIME_SECTION\n"
        for i in 0..<n { out += "\(i + 1) \(problem.nodes[i].service)\n" }
        out += "TIME_WINDOW_SECTION\n"
        for i in 0..<n {
            let due = i == 0 ? min(problem.nodes[0].due, problem.vehicles[0].shiftEnd) : problem.nodes[i].due
            out += "\(i + 1) \(problem.nodes[i].ready) \(due)\n"
        }
        return out + "EOF\n"
    }

    static func solve(_ instance: InstanceFile, rounding: Rounding, script: String, scratch: String,
                      timeLimit: Double, seed: UInt64) async throws(CommandFailure) -> PeerRun {
        let problem: Problem
        do { problem = try Problem(instance: instance, rounding: rounding) } catch {
            throw CommandFailure(message: "\(instance.name): \(error)", status: ExitStatus.dataError)
        }
        guard problem.vehicles.allSatisfy({ $0 == problem.vehicles[0] }), problem.nodes.allSatisfy({ $0.alternativeWindows.isEmpty }),
              problem.externalIndex == Array(0..<problem.nodeCount),
              problem.nodes.dropFirst().allSatisfy({ if case .delivery = $0.kind { true } else { false } }) else {
            throw CommandFailure(message: "\(instance.name): the PyVRP peer only takes one-depot VRPTW instances", status: ExitStatus.dataError)
        }
        let file = (scratch as NSString).appendingPathComponent(instance.name + ".vrp")
        do { try vrplib(problem, name: instance.name).write(toFile: file, atomically: true, encoding: .utf8) } catch {
            throw CommandFailure(message: "cannot write \(file): \(error.localizedDescription)", status: ExitStatus.failure)
        }
        let args = [file, "--time-limit", String(timeLimit), "--seed", String(seed)]
        let errFile = file + ".stderr"
        let result: Result<(String, String, Int32, Double), CommandFailure> = await onDedicatedThread(name: "peer") {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: script)
            p.arguments = args
            let out = Pipe()
            // stderr to a file, so neither stream can fill a pipe and stall the peer.
            guard FileManager.default.createFile(atPath: errFile, contents: nil), let err = FileHandle(forWritingAtPath: errFile) else {
                return .failure(CommandFailure(message: "cannot create \(errFile)", status: ExitStatus.failure))
            }
            defer { try? err.close() }
            p.standardOutput = out; p.standardError = err
            let clock = ContinuousClock(), start = clock.now
            do { try p.run() } catch {
                return .failure(CommandFailure(message: "cannot start \(script): \(error.localizedDescription)", status: ExitStatus.unavailable))
            }
            let o = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            let e = (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? ""
            return .success((String(decoding: o, as: UTF8.self), e, p.terminationStatus, (clock.now - start).seconds))
        }
        let (stdout, stderr, status, seconds) = try result.get()
        guard status == 0 else {
            throw CommandFailure(message: "\(script) exited with \(status): \(stderr.split(separator: "\n").suffix(3).joined(separator: " | "))",
                                 status: ExitStatus.failure)
        }
        // "Route #k: i j …" with node indices as in the file we wrote (0 = depot) = our instance node indices.
        var routes: [[Int]] = []
        var runtime: Double? = nil
        for (number, line) in stdout.split(separator: "\n").enumerated() {
            let tokens = line.split(separator: " ")
            guard let head = tokens.first else { continue }
            if head == "Route" {
                var r: [Int] = []
                for t in tokens.dropFirst(2) {
                    guard let i = Int(t), i > 0, i < instance.nodes.count else {
                        throw CommandFailure(message: "peer output line \(number + 1): '\(t)' is not a customer of \(instance.name)", status: ExitStatus.dataError)
                    }
                    r.append(i)
                }
                routes.append(r)
            } else if head == "Runtime", tokens.count == 2 {
                runtime = Double(tokens[1])
            }
        }
        return PeerRun(audit: instance.audit(routes: routes, rounding: rounding), seconds: runtime ?? seconds)
    }
}

enum RoutingBenchTable {
    static func pad(_ s: String, _ w: Int, left: Bool = false) -> String {
        s.count >= w ? s : (left ? s + String(repeating: " ", count: w - s.count) : String(repeating: " ", count: w - s.count) + s)
    }
    static func fmt(_ x: Double?, _ d: Int) -> String { x.map { formatFixed($0, decimals: d) } ?? "-" }
    static func label(_ t: Double) -> String { "@" + formatFixed(t, decimals: t == t.rounded() ? 0 : 1) + "s" }

    static func header(_ checkpoints: [Double], peer: Bool) -> String {
        var h = pad("instance", 12, left: true) + pad("veh", 5) + pad("distance", 12) + pad("BKS", 12) + pad("feas", 5)
        for t in checkpoints { h += pad(label(t) + " %", 9) }
        if peer { h += pad("PyVRP", 12) + pad("feas", 5) + pad("PyVRP %", 9) + pad("PyVRP s", 8) }
        return h + pad("time s", 8) + pad("iters", 9)
    }

    static func line(_ r: RoutingBenchRow, _ set: RoutingBenchSet, checkpoints: [Double], peer: Bool) -> String {
        let d = r.run.decimals
        var s = pad(r.instance, 12, left: true) + pad("\(r.run.audit.vehicles)", 5) + pad(fmt(r.run.distance, d), 12)
            + pad(fmt(r.bks, d), 12) + pad(r.run.feasible ? "yes" : "NO", 5)
        for (k, _) in checkpoints.enumerated() { s += pad(fmt(k == checkpoints.count - 1 ? r.gap : RoutingBenchRow.gap(r.curve[k], r.bks), 2), 9) }
        if peer {
            s += pad(fmt(r.peer?.audit.distance, d), 12) + pad(r.peer.map { $0.feasible ? "yes" : "NO" } ?? "-", 5)
                + pad(fmt(r.peerGap, 2), 9) + pad(fmt(r.peer?.seconds, 1), 8)
        }
        return s + pad(fmt(r.run.seconds, 1), 8) + pad("\(r.run.solution.iterations)", 9)
    }
}

/// Mean and median gap, feasibility count, the anytime curve, the peer's figures and (for the fleet
/// objective) how often the best-known fleet is reached.
struct RoutingBenchSummary {
    var set: RoutingBenchSet
    var rows: [RoutingBenchRow]
    var failures: Int
    var timeLimit: Double
    var seed: UInt64
    var threads: Int
    var peer: String?
    var checkpoints: [Double]
    var penalised = false

    /// 1, 5, 10 and 30 s up to the time limit, and the time limit itself.
    static func checkpoints(_ limit: Double) -> [Double] {
        var c = [1.0, 5, 10, 30].filter { $0 < limit }
        c.append(limit)
        return c
    }

    var gaps: [Double] { rows.compactMap(\.gap) }
    /// Gaps of the rows whose fleet equals the best known (a hierarchical BKS's distance is only comparable then).
    var sameFleetGaps: [Double] { rows.filter { $0.bksVehicles == $0.run.audit.vehicles }.compactMap(\.gap) }
    var feasible: Int { rows.count { $0.run.feasible } }
    var peerFeasible: Int { rows.count { $0.peer?.feasible == true } }
    var peerGaps: [Double] { rows.compactMap(\.peerGap) }
    /// Feasible instances using no more vehicles than the best known.
    var reachedFleet: Int { rows.count { r in r.run.feasible && r.bksVehicles.map { r.run.audit.vehicles <= $0 } == true } }
    /// Mean gap at each checkpoint over the rows with a figure there (the last one is the audited final gap).
    var curve: [Double?] {
        checkpoints.indices.map { k in
            k == checkpoints.count - 1 ? Self.mean(gaps) : Self.mean(rows.compactMap { RoutingBenchRow.gap($0.curve[k], $0.bks) })
        }
    }
    /// Rows where both solved feasibly: ours vs the peer's gap on the same instances.
    var pairs: [(ours: Double, peer: Double)] { rows.compactMap { r in r.gap.flatMap { g in r.peerGap.map { (g, $0) } } } }

    static func mean(_ xs: [Double]) -> Double? { xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count) }
    static func median(_ xs: [Double]) -> Double? {
        guard !xs.isEmpty else { return nil }
        let s = xs.sorted(), m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }

    var text: String {
        var out = "\(set.name): \(rows.count) solved, \(feasible) feasible (independent check)"
        if failures > 0 { out += ", \(failures) could not be read" }
        out += "; gap to BKS over \(gaps.count): mean \(RoutingBenchTable.fmt(Self.mean(gaps), 2)) %, median \(RoutingBenchTable.fmt(Self.median(gaps), 2)) %"
        out += "\nanytime mean gap: " + zip(checkpoints, curve).map { "\(RoutingBenchTable.label($0)) \(RoutingBenchTable.fmt($1, 2)) %" }.joined(separator: ", ")
        if set.objective == .fleet {
            out += "\nbest-known vehicle count reached on \(reachedFleet)/\(rows.count)"
            out += " (distance gap on those: mean \(RoutingBenchTable.fmt(Self.mean(sameFleetGaps), 2)) %)"
        }
        if let peer {
            out += "\n\(peer): \(peerFeasible)/\(rows.count) feasible (our check), mean gap \(RoutingBenchTable.fmt(Self.mean(peerGaps), 2)) %"
            let pp = pairs
            out += "; on the \(pp.count) both solved: ours \(RoutingBenchTable.fmt(Self.mean(pp.map(\.ours)), 2)) % vs \(peer) \(RoutingBenchTable.fmt(Self.mean(pp.map(\.peer)), 2)) %"
            out += ", ours better on \(pp.count { $0.ours < $0.peer - 1e-9 }), equal on \(pp.count { abs($0.ours - $0.peer) <= 1e-9 })"
        }
        out += "\n\(formatFixed(rows.map(\.run.seconds).reduce(0, +), decimals: 1)) s in total for ours"
        return out
    }

    var json: JSONValue {
        func num(_ x: Double?) -> JSONValue { x.map { .double(($0 * 1000).rounded() / 1000) } ?? .null }
        var o: [(String, JSONValue)] = [
            ("set", .string(set.name)), ("time_limit", .double(timeLimit)), ("threads", .int(threads)), ("penalised", .bool(penalised)),
            ("seed", .int(Int(truncatingIfNeeded: seed))),
            ("rounding", .string(set.rounding.rawValue)), ("objective", .string(set.objective.rawValue)),
            ("instances", .int(rows.count)), ("failed_to_read", .int(failures)), ("feasible", .int(feasible)),
            ("mean_gap_pct", num(Self.mean(gaps))), ("median_gap_pct", num(Self.median(gaps))),
            ("anytime_mean_gap_pct", .object(zip(checkpoints, curve).map { (formatFixed($0, decimals: $0 == $0.rounded() ? 0 : 1), num($1)) })),
        ]
        if set.objective == .fleet {
            o.append(("reached_bks_vehicles", .int(reachedFleet)))
            o.append(("mean_gap_pct_same_fleet", num(Self.mean(sameFleetGaps))))
        }
        if let peer {
            o.append(("peer", .string(peer)))
            o.append(("peer_feasible", .int(peerFeasible)))
            o.append(("peer_mean_gap_pct", num(Self.mean(peerGaps))))
        }
        o.append(("total_time_s", num(rows.map(\.run.seconds).reduce(0, +))))
        o.append(("results", .array(rows.map { r in
            .object([("instance", .string(r.instance)), ("feasible", .bool(r.run.feasible)), ("vehicles", .int(r.run.audit.vehicles)),
                     ("distance", .double(r.run.distance)), ("bks", r.bks.map { .double($0) } ?? .null), ("gap_pct", num(r.gap)),
                     ("peer_feasible", r.peer.map { .bool($0.feasible) } ?? .null),
                     ("peer_distance", r.peer.map { .double($0.audit.distance) } ?? .null), ("peer_gap_pct", num(r.peerGap)),
                     ("time_s", num(r.run.seconds)), ("iterations", .int(r.run.solution.iterations))])
        })))
        return .object(o)
    }
}

/// Writes a line to stdout unbuffered, so table rows appear as each instance finishes.
func printOut(_ s: String) {
    FileHandle.standardOutput.write(Data((s + "\n").utf8))
}
