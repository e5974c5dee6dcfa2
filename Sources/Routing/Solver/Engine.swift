/// The solver's mutable working state: routes per vehicle with cached prefix and suffix
/// segments, so every insertion or move is checked in O(1). Single-threaded, owned by one call.
final class Engine {
    let n: Int
    let dist: [Int64]
    let dur: [Int64]
    let nodeTime: [TimeSegment]
    let nodeLoad: [LoadSegment]
    /// Partner of a paired node (-1 when unpaired).
    let partner: [Int32]
    let isPairPickup: [Bool]
    /// Whether any pickup-delivery pair exists (some operators then stay off).
    let hasPairs: Bool
    let isJob: [Bool]
    let penalty: [Cost]
    let requiredSkills: [UInt64]

    let vehicleCount: Int
    var vStart: [Int32]
    var vEnd: [Int32]
    var vStartSeg: [TimeSegment]
    var vEndSeg: [TimeSegment]
    var vCap: [Load]
    var vMaxDur: [Duration]
    var vFixed: [Cost]
    var vSkills: [UInt64]
    /// Vehicles with identical attributes share a type; only one empty route per type is tried.
    let vType: [Int]
    let typeCount: Int

    /// Per vehicle: how many leading stops are frozen (already committed; never moved or preceded).
    var frozen: [Int]
    /// Jobs taking part in the plan (live plans release jobs over time; benchmarks: all).
    var active: [Bool]
    /// Nearest-neighbour lists for the ruin step, built on first use.
    var neighbourCache: [[Int32]]? = nil

    /// At most this many routes may be used (fleet minimisation lowers it).
    var maxRoutes: Int = .max
    var isUsed: [Bool] = []
    var usedCount = 0

    /// Soft windows: cost per unit of time warp (0 = hard windows).
    var latenessWeight: Int64 = 0

    // Solution state.
    var visits: [[Int32]]
    var fwdT: [[TimeSegment]]
    var bwdT: [[TimeSegment]]
    var fwdL: [[LoadSegment]]
    var bwdL: [[LoadSegment]]
    var cumD: [[Int64]]
    var routeCost: [Cost]
    var routeOf: [Int32]
    var posOf: [Int32]
    var unassigned: [Int32] = []
    var unassignedSet: [Bool]

    // Undo journal for one ruin-and-recreate step.
    var recording = false
    var touchedFlag: [Bool] = []
    var touched: [Int] = []
    var saved: [[Int32]] = []
    var savedUnassigned: [Int32] = []

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
            case .delivery: nl.append(LoadSegment(delivery: node.demand, pickup: .zero, peak: node.demand))
            case .pickup: nl.append(LoadSegment(delivery: .zero, pickup: node.demand, peak: node.demand))
            case .pairedPickup(let d):
                nl.append(LoadSegment(delivery: .zero, pickup: node.demand, peak: node.demand)); part[i] = Int32(d); pp[i] = true
            case .pairedDelivery(let pk):
                nl.append(LoadSegment(delivery: .zero, pickup: .zero &- node.demand, peak: .zero)); part[i] = Int32(pk)
            }
            pen[i] = node.unassignedPenalty > 0 ? node.unassignedPenalty : defaultPenalty
        }
        nodeTime = nt; nodeLoad = nl; partner = part; isPairPickup = pp; penalty = pen
        hasPairs = part.contains { $0 >= 0 }
        isJob = p.nodes.map(\.isJob)
        requiredSkills = p.nodes.map(\.requiredSkills)

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
        visits = []; fwdT = []; bwdT = []; fwdL = []; bwdL = []; cumD = []
        routeCost = [Cost](repeating: 0, count: vehicleCount)
        routeOf = [Int32](repeating: -1, count: n)
        posOf = [Int32](repeating: -1, count: n)
        unassignedSet = [Bool](repeating: false, count: n)
        for v in 0..<vehicleCount {
            visits.append([vStart[v], vEnd[v]])
            fwdT.append([]); bwdT.append([]); fwdL.append([]); bwdL.append([]); cumD.append([])
        }
        touchedFlag = [Bool](repeating: false, count: vehicleCount)
        isUsed = [Bool](repeating: false, count: vehicleCount)
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

    /// Number of customers on route v.
    @inline(__always) func size(_ v: Int) -> Int { visits[v].count - 2 }

    /// Rebuilds the caches of route v from `visits[v]`. O(route length).
    func refresh(_ v: Int) {
        let vis = visits[v]
        let m = vis.count
        var f = [TimeSegment](repeating: vStartSeg[v], count: m)
        var fl = [LoadSegment](repeating: .empty, count: m)
        var cd = [Int64](repeating: 0, count: m)
        for k in 1..<m {
            let node = Int(vis[k])
            let seg = k == m - 1 ? vEndSeg[v] : nodeTime[node]
            f[k] = merge(f[k - 1], seg)
            fl[k] = LoadSegment.merge(fl[k - 1], nodeLoad[node])
            cd[k] = cd[k - 1] + d(vis[k - 1], vis[k])
        }
        var b = [TimeSegment](repeating: vEndSeg[v], count: m)
        var bl = [LoadSegment](repeating: .empty, count: m)
        if m >= 2 {
            for k in stride(from: m - 2, through: 0, by: -1) {
                let node = Int(vis[k])
                let seg = k == 0 ? vStartSeg[v] : nodeTime[node]
                b[k] = merge(seg, b[k + 1])
                bl[k] = LoadSegment.merge(nodeLoad[node], bl[k + 1])
            }
        }
        fwdT[v] = f; bwdT[v] = b; fwdL[v] = fl; bwdL[v] = bl; cumD[v] = cd
        for k in 1..<(m - 1) { routeOf[Int(vis[k])] = Int32(v); posOf[Int(vis[k])] = Int32(k) }
        if isUsed[v] != (m > 2) { usedCount += m > 2 ? 1 : -1; isUsed[v] = m > 2 }
        routeCost[v] = m > 2 ? cd[m - 1] + vFixed[v] + latenessWeight * f[m - 1].timeWarp : 0
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
        for v in 0..<vehicleCount where size(v) > 0 { s += cumD[v][visits[v].count - 1] }
        return s
    }

    func routesSnapshot() -> [[Int32]] { visits }

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
        for v in 0..<vehicleCount where size(v) > 0 {
            var ts = vStartSeg[v]
            var ls = LoadSegment.empty
            let vis = visits[v]
            for k in 1..<vis.count {
                let node = Int(vis[k])
                if k < vis.count - 1 {
                    if !isJob[node] || seen[node] { return false }
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
        for v in touched { touchedFlag[v] = false }
        touched.removeAll(keepingCapacity: true); saved.removeAll(keepingCapacity: true)
        recording = false
    }

    func rollback() {
        for u in unassigned { unassignedSet[Int(u)] = false }
        for v in touched {
            for c in visits[v].dropFirst().dropLast() { routeOf[Int(c)] = -1; posOf[Int(c)] = -1 }
        }
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
