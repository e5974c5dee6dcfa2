import Base
import Foundation
@testable import Warehouse

/// Grids from pictures (`.` free, `@` blocked), fixtures and seeded random instances for the tests.
enum TestFloor {
    static func grid(_ rows: [String]) -> Grid {
        let w = rows[0].count
        return Grid(width: w, height: rows.count, passable: rows.flatMap { $0.map { $0 != "@" } })
    }

    static func validator(_ g: Grid) -> PlanValidator { PlanValidator(width: g.width, height: g.height, free: g.passable) }

    static func fixture(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw FixtureMissing(name: name)
        }
        return try String(contentsOf: url, encoding: .utf8)
    }
    struct FixtureMissing: Error { var name: String }

    /// A width × height grid with about `blocked` of its cells blocked (seeded), kept connected:
    /// only cells of the largest component stay free.
    static func randomGrid(width: Int, height: Int, blocked: Double, seed: UInt64) -> Grid {
        var rng = SplitMix64(seed: seed)
        var free = (0..<(width * height)).map { _ in Double(rng.next() % 1000) / 1000 >= blocked }
        if !free.contains(true) { free[0] = true }
        let g = Grid(width: width, height: height, passable: free)
        let label = g.componentLabels()
        var size: [Int32: Int] = [:]
        for l in label where l >= 0 { size[l, default: 0] += 1 }
        let big = size.max { $0.value < $1.value }!.key
        return Grid(width: width, height: height, passable: label.map { $0 == big })
    }

    /// `agents` distinct starts and distinct goals on the free cells (seeded).
    static func randomProblem(_ g: Grid, agents: Int, seed: UInt64) -> MAPFProblem {
        var rng = SplitMix64(seed: seed &* 31 &+ 7)
        var cells = (0..<g.cellCount).filter { g.passable[$0] }
        precondition(cells.count >= agents)
        func shuffled() -> [Int] {
            for i in stride(from: cells.count - 1, to: 0, by: -1) { cells.swapAt(i, rng.below(i + 1)) }
            return Array(cells.prefix(agents))
        }
        let s = shuffled(), t = shuffled()
        return MAPFProblem(grid: g, starts: s, goals: t)
    }
}
