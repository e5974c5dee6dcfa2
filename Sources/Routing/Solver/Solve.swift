import Base

/// Solves `problem`: regret-3 construction, then ruin-and-recreate (SISR) under simulated
/// annealing, keeping the best solution. Anytime: returns the best solution found when
/// `options.shouldStop()` turns true (or after `maxIterations`). Deterministic for a seed and a
/// thread count when the stop condition is iteration-based. Runs on the caller's thread plus
/// `options.threads − 1` threads of its own, and blocks the caller until done: call it from a
/// dedicated thread (`Base.onDedicatedThread`), never from the cooperative pool.
public func solve(_ problem: Problem, options: SolveOptions) -> Solution {
    SearchRun(problem, options: options).run(initial: nil)
}

/// Solves `problem` starting from `initial` (routes of external node indices, as in `Solution.routes`;
/// route k is given to vehicle k). An infeasible start is repaired first: stops are dropped from a
/// route where they break a time window, the capacity, the route duration, a skill or a pair (each
/// drop is listed in `Solution.repairs`) and re-inserted by the search. The result is never worse
/// (by `Solution.cost`) than a feasible start. Throws when the routes name something that is not a
/// job of `problem` (unknown index, a depot, a reload stop).
public func solve(_ problem: Problem, from initial: [[Int]], options: SolveOptions) throws(WarmStartError) -> Solution {
    let run = SearchRun(problem, options: options)
    let internalRoutes = try run.internalRoutes(initial)
    return run.run(initial: internalRoutes)
}

/// Why a warm start cannot be used as given.
public struct WarmStartError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One stop dropped from a warm start's route because it broke a hard constraint there.
public struct WarmStartRepair: Sendable, Equatable, CustomStringConvertible {
    /// Route number in the given start, from 1.
    public var route: Int
    /// The job's external index.
    public var job: Int
    public var reason: String
    public init(route: Int, job: Int, reason: String) { self.route = route; self.job = job; self.reason = reason }
    public var description: String { "route #\(route): job \(job) removed (\(reason))" }
}

/// One search worker: its own engine and generator. Invariant (`@unchecked Sendable`): used by one
/// thread at a time — by its own thread inside `forEachInParallel`, by the coordinating thread only
/// between rounds, after the join.
final class SearchWorker: @unchecked Sendable {
    let engine: Engine
    var rng: SeededGenerator
    var state: Engine.SearchState? = nil
    var iterations = 0
    var stopped = false
    init(_ engine: Engine, seed: UInt64) { self.engine = engine; rng = SeededGenerator(seed: seed) }
}

/// One call of `solve`: construction (or a warm start) on worker 0, then every worker searches
/// independently in rounds of `options.exchangeInterval` iterations; after each round the best
/// solution of all (ties to the lowest worker) replaces every worker's worse best. Rounds end at
/// fixed iteration counts, so for an iteration bound the result depends on the seed and the thread
/// count only, never on timing.
struct SearchRun {
    let problem: Problem
    let options: SolveOptions

    init(_ problem: Problem, options: SolveOptions) { self.problem = problem; self.options = options }

    func internalRoutes(_ routes: [[Int]]) throws(WarmStartError) -> [[Int32]] {
        var index: [Int: Int32] = [:]
        for (i, e) in problem.externalIndex.enumerated() where e >= 0 { index[e] = Int32(i) }
        var out: [[Int32]] = []
        for (k, r) in routes.enumerated() {
            var route: [Int32] = []
            for e in r {
                guard let i = index[e] else { throw WarmStartError("route #\(k + 1): \(e) is not a node of the problem") }
                guard problem.nodes[Int(i)].isJob else { throw WarmStartError("route #\(k + 1): node \(e) is a depot, not a job") }
                route.append(i)
            }
            out.append(route)
        }
        return out
    }

    func makeEngine() -> Engine {
        let e = Engine(problem, objective: options.objective)
        e.latenessWeight = options.latenessWeight
        e.segmentOperators = options.segmentOperators
        return e
    }

    /// The seed of worker k: worker 0 uses the caller's seed, so one thread follows the same
    /// trajectory as before threads existed.
    static func seed(_ base: UInt64, worker k: Int) -> UInt64 { k == 0 ? base : base &+ UInt64(k) &* 0xD1B5_4A32_D192_ED03 }

    func run(initial: [[Int32]]?) -> Solution {
        let threads = max(1, options.threads)
        let first = SearchWorker(makeEngine(), seed: options.seed)
        let e = first.engine
        var repairs: [WarmStartRepair] = []
        if let initial { repairs = e.loadRepairing(initial, externalIndex: problem.externalIndex) }
        e.regretConstruct(rng: &first.rng)
        let constructed = Double(e.totalDistance) / problem.distanceScale
        if options.localSearch && !options.shouldStop() {
            e.localSearch(neighbours: e.buildNeighbours(limit: min(e.n, 100)), rng: &first.rng)
        }
        report(e)
        var workers = [first]
        if threads > 1 {
            let start = e.routesSnapshot()
            for k in 1..<threads {
                let w = SearchWorker(makeEngine(), seed: Self.seed(options.seed, worker: k))
                w.engine.load(start)
                workers.append(w)
            }
        }
        let all = workers
        var startFraction = 0.0
        if options.objective == .fleet && !options.shouldStop() && options.maxIterations != 0 {
            startFraction = 0.5
            let opts = options
            forEachInParallel(all.count) { k in
                let w = all[k]
                w.iterations += w.engine.minimizeFleet(options: opts, until: 0.5, rng: &w.rng)
            }
            let b = bestWorker(all) { $0.engine.totalCost }
            for w in all where w !== b { w.engine.load(b.engine.routesSnapshot()) }
            report(b.engine)
        }
        let done = all.reduce(0) { max($0, $1.iterations) }
        if !options.shouldStop() && (options.maxIterations.map { done < $0 } ?? true) {
            var o = options
            if let m = o.maxIterations { o.maxIterations = m - done }
            let opts = o
            for w in all {
                let setup = w.engine.prepareSearch(options: opts, scale: problem.distanceScale, neighbours: all[0].engine.neighbourCache)
                w.state = w.engine.startSearch(setup)
            }
            let interval = all.count == 1 ? Int.max : max(1, options.exchangeInterval)
            var round = 0
            while true {
                round += 1
                let target = interval == Int.max ? Int.max : round * interval
                let fraction = startFraction
                forEachInParallel(all.count) { k in
                    let w = all[k]
                    w.stopped = w.engine.runSearch(&w.state!, options: opts, startFraction: fraction, until: target, rng: &w.rng)
                }
                if all.contains(where: \.stopped) { break }
                // Deterministic exchange: the best of all (lowest cost, then lowest worker) replaces worse bests.
                let b = bestWorker(all) { $0.state!.best }
                for w in all where w !== b && w.state!.best > b.state!.best {
                    w.engine.adopt(b.state!.bestRoutes, cost: b.state!.best, into: &w.state!)
                }
            }
            for w in all {
                w.iterations += w.state!.iterations
                w.engine.finishSearch(w.state!)
            }
        }
        let best = bestWorker(all) { $0.engine.totalCost }
        let be = best.engine
        // Final polish of the best solution with every operator (CROSS-exchange and intra-route 2-opt
        // included); local search only accepts improvements, so the result is never worse.
        if options.localSearch && options.segmentPolish && be.n <= 600 {
            be.segmentOperators = true
            be.localSearch(neighbours: be.neighbourCache ?? be.buildNeighbours(limit: min(be.n, 100)), rng: &best.rng)
            be.segmentOperators = options.segmentOperators
        }
        var solution = be.solution(problem, iterations: all.reduce(0) { $0 + $1.iterations })
        solution.constructionDistance = constructed
        solution.repairs = repairs
        return solution
    }

    func bestWorker(_ all: [SearchWorker], by cost: (SearchWorker) -> Cost) -> SearchWorker {
        var b = all[0]
        for w in all.dropFirst() where cost(w) < cost(b) { b = w }
        return b
    }

    func report(_ e: Engine) {
        options.onNewBest?(Double(e.totalDistance) / problem.distanceScale, e.unassigned.count)
    }
}

extension Engine {
    /// Fixed inputs of one SISR search.
    struct SearchSetup {
        var neighbours: [[Int32]]
        var big: Bool
        var useLocalSearch: Bool
        var lsInterval: Int
        var cBar: Double
        var t0: Double, tf: Double
        var onNewBest: (@Sendable (Double, Int) -> Void)?
        var scale: Double
        /// Penalised search: candidates may break time windows, at `latenessWeight` per unit of
        /// time warp, adapted so about half the candidates are feasible; only feasible solutions
        /// become the best (see `SolveOptions.penalisedTimeWarp`).
        var penalised: Bool
        /// The caller's lateness weight (restored when the search ends).
        var baseWeight: Cost
    }

    /// The state of a SISR search between rounds.
    struct SearchState {
        var setup: SearchSetup
        var current: Cost
        var best: Cost
        var bestRoutes: Snapshot
        var iterations = 0
        var cycleStart = 0
        var lastLocalSearch: Int
        /// Penalised search: current weight per unit of time warp, and candidates (feasible ones) since the last adaptation.
        var weight: Cost = 0
        var candidates = 0
        var feasibleCandidates = 0
    }

    func prepareSearch(options: SolveOptions, scale: Double, neighbours shared: [[Int32]]? = nil) -> SearchSetup {
        var activeJobs = 0
        for i in 0..<n where active[i] { activeJobs += 1 }
        let big = activeJobs > 600
        let limit = min(n, big ? 40 : 100)
        if neighbourCache == nil {
            if let shared, shared.count == n, shared.allSatisfy({ $0.count >= limit }) {
                neighbourCache = shared.map { Array($0.prefix(limit)) }
            } else {
                neighbourCache = buildNeighbours(limit: limit)
            }
        }
        // On big instances a full local-search pass per new best would eat the budget,
        // and on mid-size ones it runs at most every n/5 iterations.
        return SearchSetup(neighbours: neighbourCache!, big: big, useLocalSearch: options.localSearch && n <= 1500,
                           lsInterval: options.localSearchInterval ?? (n <= 200 ? 0 : n / 5), cBar: options.averageRemoved,
                           t0: options.initialTemperature * scale, tf: options.finalTemperature * scale,
                           onNewBest: options.onNewBest, scale: scale,
                           penalised: options.penalisedTimeWarp && latenessWeight == 0 && !hasPairs, baseWeight: latenessWeight)
    }

    func startSearch(_ setup: SearchSetup) -> SearchState {
        granularRoutes = setup.big
        let c = totalCost
        var s = SearchState(setup: setup, current: c, best: c, bestRoutes: routesSnapshot(), lastLocalSearch: -setup.lsInterval)
        if setup.penalised { s.weight = 1; setWeight(1); s.current = totalCost }
        return s
    }

    /// Sets the cost per unit of time warp and re-prices every route. O(V).
    func setWeight(_ w: Cost) {
        latenessWeight = w
        for v in 0..<vehicleCount where jobCount[v] > 0 {
            let m = visits[v].count
            routeCost[v] = cumD[v][m - 1] + vFixed[v] + w * fwdT[v][m - 1].timeWarp
        }
    }

    /// Total time warp of the loaded routes. O(V).
    var totalWarp: Int64 {
        var w: Int64 = 0
        for v in 0..<vehicleCount where jobCount[v] > 0 { w += fwdT[v][visits[v].count - 1].timeWarp }
        return w
    }

    /// Loads another worker's best as this search's current and best.
    func adopt(_ routes: Snapshot, cost: Cost, into s: inout SearchState) {
        load(routes)
        s.current = totalCost; s.best = cost; s.bestRoutes = routes
    }

    /// Leaves the best solution loaded.
    func finishSearch(_ s: SearchState) {
        if s.setup.penalised { latenessWeight = s.setup.baseWeight }
        load(s.bestRoutes)
        granularRoutes = false
    }

    /// Penalised search, after an accepted candidate with time warp that looks promising: each
    /// route with warp is walked from its start and the stops that arrive late are taken out, then
    /// re-inserted under hard windows (cheapest feasible position). Kept when that places them all
    /// (returns true, the solution is feasible); otherwise undone. O(touched stops · insertion).
    func repairWarp(_ s: inout SearchState, rng: inout SeededGenerator) -> Bool {
        let w = latenessWeight
        let unassignedBefore = unassigned.count
        begin()
        latenessWeight = 0
        var out: [Int32] = []
        for v in 0..<vehicleCount where jobCount[v] > 0 && fwdT[v][visits[v].count - 1].timeWarp > 0 {
            touch(v)
            let vis = visits[v]
            var ts = vStartSeg[v]
            var keep: [Int32] = [vis[0]]
            for k in 1..<(vis.count - 1) {
                let c = vis[k]
                let t2 = merge(ts, nodeTime[Int(c)])
                if t2.timeWarp > 0 && movable(c) {
                    out.append(c); routeOf[Int(c)] = -1; posOf[Int(c)] = -1
                } else { ts = t2; keep.append(c) }
            }
            keep.append(vis[vis.count - 1])
            visits[v] = keep
            refresh(v)
        }
        sortForRecreate(&out, rng: &rng)
        recreate(out, blink: 0, rng: &rng)
        let fixed = totalWarp == 0 && unassigned.count <= unassignedBefore
        latenessWeight = w
        if fixed { commit() } else { rollback() }
        setWeight(w)
        return fixed
    }

    /// Local search under hard windows (the penalised search's intensification of a new best).
    func hardLocalSearch(_ neighbours: [[Int32]], rng: inout SeededGenerator) {
        let w = latenessWeight
        setWeight(0)
        localSearch(neighbours: neighbours, rng: &rng)
        setWeight(w)
    }

    /// The SISR loop. Leaves the best solution found loaded in the engine; returns iterations run.
    func search(options: SolveOptions, scale: Double, startFraction: Double = 0, rng: inout SeededGenerator) -> Int {
        var s = startSearch(prepareSearch(options: options, scale: scale))
        _ = runSearch(&s, options: options, startFraction: startFraction, until: Int.max, rng: &rng)
        finishSearch(s)
        return s.iterations
    }

    /// Runs SISR iterations until `s.iterations` reaches `until` (returns false) or the search
    /// ends: `maxIterations` reached or `shouldStop()` (returns true).
    func runSearch(_ s: inout SearchState, options: SolveOptions, startFraction: Double, until: Int, rng: inout SeededGenerator) -> Bool {
        let setup = s.setup
        let neighbours = setup.neighbours
        let cBar = setup.cBar, lMax = 10.0
        while true {
            if let m = options.maxIterations, s.iterations >= m { return true }
            if s.iterations >= until { return false }
            if s.iterations & 7 == 0 && options.shouldStop() { return true }
            let frac: Double
            if let pr = options.progress { frac = min(1, max(0, (pr() - startFraction) / (1 - startFraction))) }
            else {
                var f = Double(s.iterations - s.cycleStart) / Double(options.iterationsPerCycle)
                if f >= 1 { s.cycleStart = s.iterations; f = 0; load(s.bestRoutes); s.current = s.best }
                frac = f
            }
            let temp = setup.t0 * Math.exp(frac * Math.ln(setup.tf / setup.t0))
            if setup.penalised && s.candidates >= 100 {
                // Aim at about half of the candidates feasible (integer weights, at least 1).
                let share = Double(s.feasibleCandidates) / Double(s.candidates)
                let w = s.weight
                if share < 0.4 { s.weight = min(w + max(1, w / 4), 1_000_000) } else if share > 0.6 { s.weight = max(1, w - max(1, w / 5)) }
                s.candidates = 0; s.feasibleCandidates = 0
                if s.weight != w { setWeight(s.weight); s.current = totalCost }
            }
            s.iterations += 1
            begin()
            var removed = ruin(neighbours: neighbours, averageRemoved: cBar, maxString: lMax, rng: &rng)
            if setup.big && unassigned.count > 30 {
                // Retrying hundreds of hopeless jobs every iteration would dominate: try a sample.
                for _ in 0..<30 {
                    let u = unassigned[rng.below(unassigned.count)]
                    clearUnassigned(u); removed.append(u)
                }
            } else {
                removed.append(contentsOf: unassigned)
                for u in unassigned { unassignedSet[Int(u)] = false }
                unassigned.removeAll(keepingCapacity: true)
            }
            sortForRecreate(&removed, rng: &rng)
            recreate(removed, blink: 0.01, rng: &rng)
            let cand = totalCost
            var warp: Int64 = 0
            if setup.penalised {
                warp = totalWarp
                s.candidates += 1
                if warp == 0 { s.feasibleCandidates += 1 }
            }
            let candNow = cand
            let threshold = Double(s.current) - temp * Math.ln(max(rng.unit(), 1e-300))
            if Double(candNow) < threshold {
                commit()
                s.current = candNow
                if warp > 0 {
                    // Infeasible: worth a repair only when its distance part could beat the best.
                    if candNow < s.best && repairWarp(&s, rng: &rng) {
                        s.current = totalCost
                        if s.current < s.best {
                            if setup.useLocalSearch && s.iterations - s.lastLocalSearch >= setup.lsInterval {
                                s.lastLocalSearch = s.iterations
                                hardLocalSearch(neighbours, rng: &rng); s.current = totalCost
                            }
                            s.best = s.current; s.bestRoutes = routesSnapshot()
                            setup.onNewBest?(Double(totalDistance) / setup.scale, unassigned.count)
                        }
                    }
                } else if candNow < s.best {
                    // Intensify around each new best with the granular local search.
                    if setup.useLocalSearch && s.iterations - s.lastLocalSearch >= setup.lsInterval {
                        s.lastLocalSearch = s.iterations
                        if setup.penalised { hardLocalSearch(neighbours, rng: &rng) } else { localSearch(neighbours: neighbours, rng: &rng) }
                        s.current = totalCost
                    }
                    if !setup.penalised || totalWarp == 0 {
                        s.best = s.current; s.bestRoutes = routesSnapshot()
                        setup.onNewBest?(Double(totalDistance) / setup.scale, unassigned.count)
                    }
                }
            } else {
                rollback()
            }
        }
    }


    /// Converts the loaded routes to a public `Solution`.
    func solution(_ p: Problem, iterations: Int) -> Solution {
        var routes: [[Int]] = [], vor: [Int] = []
        for v in 0..<vehicleCount where jobCount[v] > 0 {
            routes.append(visits[v].dropFirst().dropLast().filter { isJob[Int($0)] }.map { p.externalIndex[Int($0)] })
            vor.append(v)
        }
        var un: [Int] = []
        for u in unassigned {
            un.append(p.externalIndex[Int(u)])
            if partner[Int(u)] >= 0 { un.append(p.externalIndex[Int(partner[Int(u)])]) }
        }
        un.sort()
        var sol = Solution(routes: routes, vehicleOfRoute: vor, feasible: un.isEmpty && verify(),
                           distance: Double(totalDistance) / p.distanceScale, vehicles: routes.count,
                           unassigned: un, iterations: iterations, cost: totalCost)
        sol.trips = vor.map { v in
            var trips: [[Int]] = [[]]
            for c in visits[v].dropFirst().dropLast() {
                if isJob[Int(c)] { trips[trips.count - 1].append(p.externalIndex[Int(c)]) } else { trips.append([]) }
            }
            return trips.filter { !$0.isEmpty }
        }
        return sol
    }
}

extension Engine {
    /// Route minimisation (the SISR paper's fleet phase): repeatedly take a route out, forbid
    /// that many routes, and ruin-and-recreate while accepting candidates with fewer unassigned
    /// jobs, or the same number with a lower sum of "absence" counts (how long each job has
    /// stayed out), which steers the search toward placing hard jobs. Runs until
    /// `progress() ≥ until` (or half of `maxIterations`, or one cycle without a progress closure).
    func minimizeFleet(options: SolveOptions, until: Double, rng: inout SeededGenerator) -> Int {
        guard unassigned.isEmpty, usedCount > 1 else { return 0 }
        if neighbourCache == nil { neighbourCache = buildNeighbours(limit: min(n, 100)) }
        let neighbours = neighbourCache!
        let iterationCap = options.maxIterations.map { $0 / 2 } ?? (options.progress == nil ? options.iterationsPerCycle : Int.max)
        var bestRoutes = routesSnapshot()
        var k = usedCount
        var absences = [Int](repeating: 0, count: n)
        var it = 0
        func outOfBudget() -> Bool {
            if it >= iterationCap { return true }
            if it & 7 == 0 {
                if options.shouldStop() { return true }
                if let pr = options.progress, pr() >= until { return true }
            }
            return false
        }
        outer: while k > 1 {
            load(bestRoutes)
            maxRoutes = k - 1
            // Take out a random used route.
            let used = (0..<vehicleCount).filter { jobCount[$0] > 0 }
            let r = used[rng.below(used.count)]
            for c in visits[r].dropFirst().dropLast() where isJob[Int(c)] && isPairPickup[Int(c)] || partner[Int(c)] < 0 { _ = detach(c); markUnassigned(c) }
            refresh(r)
            // A cheap first attempt: put them back anywhere.
            var pending = unassigned
            for u in pending { unassignedSet[Int(u)] = false }
            unassigned.removeAll(keepingCapacity: true)
            sortForRecreate(&pending, rng: &rng)
            recreate(pending, blink: 0, rng: &rng)
            while !unassigned.isEmpty {
                if outOfBudget() { break outer }
                it += 1
                var curAbs = 0
                for u in unassigned { curAbs += absences[Int(u)] }
                let curCount = unassigned.count
                begin()
                var removed = ruin(neighbours: neighbours, averageRemoved: 10, maxString: 10, rng: &rng)
                removed.append(contentsOf: unassigned)
                for u in unassigned { unassignedSet[Int(u)] = false }
                unassigned.removeAll(keepingCapacity: true)
                sortForRecreate(&removed, rng: &rng)
                recreate(removed, blink: 0.01, rng: &rng)
                var candAbs = 0
                for u in unassigned { absences[Int(u)] += 1; candAbs += absences[Int(u)] }
                if unassigned.count < curCount || (unassigned.count == curCount && candAbs < curAbs) { commit() } else { rollback() }
            }
            bestRoutes = routesSnapshot()
            k = usedCount
        }
        load(bestRoutes)
        maxRoutes = k
        return it
    }
}
