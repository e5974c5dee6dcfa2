import Testing
@testable import Storage

/// A connection killed from the server side (pg_terminate_backend from another session).
@Suite struct RecoveryTests {
    private func terminate(_ pid: Int32, using admin: PostgresConnection) async throws {
        let ok = try await admin.query("SELECT pg_terminate_backend($1)", [pid], purpose: "terminate backend")[0]
            .decode(0, as: Bool.self)
        #expect(ok)
        // Terminate only sends the signal: wait until the backend is gone.
        let gone = try await eventually {
            try await admin.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [pid], purpose: "observe")[0]
                .decode(0, as: Int.self) == 0
        }
        #expect(gone)
    }

    @Test func anIdleConnectionKilledByTheServerFailsTheNextStatementTypedAndTheFollowingOneWorks() async throws {
        guard let admin = try await TestDatabase.connect() else { return }
        let c = try #require(try await TestDatabase.connect())
        let pid = try await c.backendPID()
        try await terminate(pid, using: admin)

        let e = try await #require(throws: PostgresError.self) {
            try await c.query("SELECT 1", purpose: "first statement after kill")
        }
        #expect(e.code == .connectionLost)
        #expect(e.purpose == "first statement after kill")

        let v = try await c.query("SELECT 2", purpose: "statement after reconnect")[0].decode(0, as: Int.self)
        #expect(v == 2)
        #expect(try await c.backendPID() != pid)
        await c.close()
        await admin.close()
    }

    @Test func theStatementInFlightWhenTheServerKillsTheConnectionGetsConnectionLost() async throws {
        guard let admin = try await TestDatabase.connect() else { return }
        let c = try #require(try await TestDatabase.connect())
        let pid = try await c.backendPID()
        async let inFlight = c.query("SELECT pg_sleep(30)", purpose: "long statement")
        let running = try await eventually {
            try await admin.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", [pid],
                                  purpose: "observe")[0].decode(0, as: Int.self) == 1
        }
        #expect(running)
        try await terminate(pid, using: admin)
        do {
            _ = try await inFlight
            Issue.record("the killed statement returned rows")
        } catch {
            let e = error as? PostgresError
            #expect(e?.code == .connectionLost)
            #expect(e?.sqlState == "57P01" || e?.sqlState == nil)
        }
        #expect(try await c.query("SELECT 3", purpose: "after kill")[0].decode(0, as: Int.self) == 3)
        await c.close()
        await admin.close()
    }

    @Test func aConnectionLostInsideATransactionNeverRunsTheRestOutsideIt() async throws {
        guard let admin = try await TestDatabase.connect() else { return }
        let c = try #require(try await TestDatabase.connect())
        let schema = try await TestDatabase.makeSchema(c, "txlost")
        try await c.executeScript("CREATE TABLE t (id int)", purpose: "create table")
        let pid = try await c.backendPID()
        var secondError: PostgresError?
        await #expect(throws: PostgresError.self) {
            try await c.withTransaction(purpose: "interrupted") { tx in
                try await tx.execute("INSERT INTO t VALUES (1)", purpose: "insert 1")
                try await self.terminate(pid, using: admin)
                do { try await tx.execute("INSERT INTO t VALUES (2)", purpose: "insert 2") } catch { }
                // The body swallowed the loss: this statement must not run in autocommit.
                do { try await tx.execute("INSERT INTO t VALUES (3)", purpose: "insert 3") } catch { secondError = error as? PostgresError }
            }
        }
        #expect(secondError?.code == .connectionLost)
        let n = try await admin.query("SELECT count(*) FROM \(schema).t", purpose: "count")[0].decode(0, as: Int.self)
        #expect(n == 0)
        await TestDatabase.dropSchema(admin, schema)
        await c.close()
        await admin.close()
    }
}
