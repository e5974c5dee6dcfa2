import Base
import Cluster
import DaybreakNode
import DispatchPlanning
import Foundation
import Geo
import Messaging
import Storage

// `daybreak node …`: one cluster node process. SIGTERM/SIGINT cancel the run group, which makes
// the node drain, hand its regions over (release its leases) and leave.
let nodeCommand = Command(
    name: "node",
    summary: "Run a cluster node: membership, region leases, journaled actors over ZeroMQ.",
    usage: "--id ID --listen tcp://HOST:PORT --regions FILE [--operations FILE] [--clock wall|driven] [--database CONNINFO] [--schema NAME] [--policy optimised|baseline] [--seed N] [--stock-per-sku N] [--heartbeat-ms N] [--ttl-ms N] [--advertise ENDPOINT] [--events ENDPOINT] [--log-level LEVEL]",
    options: [
        .value("id", "ID", "node id, stable across restarts (required)"),
        .value("listen", "ENDPOINT", "ZeroMQ endpoint to bind, e.g. tcp://127.0.0.1:7001 or tcp://127.0.0.1:* (required)"),
        .value("regions", "FILE", "city file with the regions to own, e.g. Regions/seoul.json (required)"),
        .value("operations", "FILE", "fleets, shifts, stores and product terms (default: <regions>-operations.json beside the regions file, when present); 'none': the node hosts actors but opens no service days"),
        .value("clock", "MODE", "wall (real time, the default) or driven (time moves only when advanced: ctl clock advance, the simulated day); every node of a deployment must agree"),
        .value("clock-start", "TIME", "driven clock only: its first time when this node creates the deployment's clock, e.g. 2026-12-01T18:00+09:00 (default: now)"),
        .value("policy", "POLICY", "optimised (default) or baseline dispatching for the days this deployment opens"),
        .value("seed", "N", "seed of the dispatchers' decisions (default 1)"),
        .value("stock-per-sku", "N", "each site's stock of every catalogue item when a day opens (default 10000)"),
        .value("dawn-wave-seconds", "N", "time budget of a region's dawn wave (default 20)"),
        .value("dawn-wave-iterations", "N", "search iterations of a region's dawn wave (default 2000)"),
        .value("dawn-wave-threads", "N", "search threads of a region's dawn wave (default 1; the same seed and N give the same plan; every node of a deployment should agree, it is part of the day's config)"),
        .value("reoptimise-every-s", "N", "seconds between re-optimisations of a changed plan (default 900)"),
        .value("database", "CONNINFO", "libpq conninfo or URI; default: the PG* environment"),
        .value("schema", "NAME", "schema for the cluster tables (created and migrated); default: the current schema"),
        .value("advertise", "ENDPOINT", "endpoint others connect to (default: the bound one)"),
        .value("events", "ENDPOINT", "bind an event publisher (XPUB) here, e.g. tcp://127.0.0.1:* (default: none)"),
        .value("heartbeat-ms", "N", "heartbeat and observation period (default 500)"),
        .value("ttl-ms", "N", "silence after which a node is declared down (default 3000; lease = ttl + 1000)"),
        .value("log-level", "LEVEL", "trace|debug|info|notice|warning|error (default info)"),
        .value("key", "FILE", "this node's CURVE secret key file (mode 0600; `daybreak keys new --out FILE`): every port serves CURVE and admits only the deployment's principals"),
        .flag("demo-counter", "also host the demo journaled counter actor (tests, bench failover, ctl call); production nodes host only the domain's actors"),
        .flag("insecure", "serve plaintext without a key: anyone who reaches the ports can call (development and tests only)"),
        .flag("chaos-skip-local-fence", "TESTS ONLY: write with the last token even when the lease is lost, so the journal must fence"),
    ]
) { args in
    guard let rawID = args.string("id") else { throw UsageError("missing --id ID") }
    let id = try checkIdentifier(rawID, "--id", maxBytes: NodeID.maxBytes)
    guard let listen = args.string("listen") else { throw UsageError("missing --listen ENDPOINT") }
    guard let file = args.string("regions") else { throw UsageError("missing --regions FILE") }
    let heartbeat = try args.int("heartbeat-ms", default: 500, range: 10 ... 60_000)
    let ttl = try args.int("ttl-ms", default: 3_000, range: 50 ... 600_000)
    let schema = args.string("schema")
    if let schema, !isPlainIdentifier(schema) { throw UsageError("--schema must match [a-z_][a-z0-9_]*, got '\(schema)'") }
    let level = try args.choice("log-level", Logger.Level.allCases.map(\.description), default: "info").flatMap(Logger.Level.init(name:)) ?? .info

    let map: CityMap
    do { map = try CityMap.load(from: try Data(contentsOf: URL(fileURLWithPath: file))) } catch let e as RegionFileError {
        printErr("daybreak node: \(file): \(CityRegionsFileError(e))")
        return ExitStatus.dataError
    } catch {
        printErr("daybreak node: cannot read regions from \(file): \(error)")
        return ExitStatus.noInput
    }
    var cfg = NodeConfiguration(id: NodeID(id), listen: listen, regions: map.regionIDs.map { RegionKey($0) },
                                database: PostgresConfiguration(args.string("database", default: ""), applicationName: "daybreak-node-\(id)"),
                                schema: schema, heartbeatInterval: .milliseconds(heartbeat), ttl: .milliseconds(ttl))
    cfg.advertise = args.string("advertise")
    cfg.events = args.string("events")
    cfg.chaosSkipLocalFence = args.flag("chaos-skip-local-fence")
    cfg.hostsDemoCounter = args.flag("demo-counter")
    switch (args.string("key"), args.flag("insecure")) {
    case (let file?, false):
        do { cfg.curve = try CurveKeyFile.readSecret(from: file) } catch {
            printErr("daybreak node: --key \(file): \(error)")
            return FileManager.default.fileExists(atPath: file) ? ExitStatus.dataError : ExitStatus.noInput
        }
    case (nil, true): break
    case (_?, true): throw UsageError("--key and --insecure exclude each other")
    case (nil, false): throw UsageError("pass --key FILE (the node's CURVE secret key; make one with `daybreak keys new --out FILE`) or --insecure for a plaintext development cluster")
    }
    do throws(NodeConfigurationError) { try cfg.validate() } catch { throw UsageError(error.description) }

    let clock = try args.choice("clock", ClockMode.allCases.map(\.rawValue), default: "wall").flatMap(ClockMode.init(rawValue:)) ?? .wall
    let policy = try args.choice("policy", DispatchPolicy.allCases.map(\.rawValue), default: "optimised").flatMap(DispatchPolicy.init(rawValue:)) ?? .optimised
    let seed = try args.int("seed", default: 1, range: 0 ... Int.max)
    let stock = try args.int("stock-per-sku", default: 10_000, range: 0 ... 10_000_000)
    var budgets = RegionDispatchConfig.Budgets()
    budgets.dawnWaveTimeLimitSeconds = Double(try args.int("dawn-wave-seconds", default: 20, range: 1 ... 3_600))
    budgets.dawnWaveIterations = try args.int("dawn-wave-iterations", default: budgets.dawnWaveIterations, range: 1 ... 100_000_000)
    if args.string("dawn-wave-threads") != nil { budgets.dawnWaveThreads = try args.int("dawn-wave-threads", default: 1, range: 1 ... 256) }
    budgets.reoptimiseEverySeconds = Int64(try args.int("reoptimise-every-s", default: 900, range: 1 ... 86_400))
    var clockStart: Instant?
    if let t = args.string("clock-start") {
        guard clock == .driven else { throw UsageError("--clock-start is for --clock driven only") }
        guard let i = DeploymentClock.parseISO(t) else { throw UsageError("--clock-start must be YYYY-MM-DDTHH:MM[:SS]±HH:MM, got '\(t)'") }
        clockStart = i
    }
    let logger = Logger(label: "daybreak", level: level)
    var operating: OperatingConfig?
    let opsFile = args.string("operations") == "none" ? nil : args.string("operations") ?? defaultOperationsFile(besides: file)
    if let opsFile {
        do {
            let (city, ops) = try OperatingConfig.load(regionsFile: file, operationsFile: opsFile)
            operating = OperatingConfig(city: city, operations: ops, policy: policy, seed: UInt64(seed), stockPerSKU: stock,
                                        clock: clock, clockStart: clockStart)
            operating?.budgets = budgets
        } catch {
            printErr("daybreak node: \(error)")
            return FileManager.default.isReadableFile(atPath: opsFile) ? ExitStatus.dataError : ExitStatus.noInput
        }
    } else {
        logger.notice("no operations file: this node hosts actors but opens no service days (pass --operations FILE)")
    }
    let service = NodeService(cfg, logger: logger, extensions: DomainNode.extensions(operating: operating))
    do {
        try await runUntilSignalled { try await service.run() }
        return ExitStatus.ok
    } catch let e as PostgresError where e.code == .connectFailed {
        printErr("daybreak node: \(e)")
        return ExitStatus.unavailable
    } catch let e as ClockError {
        printErr("daybreak node \(id): \(e)")
        return ExitStatus.dataError
    }
}

/// `Regions/seoul.json` → `Regions/seoul-operations.json`, when that file exists.
func defaultOperationsFile(besides regions: String) -> String? {
    let url = URL(fileURLWithPath: regions)
    let candidate = url.deletingLastPathComponent().appendingPathComponent(url.deletingPathExtension().lastPathComponent + "-operations.json").path
    return FileManager.default.fileExists(atPath: candidate) ? candidate : nil
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
