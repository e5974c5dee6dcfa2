/// A load vector: weight, volume, chilled, frozen (or any four dimensions the caller chooses).
/// Unused dimensions stay zero.
public typealias Load = SIMD4<Int64>

/// A rich VRP instance in integer internal units, ready for the solver.
///
/// Nodes are indexed `0..<nodes.count`; the distance and duration matrices are node-indexed
/// (row-major, `from * nodeCount + to`). Depots and vehicle start positions are nodes with
/// `kind == .depot`; every other node is a job that the solver must serve or report unassigned.
/// Value type; building one is O(n²) in memory for the matrices.
public struct Problem: Sendable {
    /// What a node asks of a vehicle.
    public enum Kind: Sendable, Equatable {
        /// A depot, or a vehicle's start or end location. Never a job.
        case depot
        /// Goods loaded at the start depot and dropped here.
        case delivery
        /// Goods picked up here and carried to the end depot.
        case pickup
        /// The pickup of a pair; `delivery` is the node index of its delivery (same vehicle, after it).
        case pairedPickup(delivery: Int)
        /// The delivery of a pair; `pickup` is the node index of its pickup.
        case pairedDelivery(pickup: Int)
        /// A reload stop of `vehicle` at its end depot (added by the model for multi-trip vehicles).
        case reload(vehicle: Int)
    }

    /// A time window: earliest and latest start of service.
    public struct TimeWindow: Sendable, Equatable {
        public var ready: Ticks
        public var due: Ticks
        public init(ready: Ticks, due: Ticks) { self.ready = ready; self.due = due }
    }

    /// One stop: a depot, or a job with its window, service and demand.
    public struct Node: Sendable, Equatable {
        public var kind: Kind
        /// Earliest and latest start of service (hard unless soft windows are enabled).
        public var ready: Ticks
        public var due: Ticks
        public var service: Ticks
        /// Non-negative amounts per dimension.
        public var demand: Load
        /// Skills a vehicle must all have (bit set).
        public var requiredSkills: UInt64
        /// Cost of leaving this job unassigned. Zero means "use the solver's default", which
        /// makes every complete solution cheaper than any incomplete one.
        public var unassignedPenalty: Cost
        /// Further windows besides [ready, due]: service may start in any one of them. The solver
        /// picks one when it inserts the job (pickup-delivery pairs use only the first).
        public var alternativeWindows: [TimeWindow] = []
        /// Higher priority jobs are inserted first, and (with the default penalty) leaving one
        /// unassigned costs (1 + priority) times the base penalty.
        public var priority: Int

        public init(kind: Kind, ready: Ticks, due: Ticks, service: Ticks = 0, demand: Load = .zero,
                    requiredSkills: UInt64 = 0, unassignedPenalty: Cost = 0, priority: Int = 0) {
            self.kind = kind; self.ready = ready; self.due = due; self.service = service; self.demand = demand
            self.requiredSkills = requiredSkills; self.unassignedPenalty = unassignedPenalty; self.priority = priority
        }

        public var isJob: Bool {
            switch kind { case .depot, .reload: return false; default: return true }
        }
    }

    /// One vehicle: where it starts and ends, its shift, capacity and costs.
    public struct Vehicle: Sendable, Equatable {
        /// Node index where the route starts (a depot node or the vehicle's current position).
        public var start: Int
        /// Node index where the route ends.
        public var end: Int
        public var capacity: Load
        /// The route may not leave `start` before `shiftStart` and must reach `end` by `shiftEnd`.
        public var shiftStart: Ticks
        public var shiftEnd: Ticks
        /// Maximum route duration from departure to arrival at the end (including waiting).
        public var maxDuration: Ticks
        /// Cost added when the vehicle is used.
        public var fixedCost: Cost
        public var skills: UInt64
        /// Trips per shift: a vehicle with more than one may return to its end depot to reload
        /// (unload pickups, load the next deliveries), spending `reloadTime` there before the next job.
        public var maxTrips: Int = 1
        public var reloadTime: Ticks = 0

        public init(start: Int, end: Int, capacity: Load, shiftStart: Ticks = 0, shiftEnd: Ticks = .max / 4,
                    maxDuration: Ticks = .max / 4, fixedCost: Cost = 0, skills: UInt64 = .max) {
            self.start = start; self.end = end; self.capacity = capacity
            self.shiftStart = shiftStart; self.shiftEnd = shiftEnd; self.maxDuration = maxDuration
            self.fixedCost = fixedCost; self.skills = skills
        }

        public init(start: Int, end: Int, capacity: Load, shiftStart: Ticks = 0, shiftEnd: Ticks = .max / 4,
                    maxDuration: Ticks = .max / 4, fixedCost: Cost = 0, skills: UInt64 = .max,
                    maxTrips: Int, reloadTime: Ticks) {
            self.init(start: start, end: end, capacity: capacity, shiftStart: shiftStart, shiftEnd: shiftEnd,
                      maxDuration: maxDuration, fixedCost: fixedCost, skills: skills)
            self.maxTrips = maxTrips; self.reloadTime = reloadTime
        }
    }

    /// Why a `Problem` could not be built.
    public struct InvalidProblem: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    public private(set) var nodes: [Node]
    public private(set) var vehicles: [Vehicle]
    /// Row-major node-indexed matrices.
    public let distances: [Distance]
    public internal(set) var durations: [Ticks]
    /// Internal distance units per unit the caller reports in (10 for DIMACS Solomon, 1000 for exact).
    public var distanceScale: Double
    /// Internal time units per caller time unit.
    public var timeScale: Double
    /// Optional slot-wise travel times; when set, `durations` is their slot-wise maximum.
    public internal(set) var timeDependent: TimeDependentDurations? = nil
    /// Maps node index to the caller's own index (for instance files: the index in `InstanceFile.nodes`).
    public var externalIndex: [Int]

    public var nodeCount: Int { nodes.count }

    /// Builds a problem from node-indexed matrices. O(n²) validation.
    public init(nodes: [Node], vehicles: [Vehicle], distances: [Distance], durations: [Ticks],
                distanceScale: Double = 1, timeScale: Double = 1, externalIndex: [Int]? = nil) throws(InvalidProblem) {
        let n = nodes.count
        guard distances.count == n * n else { throw InvalidProblem("distance matrix has \(distances.count) entries, expected \(n * n)") }
        guard durations.count == n * n else { throw InvalidProblem("duration matrix has \(durations.count) entries, expected \(n * n)") }
        guard !vehicles.isEmpty else { throw InvalidProblem("no vehicles") }
        for (i, v) in vehicles.enumerated() {
            guard (0..<n).contains(v.start), (0..<n).contains(v.end) else { throw InvalidProblem("vehicle \(i): start/end node out of range") }
            guard nodes[v.start].kind == .depot, nodes[v.end].kind == .depot else { throw InvalidProblem("vehicle \(i): start/end must be depot nodes") }
        }
        for (i, node) in nodes.enumerated() {
            guard node.ready <= node.due else { throw InvalidProblem("node \(i): ready \(node.ready) after due \(node.due)") }
            for w in node.alternativeWindows where w.ready > w.due { throw InvalidProblem("node \(i): window ready \(w.ready) after due \(w.due)") }
            guard node.service >= 0, !any(node.demand .< 0) else { throw InvalidProblem("node \(i): negative service or demand") }
            switch node.kind {
            case .pairedPickup(let d):
                guard (0..<n).contains(d), nodes[d].kind == .pairedDelivery(pickup: i) else { throw InvalidProblem("node \(i): pickup's delivery \(d) does not point back") }
            case .pairedDelivery(let p):
                guard (0..<n).contains(p), nodes[p].kind == .pairedPickup(delivery: i) else { throw InvalidProblem("node \(i): delivery's pickup \(p) does not point back") }
            case .reload: throw InvalidProblem("node \(i): reload stops are added by the model from Vehicle.maxTrips")
            default: break
            }
        }
        for x in distances where x < 0 { throw InvalidProblem("negative distance \(x)") }
        for x in durations where x < 0 { throw InvalidProblem("negative duration \(x)") }
        var ext = externalIndex ?? Array(0..<n)
        // Multi-trip vehicles get (maxTrips − 1) reload stops: copies of their end depot.
        var copies: [(vehicle: Int, of: Int)] = []
        for (i, v) in vehicles.enumerated() where v.maxTrips > 1 {
            for _ in 1..<v.maxTrips { copies.append((i, v.end)) }
        }
        if copies.isEmpty {
            self.nodes = nodes; self.distances = distances; self.durations = durations
        } else {
            let m = n + copies.count
            let src = (0..<m).map { $0 < n ? $0 : copies[$0 - n].of }
            var dist = [Distance](repeating: 0, count: m * m), dur = [Ticks](repeating: 0, count: m * m)
            for i in 0..<m { for j in 0..<m where src[i] != src[j] || i < n && j < n {
                dist[i * m + j] = distances[src[i] * n + src[j]]; dur[i * m + j] = durations[src[i] * n + src[j]]
                // Leaving a reload stop for a job costs the reload time; leaving it for the depot or
                // another reload (an unused trip) costs nothing.
                if i >= n && j < n && nodes[j].isJob { dur[i * m + j] += vehicles[copies[i - n].vehicle].reloadTime }
            } }
            var all = nodes
            for c in copies {
                let v = vehicles[c.vehicle], depot = nodes[c.of]
                all.append(Node(kind: .reload(vehicle: c.vehicle), ready: max(depot.ready, v.shiftStart),
                                due: min(depot.due, v.shiftEnd), service: 0))
                ext.append(-1)
            }
            self.nodes = all; self.distances = dist; self.durations = dur
        }
        self.vehicles = vehicles
        self.distanceScale = distanceScale; self.timeScale = timeScale
        self.externalIndex = ext
    }

    @inlinable public func distance(_ a: Int, _ b: Int) -> Distance { distances[a * nodes.count + b] }
    @inlinable public func duration(_ a: Int, _ b: Int) -> Ticks { durations[a * nodes.count + b] }

    /// Indices of the job nodes (everything that is not a depot).
    public var jobs: [Int] { nodes.indices.filter { nodes[$0].isJob } }
}
