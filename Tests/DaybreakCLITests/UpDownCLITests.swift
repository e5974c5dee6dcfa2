import Base
import Foundation
import Testing
@testable import DaybreakCLI

/// `daybreak up` / `down` as an operator runs them: real processes, a real PostgreSQL that `up`
/// initialises under a temporary DIR, polling with deadlines (never a fixed sleep as the assertion).
/// Serialized: each test runs a server and nodes, and the machine has two cores.
@Suite(.serialized) struct UpDownCLITests {
    @Test(.timeLimit(.minutes(2)))
    func upServesEveryRegionAndDownStopsEverything() async throws {
        guard try UpRun.serverInstalled() else { return }
        let up = try UpRun.start(["--nodes", "2"])
        try await up.stopAfter {
            let deployment = try await up.waitUntilServing(["n1", "n2"])
            let nodePIDs = UpRun.nodes(deployment).map(\.pid)
            #expect(nodePIDs.count == 2)
            let supervisor = try #require(deployment["supervisor_pid"]?.doubleValue)
            #expect(Int32(supervisor) == up.process.processIdentifier)
            #expect(deployment["schema"]?.stringValue == "daybreak")
            #expect(deployment["database"]?.stringValue?.contains("host=\(up.dir)/pg/socket") == true)
            let postmaster = try #require(up.postmasterPID(), "postmaster.pid of the embedded server")
            // The gateway: on the port after the nodes', its key recorded; `ctl dispatch` goes through it
            // with the deployment's dispatcher key; status shows it alive.
            let gateway = try #require(deployment["gateway"], "deployment.json records the gateway: \(deployment)")
            #expect(gateway["listen"]?.stringValue == "tcp://127.0.0.1:\(up.basePort + 4)")
            #expect(gateway["public_key"]?.stringValue?.count == 40)
            let gatewayPID = Int32(try #require(gateway["pid"]?.doubleValue))
            #expect(FileManager.default.fileExists(atPath: up.dir + "/keys/dispatcher.key"))
            let orders = try await UpRun.eventually("ctl dispatch through the gateway", within: .seconds(60)) { () -> CLIProcess.Result? in
                let r = try await CLIProcess.runOffPool(["ctl", "dispatch", "gangnam", "orders", "--data", up.dir, "--timeout-ms", "5000"])
                // An answer of the region's dispatcher through the gateway: its orders, or that no day is open yet.
                return r.status == 0 || r.stderr.contains("gangnam: region gangnam has no open service day") ? r : nil
            }
            #expect(orders.status != 0 || orders.stdout.hasSuffix("0 orders in gangnam\n"), "\(orders.stdout)")
            let status = try await CLIProcess.runOffPool(["status", "--data", up.dir])
            #expect(status.stdout.contains("gateway gw1  tcp://127.0.0.1:\(up.basePort + 4)") && status.stdout.contains("alive (pid \(gatewayPID))"),
                    "\(status.stdout)")

            let down = try await CLIProcess.runOffPool(["down", "--data", up.dir])
            #expect(down.status == 0, "\(down.stderr)")
            #expect(down.stdout.contains("stopped the deployment in \(up.dir)"), "\(down.stdout)")
            #expect(try await up.exitStatus(within: .seconds(30)) == 0, "up: \(up.stderr)")
            for pid in nodePIDs { #expect(!processIsAlive(pid), "node pid \(pid) still runs") }
            #expect(!processIsAlive(gatewayPID), "gateway pid \(gatewayPID) still runs")
            #expect(!processIsAlive(postmaster), "postmaster \(postmaster) still runs")
            #expect(!FileManager.default.fileExists(atPath: up.dir + "/pg/data/postmaster.pid"), "the server did not shut down cleanly")
            #expect(!FileManager.default.fileExists(atPath: up.dir + "/deployment.json"))
            #expect(!FileManager.default.fileExists(atPath: up.dir + "/up.lock"))
            #expect(up.stdout.contains("stopping n1, n2, gw1: SIGTERM"), "\(up.stdout)")

            let again = try await CLIProcess.runOffPool(["down", "--data", up.dir])
            #expect(again.status == 0)
            #expect(again.stdout.contains("nothing runs in \(up.dir)"), "\(again.stdout)")
        }
    }

    /// A driven deployment from the command line: `up --clock driven` opens every region's days by
    /// itself; `status --json` shows the clock, nodes and each region's day; `ctl clock advance`
    /// moves the clock (and returns when the due work is done), never backwards.
    @Test(.timeLimit(.minutes(3)))
    func aDrivenDeploymentIsInspectedAndItsClockAdvancedFromTheCommandLine() async throws {
        guard try UpRun.serverInstalled() else { return }
        let up = try UpRun.start(["--nodes", "2", "--clock", "driven"])
        try await up.stopAfter {
            _ = try await up.waitUntilServing(["n1", "n2"])
            func json(_ args: [String]) async throws -> JSONValue {
                let r = try await CLIProcess.runOffPool(args + ["--data", up.dir, "--json"])
                guard r.status == 0 else { throw CLITestFailure("\(args): exit \(r.status): \(r.stderr)") }
                return try JSONValue.parse(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            let clock = try await json(["ctl", "clock"])
            #expect(clock["mode"]?.stringValue == "driven")
            let start = try #require(clock["now"]?.stringValue)
            // Every region's owner has opened its operating day by itself.
            let status = try await UpRun.eventually("every region with its service day", within: .seconds(60)) { () -> JSONValue? in
                guard let s = try? await json(["status"]), case .array(let regions)? = s["regions"], regions.count == 6,
                      regions.allSatisfy({ $0["day"]?.stringValue != nil && $0["open_orders"]?.doubleValue == 0 }) else { return nil }
                return s
            }
            #expect(status["clock"]?["mode"]?.stringValue == "driven")
            #expect(status["clock"]?["now"]?.stringValue == start)
            guard case .array(let nodes)? = status["nodes"] else { Issue.record("no nodes"); return }
            #expect(Set(nodes.compactMap { $0["id"]?.stringValue }) == ["n1", "n2"])
            #expect(nodes.allSatisfy { $0["status"]?.stringValue == "up" })
            guard case .array(let regions)? = status["regions"] else { return }
            #expect(regions.allSatisfy { ["n1", "n2"].contains($0["owner"]?.stringValue ?? "") })

            let advanced = try await json(["ctl", "clock", "advance", "--by", "1d"])
            #expect(advanced["from"]?.stringValue == start)
            guard case .array(let done)? = advanced["regions"] else { Issue.record("no regions in \(advanced)"); return }
            #expect(done.count == 6 && done.allSatisfy { $0["error"] == nil }, "\(advanced)")
            let after = try await json(["ctl", "clock"])
            #expect(after["now"]?.stringValue != start)
            let back = try await CLIProcess.runOffPool(["ctl", "clock", "advance", "--to", start, "--data", up.dir])
            #expect(back.status == 65)
            #expect(back.stderr.contains("never runs backwards"), "\(back.stderr)")
            let bad = try await CLIProcess.runOffPool(["ctl", "clock", "advance", "--by", "soon", "--data", up.dir])
            #expect(bad.status == 64)
            #expect(bad.stderr.contains("--by must be a positive duration"), "\(bad.stderr)")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aKilledNodeIsRestartedAndServesAgain() async throws {
        guard try UpRun.serverInstalled() else { return }
        let up = try UpRun.start(["--nodes", "2"])
        try await up.stopAfter {
            let before = try await up.waitUntilServing(["n1", "n2"])
            let victim = try #require(UpRun.nodes(before).first { $0.id == "n1" }?.pid)
            kill(victim, SIGKILL)
            let restarted = try await UpRun.eventually("n1 restarted with a new pid", within: .seconds(30)) { () -> Int32? in
                try up.checkRunning()
                guard let pid = UpRun.nodes(up.deployment()).first(where: { $0.id == "n1" })?.pid,
                      pid != victim, processIsAlive(pid) else { return nil }
                return pid
            }
            // Back in service: n1 up again and owning regions after the rebalance, every region owned.
            _ = try await UpRun.eventually("n1 up and owning regions again", within: .seconds(40)) { () -> Bool? in
                guard let c = try await up.cluster(), UpRun.serving(c, ["n1", "n2"]),
                      c["regions"].map(UpRun.owners)?.contains("n1") == true else { return nil }
                return true
            }
            #expect(up.stdout.contains("node n1 (pid \(victim)) killed by signal 9 (SIGKILL)"), "\(up.stdout)")
            #expect(up.stdout.contains("restarting it in 1.0 s"), "\(up.stdout)")
            #expect(up.stdout.contains("node n1 restarted (pid \(restarted))"), "\(up.stdout)")
            let log = (try? String(contentsOfFile: up.dir + "/logs/n1.log", encoding: .utf8)) ?? ""
            #expect(log.contains("starting n1, restarted after it killed by signal 9 (SIGKILL)"))
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aNodeThatRefusesItsConfigurationStopsTheDeploymentWithItsStatus() async throws {
        guard try UpRun.serverInstalled() else { return }
        let regions = UpRun.temporaryDirectory() + "-regions.json"
        try FileManager.default.copyItem(atPath: try UpPlan.input("Regions/seoul.json", option: "regions"), toPath: regions)
        defer { try? FileManager.default.removeItem(atPath: regions) }
        let up = try UpRun.start(["--nodes", "2", "--regions", regions])
        try await up.stopAfter {
            let deployment = try await up.waitUntilServing(["n1", "n2"])
            let pids = UpRun.nodes(deployment).map(\.pid)
            // The restarted n2 finds its regions file malformed: exit 65 (bad data), which a restart cannot fix.
            try "not a regions file".write(toFile: regions, atomically: true, encoding: .utf8)
            kill(try #require(UpRun.nodes(deployment).first { $0.id == "n2" }?.pid), SIGKILL)
            #expect(try await up.exitStatus(within: .seconds(40)) == 65)
            #expect(up.stderr.contains("node n2 exited with status 65, a configuration error: not restarting it"), "\(up.stderr)")
            #expect(up.stderr.contains("daybreak node: \(regions): regions file: (file): not valid JSON"), "\(up.stderr)")
            for pid in pids { #expect(!processIsAlive(pid), "node pid \(pid) still runs") }
            #expect(!FileManager.default.fileExists(atPath: up.dir + "/pg/data/postmaster.pid"))
            #expect(!FileManager.default.fileExists(atPath: up.dir + "/deployment.json"))
            #expect(!FileManager.default.fileExists(atPath: up.dir + "/up.lock"))
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aSecondUpOnTheSameDirectoryIsRefusedNamingTheRunningOne() async throws {
        guard try UpRun.serverInstalled() else { return }
        let up = try UpRun.start(["--nodes", "1"])
        try await up.stopAfter {
            let first = try await UpRun.eventually("deployment.json written", within: .seconds(40)) { () -> JSONValue? in
                try up.checkRunning()
                return up.deployment()
            }
            // Another base port: the lock must refuse it, not a taken port.
            let second = try await CLIProcess.runOffPool(["up", "--nodes", "1", "--data", up.dir, "--base-port", String(up.basePort + 100)])
            #expect(second.status == 69)
            #expect(second.stderr.contains("\(up.dir) is in use by another `daybreak up` (supervisor pid \(up.process.processIdentifier))"),
                    "\(second.stderr)")
            #expect(second.stderr.contains("daybreak down --data \(up.dir)"))
            #expect(up.process.isRunning)
            #expect(up.deployment() == first, "the refused up changed nothing")
        }
    }

    @Test(arguments: [
        (["--nodes", "0"], 64, "option '--nodes' must be in 1...64, got 0"),
        (["--clock", "sometimes"], 64, "option '--clock' must be one of wall|driven, got 'sometimes'"),
        (["--base-port", "80"], 64, "option '--base-port' must be in"),
        (["--regions", "/nonexistent/regions.json"], 66, "--regions /nonexistent/regions.json: no such file"),
        (["--regions", "Package.swift"], 65, "Package.swift: regions file"),
        (["--operations", "/nonexistent/operations.json"], 66, "--operations /nonexistent/operations.json: no such file"),
    ])
    func badArgumentsNameTheOptionAndStartNothing(_ args: [String], _ status: Int32, _ message: String) throws {
        let dir = UpRun.temporaryDirectory()
        let r = try CLIProcess.run(["up", "--data", dir] + args)
        #expect(r.status == status, "\(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir), "nothing is created before the arguments are checked")
    }

    @Test func downWithNothingRunningSaysSoAndExitsZero() throws {
        let dir = UpRun.temporaryDirectory()
        let r = try CLIProcess.run(["down", "--data", dir])
        #expect(r.status == 0)
        #expect(r.stdout.contains("nothing runs in \(dir)"))
    }

    @Test func ctlFindsNoDeploymentOrAMalformedOneAndSaysWhere() throws {
        let dir = UpRun.temporaryDirectory()
        let missing = try CLIProcess.run(["ctl", "cluster", "--data", dir])
        #expect(missing.status == 66)
        #expect(missing.stderr.contains("no deployment in \(dir)"), "\(missing.stderr)")

        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/deployment.json"
        try #"{"supervisor_pid":1,"database":"host=/x","schema":"daybreak","regions":"/r","nodes":[{"id":"n1","listen":"l","events":"e","pid":"x","log":"l"}],"started_at":"t"}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        let malformed = try CLIProcess.run(["ctl", "cluster", "--data", dir])
        #expect(malformed.status == 65)
        #expect(malformed.stderr.contains("\(file): field 'nodes[0].pid' is missing or not a positive process id"), "\(malformed.stderr)")
    }

    // MARK: Pure parts

    @Test func restartsBackOffFromOneSecondDoublingToThirtyAndResetAfterAHealthyMinute() {
        var policy = NodeRestartPolicy()
        let quick = Duration.seconds(2)
        let delays = (0 ..< 7).map { _ in policy.exited(.signal(SIGKILL), ranFor: quick) }
        #expect(delays == [1, 2, 4, 8, 16, 30, 30].map { .restart(after: .seconds($0)) })
        #expect(policy.exited(.status(1), ranFor: .seconds(60)) == .restart(after: .seconds(1)))
        #expect(policy.exited(.status(69), ranFor: quick) == .restart(after: .seconds(2)))
        #expect(policy.exited(.status(0), ranFor: quick) == .restart(after: .seconds(4)))
    }

    @Test(arguments: [Int32(64), 65, 66])
    func aConfigurationErrorStopsTheDeploymentWithItsStatus(_ status: Int32) {
        var policy = NodeRestartPolicy()
        #expect(policy.exited(.status(status), ranFor: .seconds(1)) == .stopDeployment(status: status))
        #expect(policy.exited(.signal(status), ranFor: .seconds(1)) == .restart(after: .seconds(1)), "a signal is never a configuration error")
    }

    @Test func theDeploymentFileRoundTripsAndNamesAMissingField() throws {
        let dir = UpRun.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = Deployment(supervisorPID: 42, database: "host=/s port=5439 user=postgres dbname=postgres", schema: "daybreak", clock: "driven",
                           regions: "/r/seoul.json", operations: nil,
                           nodes: [Deployment.Node(id: "n1", listen: "tcp://127.0.0.1:7101", events: "tcp://127.0.0.1:7102", pid: 7, log: "/l/n1.log")],
                           startedAt: "2026-12-07T10:00:00Z")
        try d.write(dataDir: dir)
        #expect(try Deployment.read(dataDir: dir) == d)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["deployment.json"], "no temporary file left")
        var json = d.json
        if case .object(var fields) = json { fields.removeAll { $0.0 == "schema" }; json = .object(fields) }
        do {
            _ = try Deployment(json: json, file: "f.json")
            Issue.record("a deployment without a schema was accepted")
        } catch {
            #expect(error.message == "f.json: field 'schema' is missing or not a string")
            #expect(error.status == 65)
        }
    }
}

/// One `daybreak up` child process on a temporary DIR, with its output in files.
struct UpRun: Sendable {
    let dir: String
    let basePort: Int
    let process: Process
    private let out: String
    private let err: String

    var stdout: String { (try? String(contentsOfFile: out, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: err, encoding: .utf8)) ?? "" }

    /// Whether the PostgreSQL server binaries `up` runs are installed; without them the tests skip,
    /// unless DAYBREAK_TEST_REQUIRE_POSTGRES=1 (Tools/test), where that is a failure.
    static func serverInstalled() throws -> Bool {
        let base = "/usr/lib/postgresql"
        let found = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [])
            .contains { FileManager.default.isExecutableFile(atPath: "\(base)/\($0)/bin/initdb") }
        if !found && ProcessInfo.processInfo.environment["DAYBREAK_TEST_REQUIRE_POSTGRES"] == "1" {
            throw CLITestFailure("DAYBREAK_TEST_REQUIRE_POSTGRES=1 but no PostgreSQL server under \(base)/*/bin (run Tools/setup)")
        }
        return found
    }

    /// A fresh path under /tmp, short (the server's socket lives inside) and reachable by the `postgres` user.
    static func temporaryDirectory() -> String {
        "/tmp/dbup-" + String(UInt32.random(in: 0 ... .max), radix: 16)
    }

    static func start(_ arguments: [String]) throws -> UpRun {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let basePort = 21_000 + 10 * Int.random(in: 0 ..< 800)
        let out = dir + ".stdout", err = dir + ".stderr"
        for f in [out, err] { _ = FileManager.default.createFile(atPath: f, contents: nil) }
        let p = Process()
        p.executableURL = CLIProcess.binary
        p.arguments = ["up", "--data", dir, "--base-port", String(basePort)] + arguments
        p.standardOutput = FileHandle(forWritingAtPath: out)
        p.standardError = FileHandle(forWritingAtPath: err)
        try p.run()
        return UpRun(dir: dir, basePort: basePort, process: p, out: out, err: err)
    }

    /// Runs `body`, then stops whatever still runs (down, then SIGKILL) and removes the files.
    func stopAfter(_ body: () async throws -> Void) async throws {
        do { try await body() } catch {
            await cleanUp()
            throw error
        }
        await cleanUp()
    }

    private func cleanUp() async {
        if process.isRunning || FileManager.default.fileExists(atPath: dir + "/deployment.json") {
            _ = try? await CLIProcess.runOffPool(["down", "--data", dir, "--timeout-s", "30"])
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for path in [dir, out, err] { try? FileManager.default.removeItem(atPath: path) }
    }

    func checkRunning() throws {
        guard process.isRunning else {
            throw CLITestFailure("daybreak up exited with \(process.terminationStatus):\n\(stderr)\n\(stdout)")
        }
    }

    func deployment() -> JSONValue? {
        guard let text = try? String(contentsOfFile: dir + "/deployment.json", encoding: .utf8) else { return nil }
        return try? JSONValue.parse(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// `daybreak ctl cluster --data DIR --json`, nil when it fails (e.g. the schema is not there yet).
    func cluster() async throws -> JSONValue? {
        let r = try await CLIProcess.runOffPool(["ctl", "cluster", "--data", dir, "--json"])
        guard r.status == 0 else { return nil }
        return try? JSONValue.parse(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Waits until deployment.json lists `ids` and `ctl cluster` shows them up with every region owned.
    func waitUntilServing(_ ids: [String]) async throws -> JSONValue {
        try await Self.eventually("\(ids.joined(separator: ", ")) up with every region owned", within: .seconds(50)) { () -> JSONValue? in
            try checkRunning()
            guard let d = deployment(), Self.nodes(d).map(\.id) == ids,
                  let c = try await cluster(), Self.serving(c, ids) else { return nil }
            return d
        }
    }

    func postmasterPID() -> Int32? {
        guard let text = try? String(contentsOfFile: dir + "/pg/data/postmaster.pid", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.flatMap { Int32($0) }
    }

    /// The exit status of `up`, waiting at most `within`.
    func exitStatus(within: Duration) async throws -> Int32 {
        try await Self.eventually("daybreak up exits", within: within) { process.isRunning ? nil : process.terminationStatus }
    }

    /// The nodes a deployment file lists.
    static func nodes(_ deployment: JSONValue?) -> [(id: String, pid: Int32)] {
        guard case .array(let list)? = deployment?["nodes"] else { return [] }
        return list.compactMap { n in
            guard let id = n["id"]?.stringValue, let pid = n["pid"]?.doubleValue else { return nil }
            return (id, Int32(pid))
        }
    }

    static func owners(_ regions: JSONValue) -> [String] {
        guard case .array(let list) = regions else { return [] }
        return list.compactMap { $0["owner"]?.stringValue }
    }

    /// Every node of `ids` up, at least one region, and every region owned by one of them.
    static func serving(_ cluster: JSONValue, _ ids: [String]) -> Bool {
        guard case .array(let nodes)? = cluster["nodes"], case .array(let regions)? = cluster["regions"], !regions.isEmpty else { return false }
        let up = Set(nodes.filter { $0["status"]?.stringValue == "up" }.compactMap { $0["id"]?.stringValue })
        return Set(ids).isSubset(of: up) && regions.allSatisfy { $0["owner"]?.stringValue.map(ids.contains) == true }
    }

    /// Polls `probe` every 200 ms until it returns a value; fails naming `what` after `within`.
    static func eventually<T>(_ what: String, within: Duration, _ probe: () async throws -> T?) async throws -> T {
        let until = ContinuousClock.now + within
        while true {
            if let v = try await probe() { return v }
            if ContinuousClock.now >= until { throw CLITestFailure("\(what): not within \(within)") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
