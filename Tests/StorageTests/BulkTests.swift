import Foundation
import Testing
@testable import Storage

@Suite struct BulkTests {
    @Test func copyAppendsOneHundredThousandJournalRows() async throws {
        try await TestDatabase.withSchema("bulk") { c, _ in
            try await c.executeScript("""
                CREATE TABLE events (region text NOT NULL, stream_id text NOT NULL, seq bigint NOT NULL,
                                     type text NOT NULL, payload bytea NOT NULL, at timestamptz NOT NULL,
                                     PRIMARY KEY (region, stream_id, seq))
                """, purpose: "create journal")
            let payload = [UInt8]((0 ..< 150).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            let at = Date(timeIntervalSince1970: 1_764_379_384)
            var rows = PostgresCopyRows(columns: 6, reservingBytes: 100_000 * 400)
            for i in 0 ..< 100_000 {
                try rows.appendRow("seoul-gangnam", "order-\(i / 10)", Int64(i % 10), "OrderPlaced", payload, at)
            }
            let n = try await c.copyIn("COPY events (region, stream_id, seq, type, payload, at) FROM STDIN",
                                       rows: rows, purpose: "append order events")
            #expect(n == 100_000)
            let count = try await c.query("SELECT count(*), count(DISTINCT stream_id) FROM events", purpose: "count")[0]
            #expect(try count.decode(0, as: Int.self) == 100_000)
            #expect(try count.decode(1, as: Int.self) == 10_000)
            let one = try await c.query("SELECT payload, at FROM events WHERE stream_id = $1 AND seq = $2",
                                        ["order-42", 3], purpose: "read one")[0]
            #expect(try one.decode(0, as: [UInt8].self) == payload)
            #expect(try one.decode(1, as: Date.self) == at)
        }
    }

    @Test func aFailingCopyAppendsNothingAndTheConnectionStaysUsable() async throws {
        try await TestDatabase.withSchema("bulkfail") { c, _ in
            try await c.executeScript("CREATE TABLE t (id int PRIMARY KEY)", purpose: "create table")
            var rows = PostgresCopyRows(columns: 1)
            for i in [1, 2, 3, 2] { try rows.appendRow(i) }
            let e = try await #require(throws: PostgresError.self) {
                try await c.copyIn("COPY t (id) FROM STDIN", rows: rows, purpose: "copy duplicates")
            }
            #expect(e.sqlState == "23505")
            #expect(try await c.query("SELECT count(*) FROM t", purpose: "count")[0].decode(0, as: Int.self) == 0)
        }
    }
}
