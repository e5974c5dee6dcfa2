/// Reads the Li & Lim PDPTW layout: line 1 `K Q SPEED`, then one task per line,
/// `id x y demand early late service pickup_sibling delivery_sibling`; task 0 is the depot.
///
/// A pickup has `pickup_sibling = 0` and names its delivery; a delivery names its pickup and
/// has `delivery_sibling = 0`. The SPEED field is ignored (several files say 0; time equals
/// distance throughout the literature). Pure: takes the text, never the disk.
public enum LiLimReader {
    static let rowFields = "ID X Y DEMAND EARLY LATE SERVICE PICKUP DELIVERY"

    /// Parses `text`; `file` names the file in errors. O(n) in the text length.
    public static func parse(_ text: String, file: String, name: String? = nil) throws(InstanceError) -> InstanceFile {
        let t = TextLines(text, file: file)
        let rows = t.lines.filter { !$0.isBlank }
        guard let head = rows.first else {
            throw t.error(.truncated, nil, "empty file: expected a line with 3 numbers (K Q SPEED)")
        }
        guard head.tokens.count == 3 else {
            throw t.error(.fieldCount, head.number, "expected 3 numbers (K Q SPEED), got \(head.tokens.count)")
        }
        let vehicles = try t.integer(head, 0, "K", limit: InstanceLimits.maxQuantity)
        let capacity = try t.integer(head, 1, "Q", limit: InstanceLimits.maxQuantity)
        _ = try t.number(head, 2, "SPEED")
        guard vehicles > 0 else { throw t.error(.invalidValue, head.number, "vehicle count K must be positive, got \(vehicles)") }
        guard capacity > 0 else { throw t.error(.invalidValue, head.number, "capacity Q must be positive, got \(capacity)") }

        var nodes: [InstanceFile.Node] = []
        var siblings: [(pickup: Int, delivery: Int, line: Int)] = []
        var indexOfID: [Int: Int] = [:]
        for line in rows.dropFirst() {
            guard line.tokens.count == 9 else {
                throw t.error(.fieldCount, line.number, "expected 9 numbers (\(rowFields)), got \(line.tokens.count)")
            }
            let id = try t.integer(line, 0, "ID")
            let x = try t.number(line, 1, "X", limit: InstanceLimits.maxCoordinate)
            let y = try t.number(line, 2, "Y", limit: InstanceLimits.maxCoordinate)
            let demand = try t.integer(line, 3, "DEMAND", limit: InstanceLimits.maxQuantity)
            let ready = try t.number(line, 4, "EARLY", limit: InstanceLimits.maxTime)
            let due = try t.number(line, 5, "LATE", limit: InstanceLimits.maxTime)
            let service = try t.number(line, 6, "SERVICE", limit: InstanceLimits.maxTime)
            let p = try t.integer(line, 7, "PICKUP"), d = try t.integer(line, 8, "DELIVERY")
            if let first = indexOfID[id] {
                throw t.error(.duplicateID, line.number, "duplicate task id \(id) (first on line \(siblings[first].line))")
            }
            guard ready <= due else {
                throw t.error(.invalidValue, line.number, "EARLY \(line.tokens[4]) is after LATE \(line.tokens[5])")
            }
            guard service >= 0, ready >= 0 else { throw t.error(.invalidValue, line.number, "EARLY and SERVICE must be >= 0") }
            if nodes.isEmpty {
                guard demand == 0, p == 0, d == 0 else {
                    throw t.error(.invalidValue, line.number, "the first task is the depot: expected DEMAND 0 and no siblings")
                }
            } else {
                guard (p == 0) != (d == 0) else {
                    throw t.error(.badReference, line.number,
                                  "task \(id): expected exactly one of PICKUP and DELIVERY to be non-zero, got \(p) and \(d)")
                }
                if d != 0 && demand < 0 {
                    throw t.error(.invalidValue, line.number, "task \(id) is a pickup (DELIVERY \(d)) but has negative DEMAND \(demand)")
                }
                if p != 0 && demand > 0 {
                    throw t.error(.invalidValue, line.number, "task \(id) is a delivery (PICKUP \(p)) but has positive DEMAND \(demand)")
                }
            }
            if let tooMany = InstanceLimits.matrixProblem(nodes: nodes.count + 1) {
                throw t.error(.invalidValue, line.number, "task \(nodes.count + 1): \(tooMany)")
            }
            indexOfID[id] = nodes.count
            siblings.append((p, d, line.number))
            nodes.append(.init(fileID: id, x: x, y: y, demand: demand, ready: ready, due: due, service: service))
        }
        guard nodes.count >= 3 else {
            throw t.error(.truncated, rows.last?.number, "expected a depot and at least one pickup–delivery pair, got \(nodes.count) task(s)")
        }
        // First every sibling must exist, then the pairs must point at each other; each error names the referring line.
        for i in 1..<nodes.count {
            let s = siblings[i], id = nodes[i].fileID
            if s.delivery != 0, indexOfID[s.delivery] == nil || indexOfID[s.delivery] == 0 {
                throw t.error(.badReference, s.line, "pickup \(id): DELIVERY \(s.delivery) is not a task in this file")
            }
            if s.pickup != 0, indexOfID[s.pickup] == nil || indexOfID[s.pickup] == 0 {
                throw t.error(.badReference, s.line, "delivery \(id): PICKUP \(s.pickup) is not a task in this file")
            }
        }
        for i in 1..<nodes.count {
            let s = siblings[i], id = nodes[i].fileID
            if s.delivery != 0 {
                let j = indexOfID[s.delivery]!
                guard siblings[j].pickup == id else {
                    throw t.error(.badReference, s.line,
                                  "pickup \(id) names delivery \(s.delivery), but task \(s.delivery) (line \(siblings[j].line)) names pickup \(siblings[j].pickup)")
                }
                nodes[i].deliveryIndex = j
            } else {
                let j = indexOfID[s.pickup]!
                guard siblings[j].delivery == id else {
                    throw t.error(.badReference, s.line,
                                  "delivery \(id) names pickup \(s.pickup), but task \(s.pickup) (line \(siblings[j].line)) names delivery \(siblings[j].delivery)")
                }
                nodes[i].pickupIndex = j
            }
        }
        let stem = name ?? InstanceFile.stem(of: file)
        return InstanceFile(name: stem, format: .lilim, nodes: nodes, vehicleCount: vehicles, capacity: capacity)
    }
}
