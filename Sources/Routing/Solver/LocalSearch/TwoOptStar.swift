/// 2-opt*: cut route u after visit i and route v after visit j and exchange the tails.
/// Only between vehicles that end at the same place with the same end window and skills,
/// and only when no pickup-delivery pair is in the problem (tails would split pairs) and
/// neither vehicle has reload stops.
extension Engine {
    func evaluateTwoOptStar(_ u: Int, after i: Int, _ v: Int, after j: Int) -> Cost? {
        guard u != v, !hasPairs, reloads[u].isEmpty, reloads[v].isEmpty, vEnd[u] == vEnd[v], vEndSeg[u] == vEndSeg[v], vSkills[u] == vSkills[v] else { return nil }
        let mu = visits[u].count, mv = visits[v].count
        guard i >= frozen[u], j >= frozen[v], i < mu - 1, j < mv - 1 else { return nil }
        let visU = visits[u], visV = visits[v]
        let newU: Cost, newV: Cost
        if i == 0 && j == mv - 2 { newU = 0 } else {
            let ts = TimeSegment.merge(fwdT[u][i], bwdT[v][j + 1], travel: t(visU[i], visV[j + 1]))
            let ls = LoadSegment.merge(fwdL[u][i], bwdL[v][j + 1])
            let dist = cumD[u][i] + d(visU[i], visV[j + 1]) + cumD[v][mv - 1] - cumD[v][j + 1]
            guard let c = candidateCost(u, ts, ls, distance: dist) else { return nil }
            newU = c
        }
        if j == 0 && i == mu - 2 { newV = 0 } else {
            let ts = TimeSegment.merge(fwdT[v][j], bwdT[u][i + 1], travel: t(visV[j], visU[i + 1]))
            let ls = LoadSegment.merge(fwdL[v][j], bwdL[u][i + 1])
            let dist = cumD[v][j] + d(visV[j], visU[i + 1]) + cumD[u][mu - 1] - cumD[u][i + 1]
            guard let c = candidateCost(v, ts, ls, distance: dist) else { return nil }
            newV = c
        }
        return newU + newV - routeCost[u] - routeCost[v]
    }

    func applyTwoOptStar(_ u: Int, after i: Int, _ v: Int, after j: Int) {
        touch(u); touch(v)
        let tailU = Array(visits[u][(i + 1)...].dropLast()), tailV = Array(visits[v][(j + 1)...].dropLast())
        let endU = visits[u].last!, endV = visits[v].last!
        visits[u] = Array(visits[u][...i]) + tailV + [endU]
        visits[v] = Array(visits[v][...j]) + tailU + [endV]
        refresh(u); refresh(v)
    }
}
