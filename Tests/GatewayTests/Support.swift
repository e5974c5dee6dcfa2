import Base
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
import Testing

/// A deployment for edge tests on real PostgreSQL and ZeroMQ: a fresh schema, one keyed node
/// (`daybreak node --key`) serving gangnam with the repository's city and operations files on a
/// driven clock, and one or more edge gateways (`daybreak gateway`) in front of it. Principals are
/// added with `principal(_:scope:)`; clients connect with `client(_:)`.
final class EdgeDeployment: Sendable {
    static let logger = Logger(label: "edge.test", level: .warning)
    static var required: Bool { ProcessInfo.processInfo.environment["DAYBREAK_TEST_REQUIRE_POSTGRES"] == "1" }
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let offset = UTCOffset.seoul
    static let day = LocalDay(isoDate: "2026-12-02")!
    /// Local time on `day + d`.
    static func at(_ d: Int64, _ h: Int64, _ m: Int64 = 0) -> Instant { .local(day + d, Time.hm(h, m), offset) }

    let schema: String
    let admin: PostgresConnection
    let database: PostgresConfiguration
    let operating: OperatingConfig
    let gateways: [EdgeGatewayService]
    let context: MessagingContext
    let clients = Mutex<[EdgeClient]>([])

    init(schema: String, admin: PostgresConnection, database: PostgresConfiguration, operating: OperatingConfig, gateways: [EdgeGatewayService],
         context: MessagingContext) {
        self.schema = schema; self.admin = admin; self.database = database; self.operating = operating; self.gateways = gateways; self.context = context
    }

    var gateway: EdgeGatewayService { gateways[0] }

    static func operatingConfig(start: Instant) throws -> OperatingConfig {
        let (city, ops) = try OperatingConfig.load(regionsFile: root.appendingPathComponent("Regions/seoul.json").path,
                                                   operationsFile: root.appendingPathComponent("Regions/seoul-operations.json").path)
        var c = OperatingConfig(city: city, operations: ops, clock: .driven, clockStart: start)
        c.budgets = RegionDispatchConfig.Budgets(dawnWaveIterations: 300, dawnWaveTimeLimitSeconds: 5, reoptimiseIterations: 10)
        c.wallNow = { start }
        return c
    }

    /// Runs `body` against a fresh deployment with `gatewayCount` gateways; stops and drops everything after.
    static func with(gateways gatewayCount: Int = 1, start: Instant = at(0, 9), sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: (EdgeDeployment) async throws -> Void) async throws {
        let schema = "t_edge_\(UInt32.random(in: 0 ... .max))_\(ProcessInfo.processInfo.processIdentifier)"
        let admin: PostgresConnection
        do { admin = try await PostgresConnection.connect(PostgresConfiguration(""), logger: logger) } catch {
            if required { Issue.record("PostgreSQL required but unreachable: \(error)", sourceLocation: sourceLocation) }
            else { print("note: skipping an edge gateway test, PostgreSQL unreachable") }
            return
        }
        var failure: (any Error)?
        do {
            _ = try await Migrator(DomainSchema.allMigrations, schema: schema, logger: logger).migrate(admin)
            try await admin.executeScript("SET search_path TO \(schema)", purpose: "use schema")
            let operating = try operatingConfig(start: start)
            _ = try await DeploymentClock.ensure(mode: .driven, start: start, offset: offset, on: admin, who: "edge tests")
            let nodeKey = try CurveKeyPair.generate()
            var cfg = NodeConfiguration(id: NodeID("e1"), listen: "tcp://127.0.0.1:*", regions: [RegionKey("gangnam")], schema: schema,
                                        heartbeatInterval: .milliseconds(100), ttl: .seconds(1))
            cfg.events = "tcp://127.0.0.1:*"
            cfg.statementTimeout = .seconds(5)
            cfg.curve = nodeKey
            cfg.principalsRefresh = .milliseconds(200)
            let node = NodeService(cfg, logger: logger, extensions: DomainNode.extensions(operating: operating, drainEvery: .milliseconds(50)))
            let database = PostgresConfiguration("").withSearchPath(schema)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await node.run() }
                defer { group.cancelAll() }
                try await waitUntil("the node serves gangnam", within: .seconds(30)) { node.servingRegions().count == 1 }
                var services: [EdgeGatewayService] = []
                do {
                    for i in 1 ... gatewayCount {
                        var o = EdgeGatewayService.Options(listen: "tcp://127.0.0.1:*", keyPair: try CurveKeyPair.generate(), name: "gw\(i)",
                                                           database: database, operating: operating)
                        o.regions = ["gangnam"]
                        o.principalRefresh = .milliseconds(200)
                        o.nodePrincipalsRefresh = .milliseconds(200)
                        services.append(try await EdgeGatewayService.start(o, logger: logger))
                    }
                } catch {
                    for s in services { await s.close() }
                    throw error
                }
                let context = try MessagingContext(logger: logger)
                let d = EdgeDeployment(schema: schema, admin: admin, database: database, operating: operating, gateways: services, context: context)
                try await withThrowingTaskGroup(of: Void.self) { gws in
                    for s in services { gws.addTask { await s.run() } }
                    var inner: (any Error)?
                    do { try await body(d) } catch { inner = error }
                    for c in d.clients.withLock({ $0 }) { await c.close() }
                    for s in services { await s.close() }
                    await context.shutdown()
                    try await gws.waitForAll()
                    if let inner { throw inner }
                }
            }
        } catch { failure = error }
        _ = try? await admin.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE", purpose: "drop")
        await admin.close()
        if let failure { throw failure }
    }

    /// A new principal with `role` and `scope`: its key pair.
    func principal(_ role: EdgeRole, _ scope: String = "", user: String? = nil) async throws -> CurveKeyPair {
        let k = try CurveKeyPair.generate()
        _ = try await admin.execute(PrincipalDirectory.upsert, [k.publicKey, user ?? "\(role.rawValue):\(scope.isEmpty ? k.publicKey.prefix(6) : Substring(scope))",
                                                                role.rawValue, scope], purpose: "principal")
        // The gateways re-read the principals every 200 ms: wait until each knows the key.
        try await waitUntil("the gateways know the new key", within: .seconds(10)) {
            gateways.allSatisfy { $0.server.knows(publicKey: k.publicKey) }
        }
        return k
    }

    /// A client of gateway `index` with `key`.
    func client(_ key: CurveKeyPair, gateway index: Int = 0) async throws -> EdgeClient {
        let g = gateways[index].server
        let c = try await EdgeClient.connect(g.endpoint, serverKey: g.publicKey, keyPair: key, context: context)
        clients.withLock { $0.append(c) }
        return c
    }

    func count(_ sql: String, _ params: [any PostgresEncodable] = []) async throws -> Int64 {
        try await admin.query(sql, params, purpose: "count")[0].decode(0, as: Int64.self)
    }
}

/// Polls `condition` every 50 ms until it holds or `within` passes (then fails the test).
func waitUntil(_ what: String, within: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation,
               _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + within
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("timed out waiting for \(what)", sourceLocation: sourceLocation)
    throw CancellationError()
}

extension EdgeClient {
    /// `call` that expects reply type `type` and decodes it; an error reply fails the test.
    func expect<B: Encodable, R: Decodable>(_ request: String, _ body: B, _ type: String, _ reply: R.Type,
                                            sourceLocation: SourceLocation = #_sourceLocation) async throws -> R {
        let r = try await call(request, body, timeout: .seconds(60))
        do { return try r.expect(type, R.self) } catch {
            Issue.record("\(request): expected \(type), got \(r.text)", sourceLocation: sourceLocation)
            throw error
        }
    }

    /// `call` that expects an error reply; returns it.
    func expectError<B: Encodable>(_ request: String, _ body: B, sourceLocation: SourceLocation = #_sourceLocation) async throws -> EdgeError {
        let r = try await call(request, body, timeout: .seconds(60))
        guard let e = r.error else {
            Issue.record("\(request): expected an error, got \(r.text)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        return e
    }
}
