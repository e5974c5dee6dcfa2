/// SWAP* (Vidal 2022): exchange jobs u and v of two routes, each going to its best position in
/// the other route (not necessarily where the other one was). Evaluated exactly in O(m_U + m_V)
/// by growing the stretch between the removed job and the insertion gap one visit at a time.
/// Only for routes of plain deliveries (capacity then does not depend on positions).
extension Engine {
    struct SwapStarMove { var delta: Cost; var uAfter: Int; var vAfter: Int }

    func evaluateSwapStar(_ u: Int32, _ v: Int32) -> SwapStarMove? {
        let ru = Int(routeOf[Int(u)]), rv = Int(routeOf[Int(v)])
        guard ru >= 0, rv >= 0, ru != rv, movable(u), movable(v),
              deliveryOnlyRoute[ru], deliveryOnlyRoute[rv], deliveryOnlyNode[Int(u)], deliveryOnlyNode[Int(v)],
              windowSegs[Int(u)].isEmpty, windowSegs[Int(v)].isEmpty,
              requiredSkills[Int(u)] & ~vSkills[rv] == 0, requiredSkills[Int(v)] & ~vSkills[ru] == 0 else { return nil }
        // Capacity: start loads change by the exchanged demands only.
        if any(routeStartLoad[ru] &- nodeDemand[Int(u)] &+ nodeDemand[Int(v)] .> vCap[ru]) { return nil }
        if any(routeStartLoad[rv] &- nodeDemand[Int(v)] &+ nodeDemand[Int(u)] .> vCap[rv]) { return nil }
        guard let (cu, ku) = bestReplacement(ru, remove: Int(posOf[Int(u)]), insert: v),
              let (cv, kv) = bestReplacement(rv, remove: Int(posOf[Int(v)]), insert: u) else { return nil }
        return SwapStarMove(delta: cu + cv - routeCost[ru] - routeCost[rv], uAfter: ku, vAfter: kv)
    }

    /// Cheapest cost of route r with the job at visit i removed and c inserted after original
    /// visit k (k ≠ i; k = i − 1 means c takes the removed job's place). Returns (cost, k).
    func bestReplacement(_ r: Int, remove i: Int, insert c: Int32) -> (Cost, Int)? {
        let vis = visits[r]
        let m = vis.count
        let f = fwdT[r], b = bwdT[r]
        let cseg = nodeTime[Int(c)]
        let maxDur = vMaxDur[r], lw = latenessWeight
        let baseDist = cumD[r][m - 1] - d(vis[i - 1], vis[i]) - d(vis[i], vis[i + 1]) + d(vis[i - 1], vis[i + 1])
        var best: (Cost, Int)? = nil
        func offer(_ ts: TimeSegment, _ a: Int32, _ bn: Int32, _ k: Int) {
            guard (lw > 0 || ts.timeWarp == 0) && ts.duration <= maxDur else { return }
            let dist = baseDist - d(a, bn) + d(a, c) + d(c, bn)
            let cost = dist + vFixed[r] + lw * ts.timeWarp
            if best == nil || cost < best!.0 { best = (cost, k) }
        }
        // Gaps before the removed job: c after visit k ≤ i − 1; the stretch k+1…i−1 then bwd[i+1].
        var tail = b[i + 1]
        var k = i - 1
        while k >= frozen[r] {
            let next = k == i - 1 ? vis[i + 1] : vis[k + 1]
            let ts = merge(merge(f[k], cseg), tail)
            offer(ts, vis[k], next, k)
            if k == 0 { break }
            tail = merge(nodeTime[Int(vis[k])], tail)
            if lw == 0 && tail.timeWarp > 0 { break }   // prepending never removes warp
            k -= 1
        }
        // Gaps after it: c after visit k ≥ i + 1; fwd[i−1] then the stretch i+1…k.
        var head = f[i - 1]
        k = i + 1
        while k <= m - 2 {
            head = merge(head, k == m - 1 ? vEndSeg[r] : nodeTime[Int(vis[k])])
            if lw == 0 && head.timeWarp > 0 { break }
            if k >= frozen[r] { offer(merge(merge(head, cseg), b[k + 1]), vis[k], vis[k + 1], k) }
            k += 1
        }
        return best
    }

    func applySwapStar(_ u: Int32, _ v: Int32, _ mv: SwapStarMove) {
        let ru = Int(routeOf[Int(u)]), rv = Int(routeOf[Int(v)])
        let i = Int(posOf[Int(u)]), j = Int(posOf[Int(v)])
        touch(ru); touch(rv)
        visits[ru] = Self.replaced(visits[ru], remove: i, insert: v, after: mv.uAfter)
        visits[rv] = Self.replaced(visits[rv], remove: j, insert: u, after: mv.vAfter)
        refresh(ru); refresh(rv)
    }

    static func replaced(_ vis: [Int32], remove i: Int, insert c: Int32, after k: Int) -> [Int32] {
        var out = vis
        out.remove(at: i)
        // Original index k maps to k (before i) or k − 1 (after i) once i is gone.
        let at = k < i ? k + 1 : k
        out.insert(c, at: at)
        return out
    }
}
