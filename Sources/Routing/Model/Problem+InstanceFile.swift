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
    /// (durations equal distances). O(n²).
    public init(instance: InstanceFile, rounding: Rounding) throws(InvalidProblem) {
        let n = instance.nodes.count
        guard n >= 2 else { throw InvalidProblem("\(instance.name): needs a depot and at least one customer") }
        var dist = [Distance](repeating: 0, count: n * n)
        let scale: Double
        if let m = instance.explicitMatrix {
            guard m.count == n, m.allSatisfy({ $0.count == n }) else { throw InvalidProblem("\(instance.name): explicit matrix is not \(n)×\(n)") }
            scale = 1
            for i in 0..<n { for j in 0..<n { dist[i * n + j] = Distance(m[i][j]) } }
        } else {
            scale = rounding == .dimacs ? 10 : 1000
            for i in 0..<n {
                for j in 0..<n where i != j {
                    let dx = instance.nodes[i].x - instance.nodes[j].x, dy = instance.nodes[i].y - instance.nodes[j].y
                    let e = (dx * dx + dy * dy).squareRoot()
                    // A tiny epsilon keeps exact integers (e.g. 5.0 → 50) from truncating to 49 through rounding noise.
                    dist[i * n + j] = rounding == .dimacs ? Distance((e * 10 + 1e-9).rounded(.down)) : Distance((e * 1000 + 0.5).rounded(.down))
                }
            }
        }
        func t(_ x: Double) -> Duration { Duration((x * scale).rounded()) }
        var nodes: [Node] = []
        nodes.reserveCapacity(n)
        for (i, f) in instance.nodes.enumerated() {
            let kind: Kind
            if i == 0 { kind = .depot }
            else if let d = f.deliveryIndex { kind = .pairedPickup(delivery: d) }
            else if let p = f.pickupIndex { kind = .pairedDelivery(pickup: p) }
            else { kind = .delivery }
            let due = instance.format == .vrplib && f.due == 0 && f.ready == 0 ? Duration.max / 4 : t(f.due)
            nodes.append(Node(kind: kind, ready: t(f.ready), due: max(t(f.ready), due), service: t(f.service),
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
