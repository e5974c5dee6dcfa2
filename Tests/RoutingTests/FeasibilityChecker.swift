import Routing

/// An independent feasibility checker for benchmark solutions, written apart from the solver
/// (it shares only `InstanceFile`), so a solver bug cannot hide behind its own bookkeeping.
///
/// Conventions, as the literature uses them:
/// * `.dimacs`: every arc is floor(10·euclid) tenths; ready, due and service are counted in tenths too,
///   so all arithmetic is on integers (held in Doubles, exact below 2^53).
/// * `.exact`: double-precision Euclidean distances; a time comparison allows 1e-6 slack.
/// * An explicit VRPLIB matrix is used as given (travel time = matrix entry) under either convention.
/// Waiting is allowed; service must start by `due`; the vehicle must be back at the depot by the depot's due.
/// Loads run from 0 (Li & Lim pickups add, deliveries subtract; Solomon demands add) and must stay in [0, Q].
struct FeasibilityChecker {
    enum Convention: Sendable { case dimacs, exact }

    enum Violation: Equatable, Sendable, CustomStringConvertible {
        case unknownNode(route: Int, node: Int)
        case depotInRoute(route: Int)
        case emptyRoute(route: Int)
        case visitedTwice(node: Int)
        case notVisited(node: Int)
        case overCapacity(route: Int, load: Int)
        case negativeLoad(route: Int, node: Int)
        case late(route: Int, node: Int, start: Double, due: Double)
        case lateReturn(route: Int, arrival: Double, due: Double)
        case pairOnDifferentRoutes(pickup: Int, delivery: Int)
        case deliveryBeforePickup(pickup: Int, delivery: Int)
        case tooManyVehicles(used: Int, limit: Int)

        var description: String {
            switch self {
            case let .unknownNode(r, n): "route \(r): node \(n) does not exist"
            case let .depotInRoute(r): "route \(r): visits the depot in the middle"
            case let .emptyRoute(r): "route \(r) is empty"
            case let .visitedTwice(n): "node \(n) is visited more than once"
            case let .notVisited(n): "node \(n) is not visited"
            case let .overCapacity(r, l): "route \(r): load \(l) exceeds the capacity"
            case let .negativeLoad(r, n): "route \(r): load goes negative at node \(n)"
            case let .late(r, n, s, d): "route \(r): service at node \(n) starts at \(s), after due \(d)"
            case let .lateReturn(r, a, d): "route \(r): back at the depot at \(a), after \(d)"
            case let .pairOnDifferentRoutes(p, d): "pickup \(p) and delivery \(d) are on different routes"
            case let .deliveryBeforePickup(p, d): "delivery \(d) comes before its pickup \(p)"
            case let .tooManyVehicles(u, l): "\(u) routes, but the fleet has \(l) vehicles"
            }
        }
    }

    struct Report: Sendable {
        var violations: [Violation]
        /// Total distance in the instance's unit (tenths converted back for `.dimacs`).
        var distance: Double
        var vehicles: Int
        var feasible: Bool { violations.isEmpty }
    }

    let instance: InstanceFile
    let convention: Convention
    /// Tenths for DIMACS coordinates, 1 otherwise.
    private let scale: Double

    init(_ instance: InstanceFile, convention: Convention) {
        self.instance = instance
        self.convention = convention
        self.scale = instance.explicitMatrix == nil && convention == .dimacs ? 10 : 1
    }

    /// Travel distance = travel time from `i` to `j`, in checker units (tenths under DIMACS).
    func arc(_ i: Int, _ j: Int) -> Double {
        if let m = instance.explicitMatrix { return Double(m[i][j]) }
        let a = instance.nodes[i], b = instance.nodes[j]
        let e = ((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)).squareRoot()
        switch convention {
        case .exact: return e
        case .dimacs: return (e * 10 + 1e-9).rounded(.down)
        }
    }

    private func time(_ t: Double) -> Double { scale == 10 ? (t * 10).rounded() : t }

    /// Checks `routes` (node indices, depot excluded). `fleetLimit` defaults to the file's vehicle
    /// count for Solomon and Li & Lim; VRPLIB's VEHICLES is informational, so no limit there.
    func check(_ routes: [[Int]], fleetLimit: Int?? = nil) -> Report {
        let n = instance.nodes.count
        let limit: Int? = fleetLimit ?? (instance.format == .vrplib ? nil : instance.vehicleCount)
        let slack = convention == .exact && scale == 1 && instance.explicitMatrix == nil ? 1e-6 : 0
        var v: [Violation] = []
        var routeOf = [Int?](repeating: nil, count: n)
        var position = [Int](repeating: -1, count: n)
        var total = 0.0
        var used = 0
        let depot = instance.nodes[0]
        for (r, route) in routes.enumerated() {
            if route.isEmpty { v.append(.emptyRoute(route: r)); continue }
            used += 1
            var load = 0, peak = 0
            var clock = time(depot.ready)
            var prev = 0
            for (pos, node) in route.enumerated() {
                guard node >= 0 && node < n else { v.append(.unknownNode(route: r, node: node)); continue }
                guard node != 0 else { v.append(.depotInRoute(route: r)); continue }
                if routeOf[node] != nil { v.append(.visitedTwice(node: node)) }
                routeOf[node] = r
                position[node] = pos
                let c = instance.nodes[node]
                let a = arc(prev, node)
                total += a
                clock = max(clock + a, time(c.ready))
                if clock > time(c.due) + slack { v.append(.late(route: r, node: node, start: clock / scale, due: c.due)) }
                clock += time(c.service)
                load += c.demand
                if load < 0 { v.append(.negativeLoad(route: r, node: node)) }
                peak = max(peak, load)
                prev = node
            }
            let back = arc(prev, 0)
            total += back
            clock += back
            if clock > time(depot.due) + slack { v.append(.lateReturn(route: r, arrival: clock / scale, due: depot.due)) }
            if peak > instance.capacity { v.append(.overCapacity(route: r, load: peak)) }
        }
        for i in 1..<n where routeOf[i] == nil { v.append(.notVisited(node: i)) }
        for (i, node) in instance.nodes.enumerated() {
            guard let d = node.deliveryIndex, let rp = routeOf[i], let rd = routeOf[d] else { continue }
            if rp != rd { v.append(.pairOnDifferentRoutes(pickup: i, delivery: d)) }
            else if position[d] < position[i] { v.append(.deliveryBeforePickup(pickup: i, delivery: d)) }
        }
        if let limit, used > limit { v.append(.tooManyVehicles(used: used, limit: limit)) }
        return Report(violations: v, distance: total / scale, vehicles: used)
    }
}
