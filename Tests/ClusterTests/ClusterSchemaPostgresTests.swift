import Base
import Foundation
import Testing
@testable import Cluster
@testable import Storage

/// The SQL of `ClusterSchema` against a real PostgreSQL (the PG* environment; Tools/test starts one).
/// Without a server the bodies are skipped with a note, unless DAYBREAK_TEST_REQUIRE_POSTGRES=1,
/// which makes an unreachable server a failure (the convention of StorageTests).
enum ClusterTestDatabase {
    static var required: Bool { ProcessInfo.processInfo.environment["DAYBREAK_TEST_REQUIRE_POSTGRES"] == "1" }
    static let logger = Logger(label: "cluster.test", level: .warning)

    /// Runs `body` on a connection whose search_path is a fresh schema with the cluster migrations applied.
    static func withMigratedSchema(sourceLocation: SourceLocation = #_sourceLocation,
                                   _ body: (PostgresConnection) async throws -> Void) async throws {
        let c: PostgresConnection
        do {
            c = try await PostgresConnection.connect(PostgresConfiguration("", applicationName: "daybreak-cluster-tests"), logger: logger)
        } catch {
            if required { Issue.record("PostgreSQL required but unreachable: \(error)", sourceLocation: sourceLocation) }
            else { print("note: skipping a PostgreSQL test body, server unreachable: \(error.message)") }
            return
        }
        // Generated from [a-z0-9_] here; identifiers cannot be parameters.
        let schema = "t_cluster_\(UInt32.random(in: 0 ... .max))_\(ProcessInfo.processInfo.processIdentifier)"
        do {
            let migrations = ClusterSchema.migrations.map { Migration(Int64($0.version), $0.name, sql: $0.sql) }
            let migrator = try Migrator(migrations, schema: schema, logger: logger)
            let first = try await migrator.migrate(c)
            #expect(first.applied == migrations.map(\.version))
            #expect(try await migrator.migrate(c).alreadyApplied == migrations.map(\.version))
            try await c.executeScript("SET search_path TO \(schema)", purpose: "use test schema")
            try await body(c)
        } catch {
            _ = try? await c.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE", purpose: "drop test schema")
            await c.close()
            throw error
        }
        _ = try? await c.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE", purpose: "drop test schema")
        await c.close()
    }
}

@Suite(.serialized) struct ClusterSchemaPostgresTests {
    typealias DB = ClusterTestDatabase

    /// acquire/renew RETURNING → a `Lease` (the mapping the shell will use).
    static func lease(_ rows: PostgresRows) throws -> Lease? {
        guard let r = rows.first else { return nil }
        return Lease(region: RegionKey(try r.decode(0, as: String.self)), owner: try r.decode(1, as: String?.self).map { NodeID($0) },
                     token: FencingToken(UInt64(try r.decode(2, as: Int64.self))),
                     expiresAt: Timestamp(microsecondsSinceEpoch: try r.decode(3, as: Int64.self)))
    }

    static func append(_ c: PostgresConnection, seq: Int64, key: String?, token: Int64, node: String) async throws -> ClusterSchema.AppendOutcome {
        let rows = try await c.query(ClusterSchema.appendEvent,
                                     ["gangnam", "vehicle", "V-1042", seq, "PositionReported", [UInt8]([1, 2, 3]), key, token, node],
                                     purpose: "append")
        let r = rows[0]
        return ClusterSchema.appendOutcome(leaseOK: try r.decode(0, as: Bool.self), appendedSeq: try r.decode(1, as: Int64?.self),
                                           duplicateSeq: try r.decode(2, as: Int64?.self))
    }

    @Test func leasesAreCompareAndSetAndTheJournalFencesStaleOwners() async throws {
        try await DB.withMigratedSchema { c in
            try await c.execute(ClusterSchema.ensureRegion, ["gangnam"], purpose: "seed")
            try await c.execute(ClusterSchema.ensureRegion, ["gangnam"], purpose: "seed again")
            let ms: Int64 = 15_000
            let a = try Self.lease(try await c.query(ClusterSchema.acquireLease, ["gangnam", "a", Int64(0), ms], purpose: "acquire a"))
            #expect(a?.owner == "a" && a?.token == FencingToken(1))
            // b read token 0 too and loses the race; with the current token it still cannot take a held lease.
            #expect(try Self.lease(try await c.query(ClusterSchema.acquireLease, ["gangnam", "b", Int64(0), ms], purpose: "race")) == nil)
            #expect(try Self.lease(try await c.query(ClusterSchema.acquireLease, ["gangnam", "b", Int64(1), ms], purpose: "held")) == nil)

            #expect(try await Self.append(c, seq: 1, key: "t:cmd-1", token: 1, node: "a") == .appended(seq: 1))
            #expect(try await Self.append(c, seq: 2, key: "t:cmd-1", token: 1, node: "a") == .duplicate(seq: 1))
            #expect(try await Self.append(c, seq: 1, key: nil, token: 1, node: "a") == .sequenceConflict)
            #expect(try await Self.append(c, seq: 2, key: nil, token: 1, node: "b") == .fenced)

            let renewed = try Self.lease(try await c.query(ClusterSchema.renewLease, ["gangnam", "a", Int64(1), ms], purpose: "renew"))
            #expect(renewed?.token == FencingToken(1) && renewed!.expiresAt >= a!.expiresAt)
            #expect(try await c.execute(ClusterSchema.releaseLease, ["gangnam", "a", Int64(1)], purpose: "release") == 1)
            let b = try Self.lease(try await c.query(ClusterSchema.acquireLease, ["gangnam", "b", Int64(1), ms], purpose: "acquire b"))
            #expect(b?.owner == "b" && b?.token == FencingToken(2))
            // The old owner is fenced by the journal itself; the new one writes.
            #expect(try await Self.append(c, seq: 2, key: nil, token: 1, node: "a") == .fenced)
            #expect(try await Self.append(c, seq: 2, key: nil, token: 2, node: "b") == .appended(seq: 2))
            #expect(try Self.lease(try await c.query(ClusterSchema.renewLease, ["gangnam", "a", Int64(1), ms], purpose: "stale renew")) == nil)

            let events = try await c.query(ClusterSchema.replayEvents, ["gangnam", "vehicle", "V-1042", Int64(0), Int64(100)], purpose: "replay")
            #expect(try events.map { try $0.decode(0, as: Int64.self) } == [1, 2])
            #expect(try events.map { try $0.decode(4, as: Int64.self) } == [1, 2])
        }
    }

    @Test func anExpiredLeaseCanBeTakenOverAndItsOwnerIsFenced() async throws {
        try await DB.withMigratedSchema { c in
            try await c.execute(ClusterSchema.ensureRegion, ["south"], purpose: "seed")
            // A zero-length lease is expired at once: no sleeping needed.
            _ = try await c.query(ClusterSchema.acquireLease, ["south", "a", Int64(0), Int64(0)], purpose: "acquire a")
            let rows = try await c.query(ClusterSchema.appendEvent,
                                         ["south", "order", "O-1", Int64(1), "Created", [UInt8](), String?.none, Int64(1), "a"],
                                         purpose: "append expired")
            #expect(try rows[0].decode(0, as: Bool.self) == false)
            let b = try Self.lease(try await c.query(ClusterSchema.acquireLease, ["south", "b", Int64(1), Int64(15_000)], purpose: "take over"))
            #expect(b?.owner == "b" && b?.token == FencingToken(2))
            // The owner may re-acquire its own lease early for a fresh token.
            let again = try Self.lease(try await c.query(ClusterSchema.acquireLease, ["south", "b", Int64(2), Int64(15_000)], purpose: "re-acquire"))
            #expect(again?.token == FencingToken(3))
        }
    }

    @Test func snapshotsKeepTheNewestAndAreFenced() async throws {
        try await DB.withMigratedSchema { c in
            try await c.execute(ClusterSchema.ensureRegion, ["east"], purpose: "seed")
            _ = try await c.query(ClusterSchema.acquireLease, ["east", "a", Int64(0), Int64(15_000)], purpose: "acquire")
            func write(_ seq: Int64, _ state: UInt8, token: Int64) async throws -> (Bool, Bool) {
                let r = try await c.query(ClusterSchema.writeSnapshot, ["east", "store", "S-1", seq, [state], token, "a"], purpose: "snapshot")[0]
                return (try r.decode(0, as: Bool.self), try r.decode(1, as: Bool.self))
            }
            #expect(try await write(5, 5, token: 1) == (true, true))
            #expect(try await write(4, 4, token: 1) == (true, false))
            #expect(try await write(9, 9, token: 7) == (false, false))
            let snap = try await c.query(ClusterSchema.loadSnapshot, ["east", "store", "S-1"], purpose: "load")
            #expect(try snap[0].decode(0, as: Int64.self) == 5 && snap[0].decode(1, as: [UInt8].self) == [5])
        }
    }

    @Test func membershipRowsFeedTheStateMachine() async throws {
        try await DB.withMigratedSchema { c in
            let reg = try await c.query(ClusterSchema.registerNode, ["a", "tcp://10.0.0.1:7000"], purpose: "register a")
            let startedA = try reg[0].decode(0, as: Int64.self)
            _ = try await c.query(ClusterSchema.registerNode, ["b", "tcp://10.0.0.2:7000"], purpose: "register b")
            #expect(try await c.query(ClusterSchema.heartbeat, ["a", startedA], purpose: "heartbeat").count == 1)

            let rows = try await c.query(ClusterSchema.readNodes, purpose: "read nodes")
            let now = Timestamp(microsecondsSinceEpoch: try rows[0].decode(5, as: Int64.self))
            let records = try rows.map { r in
                NodeRecord(id: NodeID(try r.decode(0, as: String.self)), endpoint: try r.decode(1, as: String.self),
                           startedAt: Timestamp(microsecondsSinceEpoch: try r.decode(2, as: Int64.self)),
                           lastHeartbeat: Timestamp(microsecondsSinceEpoch: try r.decode(3, as: Int64.self)),
                           status: NodeStatus(rawValue: try r.decode(4, as: String.self))!)
            }
            var m = Membership(selfID: "a")
            #expect(m.observe(records, now: now).last == .rebalanceNeeded(live: ["a", "b"]))

            // Conditional down: a stale heartbeat value changes nothing; the observed one does.
            let bBeat = records.first { $0.id == "b" }!.lastHeartbeat.microsecondsSinceEpoch
            #expect(try await c.execute(ClusterSchema.markNodeDown, ["b", bBeat - 1], purpose: "down (stale)") == 0)
            #expect(try await c.execute(ClusterSchema.markNodeDown, ["b", bBeat], purpose: "down") == 1)
            let bStarted = records.first { $0.id == "b" }!.startedAt.microsecondsSinceEpoch
            #expect(try await c.query(ClusterSchema.heartbeat, ["b", bStarted], purpose: "refused").isEmpty)
            // Re-registration is a strictly newer incarnation, even within one transaction's now().
            let again = try await c.query(ClusterSchema.registerNode, ["b", "tcp://10.0.0.2:7001"], purpose: "re-register")
            #expect(try again[0].decode(0, as: Int64.self) > bStarted)
            #expect(try await c.execute(ClusterSchema.markNodeLeaving, ["a", startedA], purpose: "leave") == 1)
        }
    }
}
