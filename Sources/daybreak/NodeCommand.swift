import Base
import Cluster
import DaybreakNode
import Foundation
import Geo
import Storage

// `daybreak node …`: one cluster node process. SIGTERM/SIGINT cancel the run group, which makes
// the node drain, hand its regions over (release its leases) and leave.
let nodeCommand = Command(
    name: "node",
    summary: "Run a cluster node: membership, region leases, journaled actors over ZeroMQ.",
    usage: "--id ID --listen tcp://HOST:PORT --regions FILE [--database CONNINFO] [--schema NAME] [--heartbeat-ms N] [--ttl-ms N] [--advertise ENDPOINT] [--events ENDPOINT] [--log-level LEVEL]",
    options: [
        .value("id", "ID", "node id, stable across restarts (required)"),
        .value("listen", "ENDPOINT", "ZeroMQ endpoint to bind, e.g. tcp://127.0.0.1:7001 or tcp://127.0.0.1:* (required)"),
        .value("regions", "FILE", "city file with the regions to own, e.g. Regions/seoul.json (required)"),
        .value("database", "CONNINFO", "libpq conninfo or URI; default: the PG* environment"),
        .value("schema", "NAME", "schema for the cluster tables (created and migrated); default: the current schema"),
        .value("advertise", "ENDPOINT", "endpoint others connect to (default: the bound one)"),
        .value("events", "ENDPOINT", "bind an event publisher (XPUB) here, e.g. tcp://127.0.0.1:* (default: none)"),
        .value("heartbeat-ms", "N", "heartbeat and observation period (default 500)"),
        .value("ttl-ms", "N", "silence after which a node is declared down (default 3000; lease = ttl + 1000)"),
        .value("log-level", "LEVEL", "trace|debug|info|notice|warning|error (default info)"),
        .flag("chaos-skip-local-fence", "TESTS ONLY: write with the last token even when the lease is lost, so the journal must fence"),
    ]
) { args in
    guard let id = args.string("id"), !id.isEmpty else { throw UsageError("missing --id ID") }
    guard let listen = args.string("listen") else { throw UsageError("missing --listen ENDPOINT") }
    guard let file = args.string("regions") else { throw UsageError("missing --regions FILE") }
    let heartbeat = try args.int("heartbeat-ms", default: 500, range: 10 ... 60_000)
    let ttl = try args.int("ttl-ms", default: 3_000, range: 50 ... 600_000)
    let schema = args.string("schema")
    if let schema, !isPlainIdentifier(schema) { throw UsageError("--schema must match [a-z_][a-z0-9_]*, got '\(schema)'") }
    let level = try args.choice("log-level", Logger.Level.allCases.map(\.description), default: "info").flatMap(Logger.Level.init(name:)) ?? .info

    let map: CityMap
    do { map = try CityMap.load(from: try Data(contentsOf: URL(fileURLWithPath: file))) } catch {
        printErr("daybreak node: cannot read regions from \(file): \(error)")
        return ExitStatus.noInput
    }
    var cfg = NodeConfiguration(id: NodeID(id), listen: listen, regions: map.regionIDs.map { RegionKey($0) },
                                database: PostgresConfiguration(args.string("database", default: ""), applicationName: "daybreak-node-\(id)"),
                                schema: schema, heartbeatInterval: .milliseconds(heartbeat), ttl: .milliseconds(ttl))
    cfg.advertise = args.string("advertise")
    cfg.events = args.string("events")
    cfg.chaosSkipLocalFence = args.flag("chaos-skip-local-fence")
    do throws(NodeConfigurationError) { try cfg.validate() } catch { throw UsageError(error.description) }

    let logger = Logger(label: "daybreak", level: level)
    let service = NodeService(cfg, logger: logger, extensions: DomainNode.extensions())
    do {
        try await runUntilSignalled { try await service.run() }
        return ExitStatus.ok
    } catch let e as PostgresError where e.code == .connectFailed {
        printErr("daybreak node: \(e)")
        return ExitStatus.unavailable
    }
}

/// The write end of the signal pipe; set once before the handlers are installed, then only read
/// (from the async-signal-safe handler).
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// Runs `body` in a task group beside a SIGTERM/SIGINT watcher; the first signal cancels the
/// group, so `body` sees cancellation and shuts down in its own way.
///
/// Why not `DispatchSource.makeSignalSource`: the app target `Dispatch` shadows libdispatch's
/// module of the same name inside this package. So the classic self-pipe: the handler only
/// `write(2)`s the signal number (async-signal-safe); a dedicated thread blocks in `read(2)` and
/// feeds an AsyncStream. The thread ends when the stream's owner writes the stop byte.
func runUntilSignalled(_ body: @escaping @Sendable () async throws -> Void) async throws {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { throw NodeConfigurationError("pipe() failed: errno \(errno)") }
    let (readEnd, writeEnd) = (fds[0], fds[1])
    signalPipeWriteEnd = writeEnd
    let (signals, continuation) = AsyncStream<Int32>.makeStream(bufferingPolicy: .bufferingNewest(4))
    let stopByte: UInt8 = 0xFF
    let reader = Thread {
        var b: UInt8 = 0
        while read(readEnd, &b, 1) == 1, b != stopByte { continuation.yield(Int32(b)) }
        continuation.finish()
        close(readEnd)
    }
    reader.start()
    for sig in [SIGTERM, SIGINT] {
        signal(sig) { s in
            var b = UInt8(truncatingIfNeeded: s)
            _ = write(signalPipeWriteEnd, &b, 1)
        }
    }
    defer {
        signal(SIGTERM, SIG_DFL)
        signal(SIGINT, SIG_DFL)
        var b = stopByte
        _ = write(writeEnd, &b, 1)
    }
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask { try await body(); return true }
        group.addTask {
            for await _ in signals { return false }
            return false
        }
        // Whichever ends first: the body (done or failed) or a signal. Then stop the other.
        let first = try await group.next()
        group.cancelAll()
        if first == true { return }
        try await group.waitForAll()
    }
}
