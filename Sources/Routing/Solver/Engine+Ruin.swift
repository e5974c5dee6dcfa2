/// Slack Induction by String Removals (Christiaens & Vanden Berghe, 2020): remove a few
/// strings of consecutive stops from neighbouring routes, so the recreate step can reshape
/// nearby routes together.
extension Engine {
    /// Nearest jobs of each job (itself first), at most `limit` per job. O(n² log n).
    func buildNeighbours(limit: Int) -> [[Int32]] {
        let jobs = (0..<n).filter { active[$0] }
        var out = [[Int32]](repeating: [], count: n)
        for a in jobs {
            var row = jobs.map { (d(Int32(a), Int32($0)) + d(Int32($0), Int32(a)), $0) }
            row.sort { $0 < $1 }
            out[a] = [Int32(a)] + row.lazy.filter { $0.1 != a }.prefix(limit).map { Int32($0.1) }
        }
        return out
    }

    /// Removes strings around a random seed job; returns the removed units (pickups stand for pairs).
    func ruin(neighbours: [[Int32]], averageRemoved cBar: Double, maxString: Double, rng: inout SeededGenerator) -> [Int32] {
        var used = 0, customers = 0
        for v in 0..<vehicleCount where jobCount[v] > 0 { used += 1; customers += jobCount[v] }
        guard used > 0 else { return [] }
        let lsMax = min(maxString, Double(customers) / Double(used))
        let ksMax = 4 * cBar / (1 + lsMax) - 1
        let ks = Int(rng.unit() * ksMax) + 1
        // Seed: a random routed job.
        var seed: Int32 = -1
        for _ in 0..<32 {
            let c = Int32(rng.below(n))
            if active[Int(c)] && routeOf[Int(c)] >= 0 { seed = c; break }
        }
        if seed < 0 { return [] }
        var removed: [Int32] = []
        var ruinedRoutes: [Int] = []
        for c in neighbours[Int(seed)] {
            if ruinedRoutes.count >= ks { break }
            let v = Int(routeOf[Int(c)])
            if v < 0 || ruinedRoutes.contains(v) { continue }
            let s = size(v)
            let lMax = min(Double(s), lsMax)
            let l = min(s, Int(rng.unit() * lMax) + 1)
            let p = Int(posOf[Int(c)])   // 1...s
            var victims: [Int32] = []
            if rng.unit() < 0.5 || l >= s {
                let lo = max(1, p - l + 1), hi = min(p, s - l + 1)
                let start = lo + rng.below(hi - lo + 1)
                victims = Array(visits[v][start..<(start + l)])
            } else {
                var keep = 1
                while l + keep < s && rng.unit() < 0.5 { keep += 1 }
                let total = l + keep
                let lo = max(1, p - total + 1), hi = min(p, s - total + 1)
                let start = lo + rng.below(hi - lo + 1)
                let keepAt = start + rng.below(l + 1)
                for k in start..<(start + total) where k < keepAt || k >= keepAt + keep { victims.append(visits[v][k]) }
            }
            ruinedRoutes.append(v)
            for x in victims where isJob[Int(x)] {
                let u = unit(x)
                if Int(posOf[Int(u)]) <= frozen[v] || (partner[Int(u)] >= 0 && Int(posOf[Int(partner[Int(u)])]) <= frozen[v]) { continue }
                if routeOf[Int(u)] >= 0 { _ = detach(u); removed.append(u) }
            }
        }
        for v in ruinedRoutes { refresh(v) }
        // Partners may have lived on routes outside `ruinedRoutes` only if the solution was broken; refresh all touched.
        for v in touched where !ruinedRoutes.contains(v) { refresh(v) }
        return removed
    }

    /// Orders removed jobs for reinsertion: random, largest demand, farthest or closest to the depot
    /// (weights 4, 4, 2, 1 as in the SISR paper).
    func sortForRecreate(_ jobs: inout [Int32], rng: inout SeededGenerator) {
        let r = rng.below(11)
        let depot = vStart[0]
        if r < 4 { jobs.shuffle(using: &rng) }
        else if r < 8 { jobs.sort { let a = nodeLoad[Int($0)].peak.wrappedSum(), b = nodeLoad[Int($1)].peak.wrappedSum(); return a != b ? a > b : $0 < $1 } }
        else if r < 10 { jobs.sort { let a = d(depot, $0), b = d(depot, $1); return a != b ? a > b : $0 < $1 } }
        else { jobs.sort { let a = d(depot, $0), b = d(depot, $1); return a != b ? a < b : $0 < $1 } }
        // Higher priority first, keeping the chosen order within a priority.
        if hasPriorities {
            let keyed = jobs.enumerated().map { (priority[Int($0.element)], $0.offset, $0.element) }
            jobs = keyed.sorted { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }.map(\.2)
        }
    }
}
