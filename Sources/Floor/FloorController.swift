import Base
import Warehouse

/// Runs one site's floor: assigns pick tasks to robots, plans every robot's next step with PIBT
/// (the one-step generator the lifelong planner uses; one planning step per tick) and drives the
/// robots through a `RobotLink` with VDA 5050 order updates (Docs/VDA5050.md, "The floor controller").
///
/// - Tasks: a queue of `PickTask`s (go to `pickup`, then to `dropoff`; cell indices of the grid).
///   A free robot takes the first queued task whose pickup is nearest to it (grid distance; ties by
///   robot order). `RobotFleet` simulates a whole run with battery and charging, it has no
///   incremental "next decision" to call, so it is not used here; charging is not done.
/// - Orders: one order per robot for the whole run (`<serial>-floor`), updated with orderUpdateId+1
///   at every step the robot moves: the base is the robot's decision point plus the one cell the
///   plan has it in at the next step (released); the horizon is its shortest path on towards its
///   goal (unreleased, at most `horizon` cells).
/// - Release rule: a cell is released to a robot only when the plan has the robot there at the next
///   step and every robot's latest state shows that no robot is in that cell (its previous
///   occupant has reported `lastNodeId` beyond it). Releases of one step go out in waves: first the
///   moves into empty cells, then the moves into cells emptied by the previous wave. A cycle of
///   robots following each other (which PIBT allows, and the release rule cannot execute) is
///   cancelled before release: its robots, and any robot moving into a cell of a robot that stays,
///   stay for the step. A step ends when every released robot has reported its new cell.
/// - Faults: a robot whose state has a FATAL error leaves the plan: its cell becomes an obstacle
///   (distances are recomputed around it) and its task goes back to the front of the queue.
///
/// Deterministic for a seed up to the robots' timing: the plan depends only on reported cells, and
/// robots are waited for at every step. Isolation: an actor; `run()` is the only mutator.
public actor FloorController {
    public struct Configuration: Sendable {
        public var seed: UInt64 = 0
        /// Longest wait for a released robot to report its new cell (then `run()` throws `.timeout`).
        public var stepTimeout: Duration = .seconds(5)
        /// Unreleased cells of horizon sent after the released base.
        public var horizon = 6
        /// Steps before `run()` gives up (throws `.timeout`).
        public var maxSteps = 20_000
        /// The run's order id is `<serial>-<orderTag>`: a later run (another round, or a new owner of
        /// the site after a failover) uses another tag, so its order is a new order, not an older update.
        public var orderTag = "floor"
        public init() {}
    }

    /// What a run did.
    public struct Report: Sendable, Equatable {
        /// Task ids in the order they were finished.
        public var finished: [Int] = []
        /// Which robot finished each task (by task id).
        public var finishedBy: [Int: String] = [:]
        /// Task ids put back in the queue because their robot faulted (in the order it happened).
        public var requeued: [Int] = []
        /// Robots taken out of the plan for a FATAL error, in the order noticed.
        public var faulted: [String] = []
        /// Tasks left when no robot could take them (unreachable cells, or no robot left).
        public var unfinished: [Int] = []
        public var steps = 0
        /// Order updates sent (moves released).
        public var releases = 0
        /// Planned moves held back for a step (cycles, or a robot ahead that did not leave).
        public var heldBack = 0
        /// Waves of releases (a step with followers takes more than one).
        public var waves = 0
        /// Robots whose order of an earlier run was still active at the start, and was cancelled.
        public var cancelledAtStart: [String] = []
    }

    private let link: RobotLink
    private let grid: Grid
    private let layout: VDA5050Layout
    private let serials: [String]
    private let configuration: Configuration
    private var queue: [PickTask]
    public private(set) var report = Report()
    private var started = false

    // Per robot (index into `serials`).
    private var position: [Int] = []
    private var live: [Bool] = []
    private var task: [PickTask?] = []
    private var phase: [Int] = []      // 0: to pickup, 1: to dropoff
    private var priority: [Double] = []
    private var orderSeq: [Int] = []   // sequenceId of the robot's decision point
    private var updateId: [Int] = []

    private var graph: FloorGraph
    private var tables: [Int: [UInt16]] = [:]

    /// `robots`: serial numbers of robots already connected to `link` and idle (no order active).
    /// `tasks`: pickup and dropoff are cell indices of `grid`.
    public init(link: RobotLink, grid: Grid, layout: VDA5050Layout, robots: [String], tasks: [PickTask],
                configuration: Configuration = .init()) {
        self.link = link
        self.grid = grid
        self.layout = layout
        self.serials = robots
        self.queue = tasks
        self.configuration = configuration
        self.graph = FloorGraph(grid)
    }

    /// A controller for a site layout: its grid, its map id (the site) and cell size as the VDA 5050
    /// layout. Tasks name cells of `site.grid` (a storage feature's `access` cell, a pick station's cell).
    public init(link: RobotLink, site: SiteLayout, robots: [String], tasks: [PickTask], configuration: Configuration = .init()) {
        self.init(link: link, grid: site.grid, layout: VDA5050Layout(mapId: site.site, cellSize: site.cellMetres),
                  robots: robots, tasks: tasks, configuration: configuration)
    }

    /// Tasks finished so far.
    public var finishedCount: Int { report.finished.count }

    /// Robots with a task now, with their task id.
    public var busyRobots: [String: Int] {
        var out: [String: Int] = [:]
        for (r, t) in task.enumerated() { if let t { out[serials[r]] = t.id } }
        return out
    }

    private func orderId(_ r: Int) -> String { "\(serials[r])-\(configuration.orderTag)" }

    /// Runs until every task is finished (or none can be), then returns what happened.
    public func run() async throws(FloorError) -> Report {
        guard !started else { throw FloorError(.closed, "this floor controller has already run") }
        started = true
        let n = serials.count
        position = []; live = []
        for s in serials {
            var st = try await link.waitForState(of: s, timeout: configuration.stepTimeout) { !$0.driving }
            if !st.nodeStates.isEmpty || !st.edgeStates.isEmpty {
                // An order of an earlier run is still active (its controller stopped mid-step, e.g.
                // its node died): cancel it, so the robot is idle and takes this run's order.
                let cancel = VDA5050.InstantActions(header: VDA5050.Header(manufacturer: "daybreak", serialNumber: s),
                                                    actions: [VDA5050.Action(actionType: "cancelOrder", actionId: "\(s)-\(configuration.orderTag)-cancel")])
                _ = try await link.send(cancel, to: s, timeout: configuration.stepTimeout)
                st = try await link.waitForState(of: s, timeout: configuration.stepTimeout) { $0.nodeStates.isEmpty && $0.edgeStates.isEmpty && !$0.driving }
                report.cancelledAtStart.append(s)
            }
            guard let c = VDA5050Layout.cell(nodeId: st.lastNodeId), grid.isFree(c) else {
                throw FloorError(.rejected, "robot \(s) reports node \"\(st.lastNodeId)\", not a free cell of the grid")
            }
            position.append(grid.index(c))
            live.append(!st.hasFatalError)
        }
        task = Array(repeating: nil, count: n)
        phase = Array(repeating: 0, count: n)
        priority = (0..<n).map { Double($0) / Double(max(n, 1)) * 0.5 }
        orderSeq = Array(repeating: 0, count: n)
        updateId = Array(repeating: 0, count: n)
        for r in 0..<n where live[r] {
            let o = layout.order([grid.cell(position[r])], orderId: orderId(r), releasedNodes: 1, header: header(r))
            try await link.send(o, to: serials[r], timeout: configuration.stepTimeout)
        }
        for r in 0..<n where !live[r] { report.faulted.append(serials[r]) }
        rebuildGraph()
        var pibt = PIBT(graph: graph, seed: configuration.seed &+ 17)
        var pibtLive = live

        while !queue.isEmpty || task.contains(where: { $0 != nil }) {
            guard report.steps < configuration.maxSteps else {
                throw FloorError(.timeout, "tasks not finished after \(report.steps) steps")
            }
            // Faults: out of the plan, task back to the queue.
            for r in 0..<n where live[r] {
                guard let s = await link.state(of: serials[r]), s.hasFatalError else { continue }
                live[r] = false
                if let c = VDA5050Layout.cell(nodeId: s.lastNodeId), grid.isFree(c) { position[r] = grid.index(c) }
                report.faulted.append(serials[r])
                if let t = task[r] {
                    queue.insert(t, at: 0)
                    report.requeued.append(t.id)
                    task[r] = nil
                }
            }
            if live != pibtLive {
                rebuildGraph()
                pibt = PIBT(graph: graph, seed: configuration.seed &+ 17 &+ UInt64(report.steps))
                pibtLive = live
            }
            assign()
            let agents = (0..<n).filter { live[$0] }
            if agents.isEmpty || (agents.allSatisfy { task[$0] == nil } && !queue.isEmpty) {
                report.unfinished = queue.map(\.id) + task.compactMap { $0?.id }
                break
            }
            // Plan one step.
            let goals = agents.map { r in goal(r) }
            let d = TableDistances(tables: goals.map { table(to: $0) })
            let from = agents.map { Int32(position[$0]) }
            var next: [Int32] = []
            let order = (0..<agents.count).sorted { priority[agents[$0]] > priority[agents[$1]] }.map(Int32.init)
            if !pibt.step(from: from, into: &next, order: order, distances: d) { next = from }
            var target = [Int](repeating: -1, count: n)
            for (a, r) in agents.enumerated() { target[r] = Int(next[a]) }
            try await execute(target)
            report.steps += 1
            // Errands reached (not by a robot that faulted on the way: it is noticed next tick).
            for r in agents {
                guard let t = task[r] else { continue }
                if let s = await link.state(of: serials[r]), s.hasFatalError { continue }
                priority[r] += 1
                if phase[r] == 0 && position[r] == t.pickup {
                    phase[r] = 1
                    priority[r] -= priority[r].rounded(.down)
                }
                if phase[r] == 1 && position[r] == t.dropoff {
                    report.finished.append(t.id)
                    report.finishedBy[t.id] = serials[r]
                    task[r] = nil
                    phase[r] = 0
                    priority[r] -= priority[r].rounded(.down)
                }
            }
        }
        return report
    }

    // MARK: - Assignment

    /// Nearest free robot first: each queued task in order goes to the free live robot nearest its
    /// pickup that can reach both errands.
    private func assign() {
        var remaining: [PickTask] = []
        for t in queue {
            let dp = table(to: t.pickup), dd = table(to: t.dropoff)
            var best = -1, bestCost = Int.max
            for r in 0..<serials.count where live[r] && task[r] == nil {
                let c = Int(dp[position[r]])
                guard c != Int(FloorGraph.far), dd[t.pickup] != FloorGraph.far else { continue }
                if c < bestCost { bestCost = c; best = r }
            }
            if best >= 0 {
                task[best] = t
                phase[best] = 0
            } else {
                remaining.append(t)
            }
        }
        queue = remaining
    }

    private func goal(_ r: Int) -> Int {
        guard let t = task[r] else { return position[r] }
        return phase[r] == 0 ? t.pickup : t.dropoff
    }

    // MARK: - Distances around faulted robots

    private func rebuildGraph() {
        var g = grid
        for r in 0..<serials.count where !live[r] { g.setPassable(grid.cell(position[r]), false) }
        graph = FloorGraph(g)
        tables = [:]
    }

    private func table(to cell: Int) -> [UInt16] {
        if let t = tables[cell] { return t }
        let t = graph.grid.isFree(cell) ? graph.distances(to: cell) : [UInt16](repeating: FloorGraph.far, count: graph.cellCount)
        tables[cell] = t
        return t
    }

    /// Shortest path from `cell` towards `goal` (excluding `cell`), at most `limit` cells.
    private func pathOn(from cell: Int, to goal: Int, limit: Int) -> [Int] {
        let t = table(to: goal)
        var out: [Int] = [], here = cell
        while out.count < limit, t[here] != 0, t[here] != FloorGraph.far {
            var best = -1
            for k in 0..<4 {
                let v = Int(graph.neighbour[4 * here + k])
                if v >= 0 && t[v] < t[here] { best = v; break }
            }
            guard best >= 0 else { break }
            out.append(best)
            here = best
        }
        return out
    }

    // MARK: - Executing a step

    /// Releases the planned moves (`target[r]`, -1 for robots out of the plan) by the release rule
    /// and waits for every released robot's new cell; `position` is then what the robots reported.
    private func execute(_ target: [Int]) async throws(FloorError) {
        let n = serials.count
        var occupant: [Int: Int] = [:]
        for r in 0..<n { occupant[position[r]] = r }
        let moving = Self.executableMoves(position: position, target: target)
        report.heldBack += (0..<n).count { target[$0] >= 0 && target[$0] != position[$0] && !moving[$0] }
        var pending = (0..<n).filter { moving[$0] }
        while !pending.isEmpty {
            let wave = pending.filter { occupant[target[$0]] == nil }
            if wave.isEmpty {
                // A robot ahead did not leave (it faulted before moving): the rest stay this step.
                report.heldBack += pending.count
                break
            }
            pending.removeAll { wave.contains($0) }
            report.waves += 1
            var orders: [(Int, VDA5050.Order)] = []
            for r in wave {
                let path = [position[r], target[r]] + pathOn(from: target[r], to: goal(r), limit: configuration.horizon)
                updateId[r] += 1
                let o = layout.order(path.map { grid.cell($0) }, orderId: orderId(r), orderUpdateId: updateId[r],
                                     firstSequenceId: orderSeq[r], releasedNodes: 2, header: header(r))
                orderSeq[r] += 2
                orders.append((r, o))
                report.releases += 1
            }
            let results = await release(orders, arrival: wave.map { VDA5050Layout.nodeId(grid.cell(target[$0])) })
            for (r, result) in zip(wave, results) {
                let s: VDA5050.State
                switch result {
                case .success(let st): s = st
                case .failure(let e): throw e
                }
                guard let c = VDA5050Layout.cell(nodeId: s.lastNodeId), grid.isFree(c) else {
                    throw FloorError(.rejected, "robot \(serials[r]) reports node \"\(s.lastNodeId)\", not a free cell of the grid")
                }
                let now = grid.index(c)
                if now != position[r] {
                    occupant[position[r]] = nil
                    occupant[now] = r
                    position[r] = now
                }
            }
        }
    }

    /// Which planned moves (`target[r]`; -1 or `position[r]` for none) the release rule can execute
    /// this step: not those on a cycle of robots following one another (each would wait for the
    /// next to leave), nor, transitively, those moving into the cell of a robot that stays.
    static func executableMoves(position: [Int], target: [Int]) -> [Bool] {
        let n = position.count
        var occupant: [Int: Int] = [:]
        for r in 0..<n { occupant[position[r]] = r }
        var moving = (0..<n).map { target[$0] >= 0 && target[$0] != position[$0] }
        for r0 in 0..<n where moving[r0] {
            var seen: [Int] = [], r = r0
            while moving[r], let j = occupant[target[r]], !seen.contains(r) {
                seen.append(r)
                r = j
            }
            if moving[r], let k = seen.firstIndex(of: r) {
                for c in seen[k...] { moving[c] = false }
            }
        }
        var changed = true
        while changed {
            changed = false
            for r in 0..<n where moving[r] {
                if let j = occupant[target[r]], !moving[j] { moving[r] = false; changed = true }
            }
        }
        return moving
    }

    /// Sends the orders at once and waits for each robot to report its released cell (or a FATAL
    /// error with the robot standing still).
    private func release(_ orders: [(Int, VDA5050.Order)], arrival: [String]) async -> [Result<VDA5050.State, FloorError>] {
        let link = self.link, timeout = configuration.stepTimeout
        let jobs = orders.enumerated().map { i, ro in (i, serials[ro.0], ro.1, arrival[i]) }
        return await withTaskGroup(of: (Int, Result<VDA5050.State, FloorError>).self) { group in
            for (i, serial, order, node) in jobs {
                group.addTask {
                    do throws(FloorError) {
                        do throws(FloorError) {
                            try await link.send(order, to: serial, timeout: timeout)
                        } catch where error.code == .rejected {
                            // A faulted robot may refuse (its state says so below); any other refusal ends the run.
                            guard await link.state(of: serial)?.hasFatalError == true else { throw error }
                        }
                        let s = try await link.waitForState(of: serial, timeout: timeout) { s in
                            s.lastNodeId == node || (s.hasFatalError && !s.driving)
                        }
                        return (i, .success(s))
                    } catch {
                        return (i, .failure(error))
                    }
                }
            }
            var out = [Result<VDA5050.State, FloorError>](repeating: .failure(FloorError(.closed, "not run")), count: jobs.count)
            for await (i, r) in group { out[i] = r }
            return out
        }
    }

    private func header(_ r: Int) -> VDA5050.Header { VDA5050.Header(manufacturer: "daybreak", serialNumber: serials[r]) }
}

/// Distance tables per agent, for PIBT.
struct TableDistances: GoalDistances {
    let tables: [[UInt16]]
    func distance(agent: Int, cell: Int) -> Int { Int(tables[agent][cell]) }
}
