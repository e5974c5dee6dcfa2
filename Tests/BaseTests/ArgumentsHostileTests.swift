import Testing
@testable import Base

/// Hostile command lines: an option given twice, ids with control characters or beyond a limit,
/// and values echoed in messages (escaped, never raw).
@Suite struct ArgumentsHostileTests {
    let options: [OptionSpec] = [.flag("json", "j"), .value("seed", "N", "s")]

    @Test func anOptionGivenTwiceIsRefusedNamingIt() throws {
        #expect(throws: UsageError("option '--seed' is given more than once (give it once)")) {
            try ParsedArguments(["--seed", "1", "--seed", "2"], options: options)
        }
        #expect(throws: UsageError("option '--seed' is given more than once (give it once)")) {
            try ParsedArguments(["--seed=1", "--seed", "1"], options: options)
        }
        #expect(throws: UsageError("option '--json' is given more than once (give it once)")) {
            try ParsedArguments(["--json", "--json"], options: options)
        }
        // After `--` a repeated spelling is a positional, not an option.
        #expect(try ParsedArguments(["--seed", "1", "--", "--seed"], options: options, maxPositionals: 1).positionals == ["--seed"])
    }

    @Test func identifiersMustBePrintableAndWithinTheirLimit() throws {
        #expect(try checkIdentifier("gangnam", "REGION", maxBytes: 255) == "gangnam")
        #expect(try checkIdentifier("강남", "REGION", maxBytes: 6) == "강남")   // 6 UTF-8 bytes
        #expect(throws: UsageError("REGION is 9 bytes long; the limit is 6 bytes (UTF-8): '강남구'")) {
            try checkIdentifier("강남구", "REGION", maxBytes: 6)
        }
        #expect(throws: UsageError("--id contains a control or other non-printable character: 'n1\\u{1B}[2J'")) {
            try checkIdentifier("n1\u{1B}[2J", "--id", maxBytes: 255)
        }
        #expect(throws: UsageError("--id is empty")) { try checkIdentifier("", "--id", maxBytes: 255) }
        for hostile in ["a\u{0}b", "a\u{7F}", "a\u{85}", "a\u{200B}", "a\u{202E}b", "a\u{2028}", "a\u{E000}", "a\nb"] {
            #expect(!isPrintableIdentifier(hostile), "\(hostile.unicodeScalars.map(\.value))")
        }
        #expect(isPrintableIdentifier("mfc-gangnam-1") && isPrintableIdentifier("서초 1") && isPrintableIdentifier("ü:é/@"))
    }

    @Test func displayedValuesAreEscapedAndCut() {
        #expect(displayed("a\nb\t\u{1B}c'\\") == "a\\nb\\t\\u{1B}c\\'\\\\")
        let long = String(repeating: "x", count: 1000)
        #expect(displayed(long) == String(repeating: "x", count: 64) + "…(1000 bytes)")
        #expect(throws: UsageError("unknown option '--bo\\u{7}gus'")) { try ParsedArguments(["--bo\u{7}gus"], options: options) }
        #expect(throws: UsageError("unexpected argument 'x\\u{1B}'")) { try ParsedArguments(["x\u{1B}"], options: options) }
    }
}
