/// Warm start: load given routes, dropping the stops that break a hard constraint where they are.
extension Engine {
    /// Loads `routes` (internal node indices; route k on vehicle k) after repairing each one: a
    /// stop is dropped when it is already on an earlier route, when the vehicle lacks a skill it
    /// needs, when its pair partner is not on the route in the right order, or when, walking the
    /// route from its start, serving it would miss its time window, exceed the capacity, or leave
    /// the vehicle unable to return within its shift or maximum duration. Dropped stops become
    /// unassigned (the caller's construction re-inserts them). Returns one entry per drop. O(total stops)
    /// per pass; a pass repeats only when a drop breaks a pair.
    func loadRepairing(_ routes: [[Int32]], externalIndex: [Int]) -> [WarmStartRepair] {
        var repairs: [WarmStartRepair] = []
        var placedOn = [Int](repeating: 0, count: n)   // route number (from 1) that holds a node, 0 = none
        var newVisits = (0..<vehicleCount).map { v in [vStart[v]] + reloads[v] + [vEnd[v]] }
        func drop(_ route: Int, _ c: Int32, _ why: String) {
            repairs.append(WarmStartRepair(route: route, job: externalIndex[Int(c)], reason: why))
        }
        for (k, route) in routes.enumerated() {
            let number = k + 1
            guard k < vehicleCount else {
                for c in route { drop(number, c, "only \(vehicleCount) vehicles: route #\(number) has none") }
                continue
            }
            let v = k
            var keep: [Int32] = []
            for c in route {
                let ci = Int(c)
                if placedOn[ci] != 0 {
                    drop(number, c, "already on route #\(placedOn[ci])")
                } else if !active[ci] {
                    drop(number, c, "not a job to plan")
                } else if requiredSkills[ci] & ~vSkills[v] != 0 {
                    drop(number, c, "vehicle \(v) lacks a skill it needs")
                } else {
                    placedOn[ci] = number
                    keep.append(c)
                }
            }
            let lw = latenessWeight
            while true {
                // Pairs: both members on this route, pickup first.
                var position = [Int32: Int]()
                for (i, c) in keep.enumerated() { position[c] = i }
                var paired: [Int32] = []
                for (i, c) in keep.enumerated() {
                    let p = partner[Int(c)]
                    guard p >= 0 else { paired.append(c); continue }
                    if let j = position[p] {
                        if isPairPickup[Int(c)] != (i < j) {
                            drop(number, c, isPairPickup[Int(c)] ? "pickup after its delivery" : "delivery before its pickup")
                        } else { paired.append(c) }
                    } else {
                        drop(number, c, "its pair partner is not on this route")
                    }
                }
                // Walk the route: keep a stop only if the route stays feasible with it.
                var ts = vStartSeg[v], ls = LoadSegment.empty
                var kept: [Int32] = []
                for c in paired {
                    let ci = Int(c)
                    let t2 = merge(ts, nodeTime[ci])
                    let l2 = LoadSegment.merge(ls, nodeLoad[ci])
                    let closing = merge(t2, vEndSeg[v])
                    if lw == 0 && t2.timeWarp > 0 {
                        drop(number, c, "its time window closes before the vehicle can get there")
                    } else if !l2.fits(vCap[v]) {
                        drop(number, c, "the vehicle's capacity would be exceeded")
                    } else if lw == 0 && closing.timeWarp > 0 {
                        drop(number, c, "the vehicle could not return to its depot in time after it")
                    } else if closing.duration > vMaxDur[v] {
                        drop(number, c, "the route would exceed the vehicle's maximum duration")
                    } else {
                        ts = t2; ls = l2; kept.append(c)
                    }
                }
                let done = kept.count == keep.count
                keep = kept
                if done { break }
            }
            for c in route where placedOn[Int(c)] == number && !keep.contains(c) { placedOn[Int(c)] = 0 }
            newVisits[v] = [vStart[v]] + keep + reloads[v] + [vEnd[v]]
        }
        load(newVisits)
        return repairs
    }
}
