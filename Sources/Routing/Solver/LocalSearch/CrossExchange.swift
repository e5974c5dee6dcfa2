/// CROSS-exchange (Taillard et al. 1997), without reversal: exchange the string of `lengthA`
/// consecutive jobs starting at job a (route U) with the string of `lengthB` consecutive jobs
/// starting at job b (route V), each string keeping its orientation; 1 ≤ length ≤ 3.
/// Both strings may contain only movable jobs (no pair members, no reload stops, nothing frozen),
/// so pickup-delivery pairs are never split and never reordered. Evaluated from the cached
/// prefix and suffix summaries plus the two strings' summaries (O(length)).
extension Engine {
    static let maxCrossLength = 3

    /// Summary of the string of `length` visits of route r starting at visit i: time, load,
    /// inner distance, required skills. Nil when a visit is not movable or the string runs off the route.
    @inline(__always)
    func stringSummary(_ r: Int, _ i: Int, _ length: Int) -> (TimeSegment, LoadSegment, Int64, UInt64)? {
        let vis = visits[r]
        guard length >= 1, i >= 1, i + length <= vis.count - 1 else { return nil }
        var c = vis[i]
        guard movable(c) else { return nil }
        var ts = nodeTime[Int(c)], ls = nodeLoad[Int(c)]
        var inner: Int64 = 0, skills = requiredSkills[Int(c)]
        for k in (i + 1)..<(i + length) {
            let x = vis[k]
            guard movable(x) else { return nil }
            ts = merge(ts, nodeTime[Int(x)]); ls = LoadSegment.merge(ls, nodeLoad[Int(x)])
            inner += d(c, x); skills |= requiredSkills[Int(x)]
            c = x
        }
        return (ts, ls, inner, skills)
    }

    /// Cost of route r with visits [i, i+len) replaced by a string with the given summary, or nil.
    @inline(__always)
    func costReplacingString(_ r: Int, _ i: Int, _ len: Int,
                             by s: (TimeSegment, LoadSegment, Int64, UInt64)) -> Cost? {
        guard s.3 & ~vSkills[r] == 0 else { return nil }
        let vis = visits[r]
        let before = vis[i - 1], after = vis[i + len]
        let ts = merge(merge(fwdT[r][i - 1], s.0), bwdT[r][i + len])
        let ls = LoadSegment.merge(LoadSegment.merge(fwdL[r][i - 1], s.1), bwdL[r][i + len])
        let dist = routeDistance(r) - (cumD[r][i + len] - cumD[r][i - 1])
            + d(before, s.0.first) + s.2 + d(s.0.last, after)
        return candidateCost(r, ts, ls, distance: dist)
    }

    func evaluateCrossExchange(_ a: Int32, length la: Int, _ b: Int32, length lb: Int) -> Cost? {
        let u = Int(routeOf[Int(a)]), v = Int(routeOf[Int(b)])
        guard u >= 0, v >= 0, u != v, la >= 1, lb >= 1, la <= Self.maxCrossLength, lb <= Self.maxCrossLength else { return nil }
        let i = Int(posOf[Int(a)]), j = Int(posOf[Int(b)])
        guard let sa = stringSummary(u, i, la), let sb = stringSummary(v, j, lb) else { return nil }
        guard let newU = costReplacingString(u, i, la, by: sb),
              let newV = costReplacingString(v, j, lb, by: sa) else { return nil }
        return newU + newV - routeCost[u] - routeCost[v]
    }

    func applyCrossExchange(_ a: Int32, length la: Int, _ b: Int32, length lb: Int) {
        let u = Int(routeOf[Int(a)]), v = Int(routeOf[Int(b)])
        let i = Int(posOf[Int(a)]), j = Int(posOf[Int(b)])
        touch(u); touch(v)
        let sa = Array(visits[u][i..<(i + la)]), sb = Array(visits[v][j..<(j + lb)])
        visits[u].replaceSubrange(i..<(i + la), with: sb)
        visits[v].replaceSubrange(j..<(j + lb), with: sa)
        refresh(u); refresh(v)
    }
}
