/// Swap: exchange two jobs of different routes, each taking the other's position.
extension Engine {
    func evaluateSwap(_ a: Int32, _ b: Int32) -> Cost? {
        let u = Int(routeOf[Int(a)]), v = Int(routeOf[Int(b)])
        guard u >= 0, v >= 0, u != v, movable(a), movable(b) else { return nil }
        guard requiredSkills[Int(a)] & ~vSkills[v] == 0, requiredSkills[Int(b)] & ~vSkills[u] == 0 else { return nil }
        let i = Int(posOf[Int(a)]), j = Int(posOf[Int(b)])
        guard let newU = replaced(u, i, with: b), let newV = replaced(v, j, with: a) else { return nil }
        return newU + newV - routeCost[u] - routeCost[v]
    }

    /// Cost of route v with the job at visit index k replaced by c, or nil if infeasible.
    @inline(__always) func replaced(_ v: Int, _ k: Int, with c: Int32) -> Cost? {
        let vis = visits[v]
        let ts = merge(merge(fwdT[v][k - 1], nodeTime[Int(c)]), bwdT[v][k + 1])
        let ls = LoadSegment.merge(LoadSegment.merge(fwdL[v][k - 1], nodeLoad[Int(c)]), bwdL[v][k + 1])
        let dist = routeDistance(v) - d(vis[k - 1], vis[k]) - d(vis[k], vis[k + 1]) + d(vis[k - 1], c) + d(c, vis[k + 1])
        return candidateCost(v, ts, ls, distance: dist)
    }

    func applySwap(_ a: Int32, _ b: Int32) {
        let u = Int(routeOf[Int(a)]), v = Int(routeOf[Int(b)])
        let i = Int(posOf[Int(a)]), j = Int(posOf[Int(b)])
        touch(u); touch(v)
        visits[u][i] = b; visits[v][j] = a
        refresh(u); refresh(v)
    }
}
