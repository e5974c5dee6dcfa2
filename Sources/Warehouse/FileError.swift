import Base

/// Why a warehouse file (MovingAI map or scenario, League of Robot Runners instance, agents or
/// tasks) could not be read. Every case names the file and, where there is one, the 1-based line,
/// and says what was expected; `description` is the message for people.
public enum WarehouseFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A header line is missing or not what the format requires.
    case header(file: String, line: Int, expected: String, found: String)
    /// A map row whose length is not the declared width.
    case rowWidth(file: String, line: Int, expected: Int, found: Int)
    /// Fewer or more map rows than the declared height.
    case rowCount(file: String, expected: Int, found: Int)
    /// A map character that is neither passable nor an obstacle.
    case character(file: String, line: Int, column: Int, found: String)
    /// A map without a single passable cell.
    case noFreeCell(file: String)
    /// A field that should be a number (or a list of them) and is not, or a wrong field count.
    case field(file: String, line: Int, what: String, found: String)
    /// A cell outside the map.
    case outsideMap(file: String, line: Int, what: String, cell: String)
    /// A cell on an obstacle.
    case blocked(file: String, line: Int, what: String, cell: GridCell)
    /// A goal that cannot be reached from its start.
    case unreachable(file: String, line: Int, from: GridCell, to: GridCell)
    /// Two agents share a start or a goal.
    case duplicate(file: String, line: Int, what: String, cell: GridCell, firstLine: Int)
    /// The file declares a count that does not match its lines, or asks for more than it has.
    case count(file: String, line: Int, what: String, expected: Int, found: Int)
    /// A JSON instance that is not valid JSON or lacks a field.
    case json(file: String, message: String)
    /// A map too large for the planners' 16-bit distance tables.
    case tooLarge(file: String, freeCells: Int, limit: Int)

    public var description: String {
        switch self {
        case let .header(f, l, e, found): "\(f):\(l): expected \(e), found '\(displayed(found))'"
        case let .rowWidth(f, l, e, found): "\(f):\(l): map row has \(found) characters; the header says width \(e)"
        case let .rowCount(f, e, found): "\(f): map has \(found) rows; the header says height \(e)"
        case let .character(f, l, c, found): "\(f):\(l): column \(c): unknown map character '\(displayed(found))' (expected . E S for free, @ T for blocked)"
        case let .noFreeCell(f): "\(f): the map has no passable cell"
        case let .field(f, l, w, found): "\(f):\(l): expected \(w), found '\(displayed(found))'"
        case let .outsideMap(f, l, w, c): "\(f):\(l): \(w) \(c) is outside the map"
        case let .blocked(f, l, w, c): "\(f):\(l): \(w) \(c) is on an obstacle"
        case let .unreachable(f, l, from, to): "\(f):\(l): goal \(to) cannot be reached from start \(from)"
        case let .duplicate(f, l, w, c, first): "\(f):\(l): \(w) \(c) is already used on line \(first)"
        case let .count(f, l, w, e, found): "\(f):\(l): \(w): expected \(e), found \(found)"
        case let .json(f, m): "\(f): \(m)"
        case let .tooLarge(f, n, limit): "\(f): \(n) free cells; the planners' distance tables hold at most \(limit)"
        }
    }
}

/// The lines of a text file, numbered from 1, with a trailing `\r` removed.
struct NumberedLines {
    var lines: [(number: Int, text: Substring)]
    init(_ text: String) {
        var out: [(Int, Substring)] = []
        var n = 0
        // "\r\n" is one Character in Swift, so both line ends are separators.
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            n += 1
            out.append((n, raw.hasSuffix("\r") ? raw.dropLast() : raw))
        }
        // A final newline does not make an extra line.
        if let last = out.last, last.1.isEmpty { out.removeLast() }
        lines = out
    }
}
