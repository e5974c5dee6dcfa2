/// Breadth-first distance tables to goal cells, computed on demand and kept in a bounded cache.
///
/// A table holds one 16-bit step count per passable cell (compact numbering, so the 140×500
/// warehouse's 38,586 free cells take 77 KB, not the 140 KB of the full grid). Tables in use
/// (the goal of some robot, counted by `retain`/`release`) are never evicted; unused ones are
/// evicted oldest-released first when the cache is full. `pin` keeps a table for good (cells many
/// tasks start from).
public struct DistanceCache: Sendable {
    public let graph: FloorGraph
    /// Cell → compact index, or -1 for a blocked cell.
    public let compact: [Int32]
    let compactNeighbour: [Int32]
    public let capacity: Int
    /// Traffic guidance: with it, a step costs 2 along the lane's direction and 3 against it (rows
    /// alternate east/west by parity of y, columns south/north by parity of x), so two-way traffic
    /// tends to split into opposite lanes; without it every step costs 1 (plain BFS).
    public let lanes: Bool
    /// For `lanes`: the cell of each compact index (to find rows and columns).
    let cellOfCompact: [Int32]

    var tables: [[UInt16]] = []
    var slotOfCell: [Int32]
    var cellOfSlot: [Int32] = []
    var users: [Int32] = []
    var pinned: [Bool] = []
    var releasedAt: [Int] = []
    /// Slots whose users dropped to zero, oldest first; entries are stale when `releasedAt` changed.
    var idle: [(slot: Int32, stamp: Int)] = []
    var idleHead = 0
    var clock = 0
    var queue: [Int32] = []

    /// Tables computed so far (misses), for measurements.
    public private(set) var computed = 0

    public init(graph: FloorGraph, capacity: Int, lanes: Bool = false) {
        self.graph = graph
        self.capacity = max(1, capacity)
        self.lanes = lanes
        var c = [Int32](repeating: -1, count: graph.cellCount)
        var k: Int32 = 0
        for i in 0..<graph.cellCount where graph.grid.passable[i] { c[i] = k; k += 1 }
        compact = c
        var back = [Int32](repeating: 0, count: Int(k))
        for i in 0..<graph.cellCount where c[i] >= 0 { back[Int(c[i])] = Int32(i) }
        cellOfCompact = back
        var nb = [Int32](repeating: -1, count: 4 * Int(k))
        for i in 0..<graph.cellCount where c[i] >= 0 {
            for d in 0..<4 { let v = graph.neighbour[4 * i + d]; if v >= 0 { nb[4 * Int(c[i]) + d] = c[Int(v)] } }
        }
        compactNeighbour = nb
        slotOfCell = [Int32](repeating: -1, count: graph.cellCount)
        queue = [Int32](repeating: 0, count: Int(k))
    }

    public var freeCells: Int { queue.count }
    public var resident: Int { tables.count }

    /// The slot of `cell`'s table, computing it (and evicting an idle table) when missing.
    /// Returns nil only when every slot is in use.
    public mutating func slot(for cell: Int) -> Int32? {
        if slotOfCell[cell] >= 0 { return slotOfCell[cell] }
        var s: Int
        if tables.count < capacity {
            s = tables.count
            tables.append([UInt16](repeating: FloorGraph.far, count: queue.count))
            cellOfSlot.append(-1); users.append(0); pinned.append(false); releasedAt.append(0)
        } else {
            s = -1
            while idleHead < idle.count {
                let e = idle[idleHead]; idleHead += 1
                let k = Int(e.slot)
                if users[k] == 0 && !pinned[k] && releasedAt[k] == e.stamp { s = k; break }
            }
            if idleHead > 65_536 { idle.removeFirst(idleHead); idleHead = 0 }
            guard s >= 0 else { return nil }
            slotOfCell[Int(cellOfSlot[s])] = -1
        }
        fill(slot: s, goal: cell)
        cellOfSlot[s] = Int32(cell)
        slotOfCell[cell] = Int32(s)
        users[s] = 0
        clock += 1
        releasedAt[s] = clock
        idle.append((Int32(s), clock))
        computed += 1
        return Int32(s)
    }

    public mutating func retain(_ slot: Int32) { users[Int(slot)] += 1 }
    public mutating func release(_ slot: Int32) {
        let s = Int(slot)
        users[s] -= 1
        if users[s] == 0 { clock += 1; releasedAt[s] = clock; idle.append((slot, clock)) }
    }
    public mutating func pin(_ slot: Int32) { pinned[Int(slot)] = true }

    /// Steps from `cell` to the goal of table `slot`.
    @inline(__always) public func distance(slot: Int32, cell: Int) -> Int {
        Int(tables[Int(slot)][Int(compact[cell])])
    }

    mutating func fill(slot s: Int, goal: Int) {
        if lanes { fillWithLanes(slot: s, goal: goal); return }
        let nb = compactNeighbour
        queue.withUnsafeMutableBufferPointer { q in
            tables[s].withUnsafeMutableBufferPointer { t in
                for i in 0..<t.count { t[i] = FloorGraph.far }
                let g = Int(compact[goal])
                guard g >= 0 else { return }
                nb.withUnsafeBufferPointer { nb in
                    var head = 0, tail = 1
                    q[0] = Int32(g); t[g] = 0
                    while head < tail {
                        let u = Int(q[head]); head += 1
                        let du = t[u] &+ 1
                        for d in 0..<4 {
                            let v = Int(nb[4 &* u &+ d])
                            if v >= 0 && t[v] == FloorGraph.far { t[v] = du; q[tail] = Int32(v); tail += 1 }
                        }
                    }
                }
            }
        }
    }

    /// The cost of stepping from `u` to its neighbour in heading `d` (0 E, 1 S, 2 W, 3 N) with lanes.
    @inline(__always) func laneCost(from u: Int, heading d: Int) -> UInt16 {
        let cell = Int(cellOfCompact[u]), w = graph.grid.width
        let x = cell % w, y = cell / w
        switch d {
        case 0: return y & 1 == 0 ? 2 : 3
        case 2: return y & 1 == 1 ? 2 : 3
        case 1: return x & 1 == 0 ? 2 : 3
        default: return x & 1 == 1 ? 2 : 3
        }
    }

    /// Costs to the goal with lanes: Dijkstra backwards from the goal with a bucket queue (steps
    /// cost 2 or 3). A cell u's cost is the cheapest step u → v plus v's cost.
    mutating func fillWithLanes(slot s: Int, goal: Int) {
        let n = queue.count
        var t = [UInt16](repeating: FloorGraph.far, count: n)
        let g = Int(compact[goal])
        if g >= 0 {
            var buckets: [[Int32]] = Array(repeating: [], count: 4)
            t[g] = 0
            buckets[0].append(Int32(g))
            var cur = 0, pending = 1
            while pending > 0 {
                let b = cur & 3
                while let v32 = buckets[b].popLast() {
                    pending -= 1
                    let v = Int(v32)
                    if Int(t[v]) != cur { continue }
                    // Predecessors u of v: neighbours u with a step u → v (the reverse heading).
                    for d in 0..<4 {
                        let u = Int(compactNeighbour[4 * v + d])
                        guard u >= 0 else { continue }
                        let c = UInt16(cur) + laneCost(from: u, heading: (d + 2) & 3)
                        if c < t[u] { t[u] = c; buckets[Int(c) & 3].append(Int32(u)); pending += 1 }
                    }
                }
                cur += 1
            }
        }
        tables[s] = t
    }
}

/// Each robot's distance to its current goal through the cache (0 everywhere for a robot
/// without a goal, which then only moves when pushed).
struct CachedGoalDistances: GoalDistances {
    let cache: DistanceCache
    let slotOfAgent: [Int32]
    @inline(__always) func distance(agent: Int, cell: Int) -> Int {
        let s = slotOfAgent[agent]
        return s < 0 ? 0 : cache.distance(slot: s, cell: cell)
    }
}
