import Testing
@testable import Base

@Suite struct ArgumentsTests {
    let options: [OptionSpec] = [.flag("json", "j"), .value("seed", "N", "s"), .value("time-limit", "S", "t")]

    @Test func parsesFlagsValuesAndPositionals() throws {
        let p = try ParsedArguments(["file.txt", "--json", "--seed", "7", "--time-limit=2.5"], options: options, maxPositionals: 1)
        #expect(p.positionals == ["file.txt"])
        #expect(p.flag("json"))
        #expect(try p.int("seed", default: 1) == 7)
        #expect(try p.double("time-limit", default: 1) == 2.5)
    }

    @Test func unknownOptionNamesTheOption() {
        #expect(throws: UsageError("unknown option '--bogus'")) {
            try ParsedArguments(["--bogus"], options: options)
        }
    }

    @Test func missingValueIsAnError() {
        #expect(throws: UsageError("option '--seed' needs a value N")) {
            try ParsedArguments(["--seed"], options: options)
        }
    }

    @Test func badIntegerNamesOptionAndValue() throws {
        let p = try ParsedArguments(["--seed", "x7"], options: options)
        #expect(throws: UsageError("option '--seed' expects an integer, got 'x7'")) { try p.int("seed", default: 0) }
    }

    @Test func outOfRangeIsRejected() throws {
        let p = try ParsedArguments(["--time-limit", "-1"], options: options)
        #expect(throws: UsageError.self) { try p.double("time-limit", default: 1, range: 0...3600) }
    }

    @Test func extraPositionalIsRejected() {
        #expect(throws: UsageError("unexpected extra argument 'b'")) {
            try ParsedArguments(["a", "b"], options: options, maxPositionals: 1)
        }
    }

    @Test func choiceMustBeListed() throws {
        let p = try ParsedArguments(["--seed", "fast"], options: options)
        #expect(throws: UsageError("option '--seed' must be one of a|b, got 'fast'")) { try p.choice("seed", ["a", "b"]) }
    }
}
