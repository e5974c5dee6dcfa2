import Testing
@testable import Storage

@Suite struct PoolTests {
    @Test func aBusyPoolTimesOutWaitersWithPoolTimeoutAndServesThemOnceFree() async throws {
        guard let probe = try await TestDatabase.connect() else { return }
        await probe.close()
        let pool = PostgresPool(TestDatabase.configuration, size: 1, acquireTimeout: .milliseconds(200), logger: TestDatabase.logger)
        let held = AsyncStream<Void>.makeStream()
        let release = AsyncStream<Void>.makeStream()
        async let holder: Void = pool.withConnection { c in
            _ = try await c.query("SELECT 1", purpose: "hold")
            held.continuation.yield()
            var it = release.stream.makeAsyncIterator()
            _ = await it.next()
        }
        var it = held.stream.makeAsyncIterator()
        _ = await it.next()
        let e = try await #require(throws: PostgresError.self) {
            try await pool.query("SELECT 2", purpose: "needs a connection")
        }
        #expect(e.code == .poolTimeout)
        release.continuation.yield()
        try await holder
        #expect(try await pool.query("SELECT 3", purpose: "after release")[0].decode(0, as: Int.self) == 3)
        await pool.close()
    }

    @Test func cancellingAWaitingBorrowerEndsItsWaitWithCancelled() async throws {
        guard let probe = try await TestDatabase.connect() else { return }
        await probe.close()
        let pool = PostgresPool(TestDatabase.configuration, size: 1, acquireTimeout: .seconds(60), logger: TestDatabase.logger)
        let held = AsyncStream<Void>.makeStream()
        let release = AsyncStream<Void>.makeStream()
        async let holder: Void = pool.withConnection { _ in
            held.continuation.yield()
            var it = release.stream.makeAsyncIterator()
            _ = await it.next()
        }
        var it = held.stream.makeAsyncIterator()
        _ = await it.next()
        let started = ContinuousClock.now
        let waiter = Task { try await pool.query("SELECT 1", purpose: "wait for a connection") }
        waiter.cancel()
        let result = await waiter.result
        #expect(ContinuousClock.now - started < .seconds(30))
        switch result {
        case .success: Issue.record("a cancelled waiter got a connection while the only one was held")
        case .failure(let e): #expect((e as? PostgresError)?.code == .cancelled)
        }
        release.continuation.yield()
        try await holder
        #expect(try await pool.query("SELECT 4", purpose: "after cancel")[0].decode(0, as: Int.self) == 4)
        await pool.close()
    }

    @Test func manyConcurrentTransactionsShareASmallPool() async throws {
        guard let c = try await TestDatabase.connect() else { return }
        let schema = try await TestDatabase.makeSchema(c, "pool")
        try await c.executeScript("CREATE TABLE \(schema).t (id int PRIMARY KEY)", purpose: "create table")
        let pool = PostgresPool(TestDatabase.configuration, size: 3, acquireTimeout: .seconds(30), logger: TestDatabase.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0 ..< 50 {
                group.addTask {
                    _ = try await pool.withTransaction(purpose: "insert \(i)") { tx in
                        try await tx.execute("INSERT INTO \(schema).t VALUES ($1)", [i], purpose: "insert")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await c.query("SELECT count(*) FROM \(schema).t", purpose: "count")[0].decode(0, as: Int.self) == 50)
        await pool.close()
        await TestDatabase.dropSchema(c, schema)
        await c.close()
    }

    @Test func aConnectionReturnedInsideATransactionIsRolledBack() async throws {
        guard let c = try await TestDatabase.connect() else { return }
        let schema = try await TestDatabase.makeSchema(c, "poolhyg")
        try await c.executeScript("CREATE TABLE \(schema).t (id int)", purpose: "create table")
        let pool = PostgresPool(TestDatabase.configuration, size: 1, logger: .disabled)
        try await pool.withConnection { pc in
            try await pc.executeScript("BEGIN", purpose: "begin by hand")
            try await pc.execute("INSERT INTO \(schema).t VALUES (1)", purpose: "insert")
        }
        #expect(try await pool.query("SELECT count(*) FROM \(schema).t", purpose: "count")[0].decode(0, as: Int.self) == 0)
        await pool.close()
        await TestDatabase.dropSchema(c, schema)
        await c.close()
    }
}
