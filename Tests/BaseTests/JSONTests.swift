import Testing
@testable import Base

@Suite struct JSONTests {
    @Test func rendersInInsertionOrderAndEscapes() {
        let v: JSONValue = .object([("b", 1), ("a", .string("q\"\n\u{1}é")), ("n", .null), ("d", 2.5), ("x", .double(.nan))])
        #expect(v.rendered() == #"{"b":1,"a":"q\"\n\u0001é","n":null,"d":2.5,"x":null}"#)
    }

    @Test func parseRoundTripsWhatItRenders() throws {
        let v: JSONValue = .object([("k", .array([1, 2.25, true, .null, "s\\/\u{1F600}"])), ("o", .object([]))])
        #expect(try JSONValue.parse(v.rendered()) == v)
        #expect(try JSONValue.parse(#""\ud83d\ude00""#) == .string("\u{1F600}"))
    }

    @Test func parseErrorNamesOffsetAndExpectation() {
        do {
            _ = try JSONValue.parse(#"{"a": 1,}"#)
            Issue.record("expected an error")
        } catch {
            #expect(error.offset == 8)
            #expect(error.expected == "a string key")
        }
        #expect(throws: JSONParseError.self) { try JSONValue.parse("[1 2]") }
        #expect(throws: JSONParseError.self) { try JSONValue.parse("01x") }
        #expect(throws: JSONParseError.self) { try JSONValue.parse("\"abc") }
    }
}
