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
    /// Penalised search: ruin-and-recreate and local search may break time windows, paying an
    /// adaptive weight per unit of time warp (raised when fewer than 40% of the candidates are
    /// feasible, lowered above 60%); a promising infeasible candidate is repaired by a local search
    /// at ten times the weight. Only feasible solutions become the best. Not with pickup-delivery
    /// pairs or soft windows (`latenessWeight > 0`), where it is ignored.
    public var penalisedTimeWarp: Bool = false
    /// SISR: average number of jobs removed per iteration (c̄, default 10).
    public var averageRemoved: Double = 10
    /// Iterations between two local searches of a new best (nil: 0 up to 200 nodes, else n / 5).
    public var localSearchInterval: Int? = nil
    /// Search threads: the caller's plus `threads − 1` of the solver's own (default 1). Each runs its
    /// own search from its own seed; every `exchangeInterval` iterations all meet and the best
    /// solution of all replaces each worse one. The result depends only on the seed and the thread
    /// count for an iteration-bounded run (`maxIterations` then bounds each thread).
    public var threads: Int = 1
    /// Iterations per thread between two exchanges of the best solution (only with `threads > 1`).
    public var exchangeInterval: Int = 500
    /// Called with the distance (caller's unit) and the number of unassigned jobs whenever the
    /// search finds a new best solution (after construction, the fleet phase, and each new best of
    /// any thread; from the solver's threads). The solver reads no clock: the caller timestamps it.
    public var onNewBest: (@Sendable (_ distance: Double, _ unassigned: Int) -> Void)? = nil

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
    /// Warm start only: the stops dropped from the given routes because they broke a hard
    /// constraint there (the search then re-inserted them where it could; any it could not are in
    /// `unassigned`).
    public var repairs: [WarmStartRepair] = []
    /// Per route, its trips (jobs between reloads; one trip for single-trip vehicles), empty trips left out.
    public var trips: [[[Int]]] = []

    public init(routes: [[Int]], vehicleOfRoute: [Int], feasible: Bool, distance: Double, vehicles: Int,
                unassigned: [Int], iterations: Int, cost: Cost) {
        self.routes = routes; self.vehicleOfRoute = vehicleOfRoute; self.feasible = feasible; self.distance = distance
        self.vehicles = vehicles; self.unassigned = unassigned; self.iterations = iterations; self.cost = cost
    }
}
