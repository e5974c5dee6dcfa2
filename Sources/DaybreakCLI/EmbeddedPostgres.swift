import Base
import Foundation

/// The PostgreSQL server of a local deployment, in DIR/pg, laid out as Tools/pg lays it out
/// (data/, socket/, server.log, port), so a cluster made by Tools/demo under .daybreak/pg is reused
/// and `Tools/pg stop DIR/pg` stops ours. It listens on a unix socket only. As root every server
/// command runs as `postgres` (initdb refuses root), which must be able to reach the cluster: when it
/// cannot reach DIR (e.g. under /root), the cluster lives in /var/tmp/daybreak-pg-<hash of DIR> and
/// DIR/pg links to it, as Tools/demo does.
///
/// Every server command is a child process waited for on a thread of its own, never on the pool.
struct EmbeddedPostgres: Sendable {
    /// The cluster's real directory: DIR/pg, or what DIR/pg links to.
    let root: String
    /// The directory holding initdb and pg_ctl.
    let bin: String

    var data: String { root + "/data" }
    var socketDir: String { root + "/socket" }
    var serverLog: String { root + "/server.log" }

    /// The port (it names the socket file) of a new cluster; Tools/demo's, so both agree.
    static let defaultPort = 5439
    static var asRoot: Bool { getuid() == 0 }

    /// DIR/pg's cluster. `create`: make the directory (or the /var/tmp one and the link) when absent;
    /// otherwise nil when there is no initialised cluster.
    static func locate(dataDir: String, create: Bool) async throws(CommandFailure) -> EmbeddedPostgres? {
        let dir = Deployment.absolute(dataDir)
        let link = dir + "/pg"
        var root = link
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link) {
            root = target.hasPrefix("/") ? target : dir + "/" + target
        } else if !FileManager.default.fileExists(atPath: link) {
            guard create else { return nil }
            if asRoot, await !postgresCanReach(dir) {
                root = "/var/tmp/daybreak-pg-" + fnv1a(dir)
                guard symlink(root, link) == 0 else {
                    throw CommandFailure(message: "cannot link \(link) to \(root): \(String(cString: strerror(errno)))", status: ExitStatus.software)
                }
            }
        }
        let pg = EmbeddedPostgres(root: root, bin: try serverBinaries())
        if !create { return FileManager.default.fileExists(atPath: pg.data + "/PG_VERSION") ? pg : nil }
        try pg.makeDirectory(root, mode: 0o700)
        try pg.makeDirectory(pg.socketDir, mode: 0o700)
        return pg
    }

    /// Initialises the cluster when new, starts the server unless it runs, and returns its conninfo
    /// (from postmaster.pid: the port and socket directory the server really uses) and whether it was started now.
    func start() async throws(CommandFailure) -> (conninfo: String, startedNow: Bool) {
        if !FileManager.default.fileExists(atPath: data + "/PG_VERSION") {
            let log = root + "/initdb.log"
            let status = await Self.run([bin + "/initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                                         "--locale=C.UTF-8", "--no-sync"], log: log)
            guard status == 0 else {
                throw CommandFailure(message: "initdb failed (status \(status)):\n" + tail(log), status: ExitStatus.software)
            }
        }
        var startedNow = false
        if await !isRunning() {
            let port = Int((try? String(contentsOfFile: root + "/port", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? Self.defaultPort
            let socket = socketDir + "/.s.PGSQL.\(port)"
            guard socket.utf8.count < 108 else {
                throw CommandFailure(message: "the server's socket \(socket) is longer than a unix socket path may be (107 bytes): use a shorter --data",
                                     status: ExitStatus.usage)
            }
            guard !socketDir.contains("'") else {
                throw CommandFailure(message: "the PostgreSQL directory \(root) contains a quote: use another --data", status: ExitStatus.usage)
            }
            _ = FileManager.default.createFile(atPath: root + "/port", contents: Data("\(port)\n".utf8))
            let status = await Self.run([bin + "/pg_ctl", "-D", data, "-l", serverLog, "-w", "-t", "30", "-o",
                                         "-c listen_addresses='' -p \(port) -k '\(socketDir)' -c max_connections=200", "start"])
            guard status == 0 else {
                throw CommandFailure(message: "cannot start PostgreSQL in \(data) (pg_ctl status \(status)); \(serverLog) ends:\n" + tail(serverLog),
                                     status: ExitStatus.unavailable)
            }
            startedNow = true
        }
        let lines = ((try? String(contentsOfFile: data + "/postmaster.pid", encoding: .utf8)) ?? "").split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 5, let port = Int(lines[3].trimmingCharacters(in: .whitespaces)), !lines[4].isEmpty else {
            throw CommandFailure(message: "PostgreSQL runs in \(data) but its postmaster.pid names no port and socket directory", status: ExitStatus.software)
        }
        return ("host=\(lines[4]) port=\(port) user=postgres dbname=postgres", startedNow)
    }

    func isRunning() async -> Bool {
        await Self.run([bin + "/pg_ctl", "-D", data, "status"]) == 0
    }

    /// Stops the server (fast: sessions are ended, nothing is lost; immediate if that does not finish
    /// within 20 s). Returns false when it was not running.
    @discardableResult
    func stop() async -> Bool {
        guard await isRunning() else { return false }
        if await Self.run([bin + "/pg_ctl", "-D", data, "-m", "fast", "-w", "-t", "20", "stop"]) != 0 {
            _ = await Self.run([bin + "/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"])
        }
        return true
    }

    // MARK: Helpers

    /// The newest /usr/lib/postgresql/<version>/bin with initdb, else the directory of pg_ctl on PATH.
    static func serverBinaries() throws(CommandFailure) -> String {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [])
            .filter { FileManager.default.isExecutableFile(atPath: "\(base)/\($0)/bin/initdb") }
            .sorted { (Double($0) ?? 0) < (Double($1) ?? 0) }
        if let v = versions.last { return "\(base)/\(v)/bin" }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        where FileManager.default.isExecutableFile(atPath: dir + "/pg_ctl") && FileManager.default.isExecutableFile(atPath: dir + "/initdb") {
            return dir
        }
        throw CommandFailure(message: "no PostgreSQL server (initdb, pg_ctl) under \(base)/*/bin or on PATH: run Tools/setup (apt-get install postgresql)",
                             status: ExitStatus.unavailable)
    }

    /// Runs a server command (as `postgres` when root) to its end and returns its exit status; output
    /// goes to `log` (appended) or nowhere.
    static func run(_ argv: [String], log: String? = nil) async -> Int32 {
        await ChildProcess.run(asRoot ? [runuser, "-u", "postgres", "--"] + argv : argv, output: log)
    }

    private static var runuser: String {
        ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "runuser"
    }

    /// Whether the `postgres` user can reach `dir` (search permission on it and every directory above).
    private static func postgresCanReach(_ dir: String) async -> Bool {
        await run(["/usr/bin/test", "-x", dir]) == 0
    }

    /// Creates `path` if absent with `mode`, owned by `postgres` when root.
    private func makeDirectory(_ path: String, mode: mode_t) throws(CommandFailure) {
        if mkdir(path, mode) != 0 && errno != EEXIST {
            throw CommandFailure(message: "cannot create \(path): \(String(cString: strerror(errno)))", status: ExitStatus.software)
        }
        if Self.asRoot, let pw = getpwnam("postgres") {
            guard chown(path, pw.pointee.pw_uid, pw.pointee.pw_gid) == 0 else {
                throw CommandFailure(message: "cannot give \(path) to the postgres user: \(String(cString: strerror(errno)))", status: ExitStatus.software)
            }
        } else if Self.asRoot {
            throw CommandFailure(message: "running as root, but there is no `postgres` user to run the server as (install postgresql: Tools/setup)",
                                 status: ExitStatus.unavailable)
        }
        chmod(path, mode)
    }

    /// A stable name for `s` across processes (Swift's Hasher is seeded per process).
    private static func fnv1a(_ s: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return String(h, radix: 16)
    }
}

/// Appends `text` to the file at `path` (created if absent); false when it cannot.
@discardableResult
func append(_ text: String, to path: String) -> Bool {
    let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    return bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
}

/// The last `lines` lines of a text file, indented, for error messages ("" when unreadable).
func tail(_ path: String, lines: Int = 10, from offset: UInt64 = 0) -> String {
    guard let h = FileHandle(forReadingAtPath: path) else { return "" }
    defer { try? h.close() }
    try? h.seek(toOffset: offset)
    let text = String(decoding: (try? h.readToEnd()) ?? Data(), as: UTF8.self)
    return text.split(separator: "\n").suffix(lines).map { "  " + $0 }.joined(separator: "\n")
}
