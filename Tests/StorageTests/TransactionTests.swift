import Testing
@testable import Storage

private struct Boom: Error {}

@Suite struct TransactionTests {
    @Test func aThrowingBodyRollsBackEverything() async throws {
        try await TestDatabase.withSchema("txrb") { c, _ in
            try await c.executeScript("CREATE TABLE t (id int)", purpose: "create table")
            await #expect(throws: Boom.self) {
                try await c.withTransaction(purpose: "insert then fail") { tx in
                    try await tx.execute("INSERT INTO t VALUES ($1), ($2)", [1, 2], purpose: "insert")
                    throw Boom()
                }
            }
            #expect(try await c.query("SELECT count(*) FROM t", purpose: "count")[0].decode(0, as: Int.self) == 0)
            let n = try await c.withTransaction(purpose: "insert and commit") { tx in
                try await tx.execute("INSERT INTO t VALUES ($1)", [3], purpose: "insert")
            }
            #expect(n == 1)
            #expect(try await c.query("SELECT count(*) FROM t", purpose: "count")[0].decode(0, as: Int.self) == 1)
        }
    }

    @Test func commitAfterASwallowedFailureReportsTransactionAborted() async throws {
        try await TestDatabase.withSchema("txab") { c, _ in
            try await c.executeScript("CREATE TABLE t (id int PRIMARY KEY)", purpose: "create table")
            let e = try await #require(throws: PostgresError.self) {
                try await c.withTransaction(purpose: "swallow") { tx in
                    try await tx.execute("INSERT INTO t VALUES (1)", purpose: "insert")
                    _ = try? await tx.execute("INSERT INTO t VALUES (1)", purpose: "duplicate")
                }
            }
            #expect(e.code == .transactionAborted)
            #expect(try await c.query("SELECT count(*) FROM t", purpose: "count")[0].decode(0, as: Int.self) == 0)
        }
    }

    @Test func cancellingTheTaskRollsBack() async throws {
        try await TestDatabase.withSchema("txcancel") { c, _ in
            try await c.executeScript("CREATE TABLE t (id int)", purpose: "create table")
            let inserted = AsyncStream<Void>.makeStream()
            let task = Task {
                try await c.withTransaction(purpose: "insert then wait") { tx in
                    try await tx.execute("INSERT INTO t VALUES (1)", purpose: "insert")
                    inserted.continuation.yield()
                    _ = try await tx.query("SELECT pg_sleep(30)", purpose: "long statement")
                }
            }
            var it = inserted.stream.makeAsyncIterator()
            _ = await it.next()
            task.cancel()
            let r = await task.result
            if case .success = r { Issue.record("cancelled transaction committed") }
            #expect(try await c.query("SELECT count(*) FROM t", purpose: "count")[0].decode(0, as: Int.self) == 0)
        }
    }
}
