/// Relocate: move one job (or-opt: a string of `length` consecutive jobs) from its route to
/// another route, after visit index j.
extension Engine {
    func evaluateRelocate(_ c: Int32, length: Int = 1, to v: Int, after j: Int) -> Cost? {
        let u = Int(routeOf[Int(c)])
        guard u >= 0, u != v, j >= frozen[v], j < visits[v].count - 1 else { return nil }
        let i = Int(posOf[Int(c)])
        guard i + length <= visits[u].count - 1 else { return nil }
        // The moved string [i, i+length).
        let visU = visits[u]
        var segT = nodeTime[Int(visU[i])]
        var segL = nodeLoad[Int(visU[i])]
        var inner: Int64 = 0
        var skills = requiredSkills[Int(visU[i])]
        for k in i..<(i + length) {
            guard movable(visU[k]) else { return nil }
            if k > i {
                segT = merge(segT, nodeTime[Int(visU[k])]); segL = LoadSegment.merge(segL, nodeLoad[Int(visU[k])])
                inner += d(visU[k - 1], visU[k]); skills |= requiredSkills[Int(visU[k])]
            }
        }
        guard skills & ~vSkills[v] == 0 else { return nil }
        guard let newU = costWithout(u, i, i + length) else { return nil }
        let visV = visits[v]
        let first = visU[i], last = visU[i + length - 1]
        let ts = merge(merge(fwdT[v][j], segT), bwdT[v][j + 1])
        let ls = LoadSegment.merge(LoadSegment.merge(fwdL[v][j], segL), bwdL[v][j + 1])
        let dist = routeDistance(v) - d(visV[j], visV[j + 1]) + d(visV[j], first) + inner + d(last, visV[j + 1])
        guard let newV = candidateCost(v, ts, ls, distance: dist) else { return nil }
        return newU + newV - routeCost[u] - routeCost[v]
    }

    func applyRelocate(_ c: Int32, length: Int = 1, to v: Int, after j: Int) {
        let u = Int(routeOf[Int(c)])
        let i = Int(posOf[Int(c)])
        touch(u); touch(v)
        let moved = Array(visits[u][i..<(i + length)])
        visits[u].removeSubrange(i..<(i + length))
        visits[v].insert(contentsOf: moved, at: j + 1)
        refresh(u); refresh(v)
    }
}
