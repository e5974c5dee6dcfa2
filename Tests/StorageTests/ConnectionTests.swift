import Base
import Foundation
import Testing
@testable import Storage

@Suite struct ConnectionTests {
    @Test func selectsAndDecodesTypedValues() async throws {
        try await TestDatabase.withSchema("smoke") { c, _ in
        let rows = try await c.query("SELECT $1::int8 AS a, $2::text AS b, $3::bool AS c, $4::float8 AS d, NULL::int AS e, now() AS f",
                                     [42, "hé", true, 2.5], purpose: "smoke")
        #expect(rows.count == 1)
        let r = rows[0]
        #expect(try r.decode(0, as: Int.self) == 42)
        #expect(try r.decode("b", as: String.self) == "hé")
        #expect(try r.decode("c", as: Bool.self) == true)
        #expect(try r.decode("d", as: Double.self) == 2.5)
        #expect(try r.decode("e", as: Int?.self) == nil)
        let f = try r.decode("f", as: Date.self)
        #expect(abs(f.timeIntervalSinceNow) < 60)
        }
    }
}
