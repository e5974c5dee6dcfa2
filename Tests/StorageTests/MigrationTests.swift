import Testing
@testable import Storage

@Suite struct MigrationTests {
    static let migrations = [
        Migration(1, "journal", sql: """
            CREATE TABLE journal (region text NOT NULL, stream_id text NOT NULL, seq bigint NOT NULL,
                                  type text NOT NULL, payload jsonb NOT NULL, at timestamptz NOT NULL DEFAULT now(),
                                  PRIMARY KEY (region, stream_id, seq));
            """),
        Migration(2, "outbox", sql: "CREATE TABLE outbox (id bigserial PRIMARY KEY, topic text NOT NULL, body bytea NOT NULL);"),
        Migration(3, "journal type index", sql: "CREATE INDEX journal_type ON journal (type);"),
    ]

    @Test func migrationsApplyOnceInOrderAndRerunningChangesNothing() async throws {
        try await TestDatabase.withSchema("mig") { c, schema in
            let m = try Migrator(Self.migrations, schema: schema, logger: TestDatabase.logger)
            let first = try await m.migrate(c)
            #expect(first.applied == [1, 2, 3])
            #expect(first.alreadyApplied == [])
            let before = try await c.query("SELECT version, name, checksum, applied_at FROM \(schema).schema_migrations ORDER BY version",
                                           purpose: "read").map { try $0.decode(3, as: String.self) }
            let second = try await m.migrate(c)
            #expect(second.applied == [])
            #expect(second.alreadyApplied == [1, 2, 3])
            let after = try await c.query("SELECT version, name, checksum, applied_at FROM \(schema).schema_migrations ORDER BY version",
                                          purpose: "read").map { try $0.decode(3, as: String.self) }
            #expect(before == after)
            // The tables exist in the schema.
            try await c.execute("INSERT INTO \(schema).journal (region, stream_id, seq, type, payload) VALUES ($1, $2, $3, $4, $5)",
                                ["r", "s", 1, "T", PostgresBind.jsonb("{\"a\": 1}")], purpose: "use migrated table")
        }
    }

    @Test func anEditedAppliedMigrationIsReported() async throws {
        try await TestDatabase.withSchema("migedit") { c, schema in
            _ = try await Migrator(Self.migrations, schema: schema, logger: TestDatabase.logger).migrate(c)
            var edited = Self.migrations
            edited[1].sql += " -- edited"
            edited.append(Migration(4, "later", sql: "CREATE TABLE later (id int);"))
            let e = try await #require(throws: PostgresError.self) {
                try await Migrator(edited, schema: schema, logger: TestDatabase.logger).migrate(c)
            }
            #expect(e.code == .migrationChecksumMismatch)
            #expect(e.message.contains("migration 2"))
            // Nothing newer was applied.
            let n = try await c.query("SELECT count(*) FROM \(schema).schema_migrations", purpose: "count")[0].decode(0, as: Int.self)
            #expect(n == 3)
        }
    }

    @Test func aFailingMigrationIsRolledBackAndEarlierOnesStay() async throws {
        try await TestDatabase.withSchema("migfail") { c, schema in
            let bad = Self.migrations + [Migration(4, "broken", sql: "CREATE TABLE ok_part (id int); SELECT * FROM missing_table;")]
            let e = try await #require(throws: PostgresError.self) {
                try await Migrator(bad, schema: schema, logger: TestDatabase.logger).migrate(c)
            }
            #expect(e.sqlState == "42P01")
            let versions = try await c.query("SELECT version FROM \(schema).schema_migrations ORDER BY version", purpose: "read")
                .map { try $0.decode(0, as: Int.self) }
            #expect(versions == [1, 2, 3])
            let leftover = try await c.query("SELECT to_regclass($1) IS NULL", ["\(schema).ok_part"], purpose: "check")[0]
                .decode(0, as: Bool.self)
            #expect(leftover)
        }
    }

    @Test func concurrentMigratorsAreSerializedAndApplyEachVersionOnce() async throws {
        guard let setup = try await TestDatabase.connect() else { return }
        let schema = "t_migconc_\(UInt32.random(in: 0 ... .max))"
        var conns: [PostgresConnection] = []
        for _ in 0 ..< 4 { conns.append(try #require(try await TestDatabase.connect())) }
        let reports = try await withThrowingTaskGroup(of: MigrationReport.self) { group in
            for c in conns {
                group.addTask { try await Migrator(Self.migrations, schema: schema, logger: TestDatabase.logger).migrate(c) }
            }
            var all: [MigrationReport] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(reports.flatMap(\.applied).sorted() == [1, 2, 3])
        #expect(reports.filter { !$0.applied.isEmpty }.count == 1)
        let n = try await setup.query("SELECT count(*) FROM \(schema).schema_migrations", purpose: "count")[0].decode(0, as: Int.self)
        #expect(n == 3)
        await TestDatabase.dropSchema(setup, schema)
        for c in conns { await c.close() }
        await setup.close()
    }

    @Test func nonIncreasingVersionsAreRejected() {
        #expect(throws: PostgresError.self) {
            try Migrator([Migration(2, "b", sql: ""), Migration(1, "a", sql: "")], logger: .disabled)
        }
    }
}
