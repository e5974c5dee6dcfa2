/// Shared pieces of the local-search operators. Every operator follows one contract:
/// `evaluateX(...) -> Cost?` returns the exact objective change of the move (nil when the move
/// is infeasible or not allowed), in O(1) from the cached segments; `applyX(...)` performs it.
extension Engine {
    /// Objective of a candidate route of vehicle v, or nil when it breaks a hard constraint.
    @inline(__always)
    func candidateCost(_ v: Int, _ ts: TimeSegment, _ ls: LoadSegment, distance: Int64) -> Cost? {
        guard ok(v, ts, ls) else { return nil }
        return distance + vFixed[v] + latenessWeight * ts.timeWarp
    }

    /// Total distance of route v as cached.
    @inline(__always) func routeDistance(_ v: Int) -> Int64 { cumD[v][visits[v].count - 1] }

    /// Whether job c may be moved by local search (not frozen, not part of a pair).
    @inline(__always) func movable(_ c: Int32) -> Bool {
        let v = Int(routeOf[Int(c)])
        return v >= 0 && isJob[Int(c)] && partner[Int(c)] < 0 && Int(posOf[Int(c)]) > frozen[v]
    }

    /// Cost of route v with visits [k1, k2) removed (k1 ≥ 1, k2 ≤ m-1), or nil if infeasible.
    @inline(__always)
    func costWithout(_ v: Int, _ k1: Int, _ k2: Int) -> Cost? {
        let vis = visits[v]
        let m = vis.count
        if jobCount[v] == k2 - k1 { return 0 }   // only reload stops (if any) would remain
        let ts = merge(fwdT[v][k1 - 1], bwdT[v][k2])
        let ls = LoadSegment.merge(fwdL[v][k1 - 1], bwdL[v][k2])
        let dist = cumD[v][k1 - 1] + d(vis[k1 - 1], vis[k2]) + cumD[v][m - 1] - cumD[v][k2]
        return candidateCost(v, ts, ls, distance: dist)
    }
}
