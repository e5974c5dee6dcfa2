/// Granular local search (Toth & Vigo): for each job u, only moves that make u adjacent to one
/// of its `granularity` nearest jobs are tried. First improvement; repeats until no operator
/// improves. Inter-route relocate, or-opt (strings of 2–3), swap, SWAP*, 2-opt* and
/// CROSS-exchange (strings of 1–3); intra-route 2-opt (stretches of up to 10) when u and w share
/// a route. The last two only when `segmentOperators` is on.
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
        guard ru >= 0, rw >= 0, movable(u) else { return false }
        if ru == rw { return segmentOperators && tryTwoOpt(u, w, ru) }
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
        if segmentOperators && tryCrossExchange(ru, pu, rw, pw) { return true }
        return false
    }

    /// CROSS-exchange putting u's string right after w (strings starting at u and after w), or
    /// right before w (strings ending at u and just before w).
    func tryCrossExchange(_ ru: Int, _ pu: Int, _ rw: Int, _ pw: Int) -> Bool {
        let lastU = visits[ru].count - 2, lastW = visits[rw].count - 2
        for la in 1...Self.maxCrossLength {
            for lb in 1...Self.maxCrossLength {
                // u…(u+la−1) ⇄ (w+1)…(w+lb)
                if pu + la - 1 <= lastU && pw + lb <= lastW {
                    let a = visits[ru][pu], b = visits[rw][pw + 1]
                    if let dl = evaluateCrossExchange(a, length: la, b, length: lb), dl < 0 {
                        applyCrossExchange(a, length: la, b, length: lb); return true
                    }
                }
                // (u−la+1)…u ⇄ (w−lb)…(w−1)
                if pu - la + 1 >= 1 && pw - lb >= 1 {
                    let a = visits[ru][pu - la + 1], b = visits[rw][pw - lb]
                    if let dl = evaluateCrossExchange(a, length: la, b, length: lb), dl < 0 {
                        applyCrossExchange(a, length: la, b, length: lb); return true
                    }
                }
            }
        }
        return false
    }

    /// Intra-route 2-opt making u and w adjacent (the reversed stretch starts or ends next to one of them).
    func tryTwoOpt(_ u: Int32, _ w: Int32, _ r: Int) -> Bool {
        let pu = Int(posOf[Int(u)]), pw = Int(posOf[Int(w)])
        let lo = min(pu, pw), hi = max(pu, pw)
        for (i, j) in [(lo + 1, hi), (lo, hi - 1)] where i < j {
            if let dl = evaluateTwoOpt(r, from: i, to: j), dl < 0 { applyTwoOpt(r, from: i, to: j); return true }
        }
        return false
    }
}
