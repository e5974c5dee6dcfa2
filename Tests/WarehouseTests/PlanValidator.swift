/// An independent checker of multi-robot plans, written for the tests from the problem statement
/// alone: it uses neither the planners' neighbour tables nor their distance tables nor their own
/// check (`MAPFPlan.violation`). Cells are `y * width + x`; a plan is one path per robot, all
/// the same length (position at every step, step 0 the start).
struct PlanValidator {
    enum Violation: Equatable, CustomStringConvertible {
        case pathLengths
        case wrongStart(robot: Int)
        case goalNotReached(robot: Int)
        case offMapOrObstacle(robot: Int, step: Int)
        case notAdjacent(robot: Int, step: Int)
        case vertexConflict(a: Int, b: Int, step: Int)
        case swapConflict(a: Int, b: Int, step: Int)
        case illegalRotationMove(robot: Int, step: Int)

        var description: String {
            switch self {
            case .pathLengths: "paths of different lengths"
            case let .wrongStart(r): "robot \(r) does not start at its start"
            case let .goalNotReached(r): "robot \(r) does not end at its goal"
            case let .offMapOrObstacle(r, t): "robot \(r) off the map or on an obstacle at step \(t)"
            case let .notAdjacent(r, t): "robot \(r) jumps at step \(t)"
            case let .vertexConflict(a, b, t): "robots \(a) and \(b) share a cell at step \(t)"
            case let .swapConflict(a, b, t): "robots \(a) and \(b) swap at step \(t)"
            case let .illegalRotationMove(r, t): "robot \(r) makes an illegal rotation-model action at step \(t)"
            }
        }
    }

    let width: Int
    let height: Int
    let free: [Bool]

    /// All violations of `paths` (and, for the rotation model, `headings`, parallel to `paths`,
    /// 0 east 1 south 2 west 3 north). `goals` nil skips the goal check (lifelong runs).
    func violations(paths: [[Int]], starts: [Int], goals: [Int]?, headings: [[Int]]? = nil) -> [Violation] {
        var out: [Violation] = []
        guard let len = paths.first?.count, paths.allSatisfy({ $0.count == len }), len > 0 else { return [.pathLengths] }
        for r in paths.indices {
            if paths[r][0] != starts[r] { out.append(.wrongStart(robot: r)) }
            if let g = goals, paths[r][len - 1] != g[r] { out.append(.goalNotReached(robot: r)) }
        }
        for t in 0..<len {
            var at: [Int: Int] = [:]
            for r in paths.indices {
                let c = paths[r][t]
                if c < 0 || c >= width * height || !free[c] { out.append(.offMapOrObstacle(robot: r, step: t)); continue }
                if let other = at[c] { out.append(.vertexConflict(a: other, b: r, step: t)) } else { at[c] = r }
                guard t > 0 else { continue }
                let p = paths[r][t - 1]
                let (px, py, cx, cy) = (p % width, p / width, c % width, c / width)
                if abs(px - cx) + abs(py - cy) > 1 { out.append(.notAdjacent(robot: r, step: t)) }
                if let h = headings {
                    let h0 = h[r][t - 1], h1 = h[r][t]
                    if p == c {
                        let turn = (h1 - h0 + 4) % 4
                        if turn == 2 { out.append(.illegalRotationMove(robot: r, step: t)) }
                    } else {
                        let (dx, dy) = [(1, 0), (0, 1), (-1, 0), (0, -1)][h0]
                        if h1 != h0 || cx - px != dx || cy - py != dy { out.append(.illegalRotationMove(robot: r, step: t)) }
                    }
                }
            }
            guard t > 0 else { continue }
            var before: [Int: Int] = [:]
            for r in paths.indices { before[paths[r][t - 1]] = r }
            for r in paths.indices where paths[r][t] != paths[r][t - 1] {
                if let o = before[paths[r][t]], o != r, paths[o][t] == paths[r][t - 1], r < o {
                    out.append(.swapConflict(a: r, b: o, step: t))
                }
            }
        }
        return out
    }

    /// Sum over robots of the step after which each stays at its goal.
    static func sumOfCosts(paths: [[Int]], goals: [Int]) -> Int {
        var total = 0
        for (r, p) in paths.enumerated() {
            var t = p.count - 1
            while t > 0 && p[t - 1] == goals[r] { t -= 1 }
            total += t
        }
        return total
    }
}
