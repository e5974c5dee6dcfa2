import Foundation
import Testing
@testable import Storage

@Suite struct RoundTripTests {
    static let awkward: [String?] = [
        "it's \"quoted\" \\ back\\slash",
        "tab\tnewline\nreturn\r end",
        "한국어 배송 기사 🚚📦 emoji ✓",
        "",
        nil,
        "\\N",
        String(repeating: "가나다 abc 🚀 ", count: 55_000), // 19 bytes each: ~1 MB
    ]
    static let blobs: [[UInt8]?] = [[0, 0, 1, 0, 255, 0], [], nil, Array((0 ..< 256).map { UInt8($0) }), [UInt8](repeating: 0, count: 100_000)]

    @Test func awkwardValuesRoundTripThroughParameters() async throws {
        try await TestDatabase.withSchema("rtparams") { c, _ in
            try await c.executeScript("CREATE TABLE v (id int PRIMARY KEY, t text, b bytea)", purpose: "create table")
            let n = max(Self.awkward.count, Self.blobs.count)
            for i in 0 ..< n {
                let t = i < Self.awkward.count ? Self.awkward[i] : nil
                let b = i < Self.blobs.count ? Self.blobs[i] : nil
                try await c.execute("INSERT INTO v (id, t, b) VALUES ($1, $2, $3)", [i, t, b], purpose: "insert awkward")
            }
            let rows = try await c.query("SELECT id, t, b FROM v ORDER BY id", purpose: "read awkward")
            #expect(rows.count == n)
            for r in rows {
                let i = try r.decode(0, as: Int.self)
                #expect(try r.decode("t", as: String?.self) == (i < Self.awkward.count ? Self.awkward[i] : nil))
                #expect(try r.decode("b", as: [UInt8]?.self) == (i < Self.blobs.count ? Self.blobs[i] : nil))
            }
            // The big value really is ~1 MB on the server.
            let len = try await c.query("SELECT octet_length(t) FROM v WHERE id = 6", purpose: "size")[0].decode(0, as: Int.self)
            #expect(len > 1_000_000)
        }
    }

    @Test func awkwardValuesRoundTripThroughCopy() async throws {
        try await TestDatabase.withSchema("rtcopy") { c, _ in
            try await c.executeScript("CREATE TABLE v (id int PRIMARY KEY, t text, b bytea)", purpose: "create table")
            var rows = PostgresCopyRows(columns: 3)
            let n = max(Self.awkward.count, Self.blobs.count)
            for i in 0 ..< n {
                try rows.appendRow(i, i < Self.awkward.count ? Self.awkward[i] : nil, i < Self.blobs.count ? Self.blobs[i] : nil)
            }
            let copied = try await c.copyIn("COPY v (id, t, b) FROM STDIN", rows: rows, purpose: "copy awkward")
            #expect(copied == n)
            for r in try await c.query("SELECT id, t, b FROM v ORDER BY id", purpose: "read awkward") {
                let i = try r.decode(0, as: Int.self)
                #expect(try r.decode(1, as: String?.self) == (i < Self.awkward.count ? Self.awkward[i] : nil))
                #expect(try r.decode(2, as: [UInt8]?.self) == (i < Self.blobs.count ? Self.blobs[i] : nil))
            }
        }
    }
}
