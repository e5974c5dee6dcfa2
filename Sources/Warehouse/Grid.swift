/// The warehouse floor as a 4-connected grid: the shared ground of layouts, motion planning,
/// task allocation and sorters. Pure: no I/O, no clock.
///
/// A cell is addressed by its index `y * width + x` (row-major, as MovingAI and the League of Robot
/// Runners number them); `GridCell` is the (x, y) view of it for people and files.
public struct GridCell: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public init(x: Int, y: Int) { self.x = x; self.y = y }
    public var description: String { "(\(x),\(y))" }
    public static func < (a: GridCell, b: GridCell) -> Bool { (a.y, a.x) < (b.y, b.x) }
}

public struct Grid: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `passable[i]` for cell index i.
    public private(set) var passable: [Bool]

    public init(width: Int, height: Int, passable: [Bool]) {
        precondition(width > 0 && height > 0 && passable.count == width * height, "grid \(width)×\(height) needs \(width * height) cells")
        self.width = width
        self.height = height
        self.passable = passable
    }

    public var cellCount: Int { width * height }
    public var freeCellCount: Int { passable.reduce(0) { $0 + ($1 ? 1 : 0) } }

    @inline(__always) public func index(_ c: GridCell) -> Int { c.y * width + c.x }
    @inline(__always) public func cell(_ i: Int) -> GridCell { GridCell(x: i % width, y: i / width) }
    @inline(__always) public func contains(_ c: GridCell) -> Bool { c.x >= 0 && c.y >= 0 && c.x < width && c.y < height }
    @inline(__always) public func isFree(_ i: Int) -> Bool { i >= 0 && i < passable.count && passable[i] }
    public func isFree(_ c: GridCell) -> Bool { contains(c) && passable[index(c)] }

    public mutating func setPassable(_ c: GridCell, _ free: Bool) {
        precondition(contains(c))
        passable[index(c)] = free
    }

    /// The free 4-neighbours of cell `i`, in the fixed order east, south, west, north.
    @inline(__always) public func neighbours(_ i: Int, into out: inout [Int]) {
        out.removeAll(keepingCapacity: true)
        let x = i % width
        if x + 1 < width, passable[i + 1] { out.append(i + 1) }
        if i + width < passable.count, passable[i + width] { out.append(i + width) }
        if x > 0, passable[i - 1] { out.append(i - 1) }
        if i - width >= 0, passable[i - width] { out.append(i - width) }
    }

    public func neighbours(_ i: Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(4)
        neighbours(i, into: &out)
        return out
    }

    /// Shortest 4-connected step counts from `source` to every cell (breadth-first search);
    /// `Grid.unreachable` where no path exists or the cell is blocked.
    public func distances(from source: Int) -> [Int32] {
        var dist = [Int32](repeating: Grid.unreachable, count: cellCount)
        guard isFree(source) else { return dist }
        var queue = [Int](repeating: 0, count: cellCount)
        var head = 0, tail = 0
        dist[source] = 0
        queue[tail] = source; tail += 1
        var nb: [Int] = []
        nb.reserveCapacity(4)
        while head < tail {
            let u = queue[head]; head += 1
            let du = dist[u] + 1
            neighbours(u, into: &nb)
            for v in nb where dist[v] == Grid.unreachable {
                dist[v] = du
                queue[tail] = v; tail += 1
            }
        }
        return dist
    }

    public static let unreachable: Int32 = .max
}
