import Base
import Foundation

/// A local deployment started by `daybreak up`, as recorded in DIR/deployment.json: what `down`
/// stops and where every operator command (`ctl …`) finds the database when `--database` is not given.
///
/// The file is one JSON object, rewritten whole (temp file + rename) whenever a node (re)starts:
/// `{"supervisor_pid", "database", "schema", "clock", "regions", "operations",
///   "nodes": [{"id", "listen", "events", "pid", "log"}], "gateway": {"name", "listen", "public_key", "pid", "log"} | null,
///   "started_at"}`. A file without "gateway" (an older `up`) reads as no gateway.
/// `clock` and `operations` are null when `up` was not given them (the nodes use their defaults).
struct Deployment: Sendable, Equatable {
    struct Node: Sendable, Equatable {
        var id: String
        var listen: String
        var events: String
        var pid: Int32
        var log: String
    }

    /// The edge gateway `up` runs (`daybreak gateway`), which `ctl dispatch` goes through by default.
    struct Gateway: Sendable, Equatable {
        var name: String
        var listen: String
        var publicKey: String
        var pid: Int32
        var log: String
    }

    var supervisorPID: Int32
    /// libpq conninfo of the embedded server.
    var database: String
    var schema: String
    var clock: String?
    /// Absolute path of the regions file the nodes serve.
    var regions: String
    var operations: String?
    var nodes: [Node]
    var gateway: Gateway?
    /// ISO-8601, when the supervisor started.
    var startedAt: String

    static let defaultDataDir = ".daybreak"
    static let fileName = "deployment.json"

    /// `dir` as an absolute, standardised path (relative to the current directory).
    static func absolute(_ dir: String) -> String {
        URL(fileURLWithPath: dir).standardizedFileURL.path
    }

    static func path(in dataDir: String) -> String { absolute(dataDir) + "/" + fileName }

    // MARK: JSON

    var json: JSONValue {
        .object([
            ("supervisor_pid", .int(Int(supervisorPID))),
            ("database", .string(database)),
            ("schema", .string(schema)),
            ("clock", clock.map(JSONValue.string) ?? .null),
            ("regions", .string(regions)),
            ("operations", operations.map(JSONValue.string) ?? .null),
            ("nodes", .array(nodes.map { n in
                .object([("id", .string(n.id)), ("listen", .string(n.listen)), ("events", .string(n.events)),
                         ("pid", .int(Int(n.pid))), ("log", .string(n.log))])
            })),
            ("gateway", gateway.map { g in
                .object([("name", .string(g.name)), ("listen", .string(g.listen)), ("public_key", .string(g.publicKey)),
                         ("pid", .int(Int(g.pid))), ("log", .string(g.log))])
            } ?? .null),
            ("started_at", .string(startedAt)),
        ])
    }

    /// Reads the fields of `json`; a missing or mistyped field is a 65 naming `file` and the field.
    init(json: JSONValue, file: String) throws(CommandFailure) {
        func bad(_ field: String, _ expected: String) -> CommandFailure {
            CommandFailure(message: "\(file): field '\(field)' is missing or not \(expected)", status: ExitStatus.dataError)
        }
        func string(_ v: JSONValue?, _ field: String) throws(CommandFailure) -> String {
            guard let s = v?.stringValue else { throw bad(field, "a string") }
            return s
        }
        func optionalString(_ v: JSONValue?, _ field: String) throws(CommandFailure) -> String? {
            if v == nil || v == .null { return nil }
            return try string(v, field)
        }
        func pid(_ v: JSONValue?, _ field: String) throws(CommandFailure) -> Int32 {
            guard case .int(let i)? = v, i > 0, let p = Int32(exactly: i) else { throw bad(field, "a positive process id") }
            return p
        }
        guard case .object = json else {
            throw CommandFailure(message: "\(file): expected a JSON object", status: ExitStatus.dataError)
        }
        supervisorPID = try pid(json["supervisor_pid"], "supervisor_pid")
        database = try string(json["database"], "database")
        schema = try string(json["schema"], "schema")
        clock = try optionalString(json["clock"], "clock")
        regions = try string(json["regions"], "regions")
        operations = try optionalString(json["operations"], "operations")
        startedAt = try string(json["started_at"], "started_at")
        guard case .array(let list)? = json["nodes"] else { throw bad("nodes", "an array") }
        var nodes: [Node] = []
        for (i, n) in list.enumerated() {
            let f = "nodes[\(i)]."
            nodes.append(Node(id: try string(n["id"], f + "id"), listen: try string(n["listen"], f + "listen"),
                              events: try string(n["events"], f + "events"), pid: try pid(n["pid"], f + "pid"),
                              log: try string(n["log"], f + "log")))
        }
        self.nodes = nodes
        if let g = json["gateway"], g != .null {
            let f = "gateway."
            gateway = Gateway(name: try string(g["name"], f + "name"), listen: try string(g["listen"], f + "listen"),
                              publicKey: try string(g["public_key"], f + "public_key"), pid: try pid(g["pid"], f + "pid"),
                              log: try string(g["log"], f + "log"))
        }
    }

    init(supervisorPID: Int32, database: String, schema: String, clock: String?, regions: String, operations: String?,
         nodes: [Node], gateway: Gateway? = nil, startedAt: String) {
        self.supervisorPID = supervisorPID; self.database = database; self.schema = schema; self.clock = clock
        self.regions = regions; self.operations = operations; self.nodes = nodes; self.gateway = gateway; self.startedAt = startedAt
    }

    // MARK: The file

    /// The deployment recorded in `dataDir`, or nil when there is no deployment.json.
    /// Unreadable: 66; not JSON or a field missing/mistyped: 65, naming the file and the field.
    static func read(dataDir: String) throws(CommandFailure) -> Deployment? {
        let file = path(in: dataDir)
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CommandFailure(message: "\(file): cannot be read", status: ExitStatus.noInput)
        }
        let json: JSONValue
        do { json = try JSONValue.parse(String(decoding: data, as: UTF8.self)) } catch {
            throw CommandFailure(message: "\(file): \(error)", status: ExitStatus.dataError)
        }
        return try Deployment(json: json, file: file)
    }

    /// Writes deployment.json atomically: a reader sees the old file or the new one, never half of one.
    func write(dataDir: String) throws(CommandFailure) {
        let file = Self.path(in: dataDir)
        let temp = file + ".tmp-\(getpid())"
        let ok = FileManager.default.createFile(atPath: temp, contents: Data((json.rendered() + "\n").utf8))
        guard ok, rename(temp, file) == 0 else {
            unlink(temp)
            throw CommandFailure(message: "cannot write \(file): \(String(cString: strerror(errno)))", status: ExitStatus.software)
        }
    }

    static func remove(dataDir: String) { unlink(path(in: dataDir)) }
}

/// DIR/up.lock, held with flock(2) by the supervisor for its whole life. The kernel drops the lock
/// when the process ends, however it ends, so a crashed supervisor never leaves a lock that blocks
/// the next `up`; the file holds the holder's pid for messages. The descriptor is close-on-exec so
/// node processes never inherit the lock.
struct DeploymentLock: Sendable {
    let fd: Int32
    let path: String

    static let fileName = "up.lock"

    enum Attempt {
        /// Taken. `previousPID` is the pid the file named, if any: a supervisor that did not stop cleanly.
        case acquired(DeploymentLock, previousPID: Int32?)
        /// Someone holds it; its pid when the file names one.
        case held(by: Int32?)
    }

    static func acquire(dataDir: String) throws(CommandFailure) -> Attempt {
        let path = Deployment.absolute(dataDir) + "/" + fileName
        // A supervisor that stops unlinks the file while holding the lock: a lock won on an unlinked
        // file protects nothing, so check that the file locked is still the one at `path`.
        for _ in 0 ..< 5 {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw CommandFailure(message: "cannot open \(path): \(String(cString: strerror(errno)))", status: ExitStatus.unavailable)
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let holder = readPID(fd)
                close(fd)
                return .held(by: holder)
            }
            var mine = stat(), there = stat()
            guard fstat(fd, &mine) == 0, stat(path, &there) == 0, mine.st_ino == there.st_ino, mine.st_dev == there.st_dev else {
                close(fd)
                continue
            }
            let previous = readPID(fd)
            let text = Array("\(getpid())\n".utf8)
            _ = ftruncate(fd, 0)
            _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            return .acquired(DeploymentLock(fd: fd, path: path), previousPID: previous)
        }
        throw CommandFailure(message: "\(path) keeps changing: is another `daybreak up` starting or stopping?", status: ExitStatus.unavailable)
    }

    /// Whether a live process holds the lock of `dataDir`: nil when free (or no lock file), else
    /// the holder's pid as the file names it (0 when it names none).
    static func holder(dataDir: String) -> Int32? {
        let path = Deployment.absolute(dataDir) + "/" + fileName
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        return readPID(fd) ?? 0
    }

    /// Removes a lock file nobody holds (left by a supervisor that was killed).
    static func removeStale(dataDir: String) {
        if holder(dataDir: dataDir) == nil { unlink(Deployment.absolute(dataDir) + "/" + fileName) }
    }

    /// Unlinks the file, then drops the lock (in this order, see `acquire`).
    func release() {
        unlink(path)
        close(fd)
    }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// Whether `pid` names a running process. A zombie (exited, not yet reaped by its parent) is not running.
func processIsAlive(_ pid: Int32) -> Bool {
    guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
    // /proc/PID/stat: "pid (comm) S …"; the state letter follows the last ')'.
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return true }
    return !stat[close...].dropFirst().trimmingCharacters(in: .whitespaces).hasPrefix("Z")
}

/// Whether `pid` is still the `daybreak node --id ID` process a deployment file recorded (and not an
/// unrelated process that reused the pid). Without /proc, any live process counts.
func isDeploymentNode(pid: Int32, id: String) -> Bool {
    guard processIsAlive(pid) else { return false }
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return true }
    let argv = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    guard let at = argv.firstIndex(of: "--id"), at + 1 < argv.count else { return false }
    return argv.contains("node") && argv[at + 1] == id
}

/// Whether `pid` is still the `daybreak gateway --name NAME` process a deployment file recorded.
func isDeploymentGateway(pid: Int32, name: String) -> Bool {
    guard processIsAlive(pid) else { return false }
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return true }
    let argv = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    guard let at = argv.firstIndex(of: "--name"), at + 1 < argv.count else { return false }
    return argv.contains("gateway") && argv[at + 1] == name
}

/// The gateway of a deployment whose supervisor is gone: SIGTERM, SIGKILL after `grace`.
func stopLeftoverGateway(_ g: Deployment.Gateway?, grace: Duration) async -> [String] {
    guard let g, isDeploymentGateway(pid: g.pid, name: g.name) else { return [] }
    kill(g.pid, SIGTERM)
    let until = ContinuousClock.now + grace
    while processIsAlive(g.pid), ContinuousClock.now < until { try? await Task.sleep(for: .milliseconds(100)) }
    if processIsAlive(g.pid) {
        kill(g.pid, SIGKILL)
        return ["gateway \(g.name) (pid \(g.pid)) did not stop within \(grace.components.seconds) s of SIGTERM: killed"]
    }
    return ["gateway \(g.name) (pid \(g.pid)) was still running: stopped (SIGTERM)"]
}

/// Nodes of a deployment whose supervisor is gone: SIGTERM (they leave gracefully), SIGKILL after
/// `grace`. Returns one line per node it had to stop.
func stopLeftoverNodes(_ nodes: [Deployment.Node], grace: Duration) async -> [String] {
    let alive = nodes.filter { isDeploymentNode(pid: $0.pid, id: $0.id) }
    for n in alive { kill(n.pid, SIGTERM) }
    let until = ContinuousClock.now + grace
    while alive.contains(where: { processIsAlive($0.pid) }), ContinuousClock.now < until {
        try? await Task.sleep(for: .milliseconds(100))
    }
    var lines: [String] = []
    for n in alive {
        if processIsAlive(n.pid) {
            kill(n.pid, SIGKILL)
            lines.append("node \(n.id) (pid \(n.pid)) did not stop within \(grace.components.seconds) s of SIGTERM: killed")
        } else {
            lines.append("node \(n.id) (pid \(n.pid)) was still running: stopped (SIGTERM)")
        }
    }
    return lines
}

