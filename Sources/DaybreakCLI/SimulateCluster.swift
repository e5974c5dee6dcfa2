import Base
import Cluster
import DaybreakNode
import DispatchPlanning
import Fleet
import Edge
import Foundation
import Gateway
import Geo
import Messaging
import Simulation
import Storage
import Synchronization

/// What the simulated day's nodes load as their deployment: the operations file, the seed, and
/// where the driven clock starts (the scenario's first instant).
struct SimulatedDeployment {
    var operationsFile: String
    var seed: UInt64
    var clockStart: Instant
    var offset: UTCOffset
}

/// The simulated day on a real cluster: `nodes` `daybreak node` child processes (this binary),
/// each with its own ports and an event publisher, over PostgreSQL (`database`: a libpq conninfo;
/// nil: the PG* environment) in a schema of its own, with the deployment's files and a driven
/// clock starting at `deployment.clockStart`. The nodes open their regions' service days by
/// themselves; the simulated day only drives the clock (`ClusterGateway.advance`) and speaks the
/// operations contract. Waits until every configured region is owned and returns a backend whose
/// gateway is a `ClusterGateway`. `regionsFile` is the city file the nodes serve.
func makeClusterSimulationBackend(nodes: Int, database: String?, configs: [RegionDispatchConfig], regionsFile: String,
                                  deployment: SimulatedDeployment, logger: Logger) async throws -> any SimulationBackend {
    precondition(nodes >= 1, "at least one node")
    let schema = "sim_\(ProcessInfo.processInfo.processIdentifier)_\(UInt16.random(in: 0 ... .max))"
    let base = PostgresConfiguration(database ?? "", applicationName: "daybreak-simulate")
    let admin = try await PostgresConnection.connect(base, logger: logger)
    let processes = Mutex<[String: Process]>([:])
    var client: ClusterClient?
    var pool: PostgresPool?
    var keys: String?
    var edgeService: EdgeGatewayService?
    var edgeContext: MessagingContext?
    var edgeGateway: EdgeSimulationGateway?
    var edgePump: Task<Void, Never>?
    let backend: ClusterSimulationBackend
    do {
        _ = try await Migrator(DomainSchema.allMigrations, schema: schema, logger: logger).migrate(admin)
        try await admin.executeScript("SET search_path TO \(schema)", purpose: "use the simulation's schema")
        // The simulated day is the clock's principal: the deployment's clock is driven from the scenario's start.
        _ = try await DeploymentClock.ensure(mode: .driven, start: deployment.clockStart, offset: deployment.offset, on: admin,
                                             who: "the simulated day")
        // Keys end to end: each node its own secret key file (0600, in a directory of this run's),
        // the day itself a gateway principal; every port serves CURVE.
        let gatewayKey = try CurveKeyPair.generate()
        _ = try await admin.execute(PrincipalDirectory.upsert, [gatewayKey.publicKey, "gateway:simulate", Principal.gateway, ""],
                                    purpose: "the simulated day's key")
        let keyDir = FileManager.default.temporaryDirectory.appendingPathComponent("daybreak-\(schema)-keys").path
        try FileManager.default.createDirectory(atPath: keyDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        keys = keyDir
        for i in 1 ... nodes {
            let id = "n\(i)"
            try CurveKeyFile.writeSecret(try CurveKeyPair.generate(), to: "\(keyDir)/\(id).key", overwrite: true)
            let p = try ClusterSimulationBackend.startNode(id, schema: schema, database: database, regionsFile: regionsFile, deployment: deployment,
                                                           keyFile: "\(keyDir)/\(id).key")
            processes.withLock { $0[id] = p }
        }
        let c = try await ClusterClient(database: base.withSearchPath(schema), curve: gatewayKey, attemptTimeout: .seconds(2), logger: logger)
        client = c
        // Every configured region owned by a live node.
        let until = ContinuousClock.now + .seconds(60)
        while true {
            try? await c.ownership.refresh()
            let missing = configs.filter { c.ownership.owner(ofRegion: $0.region.rawValue) == nil }.map(\.region.rawValue)
            if missing.isEmpty { break }
            if ContinuousClock.now >= until {
                throw ClusterGatewayError("regions not owned within 60 s of starting \(nodes) nodes: \(missing.sorted().joined(separator: ", "))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        try await c.connectToNodes()
        let clockPool = PostgresPool(base.withSearchPath(schema), size: 2, acquireTimeout: .seconds(5), logger: logger)
        pool = clockPool
        let gateway = try await ClusterGateway(client: c, configs: configs, drivenClock: clockPool, principal: "simulate")
        // The front door: an edge gateway in this process over the same schema, and every actor of
        // the day with a key of its own (storefront, customers, each courier's handheld, each site's
        // staff, a dispatcher, the clock) speaking the edge protocol to it over CURVE.
        let keys = try EdgeSimulationGateway.Keys.generate(configs: configs)
        for p in keys.principals {
            _ = try await admin.execute(PrincipalDirectory.upsert, [p.publicKey, p.user, p.role.rawValue, p.scope], purpose: "an edge principal")
        }
        let (city, ops) = try OperatingConfig.load(regionsFile: regionsFile, operationsFile: deployment.operationsFile)
        var operating = OperatingConfig(city: city, operations: ops, seed: deployment.seed, clock: .driven, clockStart: deployment.clockStart)
        let clockStart = deployment.clockStart
        operating.wallNow = { clockStart }
        var serviceOptions = EdgeGatewayService.Options(listen: "tcp://127.0.0.1:*", keyPair: try CurveKeyPair.generate(), name: "simulate",
                                                        database: base.withSearchPath(schema), operating: operating)
        serviceOptions.principalRefresh = .milliseconds(500)
        // Simulated time runs about 1000× wall time: one connection (the storefront's, the shared dawn
        // hub's staff) sends in a wall second what it would in a quarter of an hour, so the per-connection
        // rate limit (50/s, burst 100) is raised 100× rather than dropping the day's requests.
        serviceOptions.socket.requestRateLimit = RequestRateLimit(perSecond: 5_000, burst: 10_000)
        let service = try await EdgeGatewayService.start(serviceOptions, logger: logger)
        edgeService = service
        let context = try MessagingContext(logger: logger)
        edgeContext = context
        var edgeOptions = EdgeSimulationGateway.Options(offset: deployment.offset,
                                                        offline: .seeded(configs: configs, seed: deployment.seed, fraction: 0.05))
        edgeOptions.duplicateTail = 3
        let edge = try await EdgeSimulationGateway.connect(endpoint: service.server.endpoint, serverKey: service.server.publicKey, context: context,
                                                           keys: keys, configs: configs, options: edgeOptions)
        edgeGateway = edge
        // Owned: awaited by `shutdown()` (each returns once closed), or below on a failed start.
        let pump = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await gateway.run() }
                group.addTask { await service.run() }
                group.addTask { await edge.run() }
            }
        }
        edgePump = pump
        try await edge.greet()
        backend = ClusterSimulationBackend(gateway: gateway, edge: edge, service: service, context: context, client: c, admin: admin,
                                           clockPool: clockPool, schema: schema, processes: processes.withLock { $0 }, pump: pump,
                                           database: database, logger: logger)
    } catch {
        for p in processes.withLock({ Array($0.values) }) where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        await edgeGateway?.close()
        await edgeService?.close()
        await edgeContext?.shutdown()
        await client?.close()
        await edgePump?.value
        await pool?.close()
        if let keys { try? FileManager.default.removeItem(atPath: keys) }
        // DAYBREAK_SIMULATE_KEEP=1 keeps the day's journal, outbox and leases for inspection (psql, ctl dispatch --schema).
        if ProcessInfo.processInfo.environment["DAYBREAK_SIMULATE_KEEP"] == "1" {
            FileHandle.standardError.write(Data("simulate: kept schema \(schema) (DAYBREAK_SIMULATE_KEEP=1)\n".utf8))
        } else {
            _ = try? await admin.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE", purpose: "drop the simulation's schema")
        }
        await admin.close()
        throw error
    }
    return backend
}

final class ClusterSimulationBackend: SimulationBackend {
    let clusterGateway: ClusterGateway
    /// The simulated day's gateway: the edge protocol through `service`.
    let edge: EdgeSimulationGateway
    let service: EdgeGatewayService
    let context: MessagingContext
    var gateway: any DispatchGateway { edge }
    let client: ClusterClient
    let admin: PostgresConnection
    let clockPool: PostgresPool
    let schema: String
    let processes: Mutex<[String: Process]>
    let pump: Task<Void, Never>
    let database: String?
    let logger: Logger
    let closed = Atomic<Bool>(false)

    init(gateway: ClusterGateway, edge: EdgeSimulationGateway, service: EdgeGatewayService, context: MessagingContext, client: ClusterClient,
         admin: PostgresConnection, clockPool: PostgresPool, schema: String, processes: [String: Process], pump: Task<Void, Never>,
         database: String?, logger: Logger) {
        clusterGateway = gateway; self.edge = edge; self.service = service; self.context = context; self.client = client; self.admin = admin; self.clockPool = clockPool; self.schema = schema
        self.processes = Mutex(processes); self.pump = pump; self.database = database; self.logger = logger
    }

    var description: String {
        let (n, up) = processes.withLock { ($0.count, $0.values.filter(\.isRunning).count) }
        let started = up == n ? "\(n) node processes" : "\(n) node processes (\(n - up) killed)"
        return "\(started) behind an edge gateway (every actor its own CURVE key), PostgreSQL \(database.map { "at \($0)" } ?? "from the PG* environment") (schema \(schema))"
    }

    static func startNode(_ id: String, schema: String, database: String?, regionsFile: String, deployment: SimulatedDeployment,
                          keyFile: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var arguments = ["node", "--id", id, "--listen", "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*", "--regions", regionsFile,
                         "--schema", schema, "--log-level", "warning", "--operations", deployment.operationsFile, "--clock", "driven",
                         "--seed", String(deployment.seed), "--key", keyFile]
        if let database, !database.isEmpty { arguments += ["--database", database] }
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        // DAYBREAK_SIMULATE_LOGS=DIR keeps each node's log in DIR/<id>.log (appended).
        if let dir = ProcessInfo.processInfo.environment["DAYBREAK_SIMULATE_LOGS"], !dir.isEmpty {
            let path = (dir as NSString).appendingPathComponent("\(id).log")
            if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            if let h = try? FileHandle(forWritingTo: URL(fileURLWithPath: path)) {
                h.seekToEndOfFile()
                p.standardError = h
            }
        }
        try p.run()
        return p
    }

    /// SIGKILLs the live node that owns the most regions (never the last live one).
    func killNode() async throws -> String? {
        try? await client.ownership.refresh()
        let live = processes.withLock { $0.filter { $0.value.isRunning } }
        guard live.count > 1 else { return nil }
        var load: [String: Int] = [:]
        for c in clusterGateway.configs {
            if let owner = client.ownership.owner(ofRegion: c.region.rawValue)?.id { load[owner, default: 0] += 1 }
        }
        let victim = live.keys.sorted().max { (load[$0] ?? 0, $1) < (load[$1] ?? 0, $0) }!
        let p = live[victim]!
        kill(p.processIdentifier, SIGKILL)
        while p.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        logger.notice("simulation: killed node \(victim) (SIGKILL)", ["regions": "\(load[victim] ?? 0)"])
        return victim
    }

    /// An acknowledged order is lost when it has no order journal, when its journal never reached
    /// the acknowledged state, or when `order.created` appears more than once (a duplicate).
    func lostOrders(acknowledged: [OrderIDRegion]) async throws -> [OrderIDRegion] {
        var lost: [OrderIDRegion] = []
        for a in acknowledged {
            let rows = try await withDeadline(.seconds(10), "order journal of \(a.order)") { [admin] in
                try await admin.query("SELECT type, payload FROM actor_events WHERE region = $1 AND actor_kind = 'order' AND actor_key = $2 ORDER BY seq",
                                      [a.region, a.order], purpose: "order journal")
            }
            var created = 0
            var visited: Set<String> = []
            for r in rows {
                let type = try r.decode(0, as: String.self)
                if type == "order.created" { created += 1; visited.insert(OrderState.created.rawValue) }
                if let e = try? BinaryDecoder().decode(OrderJournalEvent.self, from: try r.decode(1, as: [UInt8].self)), let t = e.transition {
                    visited.insert(t.to.rawValue)
                }
            }
            let states = Set(visited.compactMap(OrderState.init(rawValue:)))
            if created != 1 || (a.acknowledgedState.flatMap(OrderState.init(rawValue:)).map { !OrderIDRegion.honours(acknowledged: $0, states: states) } ?? false) {
                logger.warning("simulation: order journal disagrees with what was acknowledged",
                               ["order": a.order, "region": a.region, "acknowledged": a.acknowledgedState ?? "-",
                                "created": "\(created)", "journal": visited.sorted().joined(separator: ",")])
                lost.append(a)
            }
        }
        return lost
    }

    func replayCounts() async -> ReplayCounts? {
        let c = edge.counts
        return ReplayCounts(replayed: c.replayed, duplicates: c.duplicates, offlineCouriers: c.offlineCouriers)
    }

    func shutdown() async {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        await edge.close()
        await service.close()
        await context.shutdown()
        await client.close()
        await pump.value
        await clockPool.close()
        try? FileManager.default.removeItem(at: FileManager.default.temporaryDirectory.appendingPathComponent("daybreak-\(schema)-keys"))
        let all = processes.withLock { Array($0.values) }
        for p in all where p.isRunning { kill(p.processIdentifier, SIGTERM) }
        let until = ContinuousClock.now + .seconds(15)
        for p in all {
            while p.isRunning && ContinuousClock.now < until { try? await Task.sleep(for: .milliseconds(20)) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        }
        // DAYBREAK_SIMULATE_KEEP=1 keeps the day's journal, outbox and leases for inspection (psql, ctl dispatch --schema).
        if ProcessInfo.processInfo.environment["DAYBREAK_SIMULATE_KEEP"] == "1" {
            FileHandle.standardError.write(Data("simulate: kept schema \(schema) (DAYBREAK_SIMULATE_KEEP=1)\n".utf8))
        } else {
            _ = try? await admin.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE", purpose: "drop the simulation's schema")
        }
        await admin.close()
    }
}
