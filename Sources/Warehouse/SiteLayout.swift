/// A site's floor (the dawn hub or a micro-fulfillment store) in Daybreak's own layout format
/// (Docs/SITES.md): a grid drawn as text rows, MovingAI-style, whose letters mark the features
/// (storage, pick stations, sorter inducts and chutes, dock doors, chargers), each with a name.
/// Pure: `SiteLayout.parse(_:file:)` reads text that the caller loaded.

/// What a cell of the layout is.
public enum SiteFeatureKind: String, Sendable, CaseIterable, Comparable {
    case storage, pick, induct, chute, dock, charger

    /// The letter in a layout's rows.
    public var letter: Character {
        switch self {
        case .storage: "S"
        case .pick: "P"
        case .induct: "I"
        case .chute: "C"
        case .dock: "D"
        case .charger: "B"
        }
    }

    /// Robots stand on pick stations, inducts, dock doors and chargers; storage racks and chutes
    /// are not driven over and are served from a free neighbouring cell (their access cell).
    public var isPassable: Bool {
        switch self {
        case .storage, .chute: false
        case .pick, .induct, .dock, .charger: true
        }
    }

    /// Default names are `<prefix>-<n>`, numbered from 1 in reading order (row by row).
    public var namePrefix: String { rawValue }

    public static func < (a: SiteFeatureKind, b: SiteFeatureKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// One named feature of a layout.
public struct SiteFeature: Sendable, Equatable {
    public var name: String
    public var kind: SiteFeatureKind
    /// The feature's own cell index in the grid.
    public var cell: Int
    /// Where a robot (or a loader) stands to use it: the cell itself for a passable feature, the
    /// first free 4-neighbour (east, south, west, north) for storage and chutes.
    public var access: Int
}

public struct SiteLayout: Sendable, Equatable {
    public enum Kind: String, Sendable { case hub, store }

    public var site: String
    public var kind: Kind
    public var name: String
    /// Side of a cell, metres.
    public var cellMetres: Double
    /// The floor: walls, storage racks, the sorter's belt and chutes are blocked.
    public var grid: Grid
    /// All features in reading order.
    public var features: [SiteFeature]
    /// The sorter's parameters (hubs with a sorter); nil where the file gives none.
    public var chuteCapacity: Int?
    public var inductsPerHour: Int?
    public var loopSeconds: Int?

    public func features(_ kind: SiteFeatureKind) -> [SiteFeature] { features.filter { $0.kind == kind } }
    public func feature(named name: String) -> SiteFeature? { features.first { $0.name == name } }

    /// The maximum accepted width or height (a guard against a hostile file asking for a huge grid).
    public static let maxSide = 2000
}

/// A layout file that could not be read: the file, the line and column (1-based; column 0 when
/// the whole line is at fault), and what was wrong.
public struct SiteLayoutError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String
    public init(file: String, line: Int, column: Int = 0, message: String) {
        self.file = file; self.line = line; self.column = column; self.message = message
    }
    public var description: String { column > 0 ? "\(file):\(line):\(column): \(message)" : "\(file):\(line): \(message)" }
}

extension SiteLayout {
    /// The letters of a layout's rows: `.` floor, `@` wall, `=` the sorter's belt, and the features'
    /// letters (`SiteFeatureKind.letter`).
    public static let floorLetter: Character = "."
    public static let wallLetter: Character = "@"
    public static let beltLetter: Character = "="

    /// Reads a layout. Text format, one item per line, `#` starts a comment line:
    /// ```
    /// site hub-dawn
    /// kind hub
    /// name Gimpo dawn hub
    /// cell-metres 1.5
    /// chute-capacity 80          (optional: sorter parameters)
    /// induct-per-hour 2400
    /// loop-seconds 150
    /// width 6
    /// height 3
    /// map
    /// @@@@@@
    /// @B.PS@
    /// @@@@@@
    /// rename 3 1 pick-north      (optional, after the map: x y new-name)
    /// ```
    public static func parse(_ text: String, file: String) throws(SiteLayoutError) -> SiteLayout {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
            line.hasSuffix("\r") ? line.dropLast() : line
        }
        func fail(_ line: Int, _ column: Int = 0, _ message: String) -> SiteLayoutError {
            SiteLayoutError(file: file, line: line, column: column, message: message)
        }
        var header: [String: (value: String, line: Int)] = [:]
        let known: Set<String> = ["site", "kind", "name", "cell-metres", "chute-capacity", "induct-per-hour", "loop-seconds", "width", "height"]
        var i = 0
        var mapLine = 0
        // The header, up to `map`.
        while i < lines.count {
            let raw = lines[i]; i += 1
            let line = raw.trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line == "map" { mapLine = i; break }
            let (key, value) = line.splitOnce
            guard known.contains(key) else { throw fail(i, 1, "unknown header key '\(key)' (expected one of \(known.sorted().joined(separator: ", ")), then 'map')") }
            guard !value.isEmpty else { throw fail(i, key.count + 1, "'\(key)' needs a value") }
            if let first = header[key] { throw fail(i, 1, "'\(key)' given twice (first on line \(first.line))") }
            header[key] = (value, i)
        }
        guard mapLine > 0 else { throw fail(max(1, lines.count), 0, "no 'map' line: the rows of the grid follow a line 'map'") }
        func required(_ key: String) throws(SiteLayoutError) -> (value: String, line: Int) {
            guard let v = header[key] else { throw fail(mapLine, 0, "missing header key '\(key)' before 'map'") }
            return v
        }
        func integer(_ key: String, _ range: ClosedRange<Int>) throws(SiteLayoutError) -> Int? {
            guard let (v, line) = header[key] else { return nil }
            guard let n = Int(v), range.contains(n) else { throw fail(line, key.count + 2, "'\(key)' must be an integer in \(range.lowerBound)…\(range.upperBound), not '\(v)'") }
            return n
        }
        let site = try required("site")
        guard site.value.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), site.value.utf8.count <= 255 else {
            throw fail(site.line, 6, "site id '\(site.value)' must be letters, digits, '-' or '_' (at most 255 bytes)")
        }
        let kindText = try required("kind")
        guard let kind = Kind(rawValue: kindText.value) else { throw fail(kindText.line, 6, "kind must be 'hub' or 'store', not '\(kindText.value)'") }
        let name = header["name"]?.value ?? site.value
        var cellMetres = 1.0
        if let (v, line) = header["cell-metres"] {
            guard let m = Double(v), m.isFinite, m > 0, m <= 100 else { throw fail(line, 13, "'cell-metres' must be a number in (0, 100], not '\(v)'") }
            cellMetres = m
        }
        guard let width = try integer("width", 1...maxSide) else { throw fail(mapLine, 0, "missing header key 'width' before 'map'") }
        guard let height = try integer("height", 1...maxSide) else { throw fail(mapLine, 0, "missing header key 'height' before 'map'") }
        let chuteCapacity = try integer("chute-capacity", 1...100_000)
        let inductsPerHour = try integer("induct-per-hour", 1...1_000_000)
        let loopSeconds = try integer("loop-seconds", 1...86_400)

        // The rows.
        var passable = [Bool](repeating: false, count: width * height)
        var featureCells: [(kind: SiteFeatureKind, cell: Int, line: Int, column: Int)] = []
        var rowLines: [Int] = []
        let letters = Dictionary(uniqueKeysWithValues: SiteFeatureKind.allCases.map { ($0.letter, $0) })
        for y in 0..<height {
            guard i < lines.count else { throw fail(lines.count, 0, "the map has \(y) rows; 'height' (line \(header["height"]!.line)) says \(height)") }
            let row = Array(lines[i]); i += 1
            if row.isEmpty || row.allSatisfy({ $0 == " " }) {
                throw fail(i, 0, "the map has \(y) rows; 'height' (line \(header["height"]!.line)) says \(height)")
            }
            guard row.count == width else {
                throw fail(i, min(row.count, width) + 1, "ragged row: \(row.count) characters, 'width' (line \(header["width"]!.line)) says \(width)")
            }
            rowLines.append(i)
            for (x, ch) in row.enumerated() {
                let c = y * width + x
                if ch == floorLetter { passable[c] = true }
                else if ch == wallLetter || ch == beltLetter { passable[c] = false }
                else if let k = letters[ch] {
                    passable[c] = k.isPassable
                    featureCells.append((k, c, i, x + 1))
                } else {
                    let legend = ([floorLetter, wallLetter, beltLetter] + SiteFeatureKind.allCases.map(\.letter)).map { "'\($0)'" }.joined(separator: " ")
                    throw fail(i, x + 1, "unknown character '\(ch)' (the legend: \(legend))")
                }
            }
        }
        let grid = Grid(width: width, height: height, passable: passable)

        // Features: default names, then access cells.
        var counters: [SiteFeatureKind: Int] = [:]
        var features: [SiteFeature] = []
        var origin: [Int: (line: Int, column: Int)] = [:]   // feature cell → where it was drawn
        for f in featureCells {
            counters[f.kind, default: 0] += 1
            var access = f.cell
            if !f.kind.isPassable {
                guard let a = grid.neighbours(f.cell).first else {
                    throw fail(f.line, f.column, "\(f.kind.rawValue) at \(grid.cell(f.cell)) has no access cell: no free 4-neighbour to serve it from")
                }
                access = a
            }
            features.append(SiteFeature(name: "\(f.kind.namePrefix)-\(counters[f.kind]!)", kind: f.kind, cell: f.cell, access: access))
            origin[f.cell] = (f.line, f.column)
        }

        // Renames, after the map.
        var renamedAt: [String: Int] = [:]
        while i < lines.count {
            let raw = lines[i]; i += 1
            let line = raw.trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard parts.first == "rename" else {
                if parts.count == 1 || Array(raw).count == width {
                    throw fail(i, 0, "a row after the map's \(height) rows ('height' on line \(header["height"]!.line)); after the map only 'rename X Y NAME' lines")
                }
                throw fail(i, 1, "expected 'rename X Y NAME' after the map, not '\(parts.first ?? "")'")
            }
            guard parts.count == 4 else { throw fail(i, 1, "'rename' takes X Y NAME (3 values), got \(parts.count - 1)") }
            guard let x = Int(parts[1]), let y = Int(parts[2]), grid.contains(GridCell(x: x, y: y)) else {
                throw fail(i, 8, "'rename': \(parts[1]) \(parts[2]) is not a cell of the \(width)×\(height) map")
            }
            let c = grid.index(GridCell(x: x, y: y))
            guard let k = features.firstIndex(where: { $0.cell == c }) else {
                throw fail(i, 8, "'rename': \(GridCell(x: x, y: y)) is not a feature (storage, pick, induct, chute, dock or charger)")
            }
            let new = parts[3]
            guard new.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
                throw fail(i, 1, "'rename': name '\(new)' must be letters, digits, '-', '_' or '.'")
            }
            if let before = renamedAt[features[k].name] { throw fail(i, 1, "'rename': \(GridCell(x: x, y: y)) already renamed on line \(before)") }
            features[k].name = new
            renamedAt[new] = i
        }
        var seen: [String: Int] = [:]
        for (k, f) in features.enumerated() {
            if let j = seen[f.name] {
                let at = origin[f.cell]!
                let line = renamedAt[f.name] ?? at.line
                throw fail(line, renamedAt[f.name] == nil ? at.column : 1,
                           "duplicate name '\(f.name)': \(features[j].kind.rawValue) at \(grid.cell(features[j].cell)) and \(f.kind.rawValue) at \(grid.cell(f.cell))")
            }
            seen[f.name] = k
        }

        // Whole-site rules.
        let last = rowLines.last ?? mapLine
        if counters[.charger, default: 0] == 0 { throw fail(last, 0, "no charger ('\(SiteFeatureKind.charger.letter)'): robots could not charge") }
        let chutes = counters[.chute, default: 0], inducts = counters[.induct, default: 0]
        if chutes > 0 && inducts == 0 { throw fail(last, 0, "\(chutes) chutes but no induct ('\(SiteFeatureKind.induct.letter)')") }
        if inducts > 0 && chutes == 0 { throw fail(last, 0, "\(inducts) inducts but no chute ('\(SiteFeatureKind.chute.letter)')") }
        if chutes > 0 && chuteCapacity == nil { throw fail(mapLine, 0, "a site with a sorter needs 'chute-capacity' before 'map'") }
        // Every feature's access cell must reach the first charger (one connected floor).
        if let charger = features.first(where: { $0.kind == .charger }) {
            let d = grid.distances(from: charger.access)
            for f in features where d[f.access] == Grid.unreachable {
                let at = origin[f.cell]!
                throw fail(at.line, at.column, "\(f.kind.rawValue) '\(f.name)' at \(grid.cell(f.cell)) cannot be reached from charger '\(charger.name)'")
            }
        }
        return SiteLayout(site: site.value, kind: kind, name: name, cellMetres: cellMetres, grid: grid, features: features,
                          chuteCapacity: chuteCapacity, inductsPerHour: inductsPerHour, loopSeconds: loopSeconds)
    }
}

fileprivate extension Substring {
    var trimmingSpaces: String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}

fileprivate extension String {
    /// "key rest of line" → ("key", "rest of line").
    var splitOnce: (String, String) {
        guard let sp = firstIndex(where: { $0 == " " || $0 == "\t" }) else { return (self, "") }
        return (String(self[..<sp]), self[index(after: sp)...][...].trimmingSpaces)
    }
}
