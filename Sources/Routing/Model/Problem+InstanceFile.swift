/// How Euclidean distances of a coordinate instance become integers.
public enum Rounding: String, Sendable, CaseIterable {
    /// DIMACS challenge convention: arc length floor(10·euclid)/10; internal unit 0.1.
    case dimacs
    /// Exact Euclidean: internal unit 0.001, rounded half up.
    case exact
}

extension Problem {
    /// Builds the model of a benchmark instance.
    ///
    /// Solomon / Li & Lim: the file's vehicle count is a hard fleet limit; VRPLIB: one vehicle
    /// per customer (unbounded in practice). VRPLIB explicit matrices are used as given
    /// (durations equal distances). O(n²). Every conversion to the integer units is checked: a
    /// value the readers' limits (`InstanceLimits`) would have refused throws, never traps.
    public init(instance: InstanceFile, rounding: Rounding) throws(InvalidProblem) {
        let n = instance.nodes.count
        guard n >= 2 else { throw InvalidProblem("\(instance.name): needs a depot and at least one customer") }
        if let tooBig = InstanceLimits.matrixProblem(nodes: n) { throw InvalidProblem("\(instance.name): \(tooBig)") }
        // Far above anything the readers let through (`InstanceLimits`) and far below Int64.max:
        // the conversion itself can never trap.
        let largest = Double(Ticks.max / 1024)
        func units(_ x: Double, _ what: @autoclosure () -> String) throws(InvalidProblem) -> Int64 {
            guard x.isFinite, abs(x) <= largest else { throw InvalidProblem("\(instance.name): \(what()) \(x) does not fit the solver's integer units") }
            return Int64(x)
        }
        var dist = [Distance](repeating: 0, count: n * n)
        let scale: Double
        if let m = instance.explicitMatrix {
            guard m.count == n, m.allSatisfy({ $0.count == n }) else { throw InvalidProblem("\(instance.name): explicit matrix is not \(n)×\(n)") }
            scale = 1
            for i in 0..<n { for j in 0..<n { dist[i * n + j] = try units(Double(m[i][j]), "weight \(i)→\(j)") } }
        } else {
            scale = rounding == .dimacs ? 10 : 1000
            for i in 0..<n {
                for j in 0..<n where i != j {
                    let dx = instance.nodes[i].x - instance.nodes[j].x, dy = instance.nodes[i].y - instance.nodes[j].y
                    let e = (dx * dx + dy * dy).squareRoot()
                    // A tiny epsilon keeps exact integers (e.g. 5.0 → 50) from truncating to 49 through rounding noise.
                    dist[i * n + j] = try units(rounding == .dimacs ? (e * 10 + 1e-9).rounded(.down) : (e * 1000 + 0.5).rounded(.down),
                                                "distance \(i)→\(j)")
                }
            }
        }
        func t(_ x: Double) throws(InvalidProblem) -> Ticks { try units((x * scale).rounded(), "time") }
        var nodes: [Node] = []
        nodes.reserveCapacity(n)
        for (i, f) in instance.nodes.enumerated() {
            let kind: Kind
            if i == 0 { kind = .depot }
            else if let d = f.deliveryIndex { kind = .pairedPickup(delivery: d) }
            else if let p = f.pickupIndex { kind = .pairedDelivery(pickup: p) }
            else { kind = .delivery }
            let due = instance.format == .vrplib && f.due == 0 && f.ready == 0 ? Ticks.max / 4 : try t(f.due)
            let ready = try t(f.ready)
            guard f.demand.magnitude <= UInt(InstanceLimits.maxQuantity) else { throw InvalidProblem("\(instance.name): node \(i): demand \(f.demand) is too large") }
            nodes.append(Node(kind: kind, ready: ready, due: max(ready, due), service: try t(f.service),
                              demand: Load(Int64(abs(f.demand)), 0, 0, 0)))
        }
        let fleet: Int
        if instance.format == .vrplib { fleet = max(1, n - 1) }
        else { fleet = instance.vehicleCount ?? (n - 1) }
        let cap = Load(Int64(instance.capacity), 0, 0, 0)
        let vehicle = Vehicle(start: 0, end: 0, capacity: cap, shiftStart: nodes[0].ready, shiftEnd: nodes[0].due)
        try self.init(nodes: nodes, vehicles: Array(repeating: vehicle, count: fleet), distances: dist, durations: dist,
                      distanceScale: scale, timeScale: scale)
    }
}
