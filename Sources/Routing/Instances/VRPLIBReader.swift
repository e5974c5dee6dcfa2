/// Reads VRPLIB (CVRPLIB / EURO–NeurIPS 2022 style) instances with one depot:
/// `KEY : VALUE` specification lines, then sections. Supported:
///
/// * `EDGE_WEIGHT_TYPE : EUC_2D` with `NODE_COORD_SECTION`, or `EXPLICIT` with
///   `EDGE_WEIGHT_FORMAT : FULL_MATRIX` and `EDGE_WEIGHT_SECTION` (integers, used as given, time = distance);
/// * `DEMAND_SECTION` (required), `DEPOT_SECTION` (one depot, node 1), `SERVICE_TIME_SECTION`,
///   `TIME_WINDOW_SECTION`.
///
/// Node `k` of the file becomes index `k - 1`, so the depot (node 1) is index 0. Without a
/// TIME_WINDOW_SECTION every window is [0, H] with H an upper bound on any route's duration.
/// Pure: takes the text, never the disk.
public enum VRPLIBReader {
    private struct Section {
        var name: String
        var line: Int
        var rows: [TextLines.Line] = []
    }

    /// Parses `text`; `file` names the file in errors. O(n) in the text length (O(n²) numbers for a full matrix).
    public static func parse(_ text: String, file: String) throws(InstanceError) -> InstanceFile {
        let t = TextLines(text, file: file)
        var spec: [String: (value: String, line: Int)] = [:]
        var sections: [String: Section] = [:]
        var current: Section? = nil

        func close() { if let c = current { sections[c.name] = c; current = nil } }

        for line in t.lines where !line.isBlank {
            let first = line.tokens[0]
            let startsNumeric = first.first.map { $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." } ?? false
            if startsNumeric {
                guard current != nil else {
                    throw t.error(.invalidValue, line.number, "expected a 'KEY : VALUE' line or a section name, got numbers outside any section")
                }
                current!.rows.append(line)
                continue
            }
            close()
            if first.uppercased() == "EOF" { break }
            let sectionName = first.uppercased().trimmingCharacters(":")
            if sectionName.hasSuffix("_SECTION") {
                // Some writers put a colon after the section name (`NODE_COORD_SECTION :`).
                if let prev = sections[sectionName] {
                    throw t.error(.duplicateID, line.number, "duplicate \(sectionName) (first on line \(prev.line))")
                }
                current = Section(name: sectionName, line: line.number)
            } else if let colon = line.text.firstIndex(of: ":") {
                let key = line.text[..<colon].trimmingSpaces.uppercased()
                let value = line.text[line.text.index(after: colon)...].trimmingSpaces
                if let prev = spec[key] {
                    throw t.error(.duplicateID, line.number, "duplicate specification \(key) (first on line \(prev.line))")
                }
                spec[key] = (value, line.number)
            } else {
                throw t.error(.invalidValue, line.number, "expected 'KEY : VALUE', a *_SECTION name or EOF, got '\(line.text.trimmingSpaces)'")
            }
        }
        close()

        func specValue(_ key: String) -> (value: String, line: Int)? { spec[key] }
        func optionalInt(_ key: String) throws(InstanceError) -> (value: Int, line: Int)? {
            guard let s = spec[key] else { return nil }
            guard let v = Int(s.value) else { throw t.error(.notANumber, s.line, "\(key): expected an integer, got '\(s.value)'") }
            return (v, s.line)
        }
        func requiredInt(_ key: String) throws(InstanceError) -> (value: Int, line: Int) {
            guard let v = try optionalInt(key) else {
                throw t.error(.missingSection, nil, "missing the \(key) specification ('\(key) : <integer>')")
            }
            return v
        }

        let name = specValue("NAME")?.value ?? InstanceFile.stem(of: file)
        let (n, nLine) = try requiredInt("DIMENSION")
        guard n >= 2 else {
            throw t.error(.invalidValue, nLine, "DIMENSION must be at least 2 (a depot and at least one customer), got \(n)")
        }
        // Refused before anything of size n (or n²) is allocated: the solver's matrix must fit.
        if let tooBig = InstanceLimits.matrixProblem(nodes: n) {
            throw t.error(.invalidValue, nLine, "DIMENSION \(n): \(tooBig)")
        }
        let (capacity, capLine) = try requiredInt("CAPACITY")
        guard capacity > 0 else { throw t.error(.invalidValue, capLine, "CAPACITY must be positive, got \(capacity)") }
        guard capacity <= InstanceLimits.maxQuantity else {
            throw t.error(.invalidValue, capLine, "CAPACITY \(capacity) is beyond the reader's limit of \(InstanceLimits.maxQuantity) (Docs/ROUTING.md)")
        }
        var vehicles: Int? = nil
        if let (k, kLine) = try optionalInt("VEHICLES") {
            guard k > 0 else { throw t.error(.invalidValue, kLine, "VEHICLES must be positive, got \(k)") }
            guard k <= InstanceLimits.maxQuantity else {
                throw t.error(.invalidValue, kLine, "VEHICLES \(k) is beyond the reader's limit of \(InstanceLimits.maxQuantity) (Docs/ROUTING.md)")
            }
            vehicles = k
        }

        let weightType = specValue("EDGE_WEIGHT_TYPE")
        let explicit: Bool
        switch weightType?.value.uppercased() {
        case "EXPLICIT": explicit = true
        case "EUC_2D", nil: explicit = false
        case let other?:
            throw t.error(.unsupported, weightType!.line, "EDGE_WEIGHT_TYPE \(other) is not supported (expected EUC_2D or EXPLICIT)")
        }
        if explicit, let f = specValue("EDGE_WEIGHT_FORMAT"), f.value.uppercased() != "FULL_MATRIX" {
            throw t.error(.unsupported, f.line, "EDGE_WEIGHT_FORMAT \(f.value) is not supported (expected FULL_MATRIX)")
        }

        /// Rows `id v1 … vk` of a section, one per node 1…n, in id order; every value within ±`limit`.
        func perNode(_ key: String, values k: Int, fields: String, required: Bool, limit: Double) throws(InstanceError) -> (values: [[Double]], lines: [Int])? {
            guard let s = sections[key] else {
                if required { throw t.error(.missingSection, nil, "missing \(key) (\(n) rows of \(fields))") }
                return nil
            }
            var out = [[Double]?](repeating: nil, count: n)
            var lineOf = [Int](repeating: 0, count: n)
            for row in s.rows {
                guard row.tokens.count == k + 1 else {
                    throw t.error(.fieldCount, row.number, "\(key): expected \(k + 1) numbers (\(fields)), got \(row.tokens.count)")
                }
                let id = try t.integer(row, 0, "ID")
                guard (1...n).contains(id) else {
                    throw t.error(.badReference, row.number, "\(key): node \(id) is outside 1...\(n) (DIMENSION)")
                }
                if out[id - 1] != nil {
                    throw t.error(.duplicateID, row.number, "\(key): duplicate node \(id) (first on line \(lineOf[id - 1]))")
                }
                var vals: [Double] = []
                for j in 1...k { vals.append(try t.number(row, j, "\(key) " + fields.split(separator: " ")[j].description, limit: limit)) }
                out[id - 1] = vals
                lineOf[id - 1] = row.number
            }
            if let missing = out.firstIndex(where: { $0 == nil }) {
                throw t.error(.truncated, s.line, "\(key) lists \(out.count { $0 != nil }) of \(n) nodes; node \(missing + 1) is missing")
            }
            return (out.map { $0! }, lineOf)
        }

        // Depot: exactly node 1.
        if let d = sections["DEPOT_SECTION"] {
            var depots: [Int] = []
            for row in d.rows {
                for (j, _) in row.tokens.enumerated() {
                    let v = try t.integer(row, j, "DEPOT")
                    if v == -1 { break }
                    depots.append(v)
                }
            }
            guard depots == [1] else {
                throw t.error(.unsupported, d.line, "DEPOT_SECTION: expected the single depot 1 (terminated by -1), got \(depots)")
            }
        }

        let (demands, demandLines) = try perNode("DEMAND_SECTION", values: 1, fields: "ID DEMAND", required: true,
                                                 limit: Double(InstanceLimits.maxQuantity))!
        let coords = try perNode("NODE_COORD_SECTION", values: 2, fields: "ID X Y", required: !explicit, limit: InstanceLimits.maxCoordinate)?.values
        let serviceRows = try perNode("SERVICE_TIME_SECTION", values: 1, fields: "ID SERVICE", required: false, limit: InstanceLimits.maxTime)
        let windowRows = try perNode("TIME_WINDOW_SECTION", values: 2, fields: "ID READY DUE", required: false, limit: InstanceLimits.maxTime)
        let services = serviceRows?.values, windows = windowRows?.values

        var matrix: [[Int]]? = nil
        if explicit {
            guard let s = sections["EDGE_WEIGHT_SECTION"] else {
                throw t.error(.missingSection, nil, "EDGE_WEIGHT_TYPE EXPLICIT needs an EDGE_WEIGHT_SECTION (\(n)×\(n) FULL_MATRIX)")
            }
            var flat: [Int] = []
            flat.reserveCapacity(min(n * n, s.rows.count * n))
            for row in s.rows {
                for j in row.tokens.indices {
                    let v = try t.integer(row, j, "EDGE_WEIGHT", limit: InstanceLimits.maxEdgeWeight)
                    guard v >= 0 else { throw t.error(.invalidValue, row.number, "EDGE_WEIGHT_SECTION: negative weight \(v)") }
                    flat.append(v)
                }
            }
            guard flat.count == n * n else {
                throw t.error(.matrixSize, s.rows.last?.number ?? s.line,
                              "EDGE_WEIGHT_SECTION: expected \(n * n) numbers (\(n)×\(n) FULL_MATRIX), got \(flat.count)")
            }
            matrix = (0..<n).map { Array(flat[($0 * n)..<($0 * n + n)]) }
        }

        var nodes: [InstanceFile.Node] = []
        for i in 0..<n {
            let demand = demands[i][0]
            guard demand == demand.rounded(), demand >= 0 else {
                throw t.error(.invalidValue, demandLines[i], "DEMAND_SECTION: node \(i + 1) has demand \(demand); expected an integer >= 0")
            }
            let service = services?[i][0] ?? 0
            let ready = windows?[i][0] ?? 0
            let due = windows?[i][1] ?? 0
            if let w = windows?[i], w[0] > w[1] || w[0] < 0 {
                throw t.error(.invalidValue, windowRows!.lines[i],
                              "TIME_WINDOW_SECTION: node \(i + 1) has READY \(w[0]) after DUE \(w[1]) or negative")
            }
            if service < 0 { throw t.error(.invalidValue, serviceRows!.lines[i], "SERVICE_TIME_SECTION: node \(i + 1) has negative service time") }
            nodes.append(.init(fileID: i + 1, x: coords?[i][0] ?? 0, y: coords?[i][1] ?? 0, demand: Int(demand),
                               ready: ready, due: due, service: service))
        }
        guard nodes[0].demand == 0 else {
            throw t.error(.invalidValue, demandLines[0], "DEMAND_SECTION: the depot (node 1) must have demand 0, got \(nodes[0].demand)")
        }
        if windows == nil {
            // No windows: a horizon no route can exceed (every node visited after its longest arc).
            var horizon = 0.0
            for i in 0..<n {
                var longest = 0.0
                for j in 0..<n where j != i {
                    if let m = matrix { longest = max(longest, Double(m[i][j])) }
                    else {
                        let dx = nodes[i].x - nodes[j].x, dy = nodes[i].y - nodes[j].y
                        longest = max(longest, (dx * dx + dy * dy).squareRoot())
                    }
                }
                horizon += longest.rounded(.up) + 1 + nodes[i].service
            }
            for i in 0..<n { nodes[i].due = horizon }
        }
        return InstanceFile(name: name, format: .vrplib, nodes: nodes, vehicleCount: vehicles, capacity: capacity,
                            explicitMatrix: matrix)
    }
}

extension String {
    func trimmingCharacters(_ c: Character) -> String {
        var s = self[...]
        while s.last == c { s = s.dropLast() }
        return String(s)
    }
}

extension Substring {
    var trimmingSpaces: String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}

extension String {
    var trimmingSpaces: String { self[...].trimmingSpaces }
}
