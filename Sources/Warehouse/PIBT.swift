import Base
/// How far each agent is from its current goal. One-shot planning stores a table per agent; lifelong
/// planning shares tables between agents with the same goal.
public protocol GoalDistances {
    /// Steps from `cell` to the goal of `agent` (`FloorGraph.far` when unreachable).
    func distance(agent: Int, cell: Int) -> Int
}

/// One 16-bit table per agent in a flat array: `table[agent * cells + cell]`.
public struct FlatGoalDistances: GoalDistances, Sendable {
    public let cells: Int
    public let table: [UInt16]
    public init(graph: FloorGraph, goals: [Int]) {
        let cells = graph.cellCount
        self.cells = cells
        var all = [UInt16](repeating: FloorGraph.far, count: goals.count * cells)
        var t: [UInt16] = [], q: [Int32] = []
        for (a, g) in goals.enumerated() {
            graph.distances(to: g, into: &t, queue: &q)
            all.withUnsafeMutableBufferPointer { dst in
                t.withUnsafeBufferPointer { src in
                    dst.baseAddress!.advanced(by: a * cells).update(from: src.baseAddress!, count: cells)
                }
            }
        }
        table = all
    }
    @inline(__always) public func distance(agent: Int, cell: Int) -> Int { Int(table[agent &* cells &+ cell]) }
}

/// Priority Inheritance with Backtracking (PIBT; Okumura, Machida, Défago, Tsuzuki, AIJ 2022) as a
/// one-step configuration generator: given where every agent is, it chooses where every agent is
/// one time step later so that no two share a cell and no two swap. Agents are handled in
/// priority order; an agent that wants a cell held by an undecided agent asks that agent to move
/// first (priority inheritance), and if it cannot, tries its next cell (backtracking).
///
/// Optional constraints fix some agents' next cells first (LaCAM's low-level search). Optional
/// headings restrict each agent to staying or moving forward (the rotation model; turning is then
/// decided outside, for agents that stay).
///
/// State is reused between steps (flat arrays sized to the map), so a step with n agents costs
/// O(n) plus the pushes, with no allocation.
public struct PIBT: Sendable {
    public let graph: FloorGraph
    var occNow: [Int32]
    var occNext: [Int32]
    var touched: [Int32] = []
    var from: [Int32] = []
    var to: [Int32] = []
    var heading: [UInt8] = []
    var cand: [Int32] = []
    var key: [Int] = []
    var rng: SplitMix64
    /// Let an agent meeting another head-on in a corridor back off and pull it along (see `push`).
    public var swapInCorridors = true

    public init(graph: FloorGraph, seed: UInt64) {
        self.graph = graph
        occNow = [Int32](repeating: -1, count: graph.cellCount)
        occNext = [Int32](repeating: -1, count: graph.cellCount)
        rng = SplitMix64(seed: seed)
    }

    /// Computes the next configuration into `next` (resized to `current.count`). `order` lists the
    /// agents, highest priority first (it may omit constrained agents). Returns false when the
    /// constraints cannot be met without a conflict; `next` is then unspecified.
    public mutating func step<D: GoalDistances>(from current: [Int32], into next: inout [Int32], order: [Int32],
                                                constraints: [(agent: Int32, cell: Int32)] = [], headings: [UInt8] = [],
                                                distances: D) -> Bool {
        let n = current.count
        from = current
        heading = headings
        swap(&to, &next)
        if to.count != n { to = [Int32](repeating: -1, count: n) } else { for i in 0..<n { to[i] = -1 } }
        if cand.count < 5 * (n + 1) { cand = [Int32](repeating: 0, count: 5 * (n + 1)); key = [Int](repeating: 0, count: 5 * (n + 1)) }
        for a in 0..<n { occNow[Int(from[a])] = Int32(a) }
        var ok = true
        for c in constraints {
            let a = Int(c.agent), v = Int(c.cell)
            if to[a] != -1 || occNext[v] != -1 { ok = false; break }
            let j = occNow[v]
            if j >= 0 && Int(j) != a && to[Int(j)] == from[a] { ok = false; break }
            if !headings.isEmpty && v != Int(from[a]) && v != Int(graph.neighbour[4 * Int(from[a]) + Int(headings[a])]) { ok = false; break }
            to[a] = c.cell; occNext[v] = Int32(a); touched.append(Int32(v))
        }
        if ok {
            for a32 in order where to[Int(a32)] == -1 { _ = push(Int(a32), depth: 0, distances: distances) }
            for a in 0..<n where to[a] == -1 { _ = push(a, depth: 0, distances: distances) }
            // Constrained agents may have been left in a cell a pushed agent had to keep: check.
            for a in 0..<n {
                let v = Int(to[a])
                if occNext[v] != Int32(a) { ok = false; break }
                if v != Int(from[a]) { let j = occNow[v]; if j >= 0 && to[Int(j)] == from[a] { ok = false; break } }
            }
        }
        for a in 0..<n { occNow[Int(from[a])] = -1 }
        for v in touched { occNext[Int(v)] = -1 }
        touched.removeAll(keepingCapacity: true)
        swap(&to, &next)
        return ok
    }

    /// Decides agent `a` (undecided, at `from[a]`): its best free cell, pushing the agent there if any.
    mutating func push<D: GoalDistances>(_ a: Int, depth: Int, distances: D) -> Bool {
        let here = Int(from[a])
        let base = 5 * depth
        var k = 0
        if heading.isEmpty {
            for d in 0..<4 {
                let v = graph.neighbour[4 * here + d]
                if v >= 0 { cand[base + k] = v; k += 1 }
            }
        } else {
            let v = graph.neighbour[4 * here + Int(heading[a])]
            if v >= 0 { cand[base + k] = v; k += 1 }
        }
        cand[base + k] = Int32(here); k += 1
        // Random order first, so ties are broken by the seed; then a stable sort by distance,
        // an occupied cell after a free one at equal distance.
        for i in stride(from: k - 1, to: 0, by: -1) {
            let j = rng.below(i + 1)
            let t = cand[base + i]; cand[base + i] = cand[base + j]; cand[base + j] = t
        }
        for i in 0..<k {
            let v = Int(cand[base + i])
            let o = occNow[v]
            key[base + i] = distances.distance(agent: a, cell: v) * 2 + (o >= 0 && Int(o) != a ? 1 : 0)
        }
        for i in 1..<max(k, 1) {
            var j = i
            while j > 0 && key[base + j - 1] > key[base + j] {
                key.swapAt(base + j - 1, base + j); cand.swapAt(base + j - 1, base + j); j -= 1
            }
        }
        // Head-on in a corridor: the agent j in our best cell wants our cell, and j cannot back
        // out of the way (dead end or a queue behind it), while we can reach a side branch. Then we
        // back off (candidates in reverse order) and pull j into our cell behind us, so the two
        // pass each other at the branch over the next steps instead of pushing in vain.
        var pulled = -1
        if swapInCorridors && heading.isEmpty && k > 1 {
            let v0 = Int(cand[base]), j = Int(occNow[v0])
            if j >= 0 && j != a && to[j] == -1 && distances.distance(agent: j, cell: here) < distances.distance(agent: j, cell: v0)
                && !canRetreat(from: here, to: v0) && canRetreat(from: v0, to: here) {
                var lo = base, hi = base + k - 1
                while lo < hi { cand.swapAt(lo, hi); key.swapAt(lo, hi); lo += 1; hi -= 1 }
                pulled = j
            }
        }
        for i in 0..<k {
            let v = Int(cand[base + i])
            if occNext[v] != -1 { continue }
            let j = Int(occNow[v])
            if j >= 0 && j != a && to[j] == Int32(here) { continue }   // would swap with j
            to[a] = Int32(v); occNext[v] = Int32(a); touched.append(Int32(v))
            if j >= 0 && j != a && to[j] == -1 && !push(j, depth: depth + 1, distances: distances) { continue }
            if pulled >= 0 && v != here && to[pulled] == -1 && occNext[here] == -1 {
                to[pulled] = Int32(here); occNext[here] = Int32(pulled); touched.append(Int32(here))
            }
            return true
        }
        to[a] = Int32(here); occNext[here] = Int32(a); touched.append(Int32(here))
        return false
    }

    /// Whether an agent at `cell`, pushed back away from `front`, reaches a fork (a cell with two or
    /// more ways on) before a dead end. Only the map counts, not other agents: a queue can be pushed
    /// along (counting it as a wall made pairs swap back and forth forever). Walks at most 64 cells.
    func canRetreat(from front: Int, to cell: Int) -> Bool {
        var prev = front, cur = cell
        for _ in 0..<64 {
            var ways = 0, onward = -1
            for d in 0..<4 {
                let v = Int(graph.neighbour[4 * cur + d])
                if v >= 0 && v != prev { ways += 1; onward = v }
            }
            if ways == 0 { return false }
            if ways >= 2 { return true }
            prev = cur; cur = onward
        }
        return true
    }
}
