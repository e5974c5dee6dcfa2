/// Readers of the MovingAI grid formats (movingai.com/benchmarks/mapf; Stern et al., SoCS 2019),
/// which the League of Robot Runners maps share. Pure: they take the file's text and its name
/// (for messages); the caller reads the file.
public enum MovingAIMap {
    /// Parses a `.map` file: `type octile`, `height H`, `width W` (either order), `map`, then H
    /// rows of W characters. `.`, `E` (emitter) and `S` (service) are passable; `@` and `T` are
    /// obstacles; anything else is an error naming the line and column.
    public static func parse(_ text: String, file: String) throws(WarehouseFileError) -> Grid {
        let lines = NumberedLines(text).lines
        var k = 0
        func next(_ expected: String) throws(WarehouseFileError) -> (number: Int, text: Substring) {
            guard k < lines.count else { throw .header(file: file, line: lines.count + 1, expected: expected, found: "end of file") }
            defer { k += 1 }
            return lines[k]
        }
        let type = try next("'type octile'")
        guard type.text.split(separator: " ").map(String.init) == ["type", "octile"] else {
            throw .header(file: file, line: type.number, expected: "'type octile'", found: String(type.text))
        }
        var height: Int?, width: Int?
        for _ in 0..<2 {
            let l = try next("'height H' and 'width W'")
            let f = l.text.split(separator: " ")
            guard f.count == 2, let v = Int(f[1]), v > 0, v <= 100_000 else {
                throw .header(file: file, line: l.number, expected: "'height H' or 'width W' with a positive number", found: String(l.text))
            }
            switch f[0] {
            case "height" where height == nil: height = v
            case "width" where width == nil: width = v
            default: throw .header(file: file, line: l.number, expected: height == nil ? "'height H'" : "'width W'", found: String(l.text))
            }
        }
        guard let h = height, let w = width else { throw .header(file: file, line: 2, expected: "'height H' and 'width W'", found: "") }
        guard h * w <= 4_000_000 else { throw .header(file: file, line: 2, expected: "at most 4,000,000 cells", found: "\(w) x \(h)") }
        let m = try next("'map'")
        guard m.text.trimmingTrailingSpaces == "map" else { throw .header(file: file, line: m.number, expected: "'map'", found: String(m.text)) }
        var passable = [Bool](repeating: false, count: w * h)
        var rows = 0
        while k < lines.count {
            let row = lines[k]; k += 1
            if rows == h {
                // Trailing blank lines are tolerated; any other extra row is an error.
                if row.text.allSatisfy(\.isWhitespace) { continue }
                throw .rowCount(file: file, expected: h, found: rows + 1 + lines[k...].count { !$0.text.allSatisfy(\.isWhitespace) })
            }
            let chars = Array(row.text.utf8)
            guard chars.count == w else { throw .rowWidth(file: file, line: row.number, expected: w, found: chars.count) }
            for (x, c) in chars.enumerated() {
                switch c {
                case UInt8(ascii: "."), UInt8(ascii: "E"), UInt8(ascii: "S"), UInt8(ascii: "G"): passable[rows * w + x] = true
                case UInt8(ascii: "@"), UInt8(ascii: "T"), UInt8(ascii: "O"), UInt8(ascii: "W"): break
                default: throw .character(file: file, line: row.number, column: x + 1, found: String(decoding: [c], as: UTF8.self))
                }
            }
            rows += 1
        }
        guard rows == h else { throw .rowCount(file: file, expected: h, found: rows) }
        guard passable.contains(true) else { throw .noFreeCell(file: file) }
        return Grid(width: w, height: h, passable: passable)
    }
}

/// One line of a MovingAI `.scen` file.
public struct ScenarioEntry: Sendable, Equatable {
    public var line: Int
    public var start: GridCell
    public var goal: GridCell
}

public enum MovingAIScenario {
    /// Parses a `.scen` file against its map: `version 1`, then one tab-separated line per agent
    /// `bucket map width height start_x start_y goal_x goal_y optimal_length`. Each start and goal
    /// must be on the map, passable and connected; width and height must match the map.
    public static func parse(_ text: String, file: String, grid: Grid) throws(WarehouseFileError) -> [ScenarioEntry] {
        let lines = NumberedLines(text).lines
        guard let first = lines.first else { throw .header(file: file, line: 1, expected: "'version 1'", found: "end of file") }
        let head = first.text.split(separator: " ")
        guard head.count == 2, head[0] == "version", Double(head[1]) != nil else {
            throw .header(file: file, line: first.number, expected: "'version 1'", found: String(first.text))
        }
        let component = grid.componentLabels()
        var out: [ScenarioEntry] = []
        for l in lines.dropFirst() where !l.text.allSatisfy(\.isWhitespace) {
            let f = l.text.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard f.count == 9 else {
                throw .field(file: file, line: l.number, what: "9 tab-separated fields (bucket map width height sx sy gx gy length)", found: String(l.text))
            }
            var n: [Int] = []
            for i in [2, 3, 4, 5, 6, 7] {
                guard let v = Int(f[i]) else { throw .field(file: file, line: l.number, what: "an integer in field \(i + 1)", found: String(f[i])) }
                n.append(v)
            }
            guard n[0] == grid.width, n[1] == grid.height else {
                throw .field(file: file, line: l.number, what: "map size \(grid.width) \(grid.height)", found: "\(n[0]) \(n[1])")
            }
            let s = GridCell(x: n[2], y: n[3]), g = GridCell(x: n[4], y: n[5])
            for (what, c) in [("start", s), ("goal", g)] {
                guard grid.contains(c) else { throw .outsideMap(file: file, line: l.number, what: what, cell: c.description) }
                guard grid.isFree(c) else { throw .blocked(file: file, line: l.number, what: what, cell: c) }
            }
            guard component[grid.index(s)] == component[grid.index(g)] else {
                throw .unreachable(file: file, line: l.number, from: s, to: g)
            }
            out.append(ScenarioEntry(line: l.number, start: s, goal: g))
        }
        return out
    }

    /// The first `agents` entries as a one-shot MAPF problem; refuses too few entries and shared
    /// starts or goals, naming the lines.
    public static func problem(_ entries: [ScenarioEntry], agents: Int, grid: Grid, file: String) throws(WarehouseFileError) -> MAPFProblem {
        guard agents <= entries.count else {
            throw .count(file: file, line: (entries.last?.line ?? 1), what: "scenario lines for \(agents) agents", expected: agents, found: entries.count)
        }
        var startLine: [Int: Int] = [:], goalLine: [Int: Int] = [:]
        for e in entries.prefix(agents) {
            let s = grid.index(e.start), g = grid.index(e.goal)
            if let l = startLine[s] { throw .duplicate(file: file, line: e.line, what: "start", cell: e.start, firstLine: l) }
            if let l = goalLine[g] { throw .duplicate(file: file, line: e.line, what: "goal", cell: e.goal, firstLine: l) }
            startLine[s] = e.line; goalLine[g] = e.line
        }
        let used = entries.prefix(agents)
        return MAPFProblem(grid: grid, starts: used.map { grid.index($0.start) }, goals: used.map { grid.index($0.goal) })
    }
}

extension Substring {
    var trimmingTrailingSpaces: Substring {
        var s = self
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}

extension Grid {
    /// A label per cell: cells with the same label are connected; blocked cells get -1.
    public func componentLabels() -> [Int32] {
        var label = [Int32](repeating: -1, count: cellCount)
        var stack: [Int] = []
        var nb: [Int] = []
        var next: Int32 = 0
        for s in 0..<cellCount where passable[s] && label[s] < 0 {
            label[s] = next
            stack.append(s)
            while let u = stack.popLast() {
                neighbours(u, into: &nb)
                for v in nb where label[v] < 0 { label[v] = next; stack.append(v) }
            }
            next += 1
        }
        return label
    }
}
