import Base

/// A League of Robot Runners instance (leagueofrobotrunners.org; 2023 and 2024 formats): which
/// map, agents and tasks files to read (paths relative to the instance file), the team size and
/// how many tasks per robot the pool reveals.
public struct RobotRunnersInstance: Sendable, Equatable {
    public var mapFile: String
    public var agentFile: String
    public var taskFile: String
    public var teamSize: Int
    /// Revealed tasks per robot: the pool holds `numTasksReveal × teamSize` tasks (1 in 2023, 1.5 in 2024).
    public var numTasksReveal: Double
    /// `"2024 LoRR"`, or nil for 2023 files.
    public var version: String?

    /// The size of the revealed task pool.
    public var poolSize: Int { max(1, Int((numTasksReveal * Double(teamSize)).rounded(.down))) }

    public static func parse(_ text: String, file: String) throws(WarehouseFileError) -> RobotRunnersInstance {
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch { throw .json(file: file, message: error.description) }
        guard case .object = json else { throw .json(file: file, message: "expected a JSON object") }
        func string(_ key: String) throws(WarehouseFileError) -> String {
            guard let s = json[key]?.stringValue, !s.isEmpty else { throw .json(file: file, message: "missing or empty string field \"\(key)\"") }
            return s
        }
        let team = json["teamSize"]?.doubleValue
        guard let t = team, t >= 1, t == t.rounded(), t <= 1_000_000 else {
            throw .json(file: file, message: "\"teamSize\" must be a positive integer")
        }
        let reveal = json["numTasksReveal"]?.doubleValue ?? 1
        guard reveal > 0, reveal <= 100 else { throw .json(file: file, message: "\"numTasksReveal\" must be a positive number") }
        return RobotRunnersInstance(mapFile: try string("mapFile"), agentFile: try string("agentFile"), taskFile: try string("taskFile"),
                                    teamSize: Int(t), numTasksReveal: reveal, version: json["version"]?.stringValue)
    }
}

/// Agents and tasks files: optional `# …` comment lines (2024: `# version for LoRR 2024`), a count
/// line, then that many lines of linearised cells (`row * width + column`).
public enum RobotRunnersFiles {
    /// Start cells, one per robot. Each must be on the map and passable, and no two may coincide.
    public static func agents(_ text: String, file: String, grid: Grid) throws(WarehouseFileError) -> [Int] {
        let (count, rows) = try counted(text, file: file, what: "agent")
        var out: [Int] = []
        out.reserveCapacity(count)
        var firstLine: [Int: Int] = [:]
        for r in rows {
            let cell = try cellIndex(r.text, line: r.number, file: file, grid: grid, what: "start")
            if let f = firstLine[cell] { throw .duplicate(file: file, line: r.number, what: "start", cell: grid.cell(cell), firstLine: f) }
            firstLine[cell] = r.number
            out.append(cell)
        }
        return out
    }

    /// Tasks, each an ordered list of errand cells: one cell per line (2023) or a comma-separated
    /// list (2024). Each cell must be on the map and passable.
    public static func tasks(_ text: String, file: String, grid: Grid) throws(WarehouseFileError) -> [[Int]] {
        let (count, rows) = try counted(text, file: file, what: "task")
        var out: [[Int]] = []
        out.reserveCapacity(count)
        for r in rows {
            var errands: [Int] = []
            for part in r.text.split(separator: ",", omittingEmptySubsequences: false) {
                errands.append(try cellIndex(part, line: r.number, file: file, grid: grid, what: "errand"))
            }
            out.append(errands)
        }
        return out
    }

    static func counted(_ text: String, file: String, what: String) throws(WarehouseFileError) -> (Int, [(number: Int, text: Substring)]) {
        let lines = NumberedLines(text).lines.filter { !$0.text.hasPrefix("#") && !$0.text.allSatisfy(\.isWhitespace) }
        guard let head = lines.first else { throw .header(file: file, line: 1, expected: "the number of \(what)s", found: "end of file") }
        guard let n = Int(head.text.trimmingTrailingSpaces), n >= 1 else {
            throw .header(file: file, line: head.number, expected: "the number of \(what)s (a positive integer)", found: String(head.text))
        }
        let rows = Array(lines.dropFirst())
        guard rows.count == n else {
            throw .count(file: file, line: head.number, what: "\(what) lines after the count", expected: n, found: rows.count)
        }
        return (n, rows)
    }

    static func cellIndex(_ s: Substring, line: Int, file: String, grid: Grid, what: String) throws(WarehouseFileError) -> Int {
        let t = s.trimmingTrailingSpaces.drop { $0 == " " }
        guard let v = Int(t) else { throw .field(file: file, line: line, what: "a cell number (row * width + column)", found: String(s)) }
        guard v >= 0, v < grid.cellCount else { throw .outsideMap(file: file, line: line, what: what, cell: "\(v)") }
        guard grid.passable[v] else { throw .blocked(file: file, line: line, what: what, cell: grid.cell(v)) }
        return v
    }
}
