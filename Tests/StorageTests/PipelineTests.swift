import Testing
@testable import Storage

@Suite struct PipelineTests {
    @Test func aPipelineRunsEveryStatementInOrderAndReturnsEachResult() async throws {
        try await TestDatabase.withSchema("pipe") { c, _ in
            try await c.executeScript("CREATE TABLE t (id int PRIMARY KEY, note text)", purpose: "create table")
            var statements = (0 ..< 2_000).map { PostgresStatement("INSERT INTO t VALUES ($1, $2)", [$0, "note \($0) 한국어"]) }
            statements.append(PostgresStatement("SELECT count(*), max(id) FROM t"))
            let results = try await c.pipeline(statements, purpose: "append notes")
            #expect(results.count == 2_001)
            #expect(results[0].affectedRows == 1)
            #expect(try results[2_000][0].decode(0, as: Int.self) == 2_000)
            #expect(try results[2_000][0].decode(1, as: Int.self) == 1_999)
        }
    }

    @Test func aFailingStatementAbortsTheWholePipelineAndNamesItsPosition() async throws {
        try await TestDatabase.withSchema("pipefail") { c, _ in
            try await c.executeScript("CREATE TABLE t (id int PRIMARY KEY)", purpose: "create table")
            let statements = [1, 2, 3, 2, 5].map { PostgresStatement("INSERT INTO t VALUES ($1)", [$0]) }
            let e = try await #require(throws: PostgresError.self) {
                try await c.pipeline(statements, purpose: "append with a duplicate")
            }
            #expect(e.sqlState == "23505")
            #expect(e.message.hasPrefix("statement 4 of 5"))
            #expect(try await c.query("SELECT count(*) FROM t", purpose: "count")[0].decode(0, as: Int.self) == 0)
            // The connection is back in normal mode.
            #expect(try await c.pipeline([PostgresStatement("INSERT INTO t VALUES (9)")], purpose: "again").count == 1)
            #expect(try await c.query("SELECT count(*) FROM t", purpose: "count")[0].decode(0, as: Int.self) == 1)
        }
    }
}
