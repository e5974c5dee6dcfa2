import Base
import Foundation
import Cluster
import Storage
import DaybreakNode
import Messaging
import Geo

// `daybreak up`: a whole local deployment in one command, supervised in the foreground (like
// `docker compose up`): an embedded PostgreSQL under DIR/pg, then K `daybreak node` processes with
// fixed ports and one edge gateway (`daybreak gateway`) after them, restarted with backoff when they die. Ctrl-C, SIGTERM or `daybreak down` stop it.
let upCommand = Command(
    name: "up",
    summary: "Start a local deployment (embedded PostgreSQL + K supervised nodes) and keep it running in the foreground.",
    usage: """
        [--nodes K] [--data DIR] [--clock wall|driven] [--regions FILE] [--operations FILE] [--base-port N] [--foreground]

        Runs in the foreground until Ctrl-C, SIGTERM or `daybreak down --data DIR`; then every node leaves
        gracefully (SIGKILL after 20 s), PostgreSQL stops, and DIR/deployment.json and DIR/up.lock are removed.
        Node i (1-based) listens on 127.0.0.1:BASE+2(i-1) (calls) and BASE+2(i-1)+1 (events); the edge gateway
        on the next port, BASE+2K (its key DIR/keys/gateway.key; a dispatcher's key for `ctl dispatch`,
        dispatcher:<user> with scope *, in DIR/keys/dispatcher.key). The gateway is supervised like the nodes.
        A node that dies is restarted after 1 s, doubling to 30 s (reset after 60 s of running); one that
        exits 64, 65 or 66 (a configuration error) stops the whole deployment with its status.

        exit status:
          0   stopped on request
          64  bad command line, or a node refused its configuration (64)
          65  malformed regions file, or a node refused its input data (65)
          66  missing regions/operations file, DIR cannot be created, or a node found an input missing (66)
          69  DIR is in use by another `daybreak up` (its pid is named), a port is taken, or PostgreSQL cannot start
          70  internal error
        """,
    options: [
        .value("nodes", "K", "node processes n1..nK (default 3)"),
        .value("data", "DIR", "deployment directory: pg/, logs/, deployment.json, up.lock (default .daybreak)"),
        .value("clock", "wall|driven", "the deployment's clock, passed to every node as --clock (default wall: real time)"),
        .value("regions", "FILE", "city file the nodes serve (default Regions/seoul.json)"),
        .value("operations", "FILE", "fleets, shifts, stores and product terms, passed to every node (default: <regions>-operations.json beside the regions file)"),
        .value("base-port", "N", "first TCP port on 127.0.0.1; each node takes two, the gateway the next one (default 7101)"),
        .flag("foreground", "run in the foreground (the default and only mode)"),
    ]
) { args in
    let plan: UpPlan
    do { plan = try UpPlan(args) } catch let f as CommandFailure {
        printErr("daybreak up: \(f.message)")
        return f.status
    }
    return await Up(plan).run()
}

/// What `up` was asked to do, validated before anything is created or started.
struct UpPlan: Sendable {
    struct Node: Sendable {
        var id: String
        var listenPort: Int
        var eventsPort: Int
        var log: String
        /// The edge gateway (`daybreak gateway --name ID`), not a node.
        var isGateway = false
        var listen: String { "tcp://127.0.0.1:\(listenPort)" }
        /// How progress lines name it: "node n1", "gateway gw1".
        var label: String { (isGateway ? "gateway " : "node ") + id }
        var events: String { "tcp://127.0.0.1:\(eventsPort)" }
    }

    var dataDir: String
    var clock: String?
    var regions: String
    var operations: String?
    var schema = "daybreak"
    var nodes: [Node]
    /// The edge gateway (nil without an operations file: a gateway needs one).
    var gateway: Node?
    /// This executable, which the nodes run.
    var executable: String

    var logsDir: String { dataDir + "/logs" }

    /// Usage mistakes throw `UsageError` (64); a missing or malformed input file throws `CommandFailure` (66/65).
    init(_ args: ParsedArguments) throws {
        let count = try args.int("nodes", default: 3, range: 1 ... 64)
        clock = try args.choice("clock", ["wall", "driven"], default: "wall")
        let base = try args.int("base-port", default: 7101, range: 1024 ... 65536 - 2 * count - 1)
        dataDir = Deployment.absolute(args.string("data", default: Deployment.defaultDataDir))
        if let d = args.string("data"), d.isEmpty { throw UsageError("option '--data' needs a directory, got ''") }

        let regionsFile = try Self.input(args.string("regions", default: "Regions/seoul.json"), option: "regions")
        do { _ = try CityMap.load(from: try Self.contents(regionsFile, option: "regions")) } catch let e as RegionFileError {
            throw CommandFailure(message: "--regions \(regionsFile): \(CityRegionsFileError(e))", status: ExitStatus.dataError)
        }
        regions = regionsFile
        if let o = args.string("operations") {
            let file = try Self.input(o, option: "operations")
            _ = try Self.contents(file, option: "operations")
            operations = file
        } else {
            operations = defaultOperationsFile(besides: regionsFile)
        }
        let logs = dataDir + "/logs"
        nodes = (1 ... count).map { i in
            Node(id: "n\(i)", listenPort: base + 2 * (i - 1), eventsPort: base + 2 * (i - 1) + 1, log: "\(logs)/n\(i).log")
        }
        gateway = operations == nil ? nil
            : Node(id: "gw1", listenPort: base + 2 * count, eventsPort: 0, log: "\(logs)/gateway.log", isGateway: true)
        let a0 = CommandLine.arguments[0]
        executable = a0.contains("/") ? URL(fileURLWithPath: a0).resolvingSymlinksInPath().path
                                      : (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? a0
    }

    /// The command line of `daybreak node` for `node` against the server at `database`.
    func arguments(_ node: Node, database: String) -> [String] {
        if node.isGateway {
            return ["gateway", "--name", node.id, "--listen", node.listen, "--secret-key", keyFile("gateway"), "--regions", regions,
                    "--database", database, "--schema", schema] + (operations.map { ["--operations", $0] } ?? [])
        }
        var a = ["node", "--id", node.id, "--listen", node.listen, "--events", node.events, "--regions", regions,
                 "--database", database, "--schema", schema]
        if let clock { a += ["--clock", clock] }
        if let operations { a += ["--operations", operations] }
        a += ["--key", keyFile(node.id)]
        return a
    }

    /// DIR/keys: one secret key per node, the operator's (what `ctl`, `status` and `down` use), the
    /// gateway's and a dispatcher's (what `ctl dispatch` presents to the gateway).
    var keysDir: String { dataDir + "/keys" }
    func keyFile(_ name: String) -> String { keysDir + "/" + name + ".key" }

    /// Makes the keys that are missing (kept across restarts: a node keeps its key) and returns the
    /// operator's pair. Secrets are written 0600 in a 0700 directory.
    func ensureKeys() throws -> CurveKeyPair {
        try FileManager.default.createDirectory(atPath: keysDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for name in nodes.map(\.id) + ["operator", "gateway", "dispatcher"] where !FileManager.default.fileExists(atPath: keyFile(name)) {
            let pair = try CurveKeyPair.generate()
            try CurveKeyFile.writeSecret(pair, to: keyFile(name))
            try CurveKeyFile.writePublic(pair.publicKey, to: keyFile(name) + ".pub", overwrite: true)
        }
        return try CurveKeyFile.readSecret(from: keyFile("operator"))
    }

    /// An input file as an absolute path: relative to the current directory, else to the directories
    /// above the executable (`.build/debug/daybreak` → the repository), so the defaults work from anywhere.
    static func input(_ path: String, option: String) throws(CommandFailure) -> String {
        var candidates = [URL(fileURLWithPath: path).standardizedFileURL.path]
        if !path.hasPrefix("/") {
            var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            for _ in 0 ..< 4 {
                dir = dir.deletingLastPathComponent()
                candidates.append(dir.appendingPathComponent(path).standardizedFileURL.path)
            }
        }
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw CommandFailure(message: "--\(option) \(path): no such file", status: ExitStatus.noInput)
        }
        return found
    }

    static func contents(_ path: String, option: String) throws(CommandFailure) -> Data {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
              let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure(message: "--\(option) \(path): cannot be read", status: ExitStatus.noInput)
        }
        return data
    }
}

/// How a node process ended.
enum NodeExit: Equatable, Sendable, CustomStringConvertible {
    case status(Int32)
    case signal(Int32)

    var description: String {
        switch self {
        case .status(let s): return "exited with status \(s)"
        case .signal(let s):
            let names: [Int32: String] = [SIGKILL: "SIGKILL", SIGTERM: "SIGTERM", SIGINT: "SIGINT", SIGSEGV: "SIGSEGV",
                                          SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP", SIGQUIT: "SIGQUIT"]
            return "killed by signal \(s)" + (names[s].map { " (\($0))" } ?? "")
        }
    }
}

/// When to restart a node that ended while the deployment runs (pure: the supervisor passes how long
/// it ran). Configuration errors (64, 65, 66) stop the deployment: restarting cannot fix them. Anything
/// else restarts after 1 s, doubling to 30 s; a node that ran 60 s or more starts again from 1 s.
struct NodeRestartPolicy: Sendable, Equatable {
    static let firstDelay = Duration.seconds(1)
    static let maxDelay = Duration.seconds(30)
    static let healthyAfter = Duration.seconds(60)
    static let configurationErrors: Set<Int32> = [ExitStatus.usage, ExitStatus.dataError, ExitStatus.noInput]

    enum Decision: Equatable, Sendable {
        case restart(after: Duration)
        case stopDeployment(status: Int32)
    }

    private(set) var nextDelay = firstDelay

    mutating func exited(_ exit: NodeExit, ranFor: Duration) -> Decision {
        if case .status(let s) = exit, Self.configurationErrors.contains(s) { return .stopDeployment(status: s) }
        if ranFor >= Self.healthyAfter { nextDelay = Self.firstDelay }
        let delay = nextDelay
        nextDelay = min(nextDelay * 2, Self.maxDelay)
        return .restart(after: delay)
    }
}

/// A progress line of `daybreak up` (the supervisor's own log) or `down`, on stdout and unbuffered
/// (stdout may be a pipe or a file that someone follows).
func say(_ line: String, command: String = "up") {
    FileHandle.standardOutput.write(Data(("daybreak \(command): " + line + "\n").utf8))
}

/// The `up` command's run: lock, checks, then the supervisor under the signal watcher, then the stop.
struct Up {
    let plan: UpPlan
    init(_ plan: UpPlan) { self.plan = plan }

    func run() async -> Int32 {
        do {
            return try await runLocked()
        } catch let f as CommandFailure {
            printErr("daybreak up: \(f.message)")
            return f.status
        } catch {
            printErr("daybreak up: \(error)")
            return ExitStatus.software
        }
    }

    private func runLocked() async throws -> Int32 {
        for dir in [plan.dataDir, plan.logsDir] {
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw CommandFailure(message: "--data: cannot create \(dir): \(error.localizedDescription)", status: ExitStatus.noInput)
            }
        }
        let lock: DeploymentLock
        switch try DeploymentLock.acquire(dataDir: plan.dataDir) {
        case .held(let pid):
            throw CommandFailure(message: "\(plan.dataDir) is in use by another `daybreak up`\(pid.map { " (supervisor pid \($0))" } ?? ""); "
                                 + "stop it with `daybreak down --data \(plan.dataDir)` or pick another --data",
                                 status: ExitStatus.unavailable)
        case .acquired(let l, let previous):
            lock = l
            if let previous {
                say("taking over \(plan.dataDir) from supervisor pid \(previous), which is no longer running")
            }
        }
        defer { lock.release() }
        // A supervisor that was killed leaves its nodes running: they hold the ports and answer for the regions.
        if let stale = try? Deployment.read(dataDir: plan.dataDir) {
            for line in await stopLeftoverGateway(stale.gateway, grace: .seconds(5)) { say(line) }
            for line in await stopLeftoverNodes(stale.nodes, grace: .seconds(20)) { say(line) }
            Deployment.remove(dataDir: plan.dataDir)
        }
        for node in plan.nodes + (plan.gateway.map { [$0] } ?? []) {
            let ports = node.isGateway ? [(node.listenPort, "edge")] : [(node.listenPort, "calls"), (node.eventsPort, "events")]
            for (port, role) in ports where !portIsFree(port) {
                throw CommandFailure(message: "port \(port) on 127.0.0.1 (\(node.id) \(role)) is in use: stop what holds it or pick another --base-port",
                                     status: ExitStatus.unavailable)
            }
        }
        guard let postgres = try await EmbeddedPostgres.locate(dataDir: plan.dataDir, create: true) else {
            throw CommandFailure(message: "no PostgreSQL directory under \(plan.dataDir)", status: ExitStatus.software)
        }

        let supervisor = Supervisor(plan, postgres: postgres)
        var status = ExitStatus.ok
        do {
            try await runUntilSignalled { try await supervisor.run() }
        } catch let stop as NodeConfigurationStop {
            status = stop.status
        } catch let f as CommandFailure {
            printErr("daybreak up: \(f.message)")
            status = f.status
        } catch {
            printErr("daybreak up: \(error)")
            status = ExitStatus.software
        }
        // Whatever ended the run, what it started is stopped. The stop is bounded (20 s per node, then SIGKILL; PostgreSQL fast, then immediate): a second
        // Ctrl-C must not cut it short and leave the nodes or the server behind.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        await supervisor.shutdown()
        return status
    }

    /// Whether nothing listens on 127.0.0.1:`port` (probed with a bind, SO_REUSEADDR as ZeroMQ binds).
    private func portIsFree(_ port: Int) -> Bool {
        #if os(Linux)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return true }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return r == 0
    }
}

/// A node exited with a configuration error: the deployment stops with its status.
struct NodeConfigurationStop: Error {
    var status: Int32
}

/// Starts PostgreSQL and the nodes, restarts nodes that die, and stops everything at the end.
/// An actor: `run` (under the signal watcher) and `shutdown` (after it) share the node table.
/// Nothing in it blocks: child processes are polled with waitpid(WNOHANG) every 100 ms.
actor Supervisor {
    private struct Member {
        let node: UpPlan.Node
        /// The running process; nil while waiting to restart (or after a stop).
        var pid: pid_t?
        var started = ContinuousClock.now
        /// Where this run's output begins in the node's log (for the lines quoted when it fails).
        var logOffset: UInt64 = 0
        var policy = NodeRestartPolicy()
        var restartAt: ContinuousClock.Instant?
        var lastExit: NodeExit?
    }

    private let plan: UpPlan
    private let postgres: EmbeddedPostgres
    private var members: [Member]
    private var conninfo = ""
    private let startedAt = Date()

    init(_ plan: UpPlan, postgres: EmbeddedPostgres) {
        self.plan = plan
        self.postgres = postgres
        // Nodes first, the gateway last: it starts after them and waits for the regions to have owners.
        members = (plan.nodes + (plan.gateway.map { [$0] } ?? [])).map { Member(node: $0) }
    }

    /// Starts everything, prints the endpoints, then supervises until cancelled (a signal). Throws
    /// `NodeConfigurationStop` when a node refuses its configuration, `CommandFailure` when a start fails.
    func run() async throws {
        do {
            let (conninfo, startedNow) = try await postgres.start()
            self.conninfo = conninfo
            say(startedNow ? "PostgreSQL started in \(postgres.root)" : "PostgreSQL already running in \(postgres.root): reusing it")
            try Task.checkCancellation()
            try await admitOperator(conninfo)
            for i in members.indices { try startNode(i) }
            try writeDeployment()
            printEndpoints()
            try await supervise()
        } catch is CancellationError {
            return
        }
    }

    /// Keys for every node and the operator under DIR/keys; the schema migrated here (the nodes
    /// would do it too) so the operator's public key is a principal before any node starts.
    private func admitOperator(_ conninfo: String) async throws {
        let operatorKey: CurveKeyPair
        do { operatorKey = try plan.ensureKeys() } catch {
            throw CommandFailure(message: "keys in \(plan.keysDir): \(error)", status: ExitStatus.software)
        }
        let logger = Logger(label: "up", level: .warning)
        let conn = try await PostgresConnection.connect(PostgresConfiguration(conninfo, applicationName: "daybreak-up"), logger: logger)
        do {
            _ = try await Migrator(DomainSchema.allMigrations, schema: plan.schema, logger: logger).migrate(conn)
            try await conn.executeScript("SET search_path TO \(plan.schema)", purpose: "use the deployment's schema")
            _ = try await conn.execute(PrincipalDirectory.upsert, [operatorKey.publicKey, "operator:\(NSUserName())", Principal.operatorRole, ""],
                                       purpose: "admit the operator's key")
            // The gateway's key before any node starts (so no handshake of it is refused), and a
            // dispatcher's for `ctl dispatch` through the gateway.
            if let g = plan.gateway {
                let gatewayKey = try CurveKeyFile.readSecret(from: plan.keyFile("gateway"))
                let dispatcherKey = try CurveKeyFile.readSecret(from: plan.keyFile("dispatcher"))
                _ = try await conn.execute(PrincipalDirectory.upsert, [gatewayKey.publicKey, "gateway:\(g.id)", Principal.gateway, ""],
                                           purpose: "admit the gateway's key")
                _ = try await conn.execute(PrincipalDirectory.upsert, [dispatcherKey.publicKey, "dispatcher:\(NSUserName())", "dispatcher", "*"],
                                           purpose: "admit the dispatcher's key")
            }
        } catch {
            await conn.close()
            throw error
        }
        await conn.close()
        say("keys in \(plan.keysDir) (operator: \(operatorKey.publicKey))")
    }

    private func supervise() async throws {
        while !Task.isCancelled {
            let now = ContinuousClock.now
            for i in members.indices {
                let node = members[i].node
                if let pid = members[i].pid, let exit = ChildProcess.ended(pid) {
                    let ranFor = now - members[i].started
                    members[i].pid = nil
                    members[i].lastExit = exit
                    switch members[i].policy.exited(exit, ranFor: ranFor) {
                    case .stopDeployment(let status):
                        printErr("daybreak up: \(node.label) \(exit), a configuration error: not restarting it; stopping the deployment. "
                                 + "It said (\(node.log)):\n" + Self.refusal(node.log, from: members[i].logOffset))
                        throw NodeConfigurationStop(status: status)
                    case .restart(let delay):
                        say("\(node.label) (pid \(pid)) \(exit) after \(format(ranFor)) s; restarting it in \(format(delay)) s")
                        members[i].restartAt = now + delay
                    }
                } else if members[i].pid == nil, let at = members[i].restartAt, now >= at {
                    let pid = try startNode(i)
                    try writeDeployment()
                    say("\(node.label) restarted (pid \(pid))")
                }
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    @discardableResult
    private func startNode(_ i: Int) throws(CommandFailure) -> pid_t {
        let node = members[i].node
        members[i].logOffset = (try? FileManager.default.attributesOfItem(atPath: node.log)[.size] as? UInt64) ?? 0
        let why = members[i].lastExit.map { ", restarted after it \($0)" } ?? ""
        append("--- daybreak up: starting \(node.id)\(why), \(Self.iso(Date()))\n", to: node.log)
        let pid = try ChildProcess.spawn([plan.executable] + plan.arguments(node, database: conninfo), output: node.log, ownProcessGroup: true)
        members[i].pid = pid
        members[i].started = .now
        members[i].restartAt = nil
        return pid
    }

    private func writeDeployment() throws(CommandFailure) {
        let nodes = members.filter { !$0.node.isGateway }.compactMap { m in
            m.pid.map { Deployment.Node(id: m.node.id, listen: m.node.listen, events: m.node.events, pid: $0, log: m.node.log) }
        }
        try Deployment(supervisorPID: getpid(), database: conninfo, schema: plan.schema, clock: plan.clock, regions: plan.regions,
                       operations: plan.operations, nodes: nodes, gateway: gatewayRecord(), startedAt: Self.iso(startedAt)).write(dataDir: plan.dataDir)
    }

    /// The gateway as deployment.json records it (nil while it is not running).
    private func gatewayRecord() -> Deployment.Gateway? {
        guard let m = members.first(where: { $0.node.isGateway }), let pid = m.pid,
              let key = try? CurveKeyFile.readSecret(from: plan.keyFile("gateway")) else { return nil }
        return Deployment.Gateway(name: m.node.id, listen: m.node.listen, publicKey: key.publicKey, pid: pid, log: m.node.log)
    }

    private func printEndpoints() {
        var lines = ["deployment in \(plan.dataDir) (supervisor pid \(getpid()))",
                     "  database  \(conninfo)  schema \(plan.schema)"]
        for m in members where !m.node.isGateway {
            lines.append("  \(m.node.id)        calls \(m.node.listen)  events \(m.node.events)  pid \(m.pid ?? 0)  log \(m.node.log)")
        }
        if let g = gatewayRecord() {
            lines.append("  \(g.name)       edge  \(g.listen)  key \(g.publicKey)  pid \(g.pid)  log \(g.log)")
            lines.append("  dispatch  daybreak ctl dispatch REGION orders --data \(plan.dataDir)   (through \(g.name), key \(plan.keyFile("dispatcher")))")
        }
        lines += ["  inspect   daybreak ctl cluster --data \(plan.dataDir)",
                  "  stop      daybreak down --data \(plan.dataDir)   (or Ctrl-C here)"]
        say(lines.joined(separator: "\n"))
    }

    /// SIGTERM to every node (they hand their regions over), SIGKILL to those still running after 20 s,
    /// then PostgreSQL stops and deployment.json goes. The caller releases the lock.
    func shutdown() async {
        var running = members.compactMap { m in m.pid.map { (id: m.node.id, pid: $0, label: m.node.label) } }
        if !running.isEmpty {
            say("stopping \(running.map(\.id).joined(separator: ", ")): SIGTERM, up to 20 s to hand their regions over")
        }
        for n in running { kill(n.pid, SIGTERM) }
        var killed = false
        let until = ContinuousClock.now + .seconds(20)
        while !running.isEmpty {
            running.removeAll { ChildProcess.ended($0.pid) != nil }
            if running.isEmpty { break }
            if !killed, ContinuousClock.now >= until {
                for n in running {
                    kill(n.pid, SIGKILL)
                    say("\(n.label) (pid \(n.pid)) did not stop within 20 s: killed (SIGKILL)")
                }
                killed = true
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        for i in members.indices { members[i].pid = nil }
        if await postgres.stop() { say("PostgreSQL stopped") }
        Deployment.remove(dataDir: plan.dataDir)
        say("stopped")
    }

    /// What a node said when it refused to start: its own "daybreak node…" lines of this run (the
    /// message comes before any usage text), else the run's last lines.
    private static func refusal(_ log: String, from offset: UInt64) -> String {
        let run = tail(log, lines: 200, from: offset).split(separator: "\n")
        let own = run.filter { $0.hasPrefix("  daybreak node") }
        return (own.isEmpty ? Array(run.suffix(10)) : own).joined(separator: "\n")
    }

    private func format(_ d: Duration) -> String {
        String(format: "%.1f", Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
    }

    private static func iso(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }
}
