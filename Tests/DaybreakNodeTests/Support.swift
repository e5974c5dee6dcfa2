import Base
import Cluster
import DaybreakNode
import Fleet
import Foundation
import Geo
import Storage
import Testing

/// PostgreSQL for these tests: a fresh schema with the cluster and domain migrations, region
/// "gangnam" leased to node "a" with token 1. Skips without a server; under
/// DAYBREAK_TEST_REQUIRE_POSTGRES=1 an unreachable server FAILS the test.
enum DomainTestDatabase {
    static var required: Bool { ProcessInfo.processInfo.environment["DAYBREAK_TEST_REQUIRE_POSTGRES"] == "1" }
    static let logger = Logger(label: "domain.test", level: .warning)

    static func withJournal(sourceLocation: SourceLocation = #_sourceLocation,
                            _ body: (Journal, PostgresConnection, PostgresPool) async throws -> Void) async throws {
        let schema = "t_domain_\(UInt32.random(in: 0 ... .max))_\(ProcessInfo.processInfo.processIdentifier)"
        let c: PostgresConnection
        do { c = try await PostgresConnection.connect(PostgresConfiguration("", applicationName: "daybreak-node-tests"), logger: logger) } catch {
            if required { Issue.record("PostgreSQL required but unreachable: \(error)", sourceLocation: sourceLocation) }
            else { print("note: skipping a domain actor test, PostgreSQL unreachable") }
            return
        }
        _ = try await Migrator(DomainSchema.allMigrations, schema: schema, logger: logger).migrate(c)
        try await c.executeScript("SET search_path TO \(schema)", purpose: "use schema")
        try await c.execute(ClusterSchema.ensureRegion, ["gangnam"], purpose: "seed")
        _ = try await c.query(ClusterSchema.acquireLease, ["gangnam", "a", Int64(0), Int64(60_000)], purpose: "lease")
        let pool = PostgresPool(PostgresConfiguration("").withSearchPath(schema), size: 2, logger: logger)
        var failure: (any Error)?
        do { try await body(Journal(pool: pool, node: "a"), c, pool) } catch { failure = error }
        await pool.close()
        _ = try? await c.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE", purpose: "drop")
        await c.close()
        if let failure { throw failure }
    }

    /// An admin connection and a fresh schema name for `body`; the schema is dropped afterwards, whatever
    /// `body` did. Skips (or records, when PostgreSQL is required) if the database is unreachable.
    static func withSchema(prefix: String, sourceLocation: SourceLocation = #_sourceLocation,
                           _ body: (PostgresConnection, String) async throws -> Void) async throws {
        let schema = "t_\(prefix)_\(UInt32.random(in: 0 ... .max))_\(ProcessInfo.processInfo.processIdentifier)"
        let c: PostgresConnection
        do { c = try await PostgresConnection.connect(PostgresConfiguration(""), logger: logger) } catch {
            if required { Issue.record("PostgreSQL required but unreachable: \(error)", sourceLocation: sourceLocation) }
            return
        }
        var failure: (any Error)?
        do { try await body(c, schema) } catch { failure = error }
        _ = try? await c.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE", purpose: "drop")
        await c.close()
        if let failure { throw failure }
    }

    /// A node as `daybreak node` runs it (`NodeService` with the domain's extensions), quick to
    /// notice a dead peer (100 ms heartbeats, 1 s lease) and to drain the outbox.
    static func domainNode(_ id: String, region: String, schema: String) -> NodeService {
        var cfg = NodeConfiguration(id: NodeID(id), listen: "tcp://127.0.0.1:*", regions: [RegionKey(region)], schema: schema,
                                    heartbeatInterval: .milliseconds(100), ttl: .seconds(1))
        cfg.events = "tcp://127.0.0.1:*"
        cfg.statementTimeout = .seconds(5)
        return NodeService(cfg, logger: logger, extensions: DomainNode.extensions(drainEvery: .milliseconds(50)))
    }

    /// One in-process node serving `region` in a schema of its own, and a `ClusterClient` on it:
    /// runs `body(client, admin, schema)`, then stops both and drops the schema.
    static func withSoloNode(region: String, prefix: String, sourceLocation: SourceLocation = #_sourceLocation,
                             _ body: (ClusterClient, PostgresConnection, String) async throws -> Void) async throws {
        try await withSchema(prefix: prefix, sourceLocation: sourceLocation) { c, schema in
            let service = domainNode("solo", region: region, schema: schema)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                defer { group.cancelAll() }
                try await NodeHostingTests.waitUntil("the node to serve \(region)") { service.servingRegions().count == 1 }
                let client = try await ClusterClient(database: PostgresConfiguration("").withSearchPath(schema), logger: logger)
                do { try await body(client, c, schema) } catch {
                    await client.close()
                    throw error
                }
                await client.close()
            }
        }
    }

    static func count(_ c: PostgresConnection, _ sql: String, _ params: [any PostgresEncodable] = []) async throws -> Int64 {
        try await c.query(sql, params, purpose: "count")[0].decode(0, as: Int64.self)
    }
}

enum Fixtures {
    static let gangnam: RegionID = "gangnam"
    /// 2024-03-04 (a Monday), Seoul.
    static let monday = Instant(epochSeconds: 1_709_478_000).localDay(.seoul)
    static func seoul(_ h: Int64, _ m: Int64 = 0) -> Instant { .local(monday, Time.hm(h, m), .seoul) }
    static let catalogue = Catalogue([
        CatalogueItem(sku: "tofu", name: "Tofu", unitWeightGrams: 300, unitVolumeMillilitres: 400, zone: .chilled),
        CatalogueItem(sku: "rice", name: "Rice", unitWeightGrams: 1000, unitVolumeMillilitres: 1200, zone: .ambient),
    ])

    /// A validated order (Fleet's `Order.create`), dawn delivery by default.
    static func order(_ id: OrderID, product: Product = .dawn, lines: [OrderLine] = [OrderLine(sku: "tofu", quantity: 2)],
                      at: Instant = seoul(21)) throws -> Order {
        try Order.create(OrderDraft(id: id, lines: lines, destination: Coordinate(lat: 37.5, lon: 127.03), product: product),
                         at: at, catalogue: catalogue, locate: { _ in gangnam }, configs: [gangnam: ProductConfig(region: gangnam)],
                         storeHours: product == .bopis ? OpeningHours(open: TimeOfDay(8), close: TimeOfDay(23)) : nil)
    }
}
