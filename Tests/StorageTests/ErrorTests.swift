import Testing
@testable import Storage

@Suite struct ErrorTests {
    @Test func uniqueViolationCarriesSqlStateMessageAndPurposeAndTheConnectionStaysUsable() async throws {
        try await TestDatabase.withSchema("unique") { c, _ in
            try await c.executeScript("CREATE TABLE u (k text PRIMARY KEY)", purpose: "create table")
            try await c.execute("INSERT INTO u VALUES ($1)", ["a"], purpose: "insert key")
            let e = try await #require(throws: PostgresError.self) {
                try await c.execute("INSERT INTO u VALUES ($1)", ["a"], purpose: "insert duplicate key")
            }
            #expect(e.code == .server)
            #expect(e.sqlState == "23505")
            #expect(e.isUniqueViolation)
            #expect(e.purpose == "insert duplicate key")
            #expect(e.message.contains("duplicate key"))
            #expect(e.description.contains("insert duplicate key"))
            #expect(try await c.query("SELECT count(*) FROM u", purpose: "count")[0].decode(0, as: Int.self) == 1)
        }
    }

    @Test func undefinedTableIs42P01() async throws {
        try await TestDatabase.withSchema("undef") { c, _ in
            let e = try await #require(throws: PostgresError.self) {
                try await c.query("SELECT * FROM no_such_table_here", purpose: "read missing table")
            }
            #expect(e.sqlState == "42P01")
            #expect(e.statement?.contains("no_such_table_here") == true)
            #expect(try await c.query("SELECT 2", purpose: "after error")[0].decode(0, as: Int.self) == 2)
        }
    }

    @Test func badConninfoIsConnectFailed() async throws {
        let e = try await #require(throws: PostgresError.self) {
            try await PostgresConnection.connect(PostgresConfiguration("host=/nonexistent/socket/dir port=1"), logger: .disabled)
        }
        #expect(e.code == .connectFailed)
    }

    @Test func aNulByteInATextParameterIsRejectedInsteadOfTruncated() async throws {
        try await TestDatabase.withSchema("nul") { c, _ in
            let e = try await #require(throws: PostgresError.self) {
                try await c.query("SELECT $1::text", ["a\u{0}b"], purpose: "nul param")
            }
            #expect(e.code == .invalidArgument)
            #expect(try await c.query("SELECT 1", purpose: "after")[0].decode(0, as: Int.self) == 1)
        }
    }

    @Test func transactionsDoNotNest() async throws {
        try await TestDatabase.withSchema("nest") { c, _ in
            let e = try await #require(throws: PostgresError.self) {
                try await c.withTransaction(purpose: "outer") { _ in
                    try await c.withTransaction(purpose: "inner") { _ in }
                }
            }
            #expect(e.code == .invalidArgument)
        }
    }
}
