import Base
/// Lifelong multi-agent path finding with task assignment, as in the League of Robot Runners 2024:
/// robots receive tasks (ordered lists of errand cells); a task is finished when its robot has
/// visited every errand in order; the pool shows `poolSize` tasks at a time and reveals the next
/// task of the (cyclic) task list when one finishes. Which robot does which task is ours to decide.
///
/// Pure: the simulation reads no clock. `planStep()` computes every robot's next action and
/// `commit(_:)` applies it (or `commitWait()` when the caller's per-step time budget ran out, as
/// the competition's rule has every robot wait then).
public struct LifelongOptions: Sendable {
    /// Robots have a heading and act by forward, turn clockwise, turn counter-clockwise or wait
    /// (2023/2024 competition model); without it they move to any free 4-neighbour.
    public var rotation: Bool
    public var seed: UInt64
    /// Distance tables kept (each `free cells × 2` bytes). Must exceed robots + distinct task start cells.
    public var cacheCapacity: Int?
    /// Plan with lane costs (see `DistanceCache.lanes`) instead of plain step counts.
    public var lanes: Bool
    public init(rotation: Bool = false, seed: UInt64 = 0, cacheCapacity: Int? = nil, lanes: Bool = false) {
        self.rotation = rotation; self.seed = seed; self.cacheCapacity = cacheCapacity; self.lanes = lanes
    }
}

/// Headings in the competition's order: 0 east, 1 south, 2 west, 3 north (clockwise).
public enum Heading {
    public static let east: UInt8 = 0, south: UInt8 = 1, west: UInt8 = 2, north: UInt8 = 3
}

/// Every robot's next state.
public struct LifelongMoves: Sendable, Equatable {
    public var positions: [Int32]
    public var headings: [UInt8]
}

public struct LifelongSimulation: Sendable {
    public let graph: FloorGraph
    public let options: LifelongOptions
    public let taskList: [[Int]]
    public let poolSize: Int

    public private(set) var positions: [Int32]
    /// Headings (all 0 without the rotation model).
    public private(set) var headings: [UInt8]
    public private(set) var step = 0
    public private(set) var tasksFinished = 0
    public private(set) var errandsFinished = 0

    // Tasks in the pool, by id (index into taskList modulo its count is `source`).
    var taskSource: [Int] = []
    var taskNext: [Int] = []        // next errand index
    var taskRobot: [Int32] = []     // assigned robot or -1
    var taskAlive: [Bool] = []
    var revealed = 0
    /// Unassigned tasks by first-errand cell.
    var waiting: [Int: [Int]] = [:]
    var waitingCells: [Int] = []
    var waitingCellIndex: [Int: Int] = [:]
    /// Cost of a task beyond reaching its first errand (its errands' chain length), for choosing short tasks.
    var taskTail: [Int] = []

    var robotTask: [Int32]
    var robotSlot: [Int32]
    var robotPriority: [Double]
    var robotWaited: [Int]
    /// Robot in each cell, or -1.
    var occupant: [Int32]
    /// Scratch for the rotation model: the robot planning to move into each cell, or -1.
    var moverInto: [Int32]
    var cache: DistanceCache
    var pibt: PIBT
    var rng: SplitMix64
    var order: [Int32] = []
    var next: [Int32] = []

    public var cacheComputed: Int { cache.computed }
    /// Robots that have not moved for at least `steps` steps (a measure of gridlock).
    public func robotsStill(for steps: Int) -> Int { robotWaited.count { $0 >= steps } }
    public var robots: Int { positions.count }

    public init(grid: Grid, starts: [Int], tasks: [[Int]], poolSize: Int, options: LifelongOptions = LifelongOptions()) {
        precondition(!tasks.isEmpty && tasks.allSatisfy { !$0.isEmpty })
        graph = FloorGraph(grid)
        self.options = options
        taskList = tasks
        self.poolSize = poolSize
        positions = starts.map(Int32.init)
        headings = [UInt8](repeating: 0, count: starts.count)
        robotTask = [Int32](repeating: -1, count: starts.count)
        robotSlot = [Int32](repeating: -1, count: starts.count)
        robotPriority = (0..<starts.count).map { Double($0) / Double(starts.count) * 0.5 }
        robotWaited = [Int](repeating: 0, count: starts.count)
        occupant = [Int32](repeating: -1, count: grid.cellCount)
        moverInto = [Int32](repeating: -1, count: grid.cellCount)
        for (r, c) in starts.enumerated() { occupant[c] = Int32(r) }
        cache = DistanceCache(graph: graph, capacity: options.cacheCapacity ?? (starts.count + 2048), lanes: options.lanes)
        pibt = PIBT(graph: graph, seed: options.seed &+ 17)
        rng = SplitMix64(seed: options.seed)
        for _ in 0..<poolSize { reveal() }
    }

    mutating func reveal() {
        let id = taskSource.count
        let src = revealed % taskList.count
        revealed += 1
        taskSource.append(src); taskNext.append(0); taskRobot.append(-1); taskAlive.append(true)
        let errands = taskList[src]
        var tail = 0
        if errands.count > 1 {
            // Exact when the first errand's table is cached; Manhattan otherwise.
            for k in 1..<errands.count { tail += manhattan(errands[k - 1], errands[k]) }
        }
        taskTail.append(tail)
        addWaiting(id)
    }

    func manhattan(_ a: Int, _ b: Int) -> Int {
        let w = graph.grid.width
        return abs(a % w - b % w) + abs(a / w - b / w)
    }

    mutating func addWaiting(_ task: Int) {
        let cell = taskList[taskSource[task]][taskNext[task]]
        if waiting[cell] == nil {
            waiting[cell] = [task]
            waitingCellIndex[cell] = waitingCells.count
            waitingCells.append(cell)
        } else {
            waiting[cell]!.append(task)
        }
    }

    mutating func removeWaiting(_ task: Int, cell: Int) {
        guard var list = waiting[cell], let k = list.firstIndex(of: task) else { return }
        list.remove(at: k)
        if list.isEmpty {
            waiting[cell] = nil
            let i = waitingCellIndex[cell]!
            let last = waitingCells.removeLast()
            if last != cell { waitingCells[i] = last; waitingCellIndex[last] = i }
            waitingCellIndex[cell] = nil
        } else {
            waiting[cell] = list
        }
    }

    /// Points robot r at its current errand (or at nothing).
    mutating func setGoal(_ r: Int) {
        if robotSlot[r] >= 0 { cache.release(robotSlot[r]); robotSlot[r] = -1 }
        let t = Int(robotTask[r])
        guard t >= 0 else { return }
        let cell = taskList[taskSource[t]][taskNext[t]]
        guard let s = cache.slot(for: cell) else { preconditionFailure("distance cache smaller than the robots' goals") }
        cache.retain(s)
        robotSlot[r] = s
    }

    /// Distance from `cell` to `goal` for assignment: exact if the goal's table is cached, else Manhattan.
    func estimate(_ cell: Int, _ goal: Int) -> Int {
        let s = cache.slotOfCell[goal]
        return s >= 0 ? cache.distance(slot: s, cell: cell) : manhattan(cell, goal)
    }

    /// Greedy assignment: every free robot (last index first) takes, over the cells where waiting
    /// tasks start, the shortest task of the cell that minimises its distance to the cell plus that
    /// task's length (Manhattan along its errands), so short tasks go first.
    mutating func assign() {
        var free: [Int] = []
        for r in 0..<robots where robotTask[r] < 0 { free.append(r) }
        if free.isEmpty || waitingCells.isEmpty { return }
        // Tables for the cells tasks start from: few (emitters), shared by many tasks; keep them.
        if waitingCells.count <= 2048 {
            for c in waitingCells where cache.slotOfCell[c] < 0 {
                if let s = cache.slot(for: c) { cache.pin(s) }
            }
        }
        // Per waiting cell (parallel to `waitingCells`): its shortest task and that task's length,
        // kept up to date as tasks are taken, so each robot costs one pass over the cells.
        var cellTask: [Int] = [], cellTail: [Int] = []
        func shortest(_ c: Int) -> (Int, Int) {
            let list = waiting[c]!
            var t = list[0], tail = taskTail[list[0]]
            for x in list.dropFirst() where taskTail[x] < tail { t = x; tail = taskTail[x] }
            return (t, tail)
        }
        for c in waitingCells { let (t, l) = shortest(c); cellTask.append(t); cellTail.append(l) }
        var queue = free
        while let r = queue.popLast() {
            guard !waitingCells.isEmpty else { break }
            let here = Int(positions[r])
            var bestIndex = -1, bestCost = Int.max
            for (i, c) in waitingCells.enumerated() {
                let cost = estimate(here, c) + cellTail[i]
                if cost < bestCost { bestCost = cost; bestIndex = i }
            }
            guard bestIndex >= 0 else { break }
            let best = cellTask[bestIndex]
            let cell = waitingCells[bestIndex]
            removeWaiting(best, cell: cell)
            if waiting[cell] != nil {
                (cellTask[bestIndex], cellTail[bestIndex]) = shortest(cell)
            } else {
                // removeWaiting moved the last cell into this index; mirror it.
                let lt = cellTask.removeLast(), ll = cellTail.removeLast()
                if bestIndex < cellTask.count { cellTask[bestIndex] = lt; cellTail[bestIndex] = ll }
            }
            taskRobot[best] = Int32(r)
            robotTask[r] = Int32(best)
            setGoal(r)
        }
    }

    /// The actions of every robot for this step (PIBT in priority order).
    public mutating func planStep() -> LifelongMoves {
        assign()
        let n = robots
        // Priority: grows while a robot works towards an errand, drops back when it reaches one.
        order = (0..<n).map(Int32.init)
        order.sort { robotPriority[Int($0)] > robotPriority[Int($1)] }
        let d = CachedGoalDistances(cache: cache, slotOfAgent: robotSlot)
        if next.count != n { next = [Int32](repeating: -1, count: n) }
        guard options.rotation else {
            _ = pibt.step(from: positions, into: &next, order: order, distances: d)
            return LifelongMoves(positions: next, headings: headings)
        }
        // Rotation model: plan 4-connected moves with PIBT (turns priced into each robot's
        // preferences), then act: a robot facing its planned cell moves forward, any other turns
        // a quarter towards it (or towards its best neighbour when it planned to stay) and stays.
        // A forward move into a cell whose robot stays is cancelled, and so on back along the chain,
        // so the result has no vertex or swap conflict (PIBT's plan had none; cancelling only
        // keeps robots where they are).
        let rd = RotationDistances(base: d, graph: graph, positions: positions, headings: headings, turnUnit: options.lanes ? 2 : 1)
        _ = pibt.step(from: positions, into: &next, order: order, distances: rd)
        var newHeadings = headings
        var moving = [Bool](repeating: false, count: n)
        for r in 0..<n where next[r] != positions[r] {
            let here = Int(positions[r]), h = Int(headings[r])
            if Int(graph.neighbour[4 * here + h]) == Int(next[r]) { moving[r] = true; continue }
            var dir = 0
            for k in 0..<4 where Int(graph.neighbour[4 * here + k]) == Int(next[r]) { dir = k }
            newHeadings[r] = quarterTurn(from: h, to: dir)
            next[r] = positions[r]
        }
        for r in 0..<n where next[r] == positions[r] && moving[r] == false && newHeadings[r] == headings[r] && robotSlot[r] >= 0 {
            newHeadings[r] = turn(r, distances: d)
        }
        // The mover into each cell (at most one, PIBT's plan being conflict-free).
        var marked: [Int32] = []
        for r in 0..<n where moving[r] { moverInto[Int(next[r])] = Int32(r); marked.append(next[r]) }
        for s0 in 0..<n where !moving[s0] {
            var cell = Int(positions[s0])
            while true {
                let m = Int(moverInto[cell])
                guard m >= 0, moving[m] else { break }
                moving[m] = false
                next[m] = positions[m]
                cell = Int(positions[m])
            }
        }
        for c in marked { moverInto[Int(c)] = -1 }
        return LifelongMoves(positions: next, headings: newHeadings)
    }

    func quarterTurn(from h: Int, to dir: Int) -> UInt8 {
        if dir == h { return UInt8(h) }
        return UInt8((dir - h) & 3 == 3 ? (h + 3) & 3 : (h + 1) & 3)
    }

    /// The heading a robot that stays this step turns to (one quarter at most): towards its
    /// neighbour nearest the goal (fewest turns on ties).
    func turn(_ r: Int, distances d: CachedGoalDistances) -> UInt8 {
        let here = Int(positions[r])
        let h = Int(headings[r])
        var bestDir = -1, bestKey = Int.max
        for k in 0..<4 {
            let dir = (h + [0, 1, 3, 2][k]) & 3   // forward first, then the quarter turns, then behind
            let v = Int(graph.neighbour[4 * here + dir])
            guard v >= 0 else { continue }
            let key = d.distance(agent: r, cell: v) * 4 + [0, 1, 1, 2][k]
            if key < bestKey { bestKey = key; bestDir = dir }
        }
        guard bestDir >= 0 else { return UInt8(h) }
        return quarterTurn(from: h, to: bestDir)
    }

    /// Applies `moves` (from `planStep()` of this state) and records finished errands and tasks.
    public mutating func commit(_ moves: LifelongMoves) {
        let n = robots
        for r in 0..<n {
            if moves.positions[r] == positions[r] { robotWaited[r] += 1 } else { robotWaited[r] = 0 }
        }
        for r in 0..<n { occupant[Int(positions[r])] = -1 }
        for r in 0..<n { occupant[Int(moves.positions[r])] = Int32(r) }
        positions = moves.positions
        headings = moves.headings
        step += 1
        for r in 0..<n {
            let t = Int(robotTask[r])
            guard t >= 0 else { continue }
            robotPriority[r] += 1
            let errands = taskList[taskSource[t]]
            guard Int(positions[r]) == errands[taskNext[t]] else { continue }
            errandsFinished += 1
            taskNext[t] += 1
            robotPriority[r] -= robotPriority[r].rounded(.down)
            if taskNext[t] == errands.count {
                tasksFinished += 1
                taskAlive[t] = false
                robotTask[r] = -1
                setGoal(r)
                reveal()
            } else {
                setGoal(r)
            }
        }
    }

    /// Every robot waits (the planner ran out of time).
    public mutating func commitWait() {
        commit(LifelongMoves(positions: positions, headings: headings))
    }
}

/// Distances for PIBT under the rotation model: a neighbour's distance plus the quarter turns the
/// robot needs to face it (0, 1 or 2); for its own cell, the distance plus the turns it needs to
/// face a nearer neighbour. PIBT then prefers moves the robot can make soon.
struct RotationDistances: GoalDistances {
    let base: CachedGoalDistances
    let graph: FloorGraph
    let positions: [Int32]
    let headings: [UInt8]
    /// What a quarter turn costs in distance units (a step costs 1, or 2–3 with lanes).
    let turnUnit: Int
    @inline(__always) func distance(agent a: Int, cell v: Int) -> Int {
        let h = Int(headings[a]), here = Int(positions[a])
        let d = base.distance(agent: a, cell: v)
        if d == Int(FloorGraph.far) { return d }
        if v != here {
            for k in 0..<4 where Int(graph.neighbour[4 * here + k]) == v { return d + turnUnit * [0, 1, 2, 1][(k - h) & 3] }
            return d
        }
        if d == 0 { return 0 }
        var turns = 2
        for (k, cost) in [(0, 0), (1, 1), (3, 1)] {
            let u = Int(graph.neighbour[4 * v + ((h + k) & 3)])
            if u >= 0 && base.distance(agent: a, cell: u) < d { turns = min(turns, cost) }
        }
        return d + turnUnit * turns
    }
}
