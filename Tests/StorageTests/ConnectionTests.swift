import Base
import Foundation
import Testing
@testable import Storage

@Suite struct ConnectionTests {
    @Test func decodesTypedValuesByIndexAndName() async throws {
        try await TestDatabase.withSchema("types") { c, _ in
            let rows = try await c.query(
                "SELECT $1::int8 AS a, $2::text AS b, $3::bool AS c, $4::float8 AS d, NULL::int AS e, $5::int4 AS f, $6::uuid AS g",
                [42, "hé", true, 2.5, Int32(-7), "8F2B0C5A-0E55-4E3B-9C39-2B1C4D6A1F00"], purpose: "decode types")
            #expect(rows.count == 1)
            let r = rows[0]
            #expect(try r.decode(0, as: Int.self) == 42)
            #expect(try r.decode("a", as: Int64.self) == 42)
            #expect(try r.decode("b", as: String.self) == "hé")
            #expect(try r.decode("c", as: Bool.self) == true)
            #expect(try r.decode("d", as: Double.self) == 2.5)
            #expect(try r.decode("e", as: Int?.self) == nil)
            #expect(try r.decode("f", as: Int32.self) == -7)
            #expect(try r.decode("g", as: String.self) == "8f2b0c5a-0e55-4e3b-9c39-2b1c4d6a1f00")
            #expect(try r.decode("g", as: UUID.self) == UUID(uuidString: "8F2B0C5A-0E55-4E3B-9C39-2B1C4D6A1F00"))
        }
    }

    @Test func decodingMismatchNamesTheColumnAndTheValue() async throws {
        try await TestDatabase.withSchema("mismatch") { c, _ in
            let r = try await c.query("SELECT 'north'::text AS region, NULL::int8 AS seq", purpose: "read region")[0]
            let e = try #require(throws: PostgresError.self) { try r.decode("region", as: Int.self) }
            #expect(e.code == .decoding)
            #expect(e.column?.contains("region") == true)
            #expect(e.value == "north")
            #expect(e.purpose == "read region")
            let n = try #require(throws: PostgresError.self) { try r.decode(1, as: Int64.self) }
            #expect(n.code == .decoding && n.value == "NULL" && n.column?.contains("seq") == true)
            #expect(throws: PostgresError.self) { try r.decode("nope", as: Int.self) }
        }
    }

    @Test func datesRoundTripAtMicrosecondPrecisionAndAsEpoch() async throws {
        try await TestDatabase.withSchema("dates") { c, _ in
            let d = Date(timeIntervalSince1970: 1_764_379_384.123456)
            let old = Date(timeIntervalSince1970: -2_000_000_000.5)
            let rows = try await c.query("SELECT $1::timestamptz, $2::timestamptz, extract(epoch from $1::timestamptz)::float8, 1700000000::int8",
                                         [d, old], purpose: "dates")
            let back = try rows[0].decode(0, as: Date.self)
            #expect(abs(back.timeIntervalSince1970 - d.timeIntervalSince1970) < 1e-6)
            #expect(abs(try rows[0].decode(1, as: Date.self).timeIntervalSince1970 - old.timeIntervalSince1970) < 1e-6)
            #expect(abs(try rows[0].decode(2, as: Date.self).timeIntervalSince1970 - d.timeIntervalSince1970) < 1e-5)
            #expect(try rows[0].decode(3, as: Date.self) == Date(timeIntervalSince1970: 1_700_000_000))
        }
    }

    @Test func conninfoKeywordsAndTheApplicationNameAreApplied() async throws {
        try await TestDatabase.withSchema("conninfo") { c, _ in
            let name = try await c.query("SELECT current_setting('application_name')", purpose: "read")[0]
                .decode(0, as: String.self)
            #expect(name == "daybreak-tests")
        }
        guard TestDatabase.env("PGHOST") != "<unset>" else { return }
        let explicit = PostgresConfiguration("host=\(TestDatabase.env("PGHOST")) port=\(TestDatabase.env("PGPORT")) application_name=explicit")
        let c = try await PostgresConnection.connect(explicit, logger: .disabled)
        #expect(try await c.query("SELECT current_setting('application_name')", purpose: "read")[0]
            .decode(0, as: String.self) == "explicit")
        await c.close()
        // The URI form.
        let host = TestDatabase.env("PGHOST").addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let uri = PostgresConfiguration("postgresql://\(TestDatabase.env("PGUSER"))@/\(TestDatabase.env("PGDATABASE"))?host=\(host)&port=\(TestDatabase.env("PGPORT"))")
        let u = try await PostgresConnection.connect(uri, logger: .disabled)
        #expect(try await u.query("SELECT 7", purpose: "uri")[0].decode(0, as: Int.self) == 7)
        await u.close()
    }

    @Test func serverNoticesGoToTheLogger() async throws {
        let sink = CapturingLogSink()
        let logger = Logger(label: "storage.test", level: .debug, sink: sink)
        let c: PostgresConnection
        do {
            c = try await PostgresConnection.connect(TestDatabase.configuration, logger: logger)
        } catch {
            if TestDatabase.required { Issue.record("PostgreSQL required but unreachable: \(error)") }
            return
        }
        try await c.executeScript("DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$", purpose: "raise notice")
        await c.close()
        #expect(sink.captured.contains { $0.message == "hello from plpgsql" && $0.label.hasSuffix("notice") })
    }

    @Test func cancellingAStatementStopsItOnTheServerAndTheConnectionStaysUsable() async throws {
        try await TestDatabase.withSchema("cancel") { c, _ in
            let pid = try await c.backendPID()
            let started = ContinuousClock.now
            let task = Task { try await c.query("SELECT pg_sleep(30)", purpose: "sleep") }
            // Wait until the statement is running on the server.
            let observer = try #require(try await TestDatabase.connect())
            let running = try await eventually {
                let r = try await observer.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active'",
                                                 [pid], purpose: "observe")
                return try r[0].decode(0, as: Int.self) == 1
            }
            await observer.close()
            #expect(running)
            task.cancel()
            let result = await task.result
            #expect(ContinuousClock.now - started < .seconds(20))
            switch result {
            case .success: Issue.record("a cancelled pg_sleep(30) returned rows")
            case .failure(let e): #expect((e as? PostgresError)?.code == .cancelled)
            }
            #expect(try await c.query("SELECT 1", purpose: "after cancel")[0].decode(0, as: Int.self) == 1)
        }
    }
}

@Suite struct PostgresTimeTests {
    @Test func civilDaysRoundTripAcrossCenturiesAndLeapDays() {
        for days in stride(from: -800_000, through: 800_000, by: 997) {
            let (y, m, d) = PostgresTime.civil(days: days)
            #expect(PostgresTime.days(year: y, month: m, day: d) == days)
        }
        #expect(PostgresTime.days(year: 1970, month: 1, day: 1) == 0)
        #expect(PostgresTime.days(year: 2000, month: 3, day: 1) - PostgresTime.days(year: 2000, month: 2, day: 28) == 2)
    }

    @Test func parsesTheServersIsoTextWithOffsets() {
        func parse(_ s: String) -> Int64? { Array(s.utf8).withUnsafeBytes { PostgresTime.parse($0) } }
        #expect(parse("1970-01-01 00:00:00+00") == 0)
        #expect(parse("1970-01-01 01:00:00+01") == 0)
        #expect(parse("1970-01-01 00:00:00.5+00") == 500_000)
        #expect(parse("1969-12-31 23:30:00-00:30") == 0)
        #expect(parse("1970-01-02") == 86_400_000_000)
        #expect(parse("garbage") == nil)
        let us: Int64 = 1_764_379_384_123_456
        #expect(parse(PostgresTime.format(microsecondsSinceEpoch: us)) == us)
        #expect(parse(PostgresTime.format(microsecondsSinceEpoch: -us)) == -us)
    }
}

@Suite struct ThreadLifecycleTests {
    private static func threadCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
    }

    @Test func droppedConnectionsEndTheirThreads() async throws {
        guard let probe = try await TestDatabase.connect() else { return }
        await probe.close()
        let before = Self.threadCount()
        for _ in 0 ..< 20 {
            let c = try #require(try await TestDatabase.connect())
            _ = try await c.query("SELECT 1", purpose: "use")
            await c.close()
        }
        // Other tests run in parallel and own connections too: allow some slack, but 20 leaked
        // threads would exceed it.
        let settled = await eventually { Self.threadCount() < before + 10 }
        #expect(settled, "threads before \(before), now \(Self.threadCount())")
    }
}
