/// The result of recomputing a set of routes against the file they claim to solve.
public struct RouteAudit: Sendable, Equatable {
    /// Human-readable problems, empty when the routes are feasible.
    public var problems: [String]
    /// Total distance in the file's unit under the rounding convention.
    public var distance: Double
    /// Non-empty routes.
    public var vehicles: Int
    public var feasible: Bool { problems.isEmpty }
}

extension InstanceFile {
    /// Recomputes `routes` (node indices, depot excluded) from the file alone, without the solver's
    /// model, so the CLI and benchmarks never trust a solver's own feasibility flag.
    ///
    /// `.dimacs`: arcs floor(10·euclid) tenths and times in tenths (integers); `.exact`: doubles with
    /// 1e-6 slack. Explicit matrices are used as given. Checks each customer exactly once, capacity
    /// (running load in [0, Q]), windows (waiting allowed, service starts by due), return by the depot's due,
    /// pickup before delivery on one route, and the fleet limit (`vehicleCount` for Solomon and Li & Lim).
    /// O(total stops + nodes).
    public func audit(routes: [[Int]], rounding: Rounding) -> RouteAudit {
        let n = nodes.count
        guard n > 0 else { return RouteAudit(problems: ["the instance has no depot"], distance: 0, vehicles: 0) }
        let tenths = explicitMatrix == nil && rounding == .dimacs
        let unit = tenths ? 10.0 : 1.0
        let slack = explicitMatrix == nil && rounding == .exact ? 1e-6 : 0
        func travel(_ i: Int, _ j: Int) -> Double {
            if let m = explicitMatrix { return Double(m[i][j]) }
            let dx = nodes[i].x - nodes[j].x, dy = nodes[i].y - nodes[j].y
            let e = (dx * dx + dy * dy).squareRoot()
            return tenths ? (e * 10 + 1e-9).rounded(.down) : e
        }
        func scaled(_ t: Double) -> Double { tenths ? (t * 10).rounded() : t }

        var problems: [String] = []
        var seen = [Int](repeating: -1, count: n)   // route of each node
        var order = [Int](repeating: 0, count: n)
        var total = 0.0
        var used = 0
        for (r, route) in routes.enumerated() where !route.isEmpty {
            used += 1
            var clock = scaled(nodes[0].ready), load = 0, prev = 0
            for (k, i) in route.enumerated() {
                guard i > 0 && i < n else { problems.append("route \(r + 1): node index \(i) is not a customer"); continue }
                if seen[i] >= 0 { problems.append("node \(i) is served twice") }
                seen[i] = r; order[i] = k
                total += travel(prev, i)
                clock = max(clock + travel(prev, i), scaled(nodes[i].ready))
                if clock > scaled(nodes[i].due) + slack {
                    problems.append("route \(r + 1): service at node \(i) starts at \(clock / unit), after its due \(nodes[i].due)")
                }
                clock += scaled(nodes[i].service)
                load += nodes[i].demand
                if load < 0 || load > capacity { problems.append("route \(r + 1): load \(load) outside 0...\(capacity) at node \(i)") }
                prev = i
            }
            total += travel(prev, 0)
            clock += travel(prev, 0)
            if clock > scaled(nodes[0].due) + slack {
                problems.append("route \(r + 1): back at the depot at \(clock / unit), after \(nodes[0].due)")
            }
        }
        for i in 1..<n where seen[i] < 0 { problems.append("node \(i) is not served") }
        for i in 1..<n {
            guard let d = nodes[i].deliveryIndex, seen[i] >= 0, seen[d] >= 0 else { continue }
            if seen[i] != seen[d] { problems.append("pickup \(i) and delivery \(d) are on different routes") }
            else if order[d] < order[i] { problems.append("delivery \(d) comes before its pickup \(i)") }
        }
        if format != .vrplib, let k = vehicleCount, used > k { problems.append("\(used) routes for a fleet of \(k)") }
        return RouteAudit(problems: problems, distance: total / unit, vehicles: used)
    }
}
