/// The solver's mutable working state: routes per vehicle with cached prefix and suffix
/// segments, so every insertion or move is checked in O(1). Single-threaded, owned by one call.
///
/// Stored properties opt out of dynamic exclusivity checks (`@exclusivity(unchecked)`): they cost
/// ~20% of the search loop, and the engine is only ever used from one thread with no
/// overlapping accesses (no inout access to a property spans a call that touches the same one).
final class Engine {
    let n: Int
    let dist: [Int64]
    let dur: [Int64]
    /// Time summary of each node alone, with the window currently chosen for it.
    @exclusivity(unchecked) var nodeTime: [TimeSegment]
    /// Every window of a node as a summary (empty when the node has a single window).
    let windowSegs: [[TimeSegment]]
    let hasMultiWindows: Bool
    @exclusivity(unchecked) var savedWindows: [(Int32, TimeSegment)] = []
    let nodeLoad: [LoadSegment]
    /// Partner of a paired node (-1 when unpaired).
    let partner: [Int32]
    let isPairPickup: [Bool]
    /// Whether any pickup-delivery pair exists (some operators then stay off).
    let hasPairs: Bool
    let isJob: [Bool]
    let penalty: [Cost]
    let requiredSkills: [UInt64]
    let priority: [Int]
    let kindOfNode: [Problem.Kind]
    let hasPriorities: Bool

    let vehicleCount: Int
    @exclusivity(unchecked) var vStart: [Int32]
    @exclusivity(unchecked) var vEnd: [Int32]
    @exclusivity(unchecked) var vStartSeg: [TimeSegment]
    @exclusivity(unchecked) var vEndSeg: [TimeSegment]
    @exclusivity(unchecked) var vCap: [Load]
    @exclusivity(unchecked) var vMaxDur: [Ticks]
    @exclusivity(unchecked) var vFixed: [Cost]
    @exclusivity(unchecked) var vSkills: [UInt64]
    /// Vehicles with identical attributes share a type; only one empty route per type is tried.
    let vType: [Int]
    let typeCount: Int

    /// Per vehicle: how many leading stops are frozen (already committed; never moved or preceded).
    @exclusivity(unchecked) var frozen: [Int]
    /// Jobs taking part in the plan (live plans release jobs over time; benchmarks: all).
    @exclusivity(unchecked) var active: [Bool]
    /// Nearest-neighbour lists for the ruin step, built on first use.
    @exclusivity(unchecked) var neighbourCache: [[Int32]]? = nil

    /// At most this many routes may be used (fleet minimisation lowers it).
    @exclusivity(unchecked) var maxRoutes: Int = .max
    @exclusivity(unchecked) var isUsed: [Bool] = []
    /// Per route: no pickups and no reloads, so the peak load is the start load (`routeStartLoad`).
    @exclusivity(unchecked) var deliveryOnlyRoute: [Bool] = []
    @exclusivity(unchecked) var routeStartLoad: [Load] = []
    /// Per route: only deliveries and reloads; then `gapTripLoad[v][i]` is the start load of the
    /// trip that the gap after visit i belongs to, so a delivery's capacity check is O(1) per gap.
    @exclusivity(unchecked) var deliveryTripsRoute: [Bool] = []
    @exclusivity(unchecked) var gapTripLoad: [[Load]] = []
    /// Per node: a plain delivery (or depot), and its demand.
    let deliveryOnlyNode: [Bool]
    let nodeDemand: [Load]
    /// Jobs on each route (routes of multi-trip vehicles also hold reload stops).
    @exclusivity(unchecked) var jobCount: [Int] = []
    /// Reload stops of each vehicle (empty for single-trip vehicles).
    let reloads: [[Int32]]
    @exclusivity(unchecked) var usedCount = 0

    /// Large instances: insertion only tries routes near the job (see `bestInsertion`).
    @exclusivity(unchecked) var granularRoutes = false
    @exclusivity(unchecked) var routeStamp: [Int] = []
    @exclusivity(unchecked) var stamp = 0

    /// Local search also tries CROSS-exchange and intra-route 2-opt (`SolveOptions.segmentOperators`, off by default).
    @exclusivity(unchecked) var segmentOperators = false

    /// Soft windows: cost per unit of time warp (0 = hard windows).
    @exclusivity(unchecked) var latenessWeight: Int64 = 0

    // Solution state.
    @exclusivity(unchecked) var visits: [[Int32]]
    @exclusivity(unchecked) var fwdT: [[TimeSegment]]
    @exclusivity(unchecked) var bwdT: [[TimeSegment]]
    @exclusivity(unchecked) var fwdL: [[LoadSegment]]
    @exclusivity(unchecked) var bwdL: [[LoadSegment]]
    @exclusivity(unchecked) var cumD: [[Int64]]
    @exclusivity(unchecked) var routeCost: [Cost]
    @exclusivity(unchecked) var routeOf: [Int32]
    @exclusivity(unchecked) var posOf: [Int32]
    @exclusivity(unchecked) var unassigned: [Int32] = []
    @exclusivity(unchecked) var unassignedSet: [Bool]

    // Undo journal for one ruin-and-recreate step.
    @exclusivity(unchecked) var recording = false
    @exclusivity(unchecked) var touchedFlag: [Bool] = []
    @exclusivity(unchecked) var touched: [Int] = []
    @exclusivity(unchecked) var saved: [[Int32]] = []
    @exclusivity(unchecked) var savedUnassigned: [Int32] = []

    init(_ p: Problem, objective: ObjectiveMode) {
        n = p.nodeCount
        dist = p.distances
        dur = p.durations
        var nt: [TimeSegment] = [], nl: [LoadSegment] = [], part = [Int32](repeating: -1, count: p.nodeCount)
        var pp = [Bool](repeating: false, count: p.nodeCount)
        var pen = [Cost](repeating: 0, count: p.nodeCount)
        var maxArc: Int64 = 1
        for x in p.distances { maxArc = max(maxArc, x) }
        let defaultPenalty: Cost = maxArc * 4 + 1_000_000_000
        for (i, node) in p.nodes.enumerated() {
            nt.append(TimeSegment(node: i, ready: node.ready, due: node.due, service: node.service))
            switch node.kind {
            case .depot: nl.append(.empty)
            case .reload: nl.append(.reload)
            case .delivery: nl.append(LoadSegment(delivery: node.demand, pickup: .zero, peak: node.demand))
            case .pickup: nl.append(LoadSegment(delivery: .zero, pickup: node.demand, peak: node.demand))
            case .pairedPickup(let d):
                nl.append(LoadSegment(delivery: .zero, pickup: node.demand, peak: node.demand)); part[i] = Int32(d); pp[i] = true
            case .pairedDelivery(let pk):
                nl.append(LoadSegment(delivery: .zero, pickup: .zero &- node.demand, peak: .zero)); part[i] = Int32(pk)
            }
            // The default penalty outweighs any distance; priority multiplies it, so dropping a
            // higher-priority job always costs more than dropping a lower one.
            pen[i] = node.unassignedPenalty > 0 ? node.unassignedPenalty : defaultPenalty * Cost(1 + min(max(node.priority, 0), 1000))
        }
        windowSegs = p.nodes.enumerated().map { i, node in
            node.alternativeWindows.isEmpty ? [] : ([Problem.TimeWindow(ready: node.ready, due: node.due)] + node.alternativeWindows)
                .map { TimeSegment(node: i, ready: $0.ready, due: $0.due, service: node.service) }
        }
        hasMultiWindows = windowSegs.contains { !$0.isEmpty }
        nodeTime = nt; nodeLoad = nl; partner = part; isPairPickup = pp; penalty = pen
        hasPairs = part.contains { $0 >= 0 }
        deliveryOnlyNode = nl.map { $0.pickup == .zero && !$0.hasReload }
        nodeDemand = nl.map(\.delivery)
        isJob = p.nodes.map(\.isJob)
        requiredSkills = p.nodes.map(\.requiredSkills)
        priority = p.nodes.map(\.priority)
        kindOfNode = p.nodes.map(\.kind)
        hasPriorities = priority.contains { $0 != 0 }

        vehicleCount = p.vehicles.count
        vStart = p.vehicles.map { Int32($0.start) }
        vEnd = p.vehicles.map { Int32($0.end) }
        vStartSeg = p.vehicles.map { v in
            let d = p.nodes[v.start]
            return TimeSegment(node: v.start, ready: max(d.ready, v.shiftStart), due: min(d.due, v.shiftEnd), service: 0)
        }
        vEndSeg = p.vehicles.map { v in
            let d = p.nodes[v.end]
            return TimeSegment(node: v.end, ready: max(d.ready, v.shiftStart), due: min(d.due, v.shiftEnd), service: 0)
        }
        vCap = p.vehicles.map(\.capacity)
        vMaxDur = p.vehicles.map(\.maxDuration)
        let fleetWeight: Cost = objective == .fleet ? maxArc * Cost(p.nodeCount) * 2 + 1 : 0
        vFixed = p.vehicles.map { $0.fixedCost + fleetWeight }
        vSkills = p.vehicles.map(\.skills)
        var types: [Problem.Vehicle] = []
        var vt: [Int] = []
        for v in p.vehicles {
            if let k = types.firstIndex(of: v) { vt.append(k) } else { vt.append(types.count); types.append(v) }
        }
        vType = vt; typeCount = types.count

        frozen = [Int](repeating: 0, count: vehicleCount)
        active = isJob
        var rl = [[Int32]](repeating: [], count: vehicleCount)
        for (i, node) in p.nodes.enumerated() { if case .reload(let v) = node.kind { rl[v].append(Int32(i)) } }
        reloads = rl
        visits = []; fwdT = []; bwdT = []; fwdL = []; bwdL = []; cumD = []
        routeCost = [Cost](repeating: 0, count: vehicleCount)
        routeOf = [Int32](repeating: -1, count: n)
        posOf = [Int32](repeating: -1, count: n)
        unassignedSet = [Bool](repeating: false, count: n)
        for v in 0..<vehicleCount {
            visits.append([vStart[v]] + reloads[v] + [vEnd[v]])
            fwdT.append([]); bwdT.append([]); fwdL.append([]); bwdL.append([]); cumD.append([])
        }
        touchedFlag = [Bool](repeating: false, count: vehicleCount)
        isUsed = [Bool](repeating: false, count: vehicleCount)
        routeStamp = [Int](repeating: 0, count: vehicleCount)
        deliveryOnlyRoute = [Bool](repeating: true, count: vehicleCount)
        routeStartLoad = [Load](repeating: .zero, count: vehicleCount)
        deliveryTripsRoute = [Bool](repeating: false, count: vehicleCount)
        gapTripLoad = [[Load]](repeating: [], count: vehicleCount)
        jobCount = [Int](repeating: 0, count: vehicleCount)
        for v in 0..<vehicleCount { refresh(v) }
        for i in 0..<n where isJob[i] && !(partner[i] >= 0 && !isPairPickup[i]) {
            unassigned.append(Int32(i)); unassignedSet[i] = true
        }
    }

    @inline(__always) func d(_ a: Int32, _ b: Int32) -> Int64 { dist[Int(a) &* n &+ Int(b)] }
    @inline(__always) func t(_ a: Int32, _ b: Int32) -> Int64 { dur[Int(a) &* n &+ Int(b)] }
    @inline(__always) func merge(_ a: TimeSegment, _ b: TimeSegment) -> TimeSegment {
        TimeSegment.merge(a, b, travel: t(a.last, b.first))
    }

    /// Number of stops (jobs and reloads) on route v.
    @inline(__always) func size(_ v: Int) -> Int { visits[v].count - 2 }

    /// Rebuilds the caches of route v from `visits[v]`. O(route length).
    func refresh(_ v: Int) {
        let vis = visits[v]
        let m = vis.count
        // Reuse the route's buffers (taken out with swap so they stay uniquely referenced).
        var f: [TimeSegment] = [], b: [TimeSegment] = [], fl: [LoadSegment] = [], bl: [LoadSegment] = [], cd: [Int64] = []
        swap(&f, &fwdT[v]); swap(&b, &bwdT[v]); swap(&fl, &fwdL[v]); swap(&bl, &bwdL[v]); swap(&cd, &cumD[v])
        Self.fit(&f, m, vStartSeg[v]); Self.fit(&b, m, vEndSeg[v])
        Self.fit(&fl, m, .empty); Self.fit(&bl, m, .empty); Self.fit(&cd, m, 0)
        let startSeg = vStartSeg[v], endSeg = vEndSeg[v]
        f[0] = startSeg; fl[0] = .empty; cd[0] = 0
        for k in 1..<m {
            let node = Int(vis[k])
            let seg = k == m - 1 ? endSeg : nodeTime[node]
            f[k] = merge(f[k - 1], seg)
            fl[k] = LoadSegment.merge(fl[k - 1], nodeLoad[node])
            cd[k] = cd[k - 1] + d(vis[k - 1], vis[k])
        }
        b[m - 1] = endSeg; bl[m - 1] = .empty
        if m >= 2 {
            for k in stride(from: m - 2, through: 0, by: -1) {
                let node = Int(vis[k])
                let seg = k == 0 ? startSeg : nodeTime[node]
                b[k] = merge(seg, b[k + 1])
                bl[k] = LoadSegment.merge(nodeLoad[node], bl[k + 1])
            }
        }
        let total = cd[m - 1], warp = f[m - 1].timeWarp
        let whole = fl[m - 1]
        // Plain deliveries only: then, and only then, the peak is the start load wherever a
        // delivery is inserted (a pickup anywhere breaks that even if the peak equals it now).
        var plainOnly = !whole.hasReload
        if plainOnly { for k in 1..<(m - 1) where !deliveryOnlyNode[Int(vis[k])] { plainOnly = false; break } }
        deliveryOnlyRoute[v] = plainOnly
        routeStartLoad[v] = whole.delivery
        if whole.hasReload {
            var plain = true
            for k in 1..<(m - 1) where !deliveryOnlyNode[Int(vis[k])] && !isReloadNode(vis[k]) { plain = false; break }
            deliveryTripsRoute[v] = plain
            if plain {
                var g: [Load] = []
                swap(&g, &gapTripLoad[v])
                Self.fit(&g, m - 1, .zero)
                // Walk trips: a gap after visit i belongs to the trip that continues after i.
                var k = 0
                while k < m - 1 {
                    var load = Load.zero
                    var e = k + 1
                    while e < m - 1 && !isReloadNode(vis[e]) { load &+= nodeDemand[Int(vis[e])]; e += 1 }
                    for gap in k..<e { g[gap] = load }   // gaps k ..< e lie inside this trip
                    k = e
                }
                swap(&g, &gapTripLoad[v])
            }
        } else {
            deliveryTripsRoute[v] = false
        }
        swap(&f, &fwdT[v]); swap(&b, &bwdT[v]); swap(&fl, &fwdL[v]); swap(&bl, &bwdL[v]); swap(&cd, &cumD[v])
        var jobs = 0
        for k in 1..<(m - 1) { routeOf[Int(vis[k])] = Int32(v); posOf[Int(vis[k])] = Int32(k); if isJob[Int(vis[k])] { jobs += 1 } }
        jobCount[v] = jobs
        if isUsed[v] != (jobs > 0) { usedCount += jobs > 0 ? 1 : -1; isUsed[v] = jobs > 0 }
        routeCost[v] = jobs > 0 ? total + vFixed[v] + latenessWeight * warp : 0
    }

    @inline(__always) func isReloadNode(_ c: Int32) -> Bool { nodeLoad[Int(c)].hasReload }

    @inline(__always) static func fit<T>(_ a: inout [T], _ m: Int, _ fill: T) {
        if a.count > m { a.removeLast(a.count - m) } else if a.count < m { a.append(contentsOf: repeatElement(fill, count: m - a.count)) }
    }

    /// Whether a whole-route summary meets vehicle v's hard constraints.
    @inline(__always) func ok(_ v: Int, _ ts: TimeSegment, _ ls: LoadSegment) -> Bool {
        (latenessWeight > 0 || ts.timeWarp == 0) && ts.duration <= vMaxDur[v] && ls.fits(vCap[v])
    }

    var totalCost: Cost {
        var c: Cost = 0
        for v in 0..<vehicleCount { c += routeCost[v] }
        for u in unassigned { c += penalty[Int(u)] + (partner[Int(u)] >= 0 ? penalty[Int(partner[Int(u)])] : 0) }
        return c
    }

    var totalDistance: Int64 {
        var s: Int64 = 0
        for v in 0..<vehicleCount where jobCount[v] > 0 { s += cumD[v][visits[v].count - 1] }
        return s
    }

    /// Routes plus the chosen window of every node (only kept when some job has several windows).
    struct Snapshot { var routes: [[Int32]]; var windows: [TimeSegment] }

    func routesSnapshot() -> Snapshot { Snapshot(routes: visits, windows: hasMultiWindows ? nodeTime : []) }

    func load(_ s: Snapshot) {
        if hasMultiWindows { nodeTime = s.windows }
        load(s.routes)
    }

    func load(_ routes: [[Int32]]) {
        visits = routes
        for i in 0..<n { routeOf[i] = -1; posOf[i] = -1; unassignedSet[i] = false }
        unassigned.removeAll(keepingCapacity: true)
        for v in 0..<vehicleCount { refresh(v) }
        for i in 0..<n where active[i] && routeOf[i] < 0 && !(partner[i] >= 0 && !isPairPickup[i]) {
            unassigned.append(Int32(i)); unassignedSet[i] = true
        }
    }

    /// Full re-simulation check of the current solution (for tests and final reporting). O(n).
    func verify() -> Bool {
        var seen = [Bool](repeating: false, count: n)
        for v in 0..<vehicleCount where jobCount[v] > 0 {
            var ts = vStartSeg[v]
            var ls = LoadSegment.empty
            let vis = visits[v]
            for k in 1..<vis.count {
                let node = Int(vis[k])
                if k < vis.count - 1 && !isJob[node] {
                    guard case .reload = kindOfNode[node], reloads[v].contains(Int32(node)) else { return false }
                } else if k < vis.count - 1 {
                    if seen[node] { return false }
                    seen[node] = true
                    if requiredSkills[node] & ~vSkills[v] != 0 { return false }
                    if partner[node] >= 0 {
                        let p = Int(partner[node])
                        guard routeOf[p] == Int32(v) else { return false }
                        if isPairPickup[node] != (posOf[node] < posOf[p]) { return false }
                    }
                }
                ts = merge(ts, k == vis.count - 1 ? vEndSeg[v] : nodeTime[node])
                ls = LoadSegment.merge(ls, nodeLoad[node])
            }
            if ts.timeWarp != 0 || ts.duration > vMaxDur[v] || !ls.fits(vCap[v]) { return false }
        }
        return true
    }

    /// Starts recording changes so `rollback()` can undo them.
    func begin() {
        recording = true
        savedUnassigned = unassigned
    }

    /// Records route v's content before its first change in this step.
    @inline(__always) func touch(_ v: Int) {
        if recording && !touchedFlag[v] { touchedFlag[v] = true; touched.append(v); saved.append(visits[v]) }
    }

    func commit() {
        savedWindows.removeAll(keepingCapacity: true)
        for v in touched { touchedFlag[v] = false }
        touched.removeAll(keepingCapacity: true); saved.removeAll(keepingCapacity: true)
        recording = false
    }

    func rollback() {
        for u in unassigned { unassignedSet[Int(u)] = false }
        for v in touched {
            for c in visits[v].dropFirst().dropLast() { routeOf[Int(c)] = -1; posOf[Int(c)] = -1 }
        }
        for (c, seg) in savedWindows.reversed() { nodeTime[Int(c)] = seg }
        for (k, v) in touched.enumerated() { visits[v] = saved[k]; refresh(v) }
        unassigned = savedUnassigned
        for u in unassigned {
            unassignedSet[Int(u)] = true; routeOf[Int(u)] = -1; posOf[Int(u)] = -1
            let q = partner[Int(u)]
            if q >= 0 { routeOf[Int(q)] = -1; posOf[Int(q)] = -1 }
        }
        commit()
    }
}
