/// A plan in flight: the routes dispatch executes, changed one event at a time.
///
/// Jobs are node indices of the `Problem`; a job takes part once it is planned or inserted.
/// Vehicles start from their current position (any node) at their current time; the first
/// `frozen` stops of a vehicle are committed and never move. Hard windows by default;
/// `latenessWeight > 0` makes windows soft (cost per time unit late).
///
/// Isolation: not thread-safe; owned by one actor (the region's dispatcher). Every mutating
/// call is O(V·m) at most (V vehicles, m stops per route) unless stated otherwise.
public final class LivePlan {
    /// Times at one remaining stop.
    public struct ETA: Sendable, Equatable {
        public var job: Int
        public var arrival: Ticks
        public var serviceStart: Ticks
        public var departure: Ticks
        /// How late service starts after the window closes (0 when on time).
        public var lateness: Ticks
    }

    /// Where an inserted job went.
    public struct Insertion: Sendable, Equatable {
        public var vehicle: Int
        /// Index among the vehicle's remaining stops.
        public var position: Int
        /// Objective change (distance, fixed cost if the vehicle was idle, lateness when soft).
        public var costDelta: Cost
        public var eta: ETA
    }

    /// Why a job could not be placed.
    public enum InsertionFailure: Error, Sendable, Equatable {
        case unknownJob
        case alreadyPlanned
        /// No vehicle has the required skills.
        case noVehicleWithSkills
        /// No vehicle has room for its demand.
        case capacity
        /// Some vehicle has skills and room, but no position meets the time windows, shift or duration.
        case timeWindow
    }

    let problem: Problem
    let engine: Engine
    var rng: SeededGenerator

    /// An empty plan (no job planned yet) for `problem`'s vehicles at their start nodes.
    public init(problem: Problem, latenessWeight: Cost = 0, seed: UInt64 = 1) {
        self.problem = problem
        engine = Engine(problem, objective: .distance)
        engine.latenessWeight = latenessWeight
        for i in 0..<problem.nodeCount { engine.active[i] = false; engine.unassignedSet[i] = false }
        engine.unassigned.removeAll()
        rng = SeededGenerator(seed: seed)
    }

    // MARK: Queries

    /// Remaining stops of vehicle v (job node indices), frozen ones first.
    public func route(_ v: Int) -> [Int] { engine.visits[v].dropFirst().dropLast().filter { engine.isJob[Int($0)] }.map(Int.init) }

    /// Remaining stops of vehicle v including reload stops (node indices of kind `.reload`).
    public func stops(_ v: Int) -> [Int] { engine.visits[v].dropFirst().dropLast().map(Int.init) }

    /// Jobs taking part in the plan that no vehicle serves.
    public var unassigned: [Int] {
        var out: [Int] = []
        for u in engine.unassigned { out.append(Int(u)); if engine.partner[Int(u)] >= 0 { out.append(Int(engine.partner[Int(u)])) } }
        return out.sorted()
    }

    public var vehicleCount: Int { engine.vehicleCount }
    public func frozenCount(_ v: Int) -> Int { engine.frozen[v] }
    /// Objective value of the plan (integer units).
    public var cost: Cost { engine.totalCost }

    /// Arrival, service start and departure at every remaining stop of vehicle v, simulated
    /// forward from its current position and time (waiting when early). O(m), allocates one array.
    public func etas(_ v: Int) -> [ETA] {
        var out: [ETA] = []
        out.reserveCapacity(engine.visits[v].count)
        etas(v) { out.append($0) }
        return out
    }

    /// Same as `etas(_:)` without allocating: calls `body` for each stop in order.
    @inline(__always)
    public func etas(_ v: Int, _ body: (ETA) -> Void) {
        let e = engine
        let td = problem.timeDependent
        let vis = e.visits[v]
        var time = e.vStartSeg[v].earliest
        var prev = vis[0]
        for k in 1..<(vis.count - 1) {
            let c = vis[k]
            let seg = e.nodeTime[Int(c)]
            let arrival = time + (td.map { $0.travel(from: Int(prev), to: Int(c), departingAt: time) } ?? e.t(prev, c))
            let start = max(arrival, seg.earliest)
            time = start + seg.duration
            if e.isJob[Int(c)] {
                body(ETA(job: Int(c), arrival: arrival, serviceStart: start, departure: time, lateness: max(0, start - seg.latest)))
            }
            prev = c
        }
    }

    // MARK: Building and changing

    /// Plans `jobs` from scratch around the frozen stops (construction then search until
    /// `options.shouldStop()` or `options.maxIterations`). Returns the jobs left unassigned.
    @discardableResult
    public func plan(jobs: [Int], options: SolveOptions) -> [Int] {
        for j in jobs where problem.nodes[j].isJob {
            engine.active[j] = true
            let u = engine.unit(Int32(j))
            engine.active[Int(u)] = true
            if engine.partner[Int(u)] >= 0 { engine.active[Int(engine.partner[Int(u)])] = true }
            if engine.routeOf[Int(u)] < 0 { engine.markUnassigned(u) }
        }
        engine.neighbourCache = nil
        engine.regretConstruct(rng: &rng)
        if !options.shouldStop() && options.maxIterations != 0 {
            _ = engine.search(options: options, scale: problem.distanceScale, rng: &rng)
        }
        return unassigned
    }

    /// Inserts a new job (for a pair: either node; both are placed) at its cheapest feasible
    /// position after the frozen stops. O(V·m) checks, O(m) to apply.
    public func insert(job: Int) -> Result<Insertion, InsertionFailure> {
        guard job >= 0, job < problem.nodeCount, problem.nodes[job].isJob else { return .failure(.unknownJob) }
        let c = engine.unit(Int32(job))
        if engine.routeOf[Int(c)] >= 0 { return .failure(.alreadyPlanned) }
        engine.active[Int(c)] = true
        if engine.partner[Int(c)] >= 0 { engine.active[Int(engine.partner[Int(c)])] = true }
        engine.neighbourCache = nil
        let pos = engine.bestInsertion(c, blink: 0, rng: &rng)
        guard pos.vehicle >= 0 else {
            engine.markUnassigned(c)
            return .failure(reason(for: c))
        }
        engine.apply(c, pos)
        let v = pos.vehicle
        let k = engine.visits[v][1..<Int(engine.posOf[job])].filter { engine.isJob[Int($0)] }.count
        var eta: ETA? = nil
        var idx = 0
        etas(v) { if idx == k { eta = $0 }; idx += 1 }
        return .success(Insertion(vehicle: v, position: k, costDelta: pos.cost, eta: eta!))
    }

    /// Classifies why no position exists (the most specific constraint that every vehicle fails).
    func reason(for c: Int32) -> InsertionFailure {
        let e = engine
        let nodesOfJob = e.partner[Int(c)] >= 0 ? [Int(c), Int(e.partner[Int(c)])] : [Int(c)]
        let skills = nodesOfJob.reduce(UInt64(0)) { $0 | e.requiredSkills[$1] }
        let demand = e.nodeLoad[Int(c)].peak
        var anySkills = false, anyRoom = false
        for v in 0..<e.vehicleCount where skills & ~e.vSkills[v] == 0 {
            anySkills = true
            let total = e.fwdL[v].last!
            if !any(total.peak &+ demand .> e.vCap[v]) || !any(demand .> e.vCap[v] &- total.delivery) { anyRoom = true }
        }
        if !anySkills { return .noVehicleWithSkills }
        if !anyRoom { return .capacity }
        return .timeWindow
    }

    /// Cancels a job (and its partner): it leaves the plan. Frozen stops can be cancelled too.
    @discardableResult
    public func cancel(job: Int) -> Bool {
        guard job >= 0, job < problem.nodeCount, problem.nodes[job].isJob else { return false }
        let c = engine.unit(Int32(job))
        guard engine.active[Int(c)] else { return false }
        if engine.routeOf[Int(c)] >= 0 {
            let v = Int(engine.routeOf[Int(c)])
            let before = engine.visits[v]
            _ = engine.detach(c)
            let removedFrozen = before.prefix(engine.frozen[v] + 1).filter { !engine.visits[v].contains($0) }.count
            engine.frozen[v] -= removedFrozen
            engine.refresh(v)
        }
        engine.clearUnassigned(c)
        engine.active[Int(c)] = false
        if engine.partner[Int(c)] >= 0 { engine.active[Int(engine.partner[Int(c)])] = false }
        engine.neighbourCache = nil
        return true
    }

    /// Commits the first `stops` remaining jobs of vehicle v (e.g. the one it is driving to),
    /// with any reload stops between them.
    public func freeze(vehicle v: Int, stops: Int) {
        var jobs = 0, k = 0
        let vis = engine.visits[v]
        while jobs < stops && k + 1 < vis.count - 1 { k += 1; if engine.isJob[Int(vis[k])] { jobs += 1 } }
        engine.frozen[v] = k
    }

    /// Vehicle v finished its first remaining job and left it at `time` (reload stops before it
    /// count as done): the stop leaves the plan and the vehicle continues from there. Returns the
    /// job, or nil if the route has no job.
    @discardableResult
    public func completeNextStop(vehicle v: Int, departedAt time: Ticks) -> Int? {
        guard engine.jobCount[v] > 0 else { return nil }
        while !engine.isJob[Int(engine.visits[v][1])] {
            let r = Int(engine.visits[v].remove(at: 1))
            engine.routeOf[r] = -1; engine.posOf[r] = -1
            engine.frozen[v] = max(0, engine.frozen[v] - 1)
        }
        let job = Int(engine.visits[v][1])
        engine.visits[v].remove(at: 1)
        engine.routeOf[job] = -1; engine.posOf[job] = -1
        engine.active[job] = false
        engine.frozen[v] = max(0, engine.frozen[v] - 1)
        setStart(v, node: job, time: time)
        return job
    }

    /// New position and time of vehicle v (a node index, e.g. a snapped location). Jobs that can
    /// no longer be served on time (hard windows) are moved to other vehicles when possible.
    /// Returns the jobs left unassigned by this change.
    @discardableResult
    public func updatePosition(vehicle v: Int, node: Int, time: Ticks) -> [Int] {
        setStart(v, node: node, time: time)
        return repair([v])
    }

    /// Vehicle v is `by` time units later than planned.
    @discardableResult
    public func delay(vehicle v: Int, by: Ticks) -> [Int] {
        updatePosition(vehicle: v, node: Int(engine.vStart[v]), time: engine.vStartSeg[v].earliest + by)
    }

    /// Vehicle v broke down: it takes no more work; its remaining jobs (frozen ones included) are
    /// re-planned on other vehicles. Returns the jobs that found no place.
    @discardableResult
    public func breakdown(vehicle v: Int) -> [Int] {
        let jobs = route(v).map { engine.unit(Int32($0)) }   // reload stops stay with the vehicle
        var seen = Set<Int32>()
        for c in jobs where seen.insert(c).inserted { _ = engine.detach(c) }
        engine.frozen[v] = 0
        engine.refresh(v)
        // A broken vehicle has an empty shift from now on.
        engine.vMaxDur[v] = -1
        engine.refresh(v)
        for c in seen.sorted() {
            let pos = engine.bestInsertion(c, blink: 0, rng: &rng)
            if pos.vehicle >= 0 { engine.apply(c, pos) } else { engine.markUnassigned(c) }
        }
        return unassigned
    }

    /// Improves the plan for the budget without moving frozen stops; keeps the best plan found.
    /// Returns the iterations run.
    @discardableResult
    public func reoptimize(options: SolveOptions) -> Int {
        engine.search(options: options, scale: problem.distanceScale, rng: &rng)
    }

    func setStart(_ v: Int, node: Int, time: Ticks) {
        engine.vStart[v] = Int32(node)
        let shiftEnd = problem.vehicles[v].shiftEnd
        engine.vStartSeg[v] = TimeSegment(first: Int32(node), last: Int32(node), duration: 0, timeWarp: 0,
                                          earliest: time, latest: max(time, shiftEnd))
        engine.visits[v][0] = Int32(node)
        engine.refresh(v)
    }

    /// Makes the given routes feasible again (hard windows) by dropping the non-frozen stop that
    /// helps most, repeatedly, then reinserting the dropped jobs anywhere. O(m²) per route.
    func repair(_ vehicles: [Int]) -> [Int] {
        let e = engine
        var dropped: [Int32] = []
        for v in vehicles {
            while true {
                let m = e.visits[v].count
                let whole = e.fwdT[v][m - 1], wl = e.fwdL[v][m - 1]
                if e.ok(v, whole, wl) || e.jobCount[v] == 0 { break }
                // Try removing each non-frozen stop; keep the one leaving the least time warp.
                var bestK = -1, bestWarp = Int64.max
                for k in (e.frozen[v] + 1)..<(m - 1) where e.isJob[Int(e.visits[v][k])] {
                    let seg = e.merge(e.fwdT[v][k - 1], e.bwdT[v][k + 1])
                    if seg.timeWarp < bestWarp { bestWarp = seg.timeWarp; bestK = k }
                }
                if bestK < 0 { break }   // only frozen stops are late: keep them, they are committed
                let c = e.unit(e.visits[v][bestK])
                _ = e.detach(c); e.refresh(v)
                dropped.append(c)
            }
        }
        for c in dropped {
            let pos = e.bestInsertion(c, blink: 0, rng: &rng)
            if pos.vehicle >= 0 { e.apply(c, pos) } else { e.markUnassigned(c) }
        }
        return dropped.filter { e.routeOf[Int($0)] < 0 }.map(Int.init)
    }
}
