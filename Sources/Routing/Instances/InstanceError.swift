/// A benchmark or solution file that cannot be read: which file, which line, and what was expected there.
///
/// A public struct over an open set of codes (as swift-service-lifecycle does), so new codes
/// don't break callers that switch on them. `description` reads like a compiler diagnostic:
/// `C101.txt:14: expected 7 numbers (CUST_NO X Y DEMAND READY DUE SERVICE), got 5`.
public struct InstanceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of mistake the file makes.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }
        public var description: String { raw }

        /// The text matches none of the known layouts.
        public static let unknownFormat = Code("unknownFormat")
        /// The file ends before a required part.
        public static let truncated = Code("truncated")
        /// A row has the wrong number of fields.
        public static let fieldCount = Code("fieldCount")
        /// A field that must be a number (or an integer) is not.
        public static let notANumber = Code("notANumber")
        /// A number outside its allowed range (negative capacity, ready > due, …).
        public static let invalidValue = Code("invalidValue")
        /// A required header or section is absent.
        public static let missingSection = Code("missingSection")
        /// An id appears twice.
        public static let duplicateID = Code("duplicateID")
        /// A reference (pickup/delivery sibling, section node id, route id) that points nowhere or back wrongly.
        public static let badReference = Code("badReference")
        /// An explicit matrix with the wrong number of entries.
        public static let matrixSize = Code("matrixSize")
        /// A valid construct this reader does not support (e.g. another EDGE_WEIGHT_FORMAT).
        public static let unsupported = Code("unsupported")
    }

    public var code: Code
    /// The file's name or path as the caller gave it.
    public var file: String
    /// 1-based line number, or nil when the problem concerns the whole file.
    public var line: Int?
    /// What was expected and what was found.
    public var message: String

    public init(_ code: Code, file: String, line: Int?, _ message: String) {
        self.code = code; self.file = file; self.line = line; self.message = message
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}

/// The text of a file split into lines (CRLF or LF) and whitespace-separated tokens, with 1-based line numbers.
struct TextLines {
    struct Line {
        var number: Int
        var tokens: [Substring]
        var text: Substring
        var isBlank: Bool { tokens.isEmpty }
    }

    let file: String
    let lines: [Line]

    /// O(n) in the text length; allocates one array of tokens per line.
    init(_ text: String, file: String) {
        self.file = file
        var out: [Line] = []
        var n = 0
        // "\r\n" is one Character in Swift, so split on both spellings of a line end.
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            n += 1
            var t = raw
            if t.last == "\r" { t = t.dropLast() }
            out.append(Line(number: n, tokens: t.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }), text: t))
        }
        // A trailing newline makes one empty last line that is not really a line of the file.
        if let last = out.last, last.text.isEmpty, out.count > 1 { out.removeLast() }
        lines = out
    }

    func error(_ code: InstanceError.Code, _ line: Int?, _ message: String) -> InstanceError {
        InstanceError(code, file: file, line: line, message)
    }

    /// A finite number in field `index` (0-based) of `line`, named `field` in the message.
    func number(_ line: Line, _ index: Int, _ field: String) throws(InstanceError) -> Double {
        let tok = line.tokens[index]
        guard let v = Double(tok), v.isFinite else {
            throw error(.notANumber, line.number, "field \(index + 1) (\(field)): expected a number, got '\(tok)'")
        }
        return v
    }

    /// A finite number in field `index` within `-limit...limit` (`InstanceLimits`); outside it, an
    /// `.invalidValue` naming the field, the value and the limit. Sign rules are the reader's.
    func number(_ line: Line, _ index: Int, _ field: String, limit: Double) throws(InstanceError) -> Double {
        let v = try number(line, index, field)
        guard abs(v) <= limit else { throw outOfRange(line, index, field, limit: limit) }
        return v
    }

    /// An integer in field `index` within `-limit...limit`, as `number(_:_:_:limit:)`.
    func integer(_ line: Line, _ index: Int, _ field: String, limit: Int) throws(InstanceError) -> Int {
        let v = try integer(line, index, field)
        guard v.magnitude <= limit.magnitude else { throw outOfRange(line, index, field, limit: Double(limit)) }
        return v
    }

    func outOfRange(_ line: Line, _ index: Int, _ field: String, limit: Double) -> InstanceError {
        error(.invalidValue, line.number,
              "field \(index + 1) (\(field)): \(line.tokens[index]) is beyond the reader's limit of ±\(Self.text(limit)) (Docs/ROUTING.md)")
    }

    /// `1000000` rather than `1000000.0` for the integral limits in messages.
    static func text(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }

    /// An integer in field `index`; accepts `12` and `12.0` but not `12.5`.
    func integer(_ line: Line, _ index: Int, _ field: String) throws(InstanceError) -> Int {
        let tok = line.tokens[index]
        if let v = Int(tok) { return v }
        if let d = Double(tok), d.isFinite, d == d.rounded(), abs(d) < 1e15 { return Int(d) }
        throw error(.notANumber, line.number, "field \(index + 1) (\(field)): expected an integer, got '\(tok)'")
    }
}
