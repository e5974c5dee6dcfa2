/// Insertion: the cheapest feasible position of a job (or a pickup-delivery pair) in a route,
/// checked in O(1) per position from the cached segments.
extension Engine {
    struct Position {
        var vehicle: Int
        /// Insert after visit index `i` (and, for a pair, the delivery after original visit index `j ≥ i`).
        var i: Int
        var j: Int
        var cost: Cost
        /// Index into the job's windows (0 for single-window jobs).
        var window: Int = 0
        static let none = Position(vehicle: -1, i: -1, j: -1, cost: .max)
    }

    /// Cheapest position of unpaired job c in route v, skipping each position with probability `blink`.
    @inline(__always)
    func bestInRoute(_ c: Int32, _ v: Int, blink: Double, rng: inout SeededGenerator, bound: Cost = .max) -> Position {
        var best = Position.none
        best.cost = bound
        let ci = Int(c)
        if requiredSkills[ci] & ~vSkills[v] != 0 { return .none }
        let vis = visits[v]
        let m = vis.count
        // Capacity does not depend on the position for unpaired jobs.
        // Without pickups on the route or in c, the peak is the start load, so capacity is position-free.
        // (Reads compact per-route and per-node summaries: copying a whole LoadSegment is costly here.)
        let positionFree = deliveryOnlyRoute[v] && deliveryOnlyNode[ci]
        if positionFree && any(routeStartLoad[v] &+ nodeDemand[ci] .> vCap[v]) { return .none }
        let fixed: Cost = jobCount[v] == 0 ? vFixed[v] : 0
        let alts = windowSegs[ci]
        let f = fwdT[v], b = bwdT[v]
        let tripGaps = !positionFree && deliveryTripsRoute[v] && deliveryOnlyNode[ci]
        let checkLoadPerPosition = !positionFree && !tripGaps
        let gaps = tripGaps ? gapTripLoad[v] : []
        let cq = nodeDemand[ci]
        // Hoisted: class properties are checked for exclusive access on every read.
        let lw = latenessWeight, maxDur = vMaxDur[v], cap = vCap[v]
        let cload = checkLoadPerPosition ? nodeLoad[ci] : .empty
        let fl = checkLoadPerPosition ? fwdL[v] : [], bl = checkLoadPerPosition ? bwdL[v] : []
        let warpBefore = f[m - 1].timeWarp
        for w in 0..<max(1, alts.count) {
        let cseg = alts.isEmpty ? nodeTime[ci] : alts[w]
        for i in frozen[v]..<(m - 1) {
            if blink > 0 && rng.unit() < blink { continue }
            let a = vis[i], bnode = vis[i + 1]
            let delta = d(a, c) + d(c, bnode) - d(a, bnode) + fixed
            if lw == 0 {
                if delta >= best.cost { continue }
            } else if delta + lw * (f[i].timeWarp + b[i + 1].timeWarp - warpBefore) >= best.cost {
                // The merged warp is at least the two sides' own: a lower bound on the priced cost.
                continue
            }
            let t1 = TimeSegment.merge(f[i], cseg, travel: t(a, c))
            if lw == 0 && t1.timeWarp > 0 { continue }
            let ts = TimeSegment.merge(t1, b[i + 1], travel: t(c, bnode))
            var cost = delta
            if lw > 0 {
                cost += lw * (ts.timeWarp - warpBefore)
                if cost >= best.cost { continue }
            } else if ts.timeWarp != 0 { continue }
            if ts.duration > maxDur { continue }
            if tripGaps {
                if any(gaps[i] &+ cq .> cap) { continue }
            } else if checkLoadPerPosition {
                let ls = LoadSegment.merge(LoadSegment.merge(fl[i], cload), bl[i + 1])
                if !ls.fits(cap) { continue }
            }
            best = Position(vehicle: v, i: i, j: i, cost: cost, window: w)
        }
        }
        return best.vehicle < 0 ? .none : best
    }

    /// Cheapest position of the pair (pickup p, delivery partner[p]) in route v. O(m²) worst case.
    func bestPairInRoute(_ p: Int32, _ v: Int, blink: Double, rng: inout SeededGenerator, bound: Cost = .max) -> Position {
        var best = Position.none
        best.cost = bound
        let pi = Int(p), q = partner[pi], qi = Int(q)
        if (requiredSkills[pi] | requiredSkills[qi]) & ~vSkills[v] != 0 { return .none }
        let vis = visits[v]
        let m = vis.count
        let fixed: Cost = jobCount[v] == 0 ? vFixed[v] : 0
        let f = fwdT[v], b = bwdT[v], fl = fwdL[v], bl = bwdL[v]
        let cap = vCap[v], maxDur = vMaxDur[v]
        for i in frozen[v]..<(m - 1) {
            if blink > 0 && rng.unit() < blink { continue }
            let a = vis[i]
            let dp = d(a, p) - d(a, vis[i + 1])
            var segT = TimeSegment.merge(f[i], nodeTime[pi], travel: t(a, p))
            if segT.timeWarp > 0 && latenessWeight == 0 { continue }
            var segL = LoadSegment.merge(fl[i], nodeLoad[pi])
            if !segL.fits(cap) { continue }
            var last = p
            for j in i..<(m - 1) {
                // Delivery after original visit j (j == i: right after the pickup).
                let next = vis[j + 1]
                let delta: Cost
                if j == i {
                    delta = d(a, p) + d(p, q) + d(q, next) - d(a, next) + fixed
                } else {
                    delta = dp + d(p, vis[i + 1]) + d(last, q) + d(q, next) - d(last, next) + fixed
                }
                if delta < best.cost || latenessWeight > 0 {
                    let t2 = TimeSegment.merge(segT, nodeTime[qi], travel: t(last, q))
                    let ts = TimeSegment.merge(t2, b[j + 1], travel: t(q, next))
                    let ls = LoadSegment.merge(LoadSegment.merge(segL, nodeLoad[qi]), bl[j + 1])
                    var cost = delta
                    if latenessWeight > 0 { cost += latenessWeight * (ts.timeWarp - f[m - 1].timeWarp) }
                    if cost < best.cost && (latenessWeight > 0 || ts.timeWarp == 0) && ts.duration <= maxDur && ls.fits(cap) {
                        best = Position(vehicle: v, i: i, j: j, cost: cost)
                    }
                }
                // Extend the stretch between pickup and delivery by original visit j+1.
                if j + 1 >= m - 1 { break }
                let nxt = vis[j + 1]
                segT = TimeSegment.merge(segT, nodeTime[Int(nxt)], travel: t(last, nxt))
                if segT.timeWarp > 0 && latenessWeight == 0 { break }
                segL = LoadSegment.merge(segL, nodeLoad[Int(nxt)])
                if !segL.fits(cap) { break }
                last = nxt
            }
        }
        return best.vehicle < 0 ? .none : best
    }

    /// Cheapest position of a job (pairs by their pickup) over all routes; one empty route per vehicle type.
    func bestInsertion(_ c: Int32, blink: Double, rng: inout SeededGenerator) -> Position {
        var best = Position.none
        var emptyTried = 0 as UInt64
        var emptyTriedBig: Set<Int> = []
        let paired = partner[Int(c)] >= 0
        let mayOpen = usedCount < maxRoutes
        @inline(__always) func consider(_ v: Int) {
            let pos = paired ? bestPairInRoute(c, v, blink: blink, rng: &rng, bound: best.cost)
                             : bestInRoute(c, v, blink: blink, rng: &rng, bound: best.cost)
            if pos.vehicle >= 0 && pos.cost < best.cost { best = pos }
        }
        if granularRoutes, let nb = neighbourCache {
            // Large instances: only routes serving one of c's nearest jobs, plus empty routes.
            stamp &+= 1
            for w in nb[Int(c)] {
                let r = Int(routeOf[Int(w)])
                if r >= 0 && routeStamp[r] != stamp { routeStamp[r] = stamp; consider(r) }
            }
        }
        for v in 0..<vehicleCount {
            if jobCount[v] == 0 {
                if !mayOpen { continue }
                let ty = vType[v]
                if ty < 64 { if emptyTried & (1 << UInt64(ty)) != 0 { continue }; emptyTried |= 1 << UInt64(ty) }
                else { if !emptyTriedBig.insert(ty).inserted { continue } }
            } else if granularRoutes && neighbourCache != nil {
                continue
            }
            consider(v)
        }
        return best
    }

    /// Applies an insertion found by `bestInsertion`.
    func apply(_ c: Int32, _ pos: Position) {
        let v = pos.vehicle
        touch(v)
        clearUnassigned(c)
        if !windowSegs[Int(c)].isEmpty {
            if recording { savedWindows.append((c, nodeTime[Int(c)])) }
            nodeTime[Int(c)] = windowSegs[Int(c)][partner[Int(c)] >= 0 ? 0 : pos.window]
        }
        if partner[Int(c)] >= 0 {
            let q = partner[Int(c)]
            visits[v].insert(q, at: pos.j + 1)
            visits[v].insert(c, at: pos.i + 1)
        } else {
            visits[v].insert(c, at: pos.i + 1)
        }
        refresh(v)
    }

    /// Takes job c (and its partner) out of its route without refreshing caches; returns the route.
    func detach(_ c: Int32) -> Int {
        let v = Int(routeOf[Int(c)])
        touch(v)
        if let k = visits[v].firstIndex(of: c) { visits[v].remove(at: k) }
        routeOf[Int(c)] = -1; posOf[Int(c)] = -1
        let q = partner[Int(c)]
        if q >= 0 {
            if let k = visits[v].firstIndex(of: q) { visits[v].remove(at: k) }
            routeOf[Int(q)] = -1; posOf[Int(q)] = -1
        }
        return v
    }

    /// The representative of c's unit (pickup for pairs).
    @inline(__always) func unit(_ c: Int32) -> Int32 {
        let q = partner[Int(c)]
        return (q >= 0 && !isPairPickup[Int(c)]) ? q : c
    }

    /// Greedy reinsertion of `jobs` in the given order; jobs without a feasible position become unassigned.
    func recreate(_ jobs: [Int32], blink: Double, rng: inout SeededGenerator) {
        for c in jobs {
            let pos = bestInsertion(c, blink: blink, rng: &rng)
            if pos.vehicle >= 0 { apply(c, pos) } else { markUnassigned(c) }
        }
    }

    func markUnassigned(_ c: Int32) {
        if !unassignedSet[Int(c)] { unassigned.append(c); unassignedSet[Int(c)] = true }
    }

    func clearUnassigned(_ c: Int32) {
        if unassignedSet[Int(c)] {
            unassignedSet[Int(c)] = false
            if let k = unassigned.firstIndex(of: c) { unassigned.remove(at: k) }
        }
    }

    /// Regret-k insertion of every unassigned job (k = 3). O(n² · V) for small fleets; for large
    /// fleets or instances it falls back to ordered greedy insertion.
    func regretConstruct(k: Int = 3, rng: inout SeededGenerator) {
        var pending = unassigned
        for c in pending { clearUnassigned(c) }
        if pending.count * vehicleCount > 50_000 {
            pending.sort { (-priority[Int($0)], nodeTime[Int($0)].latest, $0) < (-priority[Int($1)], nodeTime[Int($1)].latest, $1) }
            recreate(pending, blink: 0, rng: &rng)
            return
        }
        // cache[c][v]: best cost of c on route v (Cost.max if none), for c in pending.
        var cache = [[Cost]](repeating: [Cost](repeating: .max, count: vehicleCount), count: pending.count)
        var posCache = [[Position]](repeating: [Position](repeating: .none, count: vehicleCount), count: pending.count)
        func fill(_ idx: Int, _ v: Int) {
            let c = pending[idx]
            let pos = partner[Int(c)] >= 0 ? bestPairInRoute(c, v, blink: 0, rng: &rng) : bestInRoute(c, v, blink: 0, rng: &rng)
            cache[idx][v] = pos.vehicle >= 0 ? pos.cost : .max
            posCache[idx][v] = pos
        }
        for idx in pending.indices { for v in 0..<vehicleCount { fill(idx, v) } }
        var alive = [Bool](repeating: true, count: pending.count)
        var remaining = pending.count
        var emptySeen = [Bool](repeating: false, count: typeCount)
        while remaining > 0 {
            var pick = -1, pickRegret: Cost = -1, pickBest: Cost = .max, pickV = -1, pickPriority = Int.min
            for idx in pending.indices where alive[idx] {
                var bestK = [Cost](repeating: .max, count: k)
                var bestV = -1
                for k in emptySeen.indices { emptySeen[k] = false }
                for v in 0..<vehicleCount {
                    if jobCount[v] == 0 { if emptySeen[vType[v]] { continue }; emptySeen[vType[v]] = true }
                    let c = cache[idx][v]
                    if c == .max { continue }
                    if c < bestK[0] { bestV = v }
                    var x = c
                    for s in 0..<k where x < bestK[s] { swap(&x, &bestK[s]) }
                }
                if bestV < 0 { continue }
                var regret: Cost = 0
                for s in 1..<k { regret += (bestK[s] == .max ? bestK[0] + 1_000_000_000_000 : bestK[s]) - bestK[0] }
                let prio = priority[Int(pending[idx])]
                if pick < 0 || prio > pickPriority
                    || (prio == pickPriority && (regret > pickRegret || (regret == pickRegret && bestK[0] < pickBest))) {
                    pick = idx; pickRegret = regret; pickBest = bestK[0]; pickV = bestV; pickPriority = prio
                }
            }
            if pick < 0 { break }
            let c = pending[pick]
            apply(c, posCache[pick][pickV])
            alive[pick] = false; remaining -= 1
            for idx in pending.indices where alive[idx] { fill(idx, pickV) }
        }
        for idx in pending.indices where alive[idx] { markUnassigned(pending[idx]) }
    }
}
