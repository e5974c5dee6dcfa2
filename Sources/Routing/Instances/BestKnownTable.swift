/// Best-known solutions from a CSV file with the header `instance,vehicles,distance,source`, or
/// the short form `instance,cost` (a cost only; for `bench routing --bks` on any instance files).
///
/// Fields may be quoted (`"a, b"`, with `""` for a quote). An empty vehicles or distance field
/// means "not known". Lookups ignore case (CVRPLIB writes `C1_2_1`, the files are `c1_2_1.txt`).
public struct BestKnownTable: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var instance: String
        public var vehicles: Int?
        public var distance: Double?
        public var source: String
        public init(instance: String, vehicles: Int?, distance: Double?, source: String) {
            self.instance = instance; self.vehicles = vehicles; self.distance = distance; self.source = source
        }
    }

    /// In file order.
    public var entries: [Entry]
    private var byKey: [String: Int]

    public init(entries: [Entry]) {
        self.entries = entries
        var m: [String: Int] = [:]
        for (i, e) in entries.enumerated() { m[e.instance.uppercased()] = i }
        byKey = m
    }

    /// The entry for `instance`, case-insensitively. O(1).
    public subscript(instance: String) -> Entry? {
        byKey[instance.uppercased()].map { entries[$0] }
    }

    /// Parses the CSV text; errors name the line. O(n).
    public static func parse(_ text: String, file: String) throws(InstanceError) -> BestKnownTable {
        let t = TextLines(text, file: file)
        var entries: [Entry] = []
        var seen: [String: Int] = [:]
        var header = true
        var short = false
        for line in t.lines where !line.text.trimmingSpaces.isEmpty {
            let fields = try splitCSV(line.text, line: line.number, file: file)
            if header {
                let names = fields.map { $0.trimmingSpaces.lowercased() }
                short = names == ["instance", "cost"]
                guard short || names.starts(with: ["instance", "vehicles", "distance"]) else {
                    throw t.error(.missingSection, line.number, "expected the header 'instance,vehicles,distance,source' or 'instance,cost', got '\(line.text)'")
                }
                header = false
                continue
            }
            if short {
                guard fields.count == 2 else { throw t.error(.fieldCount, line.number, "expected 2 fields (instance,cost), got \(fields.count)") }
                let name = fields[0].trimmingSpaces, text = fields[1].trimmingSpaces
                guard !name.isEmpty else { throw t.error(.invalidValue, line.number, "empty instance name") }
                guard let d = Double(text), d.isFinite, d > 0 else {
                    throw t.error(.notANumber, line.number, "cost: expected a positive number, got '\(text)'")
                }
                if let first = seen[name.uppercased()] {
                    throw t.error(.duplicateID, line.number, "duplicate instance \(name) (first on line \(first))")
                }
                seen[name.uppercased()] = line.number
                entries.append(Entry(instance: name, vehicles: nil, distance: d, source: ""))
                continue
            }
            guard fields.count >= 3 else {
                throw t.error(.fieldCount, line.number, "expected 4 fields (instance,vehicles,distance,source), got \(fields.count)")
            }
            let name = fields[0]
            guard !name.isEmpty else { throw t.error(.invalidValue, line.number, "empty instance name") }
            var vehicles: Int? = nil
            if !fields[1].isEmpty {
                guard let v = Int(fields[1]) else { throw t.error(.notANumber, line.number, "vehicles: expected an integer, got '\(fields[1])'") }
                vehicles = v
            }
            var distance: Double? = nil
            if !fields[2].isEmpty {
                guard let d = Double(fields[2]), d.isFinite else {
                    throw t.error(.notANumber, line.number, "distance: expected a number, got '\(fields[2])'")
                }
                distance = d
            }
            if let first = seen[name.uppercased()] {
                throw t.error(.duplicateID, line.number, "duplicate instance \(name) (first on line \(first))")
            }
            seen[name.uppercased()] = line.number
            entries.append(Entry(instance: name, vehicles: vehicles, distance: distance,
                                 source: fields.count > 3 ? fields[3...].joined(separator: ",") : ""))
        }
        if header { throw t.error(.missingSection, nil, "empty file: expected the header 'instance,vehicles,distance,source'") }
        return BestKnownTable(entries: entries)
    }

    /// RFC 4180 fields of one line (no embedded newlines).
    static func splitCSV(_ s: Substring, line: Int, file: String) throws(InstanceError) -> [String] {
        var fields: [String] = []
        var cur = ""
        var quoted = false
        var atFieldStart = true
        var it = s.makeIterator()
        var pending: Character? = nil
        while let c = pending ?? it.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let n = it.next() {
                        if n == "\"" { cur.append("\"") } else { quoted = false; pending = n }
                    } else { quoted = false }
                } else { cur.append(c) }
            } else if c == "\"" && atFieldStart {
                quoted = true; atFieldStart = false
            } else if c == "," {
                fields.append(cur); cur = ""; atFieldStart = true
            } else {
                cur.append(c); atFieldStart = false
            }
        }
        if quoted { throw InstanceError(.invalidValue, file: file, line: line, "unterminated quoted field") }
        fields.append(cur)
        return fields
    }
}

/// Comma-separated text (RFC 4180 quoting, one record per line), for the benchmark tables.
public enum CSVText {
    /// Non-blank lines split into fields, with their 1-based line numbers. O(n).
    public static func records(_ text: String, file: String) throws(InstanceError) -> [(line: Int, fields: [String])] {
        var out: [(line: Int, fields: [String])] = []
        for line in TextLines(text, file: file).lines where !line.text.trimmingSpaces.isEmpty {
            out.append((line.number, try BestKnownTable.splitCSV(line.text, line: line.number, file: file)))
        }
        return out
    }
}
