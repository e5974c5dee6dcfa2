/// Solves `problem`: regret-3 construction, then ruin-and-recreate (SISR) under simulated
/// annealing, keeping the best solution. Anytime: returns the best solution found when
/// `options.shouldStop()` turns true (or after `maxIterations`). Deterministic for a seed
/// when the stop condition is iteration-based. Runs on the caller's thread.
public func solve(_ problem: Problem, options: SolveOptions) -> Solution {
    var rng = SeededGenerator(seed: options.seed)
    let e = Engine(problem, objective: options.objective)
    e.latenessWeight = options.latenessWeight
    e.segmentOperators = options.segmentOperators
    e.regretConstruct(rng: &rng)
    let constructed = Double(e.totalDistance) / problem.distanceScale
    if options.localSearch && !options.shouldStop() {
        e.localSearch(neighbours: e.buildNeighbours(limit: min(e.n, 100)), rng: &rng)
    }
    var iterations = 0
    var startFraction = 0.0
    if options.objective == .fleet && !options.shouldStop() && options.maxIterations != 0 {
        startFraction = 0.5
        iterations = e.minimizeFleet(options: options, until: startFraction, rng: &rng)
    }
    if !options.shouldStop() && (options.maxIterations.map { iterations < $0 } ?? true) {
        var o = options
        if let m = o.maxIterations { o.maxIterations = m - iterations }
        iterations += e.search(options: o, scale: problem.distanceScale, startFraction: startFraction, rng: &rng)
    }
    // Final polish of the best solution with every operator (CROSS-exchange and intra-route 2-opt
    // included); local search only accepts improvements, so the result is never worse.
    if options.localSearch && options.segmentPolish && e.n <= 600 {
        e.segmentOperators = true
        e.localSearch(neighbours: e.neighbourCache ?? e.buildNeighbours(limit: min(e.n, 100)), rng: &rng)
        e.segmentOperators = options.segmentOperators
    }
    var solution = e.solution(problem, iterations: iterations)
    solution.constructionDistance = constructed
    return solution
}

extension Engine {
    /// The SISR loop. Leaves the best solution found loaded in the engine; returns iterations run.
    func search(options: SolveOptions, scale: Double, startFraction: Double = 0, rng: inout SeededGenerator) -> Int {
        var activeJobs = 0
        for i in 0..<n where active[i] { activeJobs += 1 }
        let big = activeJobs > 600
        if neighbourCache == nil { neighbourCache = buildNeighbours(limit: min(n, big ? 40 : 100)) }
        let neighbours = neighbourCache!
        granularRoutes = big
        defer { granularRoutes = false }
        var current = totalCost
        var best = current
        var bestRoutes = routesSnapshot()
        let t0 = options.initialTemperature * scale, tf = options.finalTemperature * scale
        var it = 0
        var cycleStart = 0
        let cBar = 10.0, lMax = 10.0
        // On big instances a full local-search pass per new best would eat the budget.
        let useLocalSearch = options.localSearch && n <= 1500
        // …and on mid-size ones it runs at most every n/5 iterations.
        let lsInterval = n <= 200 ? 0 : n / 5
        var lastLocalSearch = -lsInterval
        while true {
            if let m = options.maxIterations, it >= m { break }
            if it & 7 == 0 && options.shouldStop() { break }
            let frac: Double
            if let pr = options.progress { frac = min(1, max(0, (pr() - startFraction) / (1 - startFraction))) }
            else {
                var f = Double(it - cycleStart) / Double(options.iterationsPerCycle)
                if f >= 1 { cycleStart = it; f = 0; load(bestRoutes); current = best }
                frac = f
            }
            let temp = t0 * Math.exp(frac * Math.ln(tf / t0))
            it += 1
            begin()
            var removed = ruin(neighbours: neighbours, averageRemoved: cBar, maxString: lMax, rng: &rng)
            if big && unassigned.count > 30 {
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
            let threshold = Double(current) - temp * Math.ln(max(rng.unit(), 1e-300))
            if Double(cand) < threshold {
                commit()
                current = cand
                if cand < best {
                    // Intensify around each new best with the granular local search.
                    if useLocalSearch && it - lastLocalSearch >= lsInterval {
                        lastLocalSearch = it
                        localSearch(neighbours: neighbours, rng: &rng); current = totalCost
                    }
                    best = current; bestRoutes = routesSnapshot()
                }
            } else {
                rollback()
            }
        }
        load(bestRoutes)
        return it
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
