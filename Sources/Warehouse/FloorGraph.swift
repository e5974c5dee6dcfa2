import Base
/// The grid as the planners use it: for every cell its four neighbours in a flat array, in the
/// heading order east, south, west, north (`-1` where blocked or off the map), and breadth-first
/// distance tables as 16-bit step counts.
public struct FloorGraph: Sendable {
    public let grid: Grid
    /// `neighbour[4 * cell + d]` for heading d (0 E, 1 S, 2 W, 3 N), or -1.
    public let neighbour: [Int32]
    public var cellCount: Int { grid.cellCount }

    /// Distances are stored as UInt16; `FloorGraph.far` marks unreachable cells.
    public static let far: UInt16 = .max
    /// The most free cells for which every distance fits below `far`.
    public static let maxFreeCells = Int(UInt16.max) - 1

    public init(_ grid: Grid) {
        precondition(grid.freeCellCount <= FloorGraph.maxFreeCells, "distance tables are 16-bit")
        self.grid = grid
        var nb = [Int32](repeating: -1, count: 4 * grid.cellCount)
        let w = grid.width
        for i in 0..<grid.cellCount where grid.passable[i] {
            let x = i % w
            if x + 1 < w, grid.passable[i + 1] { nb[4 * i] = Int32(i + 1) }
            if i + w < grid.cellCount, grid.passable[i + w] { nb[4 * i + 1] = Int32(i + w) }
            if x > 0, grid.passable[i - 1] { nb[4 * i + 2] = Int32(i - 1) }
            if i - w >= 0, grid.passable[i - w] { nb[4 * i + 3] = Int32(i - w) }
        }
        neighbour = nb
    }

    /// Fills `table` (resized to the cell count) with the step counts from every cell to `goal`.
    /// `queue` is scratch space, kept between calls to spare allocations.
    public func distances(to goal: Int, into table: inout [UInt16], queue: inout [Int32]) {
        if table.count != cellCount { table = [UInt16](repeating: FloorGraph.far, count: cellCount) }
        else { for i in table.indices { table[i] = FloorGraph.far } }
        if queue.count < cellCount { queue = [Int32](repeating: 0, count: cellCount) }
        guard grid.isFree(goal) else { return }
        table.withUnsafeMutableBufferPointer { t in
            queue.withUnsafeMutableBufferPointer { q in
                neighbour.withUnsafeBufferPointer { nb in
                    var head = 0, tail = 1
                    q[0] = Int32(goal)
                    t[goal] = 0
                    while head < tail {
                        let u = Int(q[head]); head += 1
                        let du = t[u] + 1
                        for d in 0..<4 {
                            let v = Int(nb[4 * u + d])
                            if v >= 0 && t[v] == FloorGraph.far { t[v] = du; q[tail] = Int32(v); tail += 1 }
                        }
                    }
                }
            }
        }
    }

    public func distances(to goal: Int) -> [UInt16] {
        var t: [UInt16] = [], q: [Int32] = []
        distances(to: goal, into: &t, queue: &q)
        return t
    }
}

