/// What the objective ranks first.
public enum ObjectiveMode: String, Sendable, CaseIterable {
    /// Total distance plus fixed costs and penalties; the fleet size is only a limit.
    case distance
    /// Fewest vehicles first, then distance.
    case fleet
}

/// How `solve` runs. The solver reads no clock: the caller injects `shouldStop` (and
/// optionally `progress`, the used fraction of the budget, which drives the annealing schedule).
public struct SolveOptions: Sendable {
    public var seed: UInt64
    public var objective: ObjectiveMode
    /// Polled every few iterations; when it returns true, `solve` returns the best solution found.
    public var shouldStop: @Sendable () -> Bool
    /// Fraction of the budget used, in [0, 1]. Without it the solver cools over `iterationsPerCycle`
    /// iterations and restarts the schedule from the best solution.
    public var progress: (@Sendable () -> Double)?
    /// Stop after this many improvement iterations even if `shouldStop` stays false.
    public var maxIterations: Int?
    public var iterationsPerCycle: Int
    /// Annealing temperatures in the caller's distance unit: a candidate worse by Δ is accepted
    /// with probability exp(-Δ/T), T cooling geometrically from `initialTemperature` to `finalTemperature`.
    public var initialTemperature: Double = 30
    public var finalTemperature: Double = 1
    /// Soft time windows: cost per internal time unit of lateness (time warp); 0 keeps windows hard.
    public var latenessWeight: Cost = 0
    /// Run the granular local search after construction and on every new best solution.
    public var localSearch: Bool = true
    /// Local search also tries CROSS-exchange (strings of 1–3) and intra-route 2-opt (up to 10 stops).
    /// Off by default: on Solomon R108/RC103/RC104/R210/R203 (10 s, two seeds) the search ended
    /// worse with them (mean gap 0.99% vs 0.55%); see Docs/ROUTING.md. `segmentPolish` uses them once at the end.
    public var segmentOperators: Bool = false
    /// Polish the final best solution once with every operator, CROSS-exchange and intra-route
    /// 2-opt included (runs after `shouldStop`; only up to 600 nodes, where it takes milliseconds; for the same
    /// search trajectory never worse).
    public var segmentPolish: Bool = true

    public init(seed: UInt64 = 1, objective: ObjectiveMode = .distance,
                shouldStop: @escaping @Sendable () -> Bool = { false },
                progress: (@Sendable () -> Double)? = nil, maxIterations: Int? = nil,
                iterationsPerCycle: Int = 200_000) {
        self.seed = seed; self.objective = objective; self.shouldStop = shouldStop
        self.progress = progress; self.maxIterations = maxIterations; self.iterationsPerCycle = iterationsPerCycle
    }
}

/// A solution in the caller's node indices.
public struct Solution: Sendable, Equatable {
    /// External node indices (for instance files: indices into `InstanceFile.nodes`), depot excluded,
    /// one array per used route.
    public var routes: [[Int]]
    /// Vehicle index of each route in `routes`.
    public var vehicleOfRoute: [Int]
    /// True when every route meets every hard constraint and nothing is unassigned.
    public var feasible: Bool
    /// Total distance in the caller's unit (internal distance / `Problem.distanceScale`).
    public var distance: Double
    public var vehicles: Int
    /// Jobs (external indices) that no route serves.
    public var unassigned: [Int]
    public var iterations: Int
    /// Internal objective value (distance + fixed costs + penalties, integer units).
    public var cost: Cost
    /// Distance right after construction (caller's unit), to report what the search gained.
    public var constructionDistance: Double = 0
    /// Per route, its trips (jobs between reloads; one trip for single-trip vehicles), empty trips left out.
    public var trips: [[[Int]]] = []

    public init(routes: [[Int]], vehicleOfRoute: [Int], feasible: Bool, distance: Double, vehicles: Int,
                unassigned: [Int], iterations: Int, cost: Cost) {
        self.routes = routes; self.vehicleOfRoute = vehicleOfRoute; self.feasible = feasible; self.distance = distance
        self.vehicles = vehicles; self.unassigned = unassigned; self.iterations = iterations; self.cost = cost
    }
}
