import Base
import Foundation
import Routing

// `daybreak bench routing`: solve a benchmark set instance by instance (single-threaded), verify each
// result independently of the solver, and compare with the best known and with PyVRP at the same budget.

/// One benchmark set: where its files are, which best-known table fits its objective, and the convention.
struct RoutingBenchSet: Sendable {
    var name: String
    var folder: String
    var bks: String
    var rounding: Rounding
    var objective: ObjectiveMode
    /// Whether a file stem belongs to the set.
    var includes: @Sendable (String) -> Bool

    static let all: [RoutingBenchSet] = [
        RoutingBenchSet(name: "solomon", folder: "solomon", bks: "bks/solomon_distance_only.csv",
                        rounding: .dimacs, objective: .distance, includes: { _ in true }),
        RoutingBenchSet(name: "homberger200", folder: "homberger", bks: "bks/homberger_distance_only_cvrplib.csv",
                        rounding: .dimacs, objective: .distance, includes: { $0.contains("_2_") }),
        RoutingBenchSet(name: "lilim100", folder: "lilim", bks: "bks/lilim_sintef.csv",
                        rounding: .exact, objective: .fleet, includes: { stem in
                            // lc101 … lrc208: letters, then exactly three digits.
                            let letters = stem.prefix { $0.isLetter }
                            let rest = stem.dropFirst(letters.count)
                            return ["lc", "lr", "lrc"].contains(letters.lowercased()) && rest.count == 3 && rest.allSatisfy(\.isNumber)
                        }),
    ]
}

/// One row of the table.
struct RoutingBenchRow {
    var instance: String
    var run: RoutingRun
    var bks: BestKnownTable.Entry?
    var peer: Double?

    var gap: Double? {
        guard run.feasible, let d = bks?.distance, d > 0 else { return nil }
        return (run.distance - d) / d * 100
    }
    var peerGap: Double? {
        guard let p = peer, let d = bks?.distance, d > 0 else { return nil }
        return (p - d) / d * 100
    }
}

let benchRoutingCommand = Command(
    name: "routing",
    summary: "Solve a benchmark set (solomon, homberger200, lilim100) and report gaps to the best known.",
    usage: "--set solomon|homberger200|lilim100 [--time-limit S] [--data DIR] [--instances A,B,...] [--seed N] [--solutions DIR] [--json]",
    options: [
        .value("set", "solomon|homberger200|lilim100", "benchmark set (required)"),
        .value("time-limit", "S", "seconds per instance (default 10)"),
        .value("data", "DIR", "benchmark data folder (default ../shared/benchmarks)"),
        .value("instances", "A,B,...", "only these instances (file names without extension, any case)"),
        .value("seed", "N", "random seed (default 1)"),
        .value("solutions", "DIR", "also write each solution to DIR/<instance>.sol (CVRPLIB format)"),
        .flag("json", "end with one JSON summary line"),
    ]
) { args in
    guard let setName = try args.choice("set", RoutingBenchSet.all.map(\.name)) else {
        throw UsageError("missing --set (one of \(RoutingBenchSet.all.map(\.name).joined(separator: "|")))")
    }
    let set = RoutingBenchSet.all.first { $0.name == setName }!
    let timeLimit = try args.double("time-limit", default: 10, range: 0...86_400)
    let seed = try args.uint64("seed", default: 1)
    let data = args.string("data", default: "../shared/benchmarks")
    let json = args.flag("json")
    let solutionsDir = args.string("solutions")
    if let dir = solutionsDir {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            printErr("bench routing: cannot create \(dir): \(error.localizedDescription)")
            return ExitStatus.failure
        }
    }

    // Files of the set, in natural order (c1_2_2 before c1_2_10).
    let folder = (data as NSString).appendingPathComponent(set.folder)
    guard let listing = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
        printErr("bench routing: data folder \(folder) not found (give --data DIR)")
        return ExitStatus.noInput
    }
    var files = listing.filter { $0.lowercased().hasSuffix(".txt") && set.includes(InstanceFile.stem(of: $0)) }
    files.sort { $0.compare($1, options: [.numeric, .caseInsensitive]) == .orderedAscending }
    if let wanted = args.string("instances") {
        let names = wanted.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let known = Dictionary(files.map { (InstanceFile.stem(of: $0).lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
        if let unknown = names.first(where: { known[$0] == nil }) {
            throw UsageError("unknown instance '\(unknown)' in set \(set.name) (files in \(folder))")
        }
        files = names.map { known[$0]! }
    }
    guard !files.isEmpty else {
        printErr("bench routing: no instance files of set \(set.name) in \(folder)")
        return ExitStatus.noInput
    }

    let bks: BestKnownTable
    let peers: [String: Double]
    do throws(CommandFailure) {
        let bksPath = (data as NSString).appendingPathComponent(set.bks)
        let text = try RoutingFiles.readText(bksPath, what: "best-known table")
        do throws(InstanceError) { bks = try BestKnownTable.parse(text, file: bksPath) } catch {
            throw CommandFailure(message: error.description, status: ExitStatus.dataError)
        }
        peers = try PeerBaselines.pyvrp(data: data, timeLimit: timeLimit)
    } catch {
        printErr("bench routing: \(error.message)")
        return error.status
    }

    printErr("bench routing: set \(set.name), \(files.count) instances, \(formatFixed(timeLimit, decimals: 1)) s each, seed \(seed), "
             + "\(set.rounding.rawValue) rounding, \(set.objective.rawValue) objective, single thread")
    let header = RoutingBenchTable.header(set)
    printOut(header)
    printOut(String(repeating: "-", count: header.count))
    var rows: [RoutingBenchRow] = []
    var failures = 0
    for (k, file) in files.enumerated() {
        let path = (folder as NSString).appendingPathComponent(file)
        printErr("[\(k + 1)/\(files.count)] \(file) …")
        do throws(CommandFailure) {
            let instance = try RoutingFiles.readInstance(path, format: nil)
            let run = try RoutingRun.solve(instance, rounding: set.rounding, objective: set.objective, seed: seed, timeLimit: timeLimit)
            let stem = InstanceFile.stem(of: file)
            let row = RoutingBenchRow(instance: stem, run: run, bks: bks[stem], peer: peers[stem.uppercased()])
            rows.append(row)
            printOut(RoutingBenchTable.line(row, set))
            if let dir = solutionsDir {
                let text = SolutionFile(routes: run.solution.routes, cost: run.distance).render(for: instance, decimals: run.decimals)
                let out = (dir as NSString).appendingPathComponent(stem + ".sol")
                do { try text.write(toFile: out, atomically: true, encoding: .utf8) } catch {
                    printErr("bench routing: cannot write \(out): \(error.localizedDescription)")
                }
            }
            for p in run.audit.problems.prefix(3) { printErr("  infeasible: \(p)") }
        } catch {
            failures += 1
            printErr("bench routing: \(error.message)")
        }
    }
    let summary = RoutingBenchSummary(set: set, rows: rows, failures: failures, timeLimit: timeLimit, seed: seed)
    printOut(String(repeating: "-", count: header.count))
    printOut(summary.text)
    if json { printOut(summary.json.rendered()) }
    return failures == 0 ? ExitStatus.ok : ExitStatus.dataError
}

/// PyVRP's distances from `peer-baselines.csv` at the same time limit, keyed by upper-case instance.
enum PeerBaselines {
    static func pyvrp(data: String, timeLimit: Double) throws(CommandFailure) -> [String: Double] {
        let path = (data as NSString).appendingPathComponent("peer-baselines.csv")
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        let text = try RoutingFiles.readText(path, what: "peer baselines")
        let records: [(line: Int, fields: [String])]
        do { records = try CSVText.records(text, file: path) } catch {
            throw CommandFailure(message: error.description, status: ExitStatus.dataError)
        }
        guard let head = records.first?.fields,
              let iName = head.firstIndex(of: "instance"), let iSolver = head.firstIndex(of: "solver"),
              let iTime = head.firstIndex(of: "time_limit_s"), let iDist = head.firstIndex(of: "distance") else {
            throw CommandFailure(message: "\(path):1: expected a header with instance, solver, time_limit_s, distance",
                                      status: ExitStatus.dataError)
        }
        var out: [String: Double] = [:]
        for r in records.dropFirst() where r.fields.count > max(iName, iSolver, iTime, iDist) {
            guard r.fields[iSolver].lowercased().hasPrefix("pyvrp"), let t = Double(r.fields[iTime]), abs(t - timeLimit) < 1e-9,
                  let d = Double(r.fields[iDist]) else { continue }
            out[r.fields[iName].uppercased()] = d
        }
        return out
    }
}

enum RoutingBenchTable {
    static func pad(_ s: String, _ w: Int, left: Bool = false) -> String {
        s.count >= w ? s : (left ? s + String(repeating: " ", count: w - s.count) : String(repeating: " ", count: w - s.count) + s)
    }
    static func fmt(_ x: Double?, _ d: Int) -> String { x.map { formatFixed($0, decimals: d) } ?? "-" }

    static func header(_ set: RoutingBenchSet) -> String {
        pad("instance", 10, left: true) + pad("veh", 5) + pad("distance", 12) + pad("BKS veh", 8) + pad("BKS dist", 12)
            + pad("gap %", 8) + pad("PyVRP", 10) + pad("PyVRP %", 8) + pad("feasible", 9) + pad("time s", 8) + pad("iters", 9)
    }

    static func line(_ r: RoutingBenchRow, _ set: RoutingBenchSet) -> String {
        let d = set.rounding == .dimacs ? 1 : 2
        return pad(r.instance, 10, left: true) + pad("\(r.run.audit.vehicles)", 5) + pad(fmt(r.run.distance, d), 12)
            + pad(r.bks?.vehicles.map(String.init) ?? "-", 8) + pad(fmt(r.bks?.distance, d), 12) + pad(fmt(r.gap, 2), 8)
            + pad(fmt(r.peer, 1), 10) + pad(fmt(r.peerGap, 2), 8) + pad(r.run.feasible ? "yes" : "NO", 9)
            + pad(fmt(r.run.seconds, 1), 8) + pad("\(r.run.solution.iterations)", 9)
    }
}

/// Mean and median gap, feasibility count and (for the fleet objective) how often the best-known fleet is reached.
struct RoutingBenchSummary {
    var set: RoutingBenchSet
    var rows: [RoutingBenchRow]
    var failures: Int
    var timeLimit: Double
    var seed: UInt64

    var gaps: [Double] { rows.compactMap(\.gap) }
    /// Gaps of the rows whose fleet equals the best known (a hierarchical BKS's distance is only comparable then).
    var sameFleetGaps: [Double] { rows.filter { $0.bks?.vehicles == $0.run.audit.vehicles }.compactMap(\.gap) }
    var feasible: Int { rows.count { $0.run.feasible } }
    /// Feasible instances using no more vehicles than the best known.
    var reachedFleet: Int { rows.count { r in r.run.feasible && r.bks?.vehicles.map { r.run.audit.vehicles <= $0 } == true } }
    /// Rows with a PyVRP figure: our mean gap and PyVRP's on the same instances.
    var peerPairs: [(ours: Double, pyvrp: Double)] { rows.compactMap { r in r.gap.flatMap { g in r.peerGap.map { (g, $0) } } } }

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
        if set.objective == .fleet {
            out += "; best-known vehicle count reached on \(reachedFleet)/\(rows.count)"
            out += " (distance gap on those: mean \(RoutingBenchTable.fmt(Self.mean(sameFleetGaps), 2)) %)"
        }
        let pp = peerPairs
        if !pp.isEmpty {
            out += "; on the \(pp.count) with a PyVRP \(formatFixed(timeLimit, decimals: 0)) s figure: ours \(RoutingBenchTable.fmt(Self.mean(pp.map(\.ours)), 2)) % vs PyVRP \(RoutingBenchTable.fmt(Self.mean(pp.map(\.pyvrp)), 2)) %"
        }
        out += "; \(formatFixed(rows.map(\.run.seconds).reduce(0, +), decimals: 1)) s in total"
        return out
    }

    var json: JSONValue {
        func num(_ x: Double?) -> JSONValue { x.map { .double(($0 * 1000).rounded() / 1000) } ?? .null }
        var o: [(String, JSONValue)] = [
            ("set", .string(set.name)), ("time_limit_s", .double(timeLimit)), ("seed", .int(Int(truncatingIfNeeded: seed))),
            ("rounding", .string(set.rounding.rawValue)), ("objective", .string(set.objective.rawValue)),
            ("instances", .int(rows.count)), ("failed_to_read", .int(failures)), ("feasible", .int(feasible)),
            ("mean_gap_pct", num(Self.mean(gaps))), ("median_gap_pct", num(Self.median(gaps))),
        ]
        if set.objective == .fleet {
            o.append(("reached_bks_vehicles", .int(reachedFleet)))
            o.append(("mean_gap_pct_same_fleet", num(Self.mean(sameFleetGaps))))
        }
        let pp = peerPairs
        o.append(("pyvrp_compared", .int(pp.count)))
        o.append(("mean_gap_pct_on_pyvrp_instances", num(Self.mean(pp.map(\.ours)))))
        o.append(("pyvrp_mean_gap_pct", num(Self.mean(pp.map(\.pyvrp)))))
        o.append(("total_time_s", num(rows.map(\.run.seconds).reduce(0, +))))
        o.append(("results", .array(rows.map { r in
            .object([("instance", .string(r.instance)), ("feasible", .bool(r.run.feasible)), ("vehicles", .int(r.run.audit.vehicles)),
                     ("distance", .double(r.run.distance)), ("bks_vehicles", r.bks?.vehicles.map { .int($0) } ?? .null),
                     ("bks_distance", r.bks?.distance.map { .double($0) } ?? .null), ("gap_pct", num(r.gap)),
                     ("pyvrp_distance", r.peer.map { .double($0) } ?? .null),
                     ("time_s", num(r.run.seconds)), ("iterations", .int(r.run.solution.iterations))])
        })))
        return .object(o)
    }
}

/// Writes a line to stdout unbuffered, so table rows appear as each instance finishes.
func printOut(_ s: String) {
    FileHandle.standardOutput.write(Data((s + "\n").utf8))
}
