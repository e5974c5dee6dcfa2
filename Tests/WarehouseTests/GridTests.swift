import Testing
@testable import Warehouse

@Suite struct GridTests {
    /// A 4×3 grid with a wall in the middle column except at the bottom:
    /// ```
    /// . @ . .
    /// . @ . .
    /// . . . .
    /// ```
    func walled() -> Grid {
        var g = Grid(width: 4, height: 3, passable: Array(repeating: true, count: 12))
        g.setPassable(GridCell(x: 1, y: 0), false)
        g.setPassable(GridCell(x: 1, y: 1), false)
        return g
    }

    @Test func indexAndCellAreInverse() {
        let g = walled()
        for i in 0..<g.cellCount { #expect(g.index(g.cell(i)) == i) }
        #expect(g.freeCellCount == 10)
    }

    @Test func neighboursStayOnTheGridAndAvoidWalls() {
        let g = walled()
        #expect(Set(g.neighbours(g.index(GridCell(x: 0, y: 0)))) == [g.index(GridCell(x: 0, y: 1))])
        #expect(Set(g.neighbours(g.index(GridCell(x: 3, y: 2)))) == [g.index(GridCell(x: 2, y: 2)), g.index(GridCell(x: 3, y: 1))])
    }

    @Test func breadthFirstDistancesGoAroundTheWall() {
        let g = walled()
        let d = g.distances(from: g.index(GridCell(x: 0, y: 0)))
        #expect(d[g.index(GridCell(x: 2, y: 0))] == 6)   // down 2, right 2, up 2
        #expect(d[g.index(GridCell(x: 1, y: 0))] == Grid.unreachable)
        // Every reachable cell's distance is one more than some neighbour's.
        for i in 0..<g.cellCount where g.isFree(i) && d[i] > 0 {
            #expect(g.neighbours(i).contains { d[$0] == d[i] - 1 })
        }
    }
}
