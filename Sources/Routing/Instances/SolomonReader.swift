/// Reads the Solomon (1987) and Gehring–Homberger VRPTW layout:
///
/// ```
/// C101
///
/// VEHICLE
/// NUMBER     CAPACITY
///   25         200
///
/// CUSTOMER
/// CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME
///
///     0      40         50          0          0       1236          0
///     1      45         68         10        912        967         90
/// ```
///
/// The first row is the depot (its due date is the horizon). Pure: takes the text, never the disk.
public enum SolomonReader {
    static let rowFields = "CUST_NO X Y DEMAND READY DUE SERVICE"

    /// Parses `text`; `file` names the file in errors. O(n) in the text length.
    public static func parse(_ text: String, file: String) throws(InstanceError) -> InstanceFile {
        let t = TextLines(text, file: file)
        let lines = t.lines
        guard let nameLine = lines.first(where: { !$0.isBlank }) else {
            throw t.error(.truncated, nil, "empty file: expected a Solomon instance (name, VEHICLE, CUSTOMER sections)")
        }
        let name = nameLine.tokens.joined(separator: " ")

        // VEHICLE / NUMBER CAPACITY / <vehicles> <capacity>
        guard let numberIdx = lines.firstIndex(where: { $0.tokens.first?.uppercased() == "NUMBER" }) else {
            throw t.error(.missingSection, nil, "missing the VEHICLE section (a 'NUMBER CAPACITY' header)")
        }
        guard let fleetIdx = lines[(numberIdx + 1)...].firstIndex(where: { !$0.isBlank }) else {
            throw t.error(.truncated, lines[numberIdx].number,
                          "file ends after 'NUMBER CAPACITY': expected a line with 2 numbers (NUMBER CAPACITY)")
        }
        let fleet = lines[fleetIdx]
        guard fleet.tokens.count == 2 else {
            throw t.error(.fieldCount, fleet.number, "expected 2 numbers (NUMBER CAPACITY), got \(fleet.tokens.count)")
        }
        let vehicles = try t.integer(fleet, 0, "NUMBER", limit: InstanceLimits.maxQuantity)
        let capacity = try t.integer(fleet, 1, "CAPACITY", limit: InstanceLimits.maxQuantity)
        guard vehicles > 0 else { throw t.error(.invalidValue, fleet.number, "vehicle NUMBER must be positive, got \(vehicles)") }
        guard capacity > 0 else { throw t.error(.invalidValue, fleet.number, "CAPACITY must be positive, got \(capacity)") }

        // CUSTOMER / header / rows
        guard let headerIdx = lines[(fleetIdx + 1)...].firstIndex(where: { $0.tokens.first?.uppercased().hasPrefix("CUST") == true && $0.tokens.count > 1 }) else {
            throw t.error(.missingSection, nil, "missing the CUSTOMER section (a 'CUST NO. XCOORD. …' header)")
        }
        var nodes: [InstanceFile.Node] = []
        var lineOfID: [Int: Int] = [:]
        var lastLine = lines[headerIdx].number
        for line in lines[(headerIdx + 1)...] where !line.isBlank {
            lastLine = line.number
            guard line.tokens.count == 7 else {
                throw t.error(.fieldCount, line.number, "expected 7 numbers (\(rowFields)), got \(line.tokens.count)")
            }
            let id = try t.integer(line, 0, "CUST_NO")
            let x = try t.number(line, 1, "X", limit: InstanceLimits.maxCoordinate)
            let y = try t.number(line, 2, "Y", limit: InstanceLimits.maxCoordinate)
            let demand = try t.integer(line, 3, "DEMAND", limit: InstanceLimits.maxQuantity)
            let ready = try t.number(line, 4, "READY", limit: InstanceLimits.maxTime)
            let due = try t.number(line, 5, "DUE", limit: InstanceLimits.maxTime)
            let service = try t.number(line, 6, "SERVICE", limit: InstanceLimits.maxTime)
            if let first = lineOfID[id] {
                throw t.error(.duplicateID, line.number, "duplicate CUST_NO \(id) (first on line \(first))")
            }
            guard demand >= 0 else { throw t.error(.invalidValue, line.number, "DEMAND must be >= 0, got \(demand)") }
            guard ready <= due else {
                throw t.error(.invalidValue, line.number, "READY \(line.tokens[4]) is after DUE \(line.tokens[5])")
            }
            guard service >= 0, ready >= 0 else {
                throw t.error(.invalidValue, line.number, "READY and SERVICE must be >= 0")
            }
            if nodes.isEmpty && demand != 0 {
                throw t.error(.invalidValue, line.number, "the first row is the depot and must have DEMAND 0, got \(demand)")
            }
            if let tooMany = InstanceLimits.matrixProblem(nodes: nodes.count + 1) {
                throw t.error(.invalidValue, line.number, "row \(nodes.count + 1): \(tooMany)")
            }
            lineOfID[id] = line.number
            nodes.append(.init(fileID: id, x: x, y: y, demand: demand, ready: ready, due: due, service: service))
        }
        guard nodes.count >= 2 else {
            throw t.error(.truncated, lastLine,
                          "expected a depot row and at least one customer row (\(rowFields)) after the CUSTOMER header, got \(nodes.count) row(s)")
        }
        return InstanceFile(name: name, format: .solomon, nodes: nodes, vehicleCount: vehicles, capacity: capacity)
    }
}
