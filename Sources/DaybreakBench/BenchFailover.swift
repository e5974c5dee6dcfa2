import Base
import DaybreakCLI
import Cluster
import Foundation
import Geo
import Storage

// `daybreak bench failover`: start node processes (this binary), kill -9 one, and measure the time
// from the kill until every region answers a call again; repeat, restarting the killed node.
let benchFailoverCommand = Command(
    name: "failover",
    summary: "kill -9 a node of a local cluster and time until every region is served again (p50, max).",
    usage: "[--database CONNINFO] [--runs N] [--nodes N] [--regions FILE] [--heartbeat-ms N] [--ttl-ms N] [--json]",
    options: [
        .value("database", "CONNINFO", "libpq conninfo or URI; default: the PG* environment"),
        .value("runs", "N", "kills to measure (default 10)"),
        .value("nodes", "N", "node processes (default 3)"),
        .value("regions", "FILE", "city file (default Regions/seoul.json)"),
        .value("heartbeat-ms", "N", "node heartbeat (default 500, the node default)"),
        .value("ttl-ms", "N", "node TTL (default 3000, the node default; lease = ttl + 1000)"),
        .value("logs", "DIR", "write each node's stderr to DIR/<id>.log (default: discarded)"),
        .flag("json", "print one JSON line instead of the table"),
    ]
) { args in
    let options = FailoverBench.Options(
        conninfo: args.string("database", default: ""),
        runs: try args.int("runs", default: 10, range: 1 ... 1000),
        nodes: try args.int("nodes", default: 3, range: 2 ... 16),
        regionsFile: args.string("regions", default: "Regions/seoul.json"),
        heartbeatMs: try args.int("heartbeat-ms", default: 500, range: 10 ... 60_000),
        ttlMs: try args.int("ttl-ms", default: 3_000, range: 50 ... 600_000),
        logs: args.string("logs"))
    guard FileManager.default.fileExists(atPath: options.regionsFile) else {
        printErr("bench failover: no regions file at \(options.regionsFile) (run from the repository root or pass --regions)")
        return ExitStatus.noInput
    }
    // The file is validated before any database work, as every command validates it (CityMap.load).
    do { _ = try CityMap.load(from: try Data(contentsOf: URL(fileURLWithPath: options.regionsFile))) } catch let e as RegionFileError {
        printErr("bench failover: \(options.regionsFile): \(CityRegionsFileError(e))")
        return ExitStatus.dataError
    }
    do {
        let r = try await FailoverBench(options).run()
        print(args.flag("json") ? r.json.rendered() : r.table)
        return ExitStatus.ok
    } catch let e as PostgresError where e.code == .connectFailed {
        printErr("bench failover: \(e)")
        return ExitStatus.unavailable
    }
}

struct FailoverBench {
    struct Options {
        var conninfo: String
        var runs: Int
        var nodes: Int
        var regionsFile: String
        var heartbeatMs: Int
        var ttlMs: Int
        var logs: String?
    }

    struct Run {
        var victim: String
        var regions: Int
        /// kill → every region owned by a live node again (lease table).
        var ownedMs: Double
        /// kill → every region answered a call.
        var servedMs: Double
    }

    struct Result {
        var options: Options
        var runs: [Run]

        static func p(_ xs: [Double], _ q: Double) -> Double {
            let s = xs.sorted()
            return s.isEmpty ? 0 : s[min(s.count - 1, Int((q * Double(s.count - 1)).rounded()))]
        }
        var served: [Double] { runs.map(\.servedMs) }
        var owned: [Double] { runs.map(\.ownedMs) }

        var table: String {
            func f(_ v: Double) -> String { String(format: "%8.0f", v) }
            var lines = ["bench failover: \(options.nodes) nodes, heartbeat \(options.heartbeatMs) ms, ttl \(options.ttlMs) ms (lease \(options.ttlMs + 1000) ms), \(runs.count) kills",
                         "run  victim  regions  owned again (ms)  served again (ms)"]
            for (i, r) in runs.enumerated() {
                lines.append(String(format: "%3d  %-6@  %7d  ", i + 1, r.victim, r.regions) + f(r.ownedMs) + "          " + f(r.servedMs))
            }
            lines.append("p50                      " + f(Self.p(owned, 0.5)) + "          " + f(Self.p(served, 0.5)))
            lines.append("max                      " + f(owned.max() ?? 0) + "          " + f(served.max() ?? 0))
            return lines.joined(separator: "\n")
        }

        var json: JSONValue {
            .object([("bench", "failover"), ("nodes", .int(options.nodes)), ("heartbeat_ms", .int(options.heartbeatMs)),
                     ("ttl_ms", .int(options.ttlMs)), ("runs", .int(runs.count)),
                     ("owned_p50_ms", .double(Self.p(owned, 0.5).rounded())), ("owned_max_ms", .double((owned.max() ?? 0).rounded())),
                     ("served_p50_ms", .double(Self.p(served, 0.5).rounded())), ("served_max_ms", .double((served.max() ?? 0).rounded())),
                     ("served_ms", .array(served.map { .double($0.rounded()) }))])
        }
    }

    let options: Options
    let schema = "bench_failover_\(ProcessInfo.processInfo.processIdentifier)"
    let logger = Logger(label: "bench.failover", level: .warning)

    init(_ options: Options) { self.options = options }

    func run() async throws -> Result {
        let base = PostgresConfiguration(options.conninfo, applicationName: "daybreak-bench-failover")
        let admin = try await PostgresConnection.connect(base, logger: logger)
        let migrations = ClusterSchema.migrations.map { Migration(Int64($0.version), $0.name, sql: $0.sql) }
        _ = try await Migrator(migrations, schema: schema, logger: logger).migrate(admin)
        var nodes: [String: Process] = [:]
        var client: ClusterClient?
        do {
            let regions = try CityMap.load(from: try Data(contentsOf: URL(fileURLWithPath: options.regionsFile))).regionIDs
            for i in 1 ... options.nodes { nodes["n\(i)"] = try start("n\(i)") }
            let c = try await ClusterClient(database: base.withSearchPath(schema), attemptTimeout: .milliseconds(250), logger: logger)
            client = c
            var runs: [Run] = []
            for k in 0 ..< options.runs {
                try await waitForBalance(c, regions: regions, live: Set(nodes.keys))
                // Warm every region (activations exist before the kill).
                for r in regions { _ = try await c.counterState("bench-\(r)", region: r, timeout: .seconds(10)) }
                let owners = try await currentOwners(c)
                let loads = Dictionary(grouping: owners, by: \.value).mapValues(\.count)
                let victim = nodes.keys.sorted()[k % nodes.count]   // rotate, so every node is killed in turn
                let killedAt = ContinuousClock.now
                kill(nodes[victim]!.processIdentifier, SIGKILL)
                nodes[victim]!.waitUntilExit()
                let live = Set(nodes.keys).subtracting([victim])
                async let ownedMs = timeUntilOwned(c, regions: regions, live: live, since: killedAt)
                let served = try await timeUntilServed(c, regions: regions, since: killedAt)
                let owned = try await ownedMs
                runs.append(Run(victim: victim, regions: loads[victim] ?? 0, ownedMs: owned, servedMs: served))
                printErr("bench failover: run \(k + 1)/\(options.runs): killed \(victim) (\(loads[victim] ?? 0) regions): served again after \(Int(served)) ms")
                nodes[victim] = try start(victim)
            }
            try await cleanUp(nodes, client, admin)
            return Result(options: options, runs: runs)
        } catch {
            try? await cleanUp(nodes, client, admin)
            throw error
        }
    }

    private func cleanUp(_ nodes: [String: Process], _ client: ClusterClient?, _ admin: PostgresConnection) async throws {
        for p in nodes.values where p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        await client?.close()
        try await admin.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE", purpose: "drop bench schema")
        await admin.close()
    }

    private func start(_ id: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var arguments = ["node", "--id", id, "--listen", "tcp://127.0.0.1:*", "--regions", options.regionsFile, "--schema", schema,
                         "--heartbeat-ms", String(options.heartbeatMs), "--ttl-ms", String(options.ttlMs), "--operations", "none", "--insecure", "--demo-counter"]
        if !options.conninfo.isEmpty { arguments += ["--database", options.conninfo] }
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        if let dir = options.logs {
            let path = (dir as NSString).appendingPathComponent("\(id).log")
            if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            h.seekToEndOfFile()
            p.standardError = h
        } else {
            p.standardError = FileHandle.nullDevice
        }
        try p.run()
        return p
    }

    private func currentOwners(_ c: ClusterClient) async throws -> [String: String] {
        try await c.ownership.refresh()
        var out: [String: String] = [:]
        for r in try CityMap.load(from: try Data(contentsOf: URL(fileURLWithPath: options.regionsFile))).regionIDs {
            if let l = c.ownership.lease(ofRegion: r) { out[r] = l.address.id }
        }
        return out
    }

    private func waitForBalance(_ c: ClusterClient, regions: [String], live: Set<String>) async throws {
        let until = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < until {
            let owners = try await currentOwners(c)
            let loads = Dictionary(grouping: owners, by: \.value).mapValues(\.count)
            if owners.count == regions.count, Set(loads.keys) == live, (loads.values.max()! - loads.values.min()!) <= 1 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw NodeConfigurationError("the cluster did not settle (all regions owned, balanced over \(live.sorted())) within 60 s")
    }

    /// Calls every region's counter until each answers; returns the ms from the kill to the last first answer.
    private func timeUntilServed(_ c: ClusterClient, regions: [String], since start: ContinuousClock.Instant) async throws -> Double {
        try await withThrowingTaskGroup(of: Double.self) { group in
            for r in regions {
                group.addTask {
                    let until = start + .seconds(60)
                    while ContinuousClock.now < until {
                        if (try? await c.counterState("bench-\(r)", region: r, timeout: .milliseconds(300))) != nil {
                            return ms(since: start)
                        }
                    }
                    throw NodeConfigurationError("region \(r) not served within 60 s of the kill")
                }
            }
            var worst = 0.0
            for try await ms in group { worst = max(worst, ms) }
            return worst
        }
    }

    /// Polls the lease table until every region is owned by one of `live`; ms from the kill.
    private func timeUntilOwned(_ c: ClusterClient, regions: [String], live: Set<String>, since start: ContinuousClock.Instant) async throws -> Double {
        let until = start + .seconds(60)
        while ContinuousClock.now < until {
            let owners = try await currentOwners(c)
            if owners.count == regions.count, owners.values.allSatisfy(live.contains) { return ms(since: start) }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw NodeConfigurationError("regions not owned by live nodes within 60 s of the kill")
    }
}

private func ms(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}
