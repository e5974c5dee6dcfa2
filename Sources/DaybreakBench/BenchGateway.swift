import Base
import DaybreakCLI
import Cluster
import DaybreakNode
import DispatchPlanning
import Edge
import Fleet
import Foundation
import Gateway
import Geo
import Messaging
import Storage
import Synchronization

// `daybreak bench gateway`: N handhelds over CURVE report positions through an edge gateway to
// journaled region dispatchers on K node processes; acknowledged reports/s and report → ack
// latency, beside raw CURVE request-reply at the same rate measured in the same run.
let benchGatewayCommand = Command(
    name: "gateway",
    summary: "handhelds over CURVE → gateway → journaled dispatchers on node processes: reports/s, p50/p99 beside raw CURVE.",
    usage: "[--database CONNINFO] [--handhelds N] [--nodes K] [--interval-ms N] [--seconds N] [--client-threads N] [--json]",
    options: [
        .value("database", "CONNINFO", "libpq conninfo or URI; default: the PG* environment"),
        .value("handhelds", "N", "connected handhelds, each its own CURVE connection and key (default 1000)"),
        .value("nodes", "K", "node processes (default 2)"),
        .value("interval-ms", "N", "each handheld reports every N ms (default 500: 1000 handhelds offer 2000 reports/s)"),
        .value("seconds", "N", "measured seconds (default 20, after 5 s of warm-up)"),
        .value("client-threads", "N", "I/O threads the simulated handhelds' sockets are spread over, the same for raw CURVE (default 8)"),
        .value("regions", "FILE", "city file (default Regions/seoul.json)"),
        .value("operations", "FILE", "operations file (default Regions/seoul-operations.json)"),
        .flag("json", "print one JSON line instead of the table"),
    ]
) { args in
    var o = GatewayBench.Options()
    o.conninfo = args.string("database", default: "")
    o.handhelds = try args.int("handhelds", default: 1_000, range: 1 ... 20_000)
    o.nodes = try args.int("nodes", default: 2, range: 1 ... 8)
    o.intervalMs = try args.int("interval-ms", default: 500, range: 1 ... 60_000)
    o.seconds = try args.int("seconds", default: 20, range: 1 ... 3_600)
    o.clientThreads = try args.int("client-threads", default: 8, range: 1 ... 64)
    o.regionsFile = args.string("regions", default: "Regions/seoul.json")
    o.operationsFile = args.string("operations", default: "Regions/seoul-operations.json")
    for f in [o.regionsFile, o.operationsFile] where !FileManager.default.fileExists(atPath: f) {
        printErr("bench gateway: no file at \(f) (run from the repository root or pass --regions/--operations)")
        return ExitStatus.noInput
    }
    do {
        let r = try await GatewayBench(o).run()
        print(args.flag("json") ? r.json.rendered() : r.table)
        return ExitStatus.ok
    } catch let e as PostgresError where e.code == .connectFailed {
        printErr("bench gateway: \(e)")
        return ExitStatus.unavailable
    }
}

struct GatewayBench: Sendable {
    struct Options: Sendable {
        var conninfo = ""
        var handhelds = 1_000
        var nodes = 2
        var intervalMs = 500
        var seconds = 20
        var warmupSeconds = 5
        /// I/O threads the simulated handhelds' sockets are spread over (the same for raw CURVE).
        var clientThreads = 8
        var regionsFile = "Regions/seoul.json"
        var operationsFile = "Regions/seoul-operations.json"
    }

    /// What one phase measured.
    struct Phase: Sendable {
        var sent = 0
        var acked = 0
        var failed = 0
        /// Why (ack status or error), for failed ones.
        var failures: [String: Int] = [:]
        var latenciesMs: [Double] = []
        /// CPU used in the measured window (seconds), when taken.
        var cpu: CPUWindow?
        var seconds = 0.0
        var perSecond: Double { seconds > 0 ? Double(acked) / seconds : 0 }
        func p(_ q: Double) -> Double {
            let s = latenciesMs.sorted()
            return s.isEmpty ? 0 : s[min(s.count - 1, Int((q * Double(s.count - 1)).rounded()))]
        }
    }

    struct Result {
        var options: Options
        var gateway: Phase
        var raw: Phase
        var journal: String

        var table: String {
            let offered = Double(options.handhelds) * 1000 / Double(options.intervalMs)
            func row(_ name: String, _ p: Phase) -> String {
                String(format: "%-34@ %10.0f %10.0f %9.2f %9.2f %8d", name, offered, p.perSecond, p.p(0.5), p.p(0.99), p.failed)
            }
            return ["bench gateway: \(options.handhelds) handhelds over CURVE, one report every \(options.intervalMs) ms each, \(options.nodes) node processes, \(options.seconds) s measured",
                    String(format: "%-34@ %10@ %10@ %9@ %9@ %8@", "path", "offered/s", "acked/s", "p50 ms", "p99 ms", "failed"),
                    row("handheld → gateway → journals", gateway),
                    row("raw CURVE request-reply (echo)", raw),
                    String(format: "ratio p50 gateway / raw CURVE: %.1f×; p99: %.1f×", gateway.p(0.5) / max(raw.p(0.5), 0.001), gateway.p(0.99) / max(raw.p(0.99), 0.001)),
                    gateway.failures.isEmpty ? nil : "failed: " + gateway.failures.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
                    gateway.cpu.map { "gateway path: " + $0.line(acked: gateway.acked) } ?? "cpu: not measured",
                    raw.cpu.map { String(format: "raw CURVE: cpu per reply %.3f ms (clients and echo server)", $0.bench / Double(max(raw.acked, 1)) * 1000) } ?? "",
                    journal].compactMap { $0 }.joined(separator: "\n")
        }

        var json: JSONValue {
            .object([("bench", "gateway"), ("handhelds", .int(options.handhelds)), ("nodes", .int(options.nodes)), ("interval_ms", .int(options.intervalMs)),
                     ("seconds", .int(options.seconds)), ("offered_per_s", .double(Double(options.handhelds) * 1000 / Double(options.intervalMs))),
                     ("reports_per_s", .double(gateway.perSecond.rounded())), ("p50_ms", .double((gateway.p(0.5) * 100).rounded() / 100)),
                     ("p99_ms", .double((gateway.p(0.99) * 100).rounded() / 100)), ("failed", .int(gateway.failed)),
                     ("cpu_ms_per_report", .double(gateway.cpu.map { ($0.total / Double(max(gateway.acked, 1)) * 1e5).rounded() / 100 } ?? 0)),
                     ("machine_busy_cores", .double(gateway.cpu.map { ($0.machine / $0.wall * 100).rounded() / 100 } ?? 0)),
                     ("cpu_ms_per_report_nodes", .double(gateway.cpu.map { ($0.nodes / Double(max(gateway.acked, 1)) * 1e5).rounded() / 100 } ?? 0)),
                     ("cpu_ms_per_report_bench", .double(gateway.cpu.map { ($0.bench / Double(max(gateway.acked, 1)) * 1e5).rounded() / 100 } ?? 0)),
                     ("node_switches_per_report", .double(gateway.cpu.map { (Double($0.nodeSwitches) / Double(max(gateway.acked, 1)) * 10).rounded() / 10 } ?? 0)),
                     ("raw_curve_per_s", .double(raw.perSecond.rounded())), ("raw_curve_p50_ms", .double((raw.p(0.5) * 100).rounded() / 100)),
                     ("raw_curve_p99_ms", .double((raw.p(0.99) * 100).rounded() / 100))])
        }
    }

    let options: Options
    let schema = "bench_gateway_\(ProcessInfo.processInfo.processIdentifier)"
    let logger = Logger(label: "bench.gateway", level: .warning)
    init(_ options: Options) { self.options = options }

    func run() async throws -> Result {
        let base = PostgresConfiguration(options.conninfo, applicationName: "daybreak-bench-gateway")
        let admin = try await PostgresConnection.connect(base, logger: logger)
        let keyDir = FileManager.default.temporaryDirectory.appendingPathComponent("daybreak-\(schema)-keys").path
        var nodes: [Process] = []
        var service: EdgeGatewayService?
        // The simulated handhelds' sockets, spread over several I/O threads as real devices would be
        // spread over devices: one thread polling a thousand sockets pays for all of them on every wake.
        var clientContexts: [MessagingContext] = []
        for _ in 0 ..< options.clientThreads { clientContexts.append(try MessagingContext(logger: logger)) }
        let contexts = clientContexts
        func cleanUp() async {
            await service?.close()
            for c in contexts { await c.shutdown() }
            for p in nodes where p.isRunning { kill(p.processIdentifier, SIGTERM) }
            for p in nodes { p.waitUntilExit() }
            _ = try? await admin.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE", purpose: "drop bench schema")
            await admin.close()
            try? FileManager.default.removeItem(atPath: keyDir)
        }
        do {
            _ = try await Migrator(DomainSchema.allMigrations, schema: schema, logger: logger).migrate(admin)
            try await admin.executeScript("SET search_path TO \(schema)", purpose: "use the bench schema")
            // A weekday afternoon on a driven clock: day vans, morning EVs and riders on shift.
            let day = LocalDay(isoDate: "2026-12-02")!
            let (city, ops) = try OperatingConfig.load(regionsFile: options.regionsFile, operationsFile: options.operationsFile)
            let start = Instant.local(day, Time.hm(14), ops.offset)
            _ = try await DeploymentClock.ensure(mode: .driven, start: start, offset: ops.offset, on: admin, who: "bench gateway")
            var operating = OperatingConfig(city: city, operations: ops, clock: .driven, clockStart: start)
            operating.wallNow = { start }
            // Keys: the gateway's admitted before the nodes start; one per node; one per handheld.
            try FileManager.default.createDirectory(atPath: keyDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let gatewayKey = try CurveKeyPair.generate()
            _ = try await admin.execute(PrincipalDirectory.upsert, [gatewayKey.publicKey, "gateway:bench", Principal.gateway, ""], purpose: "gateway key")
            let configs = try operating.regions.map { try operating.dayConfig(region: $0, day: day) }
            let onShift = configs.flatMap(\.couriers).filter { $0.shiftStart <= start && $0.shiftEnd > start + 3_600 }
            guard !onShift.isEmpty else { throw NodeConfigurationError("no courier on shift at 14:00 in \(options.operationsFile)") }
            var handheldKeys: [(CourierRef, Coordinate, CurveKeyPair)] = []
            let sites = Dictionary(configs.flatMap(\.sites).map { ($0.id, $0.location) }, uniquingKeysWith: { a, _ in a })
            for i in 0 ..< options.handhelds {
                let c = onShift[i % onShift.count]
                let k = try CurveKeyPair.generate()
                _ = try await admin.execute(PrincipalDirectory.upsert, [k.publicKey, "courier:\(EdgeNames.text(c.ref)):hh\(i)", EdgeRole.courier.rawValue,
                                                                        EdgeNames.text(c.ref)], purpose: "handheld key")
                handheldKeys.append((c.ref, sites[c.home] ?? Coordinate(lat: 37.5, lon: 127), k))
            }
            for i in 1 ... options.nodes {
                let file = "\(keyDir)/n\(i).key"
                try CurveKeyFile.writeSecret(try CurveKeyPair.generate(), to: file, overwrite: true)
                nodes.append(try startNode("n\(i)", keyFile: file, start: start))
            }
            var gwOptions = EdgeGatewayService.Options(listen: "tcp://127.0.0.1:*", keyPair: gatewayKey, name: "bench", database: base.withSearchPath(schema),
                                                       operating: operating)
            gwOptions.waitForRegions = .seconds(90)
            let s = try await EdgeGatewayService.start(gwOptions, logger: logger)
            service = s
            printErr("bench gateway: \(options.nodes) nodes own every region; \(options.handhelds) handhelds for \(onShift.count) couriers on shift")
            let result = try await withThrowingTaskGroup(of: Void.self) { group -> Result in
                group.addTask { await s.run() }
                defer { group.cancelAll() }
                let until = ContinuousClock.now + .seconds(30)
                while !handheldKeys.allSatisfy({ s.server.knows(publicKey: $0.2.publicKey) }) {
                    guard ContinuousClock.now < until else { throw NodeConfigurationError("the gateway did not load the handhelds' keys within 30 s") }
                    try await Task.sleep(for: .milliseconds(100))
                }
                var clients: [EdgeClient] = []
                for (i, (_, _, k)) in handheldKeys.enumerated() {
                    clients.append(try await EdgeClient.connect(s.server.endpoint, serverKey: s.server.publicKey, keyPair: k,
                                                                context: contexts[i % contexts.count]))
                }
                // Every handheld starts its shift (seq 1), a few at a time.
                let connected = clients, homes = handheldKeys.map(\.1)
                try await withThrowingTaskGroup(of: Void.self) { g in
                    for (i, c) in connected.enumerated() {
                        if i >= 64 { try await g.next() }
                        g.addTask {
                            _ = try await c.call("reports", ReportsBody(device: "hh\(i)", reports: [
                                WireReport(seq: 1, at: WireTime(start), kind: "shift_started", position: WirePosition(homes[i]))]), timeout: .seconds(60))
                        }
                    }
                    try await g.waitForAll()
                }
                let backends = try await admin.query("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
                                                     purpose: "PostgreSQL backends").map { Int32(try $0.decode(0, as: Int32.self)) }
                let gw = try await measure(clients: clients, homes: handheldKeys.map(\.1), start: start,
                                           nodePIDs: nodes.map(\.processIdentifier), pgPIDs: backends)
                for c in clients { await c.close() }
                let raw = try await measureRawCurve()
                let stats = try await admin.query("SELECT count(*) FROM actor_events", purpose: "count events")
                let events = try stats[0].decode(0, as: Int64.self)
                return Result(options: options, gateway: gw, raw: raw,
                              journal: "journal: \(events) events in all; audit rows: \(try await admin.query("SELECT count(*) FROM edge_audit", purpose: "audit")[0].decode(0, as: Int64.self))")
            }
            await cleanUp()
            return result
        } catch {
            await cleanUp()
            throw error
        }
    }

    /// Each handheld reports a position every interval (its own phase), one at a time; the
    /// latencies of acks in the measured window are kept.
    func measure(clients: [EdgeClient], homes: [Coordinate], start: Instant, nodePIDs: [Int32], pgPIDs: [Int32]) async throws -> Phase {
        let t0 = ContinuousClock.now
        let measureFrom = t0 + .seconds(options.warmupSeconds)
        let end = measureFrom + .seconds(options.seconds)
        let interval = Duration.milliseconds(options.intervalMs)
        let phases = try await withThrowingTaskGroup(of: Phase.self) { group in
            group.addTask {
                try await Task.sleep(until: measureFrom)
                let a = CPUWindow.Snapshot.take(nodes: nodePIDs, postgres: pgPIDs)
                try await Task.sleep(until: end)
                var p = Phase()
                p.cpu = CPUWindow(from: a, to: CPUWindow.Snapshot.take(nodes: nodePIDs, postgres: pgPIDs))
                return p
            }
            for (i, c) in clients.enumerated() {
                group.addTask {
                    var p = Phase()
                    var seq: Int64 = 1
                    var etag: String? = nil   // the manifest it holds: acks leave it out while unchanged
                    var next = t0 + interval * Double(i) / Double(clients.count)
                    var step = 0
                    while next < end {
                        try await Task.sleep(until: next)
                        seq += 1; step += 1
                        let home = homes[i]
                        let at = start + Int64((ContinuousClock.now - t0).components.seconds)
                        let pos = WirePosition(lat: home.lat + Double(step % 50) * 0.0002, lon: home.lon + Double(step % 37) * 0.0002)
                        let sentAt = ContinuousClock.now
                        let counted = sentAt >= measureFrom
                        if counted { p.sent += 1 }
                        do {
                            let r = try await c.call("reports", ReportsBody(device: "hh\(i)", reports: [WireReport(seq: seq, at: WireTime(at), kind: "position", position: pos)],
                                                                            ifNoneMatch: etag),
                                                     timeout: .seconds(10))
                            let ack = try? r.expect("reports.ack", ReportsAckBody.self)
                            if let e = ack?.manifestEtag { etag = e }
                            let ok = ack?.results.first.map { ["applied", "refused"].contains($0.status) } ?? false
                            if counted, ContinuousClock.now <= end {
                                if ok { p.acked += 1; p.latenciesMs.append(GatewayBench.ms(ContinuousClock.now - sentAt)) } else {
                                    p.failed += 1
                                    p.failures[ack?.results.first?.status ?? r.type, default: 0] += 1
                                }
                            }
                            // Not applied: the same number next time; a duplicate was applied before (an
                            // earlier try whose ack was lost), so the handheld goes on with the next number.
                            if !ok && ack?.results.first?.status != "duplicate" { seq -= 1 }
                        } catch {
                            if counted { p.failed += 1; p.failures["no reply (\((error as? MessagingError)?.code.description ?? "error"))", default: 0] += 1 }
                            seq -= 1
                        }
                        next = next + interval
                    }
                    return p
                }
            }
            var all: [Phase] = []
            for try await p in group { all.append(p) }
            return all
        }
        var out = Phase()
        for p in phases {
            out.sent += p.sent; out.acked += p.acked; out.failed += p.failed; out.latenciesMs += p.latenciesMs; out.cpu = out.cpu ?? p.cpu
            out.failures.merge(p.failures, uniquingKeysWith: +)
        }
        out.seconds = Double(options.seconds)
        return out
    }

    /// The same number of CURVE clients and the same rate against a ROUTER that answers at once.
    func measureRawCurve() async throws -> Phase {
        let authority = try CurveKeyTable()
        let context = try MessagingContext(logger: logger, curveAuthority: authority)
        var clientContexts: [MessagingContext] = []
        func shutdown() async {
            await context.shutdown()
            for c in clientContexts { await c.shutdown() }
        }
        do {
            for _ in 0 ..< options.clientThreads { clientContexts.append(try MessagingContext(logger: logger)) }
            let out = try await measureRawCurve(context: context, clientContexts: clientContexts, authority: authority)
            await shutdown()
            return out
        } catch {
            await shutdown()
            throw error
        }
    }

    func measureRawCurve(context: MessagingContext, clientContexts: [MessagingContext], authority: CurveKeyTable) async throws -> Phase {
        let serverKey = try CurveKeyPair.generate()
        var so = SocketOptions.edge
        so.curveServer = try CurveServer(keyPair: serverKey, domain: "bench", recheckEachMessage: true)
        let server = try await context.bindServer("tcp://127.0.0.1:*", options: so)
        var clients: [RequestClient] = []
        for _ in 0 ..< options.handhelds {
            let k = try CurveKeyPair.generate()
            try authority.grant(k.publicKey, as: try CurveIdentity(userID: "raw", role: "courier"))
            var co = SocketOptions()
            co.curveClient = try CurveClient(serverPublicKey: serverKey.publicKey, keyPair: k)
            clients.append(try await clientContexts[clients.count % clientContexts.count].connectClient(server.endpoint, options: co))
        }
        let body = Message(EdgeCodec.encode("reports", ReportsBody(device: "hh", reports: [
            WireReport(seq: 2, at: WireTime(Instant(epochSeconds: 0)), kind: "position", position: WirePosition(lat: 37.5, lon: 127))])))
        let reply = Message(EdgeCodec.encode("reports.ack", ReportsAckBody(lastSeq: 2, results: [ReportResult(seq: 2, status: "applied")], manifest: nil)))
        let connected = clients
        let measured = try await withThrowingTaskGroup(of: Phase?.self) { group in
            group.addTask { try await server.serve { _ in reply }; return nil }
            let t0 = ContinuousClock.now
            let seconds = min(options.seconds, 10)
            let measureFrom = t0 + .seconds(2), end = measureFrom + .seconds(seconds)
            let interval = Duration.milliseconds(options.intervalMs)
            let phases = try await withThrowingTaskGroup(of: Phase.self) { g in
                g.addTask {
                    try await Task.sleep(until: measureFrom)
                    let a = CPUWindow.Snapshot.take(nodes: [], postgres: [])
                    try await Task.sleep(until: end)
                    var p = Phase()
                    p.cpu = CPUWindow(from: a, to: CPUWindow.Snapshot.take(nodes: [], postgres: []))
                    return p
                }
                for (i, c) in connected.enumerated() {
                    g.addTask {
                        var p = Phase()
                        var next = t0 + interval * Double(i) / Double(connected.count)
                        while next < end {
                            try await Task.sleep(until: next)
                            let sentAt = ContinuousClock.now
                            let counted = sentAt >= measureFrom
                            if counted { p.sent += 1 }
                            do {
                                _ = try await c.request(body, timeout: .seconds(10))
                                if counted, ContinuousClock.now <= end { p.acked += 1; p.latenciesMs.append(GatewayBench.ms(ContinuousClock.now - sentAt)) }
                            } catch { if counted { p.failed += 1 } }
                            next = next + interval
                        }
                        return p
                    }
                }
                var all: [Phase] = []
                for try await p in g { all.append(p) }
                return all
            }
            var out = Phase()
            for p in phases { out.sent += p.sent; out.acked += p.acked; out.failed += p.failed; out.latenciesMs += p.latenciesMs; out.cpu = out.cpu ?? p.cpu }
            out.seconds = Double(seconds)
            for c in connected { await c.close() }
            await server.close()
            group.cancelAll()
            return out
        }
        return measured
    }

    static func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }

    func startNode(_ id: String, keyFile: String, start: Instant) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var arguments = ["node", "--id", id, "--listen", "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*", "--regions", options.regionsFile,
                         "--operations", options.operationsFile, "--schema", schema, "--clock", "driven", "--key", keyFile, "--log-level", "warning"]
        if !options.conninfo.isEmpty { arguments += ["--database", options.conninfo] }
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }
}

/// CPU seconds used during a measured window: this process (the gateway and the simulated
/// handhelds), the node processes, the PostgreSQL backends, and the whole machine (so a busy
/// neighbour shows). Linux `/proc`; zero where a process cannot be read.
struct CPUWindow: Sendable {
    var bench = 0.0, nodes = 0.0, postgres = 0.0, machine = 0.0, wall = 0.0
    /// Context switches (voluntary and not, every thread) of this process and of the node processes.
    var benchSwitches = 0, nodeSwitches = 0
    var total: Double { bench + nodes + postgres }

    struct Snapshot: Sendable {
        var bench = 0.0, nodes = 0.0, postgres = 0.0, machine = 0.0
        var benchSwitches = 0, nodeSwitches = 0
        var at = ContinuousClock.now
        static func take(nodes: [Int32], postgres: [Int32]) -> Snapshot {
            var s = Snapshot()
            s.bench = CPUWindow.process(getpid())
            s.nodes = nodes.map(CPUWindow.process).reduce(0, +)
            s.benchSwitches = CPUWindow.contextSwitches(getpid())
            s.nodeSwitches = nodes.map(CPUWindow.contextSwitches).reduce(0, +)
            s.postgres = postgres.map(CPUWindow.process).reduce(0, +)
            s.machine = CPUWindow.machineBusy()
            s.at = ContinuousClock.now
            return s
        }
    }

    init(from a: Snapshot, to b: Snapshot) {
        bench = b.bench - a.bench; nodes = b.nodes - a.nodes; postgres = b.postgres - a.postgres; machine = b.machine - a.machine
        benchSwitches = b.benchSwitches - a.benchSwitches; nodeSwitches = b.nodeSwitches - a.nodeSwitches
        let d = (b.at - a.at).components
        wall = Double(d.seconds) + Double(d.attoseconds) / 1e18
    }

    func line(acked: Int) -> String {
        let per = { (s: Double) in acked > 0 ? s / Double(acked) * 1000 : 0 }
        let switches = { (n: Int) in acked > 0 ? Double(n) / Double(acked) : 0 }
        return String(format: "cpu per acknowledged report: %.3f ms (gateway + handhelds %.3f, nodes %.3f, PostgreSQL %.3f); machine busy %.2f cores, this benchmark %.2f;\n  context switches per report: nodes %.1f, gateway + handhelds %.1f",
                      per(total), per(bench), per(nodes), per(postgres), wall > 0 ? machine / wall : 0, wall > 0 ? total / wall : 0,
                      switches(nodeSwitches), switches(benchSwitches))
    }

    /// Voluntary and involuntary context switches of every thread of a process (/proc/PID/task/*/status).
    static func contextSwitches(_ pid: Int32) -> Int {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return 0 }
        var n = 0
        for t in tasks {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(t)/status", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") where line.hasSuffix("ctxt_switches") == false && line.contains("ctxt_switches:") {
                n += Int(line.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "") ?? 0
            }
        }
        return n
    }

    static let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// utime + stime of a process, in seconds (fields 14 and 15 of /proc/PID/stat, after the command's parenthesis).
    static func process(_ pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { return 0 }
        return (u + s) / ticks
    }

    /// Busy CPU seconds of the whole machine (the first line of /proc/stat, without idle and iowait).
    static func machineBusy() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let line = text.split(separator: "\n").first else { return 0 }
        let v = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard v.count >= 8 else { return 0 }
        return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / ticks
    }
}
