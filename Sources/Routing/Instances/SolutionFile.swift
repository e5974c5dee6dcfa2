/// A solution in the CVRPLIB text convention:
///
/// ```
/// Route #1: 5 3 7
/// Route #2: 1 2
/// Cost 827.3
/// ```
///
/// One line per used route, numbered from 1. Customers are written as the file's own numbers
/// (`fileID`) for Solomon and Li & Lim, and as node indices counted from 0 = depot for VRPLIB
/// (CVRPLIB's convention, so node k of the file is written k − 1). Pure value type.
public struct SolutionFile: Sendable, Equatable {
    /// Node indices into `InstanceFile.nodes`, depot excluded, one array per used route.
    public var routes: [[Int]]
    /// The total cost as written (instance unit).
    public var cost: Double

    public init(routes: [[Int]], cost: Double) {
        self.routes = routes; self.cost = cost
    }

    /// The id written for node index `i` of `instance`.
    public static func writtenID(_ i: Int, in instance: InstanceFile) -> Int {
        instance.format == .vrplib ? i : instance.nodes[i].fileID
    }

    /// The text, with the cost printed with `decimals` digits after the point (1 for DIMACS).
    /// Empty routes are skipped. O(total stops).
    public func render(for instance: InstanceFile, decimals: Int = 1) -> String {
        var out = ""
        var k = 0
        for r in routes where !r.isEmpty {
            k += 1
            out += "Route #\(k):"
            for i in r { out += " \(SolutionFile.writtenID(i, in: instance))" }
            out += "\n"
        }
        out += "Cost \(formatFixed(cost, decimals: decimals))\n"
        return out
    }

    /// Reads a solution written for `instance`, mapping ids back to node indices.
    /// Errors name the line: an unknown id, a malformed `Route #k:` line, a missing or non-numeric cost.
    public static func parse(_ text: String, file: String, for instance: InstanceFile) throws(InstanceError) -> SolutionFile {
        let t = TextLines(text, file: file)
        var indexOf: [Int: Int] = [:]
        for i in instance.nodes.indices { indexOf[writtenID(i, in: instance)] = i }
        var routes: [[Int]] = []
        var cost: Double? = nil
        for line in t.lines where !line.isBlank {
            let head = line.tokens[0].lowercased()
            if head == "route" {
                guard line.tokens.count >= 2, line.tokens[1].hasPrefix("#"), line.tokens[1].hasSuffix(":") else {
                    throw t.error(.invalidValue, line.number, "expected 'Route #k: id id …', got '\(line.text)'")
                }
                var r: [Int] = []
                for j in 2..<line.tokens.count {
                    let id = try t.integer(line, j, "customer")
                    guard let i = indexOf[id], i != 0 else {
                        throw t.error(.badReference, line.number, "customer \(id) is not a customer of \(instance.name)")
                    }
                    r.append(i)
                }
                routes.append(r)
            } else if head == "cost" {
                guard line.tokens.count == 2 else { throw t.error(.fieldCount, line.number, "expected 'Cost X', got '\(line.text)'") }
                cost = try t.number(line, 1, "cost")
            } else {
                throw t.error(.invalidValue, line.number, "expected 'Route #k: …' or 'Cost X', got '\(line.text)'")
            }
        }
        guard let cost else { throw t.error(.missingSection, nil, "missing the 'Cost X' line") }
        return SolutionFile(routes: routes, cost: cost)
    }
}

/// `x` with exactly `decimals` digits after the point, rounded half away from zero; no Foundation.
public func formatFixed(_ x: Double, decimals: Int) -> String {
    guard x.isFinite else { return "\(x)" }
    var scale = 1.0
    for _ in 0..<max(0, decimals) { scale *= 10 }
    let scaled = (abs(x) * scale).rounded()
    guard scaled < 9e15 else { return "\(x)" }
    let n = Int64(scaled)
    let sign = x < 0 && n != 0 ? "-" : ""
    if decimals <= 0 { return sign + String(n) }
    let p = Int64(scale)
    var frac = String(n % p)
    frac = String(repeating: "0", count: decimals - frac.count) + frac
    return sign + String(n / p) + "." + frac
}
