import Base
import Foundation
import Storage
import Testing
@testable import Cluster

/// `daybreak ctl cluster --json` and `daybreak ctl call` against node processes.
extension NodeProcessSuites {
    @Suite struct NodeCtlTests {
        static func ctl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            let p = Process()
            p.executableURL = NodeProcess.binary
            p.arguments = arguments
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let o = out.fileHandleForReading.readDataToEndOfFile()
            let e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
        }

        @Test func ctlClusterPrintsOneJSONObjectAndCtlCallReachesTheOwner() async throws {
            try await NodeCluster.with(["n1", "n2"]) { cluster in
                try await cluster.waitForBalance(over: ["n1", "n2"])
                let r = try Self.ctl(["ctl", "cluster", "--schema", cluster.schema, "--json"])
                #expect(r.status == 0, "\(r.stderr)")
                let lines = r.stdout.split(separator: "\n")
                #expect(lines.count == 1)
                let json = try JSONValue.parse(String(lines[0]))
                guard case .array(let nodes)? = json["nodes"], case .array(let regions)? = json["regions"] else {
                    Issue.record("no nodes/regions arrays: \(r.stdout)")
                    return
                }
                #expect(Set(nodes.compactMap { $0["id"]?.stringValue }) == ["n1", "n2"])
                for n in nodes {
                    #expect(n["status"]?.stringValue == "up")
                    #expect(n["endpoint"]?.stringValue?.hasPrefix("tcp://127.0.0.1:") == true)
                    #expect(n["last_heartbeat"]?.stringValue != nil)
                }
                #expect(regions.count == 6)
                for g in regions {
                    #expect(["n1", "n2"].contains(g["owner"]?.stringValue ?? ""))
                    if case .int(let t)? = g["token"] { #expect(t >= 1) } else { Issue.record("token is not an integer: \(g)") }
                }

                let add = try Self.ctl(["ctl", "call", "--schema", cluster.schema, "--actor", "counter/x@gangnam", "--command", "add:4", "--key", "once"])
                #expect(add.status == 0, "\(add.stderr)")
                #expect(try JSONValue.parse(add.stdout.trimmingCharacters(in: .whitespacesAndNewlines))["seq"] == .int(1))
                _ = try Self.ctl(["ctl", "call", "--schema", cluster.schema, "--actor", "counter/x@gangnam", "--command", "add:4", "--key", "once"])
                let state = try Self.ctl(["ctl", "call", "--schema", cluster.schema, "--actor", "counter/x@gangnam", "--command", "state"])
                let s = try JSONValue.parse(state.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
                #expect(s["total"] == .int(4) && s["applied"] == .int(1))
                let bad = try Self.ctl(["ctl", "call", "--schema", cluster.schema, "--actor", "nonsense", "--command", "state"])
                #expect(bad.status == 64)
            }
        }

        /// A production node (no --demo-counter) hosts only the domain's actor kinds: a call to the
        /// demo counter is refused as an unknown actor, and no counter is journaled.
        @Test func aProductionNodeDoesNotHostTheDemoCounter() async throws {
            try await NodeCluster.with(["n1"], extra: ["--no-demo-counter"]) { cluster in
                try await cluster.waitForBalance(over: ["n1"])
                let r = try Self.ctl(["ctl", "call", "--schema", cluster.schema, "--actor", "counter/x@gangnam", "--command", "add:1"])
                #expect(r.status != 0, "\(r.stdout)")
                #expect(r.stderr.contains("counter"), "\(r.stderr)")
                let rows = try await cluster.connection.query("SELECT count(*) FROM actor_events WHERE actor_kind = 'counter'", [], purpose: "counter events")
                #expect(try rows[0].decode(0, as: Int64.self) == 0)
            }
        }

        @Test func nodeReportsUsageAndStartFailuresWithTheirExitStatus() throws {
            guard NodeProcess.binary != nil else { Issue.record("daybreak binary not built"); return }
            let regions = NodeProcess.regionsFile
            #expect(try Self.ctl(["node", "--listen", "tcp://127.0.0.1:*", "--regions", regions]).status == 64)
            #expect(try Self.ctl(["node", "--id", "n1", "--listen", "tcp://127.0.0.1:*", "--regions", regions, "--ttl-ms", "500", "--heartbeat-ms", "400"]).status == 64)
            #expect(try Self.ctl(["node", "--id", "n1", "--listen", "tcp://127.0.0.1:*", "--regions", "/nonexistent.json"]).status == 66)
            let down = try Self.ctl(["node", "--id", "n1", "--listen", "tcp://127.0.0.1:*", "--regions", regions,
                                     "--database", "host=/nonexistent-daybreak-socket-dir port=1", "--insecure"])
            #expect(down.status == 69, "\(down.stderr)")
        }

        /// A node id the database's CHECK (octet_length(id) <= 255) would refuse, or one with a control
        /// character, is refused by the command line (64, naming --id and the limit) before migrations
        /// run: the schema the node would have created does not exist afterwards.
        @Test(arguments: [String(repeating: "n", count: NodeID.maxBytes + 1), "n\u{1B}]0;pwned\u{7}"])
        func nodeIDsTheDatabaseWouldRefuseAreRefusedBeforeMigrations(_ id: String) async throws {
            guard NodeProcess.binary != nil else { Issue.record("daybreak binary not built"); return }
            let c: PostgresConnection
            do { c = try await PostgresConnection.connect(PostgresConfiguration(""), logger: ClusterTestDatabase.logger) } catch {
                if ClusterTestDatabase.required { Issue.record("PostgreSQL required but unreachable: \(error)") }
                return
            }
            let schema = "t_nodeid_\(UInt32.random(in: 0 ... .max))"
            let r = try await Self.ctlOffPool(["node", "--id", id, "--listen", "tcp://127.0.0.1:*", "--regions", NodeProcess.regionsFile,
                                               "--operations", "none", "--insecure", "--schema", schema])
            let created = try await c.query("SELECT count(*) FROM pg_namespace WHERE nspname = $1", [schema], purpose: "schema exists")[0]
                .decode(0, as: Int64.self)
            _ = try? await c.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE", purpose: "drop")
            await c.close()
            #expect(r.status == 64, "\(r.stderr)")
            #expect(r.stderr.contains("--id"), "\(r.stderr)")
            #expect(id.count < 256 || r.stderr.contains("the limit is 255 bytes"), "\(r.stderr)")
            #expect(!r.stderr.contains("\u{1B}") && !r.stderr.contains("check constraint"), "\(r.stderr)")
            #expect(created == 0, "the node ran its migrations")
        }

        /// `ctl` on a thread of its own, so an async test does not hold a pool thread while the child runs.
        static func ctlOffPool(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
            try await withCheckedThrowingContinuation { (k: CheckedContinuation<(status: Int32, stdout: String, stderr: String), any Error>) in
                Thread { k.resume(with: Swift.Result { try ctl(arguments) }) }.start()
            }
        }
    }
}
