import Base
import CLibPQ

/// One versioned schema change. Versions are applied once, in increasing order, each in its own
/// transaction. Never edit an applied migration: its checksum is recorded and a change is reported.
public struct Migration: Sendable {
    public var version: Int64
    public var name: String
    public var sql: String

    public init(_ version: Int64, _ name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// FNV-1a 64 over the SQL's UTF-8 bytes, as 16 hex digits: detects edits, not tampering.
    public var checksum: String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in sql.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

/// What `Migrator.migrate` did.
public struct MigrationReport: Sendable, Equatable {
    /// Versions applied by this run, in order.
    public var applied: [Int64]
    /// Versions that were already applied (checksums verified).
    public var alreadyApplied: [Int64]
}

/// Applies migrations to a schema, recording them in `<schema>.schema_migrations`.
///
/// Concurrent migrators (several nodes starting at once) are serialized by a session-level
/// advisory lock derived from the schema name; the second one finds the work done.
public struct Migrator: Sendable {
    public let migrations: [Migration]
    /// The schema that holds `schema_migrations` and is first on the search_path while a
    /// migration runs; nil means the connection's current schema (usually `public`).
    public let schema: String?
    private let logger: Logger

    /// - Throws: `.migrationInvalid` if versions are not strictly increasing.
    public init(_ migrations: [Migration], schema: String? = nil, logger: Logger) throws(PostgresError) {
        for (a, b) in zip(migrations, migrations.dropFirst()) where b.version <= a.version {
            throw PostgresError(.migrationInvalid, purpose: "check migrations",
                                message: "versions must strictly increase: \(b.version) (\(b.name)) follows \(a.version) (\(a.name))")
        }
        self.migrations = migrations
        self.schema = schema
        self.logger = logger.child("migrate")
    }

    /// The advisory lock key: FNV-1a of "daybreak.migrations:" + schema, as a signed 64-bit value.
    var lockKey: Int64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in ("daybreak.migrations:" + (schema ?? "")).utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return Int64(bitPattern: h)
    }

    /// Applies every pending migration on `connection` (which must not be inside a transaction).
    /// - Throws: `.migrationChecksumMismatch` naming the version whose SQL changed after it was
    ///   applied (nothing is applied then); the failing migration's `.server` error otherwise
    ///   (earlier migrations stay applied; the failing one is rolled back).
    public func migrate(_ connection: PostgresConnection) async throws -> MigrationReport {
        let purpose = "migrate schema \(schema ?? "(current)")"
        let table = try await qualifiedTable(connection)
        try await connection.execute("SELECT pg_catalog.pg_advisory_lock($1)", [lockKey], purpose: purpose + " (lock)")
        do {
            let report = try await migrateLocked(connection, table: table, purpose: purpose)
            try await connection.execute("SELECT pg_catalog.pg_advisory_unlock($1)", [lockKey], purpose: purpose + " (unlock)")
            return report
        } catch {
            // On a lost connection the server released the lock with the session.
            _ = try? await connection.execute("SELECT pg_catalog.pg_advisory_unlock($1)", [lockKey], purpose: purpose + " (unlock)")
            throw error
        }
    }

    private func qualifiedTable(_ c: PostgresConnection) async throws(PostgresError) -> (table: String, schema: String?) {
        guard let schema else { return ("schema_migrations", nil) }
        let q = try await c.quoteIdentifier(schema)
        return (q + ".schema_migrations", q)
    }

    private func migrateLocked(_ c: PostgresConnection, table: (table: String, schema: String?),
                               purpose: String) async throws -> MigrationReport {
        // DDL from fixed text plus a libpq-quoted identifier: no values are spliced in.
        var ddl = ""
        if let s = table.schema { ddl += "CREATE SCHEMA IF NOT EXISTS \(s); " }
        ddl += """
            CREATE TABLE IF NOT EXISTS \(table.table) (
                version bigint PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())
            """
        try await c.executeScript(ddl, purpose: purpose + " (create schema_migrations)")
        let rows = try await c.query("SELECT version, name, checksum FROM \(table.table) ORDER BY version",
                                     purpose: purpose + " (read applied)")
        var applied: [Int64: (name: String, checksum: String)] = [:]
        for r in rows {
            applied[try r.decode(0, as: Int64.self)] = (try r.decode(1, as: String.self), try r.decode(2, as: String.self))
        }
        let known = Set(migrations.map(\.version))
        for v in applied.keys.sorted() where !known.contains(v) {
            logger.warning("database has a migration this program does not know", ["version": v, "name": applied[v]!.name])
        }
        var report = MigrationReport(applied: [], alreadyApplied: [])
        for m in migrations {
            if let a = applied[m.version] {
                guard a.checksum == m.checksum else {
                    throw PostgresError(.migrationChecksumMismatch, purpose: purpose,
                                        message: "migration \(m.version) (\(m.name)) was edited after it was applied "
                                            + "(recorded checksum \(a.checksum), now \(m.checksum))")
                }
                report.alreadyApplied.append(m.version)
            }
        }
        for m in migrations where applied[m.version] == nil {
            let step = "\(purpose): \(m.version) \(m.name)"
            try await c.withTransaction(purpose: step) { tx in
                if let s = table.schema {
                    try await tx.connection.executeScript("SET LOCAL search_path TO \(s)", purpose: step + " (search_path)")
                }
                try await tx.connection.executeScript(m.sql, purpose: step)
                try await tx.execute("INSERT INTO \(table.table) (version, name, checksum) VALUES ($1, $2, $3)",
                                     [m.version, m.name, m.checksum], purpose: step + " (record)")
            }
            logger.info("applied migration", ["version": m.version, "name": m.name])
            report.applied.append(m.version)
        }
        return report
    }
}

extension PostgresConnection {
    /// Quotes an identifier (schema, table, channel) with libpq's PQescapeIdentifier, for the
    /// places SQL cannot take a parameter. Values always go in parameters instead.
    public func quoteIdentifier(_ name: String) throws(PostgresError) -> String {
        try ensureConnected(purpose: "quote identifier")
        guard let q = PQescapeIdentifier(conn, name, name.utf8.count) else {
            throw PostgresError(.invalidArgument, purpose: "quote identifier", message: errorMessage(conn!), value: name)
        }
        defer { PQfreemem(q) }
        return String(cString: q)
    }
}
