/// Intra-route 2-opt: reverse visits i…j (1 ≤ i < j ≤ m−2) of one route, at most
/// `maxTwoOptLength` visits. The reversed stretch's time and load summaries are rebuilt by
/// concatenating its single-visit summaries in reverse order (O(j − i)); the rest of the route
/// comes from the cached prefix and suffix. Every visit in the stretch must be movable (no pair
/// member — reversing would put a delivery before its pickup —, no reload stop, nothing frozen).
/// Distances and travel times are read in the new direction, so asymmetric matrices are exact.
extension Engine {
    static let maxTwoOptLength = 10

    func evaluateTwoOpt(_ r: Int, from i: Int, to j: Int) -> Cost? {
        guard r >= 0, r < vehicleCount else { return nil }
        let vis = visits[r]
        guard i >= 1, i < j, j <= vis.count - 2, j - i + 1 <= Self.maxTwoOptLength else { return nil }
        var c = vis[j]
        guard movable(c) else { return nil }
        var ts = nodeTime[Int(c)], ls = nodeLoad[Int(c)]
        var inner: Int64 = 0
        var k = j - 1
        while k >= i {
            let x = vis[k]
            guard movable(x) else { return nil }
            ts = merge(ts, nodeTime[Int(x)]); ls = LoadSegment.merge(ls, nodeLoad[Int(x)])
            inner += d(c, x)
            c = x
            k -= 1
        }
        let full = merge(merge(fwdT[r][i - 1], ts), bwdT[r][j + 1])
        let fullL = LoadSegment.merge(LoadSegment.merge(fwdL[r][i - 1], ls), bwdL[r][j + 1])
        let dist = routeDistance(r) - (cumD[r][j + 1] - cumD[r][i - 1])
            + d(vis[i - 1], vis[j]) + inner + d(vis[i], vis[j + 1])
        guard let cost = candidateCost(r, full, fullL, distance: dist) else { return nil }
        return cost - routeCost[r]
    }

    func applyTwoOpt(_ r: Int, from i: Int, to j: Int) {
        touch(r)
        visits[r][i...j].reverse()
        refresh(r)
    }
}
