import Base
/// A one-shot multi-agent path finding problem on a 4-connected grid: agent i goes from
/// `starts[i]` to `goals[i]` (cell indices); moves and waits take one step; no two agents may be
/// in one cell at a time (vertex conflict) or swap cells in one step (swap conflict).
public struct MAPFProblem: Sendable, Equatable {
    public let grid: Grid
    public let starts: [Int]
    public let goals: [Int]
    public init(grid: Grid, starts: [Int], goals: [Int]) {
        precondition(starts.count == goals.count)
        self.grid = grid; self.starts = starts; self.goals = goals
    }
    public var agents: Int { starts.count }
}

/// A plan: `configurations[t][i]` is agent i's cell at step t (t = 0 is the start).
public struct MAPFPlan: Sendable, Equatable {
    public var configurations: [[Int32]]
    public init(configurations: [[Int32]]) { self.configurations = configurations }

    public var makespan: Int { max(0, configurations.count - 1) }
    /// Agent i's cell at every step.
    public func path(_ i: Int) -> [Int] { configurations.map { Int($0[i]) } }

    /// Sum of costs: for each agent, the step after which it stays at its goal (its last arrival).
    public func sumOfCosts(goals: [Int]) -> Int {
        guard let last = configurations.last else { return 0 }
        var total = 0
        for i in goals.indices {
            var t = configurations.count - 1
            if Int(last[i]) != goals[i] { total += t; continue }
            while t > 0 && Int(configurations[t - 1][i]) == goals[i] { t -= 1 }
            total += t
        }
        return total
    }

    /// A quick check of the plan against the problem (the tests have an independent validator):
    /// nil when valid, else the first violation found.
    public func violation(of problem: MAPFProblem) -> String? {
        let g = problem.grid
        guard let first = configurations.first, let last = configurations.last else { return "empty plan" }
        guard first.count == problem.agents else { return "plan has \(first.count) agents, problem \(problem.agents)" }
        for i in 0..<problem.agents {
            if Int(first[i]) != problem.starts[i] { return "agent \(i) does not start at its start" }
            if Int(last[i]) != problem.goals[i] { return "agent \(i) does not end at its goal" }
        }
        var seen = [Int32](repeating: -1, count: g.cellCount)
        for t in configurations.indices {
            let c = configurations[t]
            for i in c.indices {
                let v = Int(c[i])
                guard g.isFree(v) else { return "agent \(i) at step \(t) is on a blocked cell" }
                if seen[v] == Int32(t) { return "vertex conflict at step \(t) in \(g.cell(v))" }
                seen[v] = Int32(t)
                if t > 0 {
                    let u = Int(configurations[t - 1][i])
                    let dx = abs(u % g.width - v % g.width), dy = abs(u / g.width - v / g.width)
                    if dx + dy > 1 { return "agent \(i) jumps at step \(t)" }
                }
            }
            if t > 0 {
                var at: [Int32: Int] = [:]
                for i in c.indices { at[configurations[t - 1][i]] = i }
                for i in c.indices where c[i] != configurations[t - 1][i] {
                    if let j = at[c[i]], configurations[t][j] == configurations[t - 1][i] { return "swap conflict at step \(t) between \(i) and \(j)" }
                }
            }
        }
        return nil
    }
}

/// How LaCAM runs. The search reads no clock: the caller injects `shouldStop` and, to have the
/// time of the first solution recorded, `elapsed` (seconds since the caller's start).
public struct LaCAMOptions: Sendable {
    public var seed: UInt64
    public var shouldStop: @Sendable () -> Bool
    public var elapsed: (@Sendable () -> Double)?
    /// Stop after creating this many search nodes even if `shouldStop` stays false.
    public var maxNodes: Int
    /// Push a configuration met again back on the open stack (its node is expanded with its next
    /// constraint); without it the search just moves on, as in the first LaCAM.
    public var reinsert: Bool = true
    public init(seed: UInt64 = 0, shouldStop: @escaping @Sendable () -> Bool = { false }, elapsed: (@Sendable () -> Double)? = nil,
                maxNodes: Int = 5_000_000) {
        self.seed = seed; self.shouldStop = shouldStop; self.elapsed = elapsed; self.maxNodes = maxNodes
    }
}

public struct MAPFResult: Sendable {
    /// The plan found, or nil when the search stopped first.
    public var plan: MAPFPlan?
    /// Sum of single-agent shortest distances: no plan costs less.
    public var lowerBound: Int
    public var sumOfCosts: Int?
    /// `elapsed()` when the plan was found (nil without `elapsed` or without a plan).
    public var firstSolutionSeconds: Double?
    public var nodes: Int
    public var pibtCalls: Int
}

/// Lazy Constraints Addition search (LaCAM; Okumura, AAAI-23) over whole configurations, with
/// PIBT as the successor generator.
///
/// Each high-level node is a configuration reached by the search. It keeps a queue of low-level
/// constraints ("agent k goes to cell v next"), explored breadth-first and generated lazily: a
/// node is revisited once per constraint, each time asking PIBT for a successor that obeys it.
/// Because the constraint tree eventually enumerates every successor, the search is complete on
/// solvable instances; in practice PIBT's unconstrained successor nearly always leads on.
/// The open list is depth-first (a stack), so the first solution comes fast; a configuration met
/// again is pushed back on the stack (its node is re-expanded with its next constraint).
public enum LaCAM {
    public static func solve(_ problem: MAPFProblem, options: LaCAMOptions = LaCAMOptions()) -> MAPFResult {
        let graph = FloorGraph(problem.grid)
        let dist = FlatGoalDistances(graph: graph, goals: problem.goals)
        var search = LaCAMSearch(problem: problem, graph: graph, distances: dist, options: options)
        return search.run()
    }
}

struct LaCAMSearch {
    let problem: MAPFProblem
    let graph: FloorGraph
    let distances: FlatGoalDistances
    let options: LaCAMOptions
    let n: Int
    let goalConfig: [Int32]

    // High-level nodes, by index.
    var config: [[Int32]] = []
    var parent: [Int32] = []
    var priority: [[Float]] = []
    var order: [[Int32]] = []
    var lowQueue: [[Int32]] = []   // constraint ids, consumed from lowHead
    var lowHead: [Int] = []
    var depthOf: [Int32] = []      // g: steps from the root along parent links
    var explored: [[Int32]: Int32] = [:]

    // Low-level constraints as a shared tree: each adds (agent, cell) to its parent's.
    var cParent: [Int32] = []
    var cAgent: [Int32] = []
    var cCell: [Int32] = []
    var cDepth: [Int32] = []

    var pibt: PIBT
    var rng: SplitMix64

    init(problem: MAPFProblem, graph: FloorGraph, distances: FlatGoalDistances, options: LaCAMOptions) {
        self.problem = problem; self.graph = graph; self.distances = distances; self.options = options
        n = problem.agents
        goalConfig = problem.goals.map(Int32.init)
        pibt = PIBT(graph: graph, seed: options.seed &+ 1)
        rng = SplitMix64(seed: options.seed)
    }

    mutating func newConstraint(parent p: Int32, agent: Int32, cell: Int32, depth: Int32) -> Int32 {
        cParent.append(p); cAgent.append(agent); cCell.append(cell); cDepth.append(depth)
        return Int32(cParent.count - 1)
    }

    mutating func addNode(_ c: [Int32], parent p: Int32) -> Int32 {
        var prio = [Float](repeating: 0, count: n)
        if p < 0 {
            var maxD = 1
            for i in 0..<n { maxD = max(maxD, distances.distance(agent: i, cell: Int(c[i]))) }
            for i in 0..<n { prio[i] = Float(distances.distance(agent: i, cell: Int(c[i]))) / Float(maxD + 1) }
        } else {
            let pp = priority[Int(p)]
            for i in 0..<n {
                prio[i] = c[i] != goalConfig[i] ? pp[i] + 1 : pp[i] - pp[i].rounded(.down)
            }
        }
        var ord = (0..<n).map(Int32.init)
        ord.sort { prio[Int($0)] > prio[Int($1)] }
        let id = Int32(config.count)
        config.append(c); parent.append(p); priority.append(prio); order.append(ord)
        lowQueue.append([newConstraint(parent: -1, agent: -1, cell: -1, depth: 0)]); lowHead.append(0)
        depthOf.append(p < 0 ? 0 : depthOf[Int(p)] + 1)
        explored[c] = id
        return id
    }

    func plan(to node: Int32) -> MAPFPlan {
        var out: [[Int32]] = []
        var k = node
        while k >= 0 { out.append(config[Int(k)]); k = parent[Int(k)] }
        return MAPFPlan(configurations: out.reversed())
    }

    mutating func run() -> MAPFResult {
        var lb = 0
        for i in 0..<n { lb += distances.distance(agent: i, cell: problem.starts[i]) }
        var result = MAPFResult(plan: nil, lowerBound: lb, sumOfCosts: nil, firstSolutionSeconds: nil, nodes: 0, pibtCalls: 0)
        let root = addNode(problem.starts.map(Int32.init), parent: -1)
        if config[0] == goalConfig {
            result.plan = plan(to: root); result.sumOfCosts = 0
            result.firstSolutionSeconds = options.elapsed?(); result.nodes = 1
            return result
        }
        var open: [Int32] = [root]
        var next = [Int32](repeating: -1, count: n)
        var cons: [(agent: Int32, cell: Int32)] = []
        var iterations = 0
        while let top = open.last {
            iterations += 1
            if iterations & 63 == 0, options.shouldStop() { break }
            if config.count >= options.maxNodes { break }
            let t = Int(top)
            if lowHead[t] == lowQueue[t].count { open.removeLast(); continue }
            let c = lowQueue[t][lowHead[t]]
            lowHead[t] += 1
            // Grow the constraint tree below c: the next agent in this node's order, each of its moves.
            let d = Int(cDepth[Int(c)])
            if d < n {
                let who = order[t][d]
                let here = config[t][Int(who)]
                var moves: [Int32] = [here]
                for k in 0..<4 { let v = graph.neighbour[4 * Int(here) + k]; if v >= 0 { moves.append(v) } }
                for i in stride(from: moves.count - 1, to: 0, by: -1) { moves.swapAt(i, rng.below(i + 1)) }
                for v in moves { lowQueue[t].append(newConstraint(parent: c, agent: who, cell: v, depth: Int32(d + 1))) }
            }
            // Release the constraint queue's consumed prefix now and then.
            if lowHead[t] > 4096 { lowQueue[t].removeFirst(lowHead[t]); lowHead[t] = 0 }
            cons.removeAll(keepingCapacity: true)
            var k = c
            while k >= 0 && cAgent[Int(k)] >= 0 { cons.append((cAgent[Int(k)], cCell[Int(k)])); k = cParent[Int(k)] }
            result.pibtCalls += 1
            guard pibt.step(from: config[t], into: &next, order: order[t], constraints: cons, distances: distances) else { continue }
            if let known = explored[next] {
                if options.reinsert { open.append(known) }
                continue
            }
            let id = addNode(next, parent: top)
            if next == goalConfig {
                let p = plan(to: id)
                result.firstSolutionSeconds = options.elapsed?()
                result.plan = p
                result.sumOfCosts = p.sumOfCosts(goals: problem.goals)
                break
            }
            open.append(id)
        }
        result.nodes = config.count
        return result
    }
}

/// PIBT alone, step after step, with LaCAM's priority rule (agents away from their goal gain
/// priority each step; one that arrives drops back): the baseline LaCAM improves on. Incomplete:
/// it can circle forever, so it stops after `maxSteps`.
public enum PIBTRollout {
    public static func solve(_ problem: MAPFProblem, seed: UInt64 = 0, maxSteps: Int = 3000,
                             shouldStop: @Sendable () -> Bool = { false }) -> (plan: MAPFPlan?, atGoal: Int, steps: Int, last: [Int32]) {
        let graph = FloorGraph(problem.grid)
        let dist = FlatGoalDistances(graph: graph, goals: problem.goals)
        var pibt = PIBT(graph: graph, seed: seed)
        let n = problem.agents
        let goals = problem.goals.map(Int32.init)
        var now = problem.starts.map(Int32.init), next: [Int32] = []
        var prio = (0..<n).map { Float(dist.distance(agent: $0, cell: problem.starts[$0])) / 1e6 }
        var configs = [now]
        var order = (0..<n).map(Int32.init)
        for _ in 0..<maxSteps {
            if now == goals { return (MAPFPlan(configurations: configs), n, configs.count - 1, now) }
            if shouldStop() { break }
            for i in 0..<n { prio[i] = now[i] != goals[i] ? prio[i] + 1 : prio[i] - prio[i].rounded(.down) }
            order.sort { prio[Int($0)] > prio[Int($1)] }
            _ = pibt.step(from: now, into: &next, order: order, distances: dist)
            now = next
            configs.append(now)
        }
        let at = (0..<n).count { now[$0] == goals[$0] }
        return (now == goals ? MAPFPlan(configurations: configs) : nil, at, configs.count - 1, now)
    }
}
