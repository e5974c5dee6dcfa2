/// Granular local search (Toth & Vigo): for each job u, only moves that make u adjacent to one
/// of its `granularity` nearest jobs are tried. First improvement; repeats until no operator
/// improves. Inter-route relocate, or-opt (strings of 2–3), swap, SWAP* and 2-opt*; intra-route work
/// is left to ruin-and-recreate.
extension Engine {
    @discardableResult
    func localSearch(neighbours: [[Int32]], granularity: Int = 20, rng: inout SeededGenerator) -> Bool {
        var order: [Int32] = []
        for c in 0..<n where active[c] && routeOf[c] >= 0 && partner[c] < 0 { order.append(Int32(c)) }
        order.shuffle(using: &rng)
        var improvedAny = false
        var improved = true
        var passes = 0
        while improved && passes < 50 {
            improved = false; passes += 1
            for u in order where routeOf[Int(u)] >= 0 {
                for w in neighbours[Int(u)].dropFirst().prefix(granularity) {
                    if tryMoves(u, w) { improved = true; improvedAny = true; break }
                }
            }
        }
        return improvedAny
    }

    /// Tries every operator that puts u next to w; applies the first improving one.
    func tryMoves(_ u: Int32, _ w: Int32) -> Bool {
        let ru = Int(routeOf[Int(u)]), rw = Int(routeOf[Int(w)])
        guard ru >= 0, rw >= 0, ru != rw, movable(u) else { return false }
        let pw = Int(posOf[Int(w)])
        let pu = Int(posOf[Int(u)])
        // u after w, u before w.
        for j in [pw, pw - 1] {
            if let dl = evaluateRelocate(u, to: rw, after: j), dl < 0 { applyRelocate(u, to: rw, after: j); return true }
        }
        // Strings starting at u, placed after w.
        for len in 2...3 {
            if let dl = evaluateRelocate(u, length: len, to: rw, after: pw), dl < 0 { applyRelocate(u, length: len, to: rw, after: pw); return true }
        }
        if let dl = evaluateSwap(u, w), dl < 0 { applySwap(u, w); return true }
        if let mv = evaluateSwapStar(u, w), mv.delta < 0 { applySwapStar(u, w, mv); return true }
        // u → w (tails exchanged after u and before w), and w → u.
        if let dl = evaluateTwoOptStar(ru, after: pu, rw, after: pw - 1), dl < 0 { applyTwoOptStar(ru, after: pu, rw, after: pw - 1); return true }
        if let dl = evaluateTwoOptStar(ru, after: pu - 1, rw, after: pw), dl < 0 { applyTwoOptStar(ru, after: pu - 1, rw, after: pw); return true }
        return false
    }
}
