import Base
import Foundation
import Messaging
import Storage
import Testing
@testable import Cluster

/// The suites that start `daybreak node` processes, run one test at a time (nested suites inherit
/// `.serialized`), so at most three node processes compete for the CPU with the rest of the tests.
@Suite(.serialized) enum NodeProcessSuites {}

/// A `daybreak node` child process (the built binary next to the test bundle), its stderr in a file.
final class NodeProcess: @unchecked Sendable {
    // Invariant: `process` is only started in init and then only signalled/read (Process is thread-safe for that).
    let id: String
    let process: Process
    let log: URL

    static var binary: URL? {
        if let explicit = ProcessInfo.processInfo.environment["DAYBREAK_BIN"] { return URL(fileURLWithPath: explicit) }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("daybreak")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    static var regionsFile: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Regions/seoul.json").path
    }

    init(id: String, schema: String, heartbeatMs: Int, ttlMs: Int, extra: [String] = []) throws {
        guard let binary = Self.binary else { throw HarnessError("the daybreak binary is not built next to the tests (swift build)") }
        self.id = id
        log = FileManager.default.temporaryDirectory.appendingPathComponent("daybreak-\(schema)-\(id)-\(UInt32.random(in: 0 ... .max)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process = Process()
        process.executableURL = binary
        process.arguments = ["node", "--id", id, "--listen", "tcp://127.0.0.1:*", "--regions", Self.regionsFile,
                             "--schema", schema, "--heartbeat-ms", String(heartbeatMs), "--ttl-ms", String(ttlMs),
                             // The cluster alone: no service days of the domain opened by themselves; the
                             // demo counter is the journaled actor these tests call (unless `extra` says
                             // `--no-demo-counter`, which this harness strips: a production node).
                             "--operations", "none", "--insecure"] + (extra.contains("--no-demo-counter") ? [] : ["--demo-counter"])
                             + extra.filter { $0 != "--no-demo-counter" }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    func signal(_ sig: Int32) { _ = kill(pid, sig) }
    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Waits for the process to end; nil if it is still running at the deadline.
    func waitForExit(within timeout: Duration) async -> Int32? {
        let until = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= until { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A cluster of node processes on a fresh schema, a client, and a connection for checks.
/// Timings are short so the suite stays quick: heartbeat 250 ms, TTL 2 s (lease 3 s).
struct NodeCluster {
    static let heartbeatMs = 250
    static let ttlMs = 2_000
    let schema: String
    let database: PostgresConfiguration
    let connection: PostgresConnection
    let client: ClusterClient
    var nodes: [String: NodeProcess] = [:]

    /// Runs `body` with `ids` started; kills every process and drops the schema afterwards.
    /// Without a server: skip with a note, or fail under DAYBREAK_TEST_REQUIRE_POSTGRES=1.
    static func with(_ ids: [String], extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: (inout NodeCluster) async throws -> Void) async throws {
        let schema = "t_node_\(UInt32.random(in: 0 ... .max))_\(ProcessInfo.processInfo.processIdentifier)"
        let database = PostgresConfiguration("", applicationName: "daybreak-node-tests").withSearchPath(schema)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(PostgresConfiguration("", applicationName: "daybreak-node-tests"),
                                                              logger: ClusterTestDatabase.logger)
        } catch {
            if ClusterTestDatabase.required { Issue.record("PostgreSQL required but unreachable: \(error)", sourceLocation: sourceLocation) }
            else { print("note: skipping a multi-process node test, PostgreSQL unreachable: \(error.message)") }
            return
        }
        let migrations = ClusterSchema.migrations.map { Migration(Int64($0.version), $0.name, sql: $0.sql) }
        _ = try await Migrator(migrations, schema: schema, logger: ClusterTestDatabase.logger).migrate(connection)
        try await connection.executeScript("SET search_path TO \(schema)", purpose: "use test schema")
        let client = try await ClusterClient(database: database, logger: ClusterTestDatabase.logger)
        var cluster = NodeCluster(schema: schema, database: database, connection: connection, client: client)
        var failure: (any Error)?
        do {
            for id in ids { try cluster.start(id, extra: extra) }
            try await body(&cluster)
        } catch { failure = error }
        for n in cluster.nodes.values {
            n.signal(SIGKILL)
            _ = await n.waitForExit(within: .seconds(5))
        }
        if failure != nil {
            for n in cluster.nodes.values.sorted(by: { $0.id < $1.id }) {
                print("---- log of \(n.id) ----\n" + n.logText.split(separator: "\n").suffix(40).joined(separator: "\n"))
            }
        }
        for n in cluster.nodes.values { try? FileManager.default.removeItem(at: n.log) }
        await client.close()
        _ = try? await connection.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE", purpose: "drop test schema")
        await connection.close()
        if let failure { throw failure }
    }

    mutating func start(_ id: String, extra: [String] = []) throws {
        nodes[id] = try NodeProcess(id: id, schema: schema, heartbeatMs: Self.heartbeatMs, ttlMs: Self.ttlMs, extra: extra)
    }

    /// Held leases: region → (owner, token), as the database sees them now.
    func owners() async throws -> [String: (owner: String, token: Int64)] {
        let rows = try await connection.query("SELECT region, owner, token FROM region_leases WHERE owner IS NOT NULL AND expires_at > now()",
                                              purpose: "owners")
        var out: [String: (owner: String, token: Int64)] = [:]
        for r in rows { out[try r.decode(0, as: String.self)] = (try r.decode(1, as: String.self), try r.decode(2, as: Int64.self)) }
        return out
    }

    func aliveNodes() async throws -> Set<String> {
        let rows = try await connection.query("SELECT id FROM cluster_nodes WHERE status = 'alive'", purpose: "alive")
        return Set(try rows.map { try $0.decode(0, as: String.self) })
    }

    static let regions = ["central", "east", "gangnam", "northeast", "south", "southwest"]

    /// Polls `condition` until it holds or `timeout` passes; returns the time it took.
    @discardableResult
    func waitUntil(_ what: String, within timeout: Duration, _ condition: () async throws -> Bool) async throws -> Duration {
        let start = ContinuousClock.now
        while true {
            if try await condition() { return .now - start }
            if ContinuousClock.now - start >= timeout { throw HarnessError("timed out after \(timeout) waiting for: \(what)") }
            try await Task.sleep(for: .milliseconds(25))
        }
    }

    /// Every region held by one of `live`, each of them holding at least one (balanced: 6 over n).
    @discardableResult
    func waitForBalance(over live: Set<String>, within timeout: Duration = .seconds(10)) async throws -> Duration {
        try await waitUntil("all 6 regions owned by \(live.sorted()) and balanced", within: timeout) {
            let o = try await owners()
            guard Set(o.keys) == Set(Self.regions), o.values.allSatisfy({ live.contains($0.owner) }) else { return false }
            let loads = Dictionary(grouping: o.values, by: \.owner).mapValues(\.count)
            return loads.count == live.count && (loads.values.max()! - loads.values.min()!) <= 1
        }
    }

    /// Every idempotency key in the journal with its number of events.
    func journalKeys() async throws -> [String: Int] {
        let rows = try await connection.query("SELECT idempotency_key, count(*) FROM actor_events WHERE idempotency_key IS NOT NULL GROUP BY 1",
                                              purpose: "journal keys")
        var out: [String: Int] = [:]
        for r in rows { out[try r.decode(0, as: String.self)] = Int(try r.decode(1, as: Int64.self)) }
        return out
    }
}
