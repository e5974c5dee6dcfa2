/// The hub's picking robots at the level of decisions (Docs/SITES.md): which robot takes which pick
/// task and when a robot goes to charge. Independent of motion planning: a robot moves along a
/// shortest path at a fixed speed, without other robots in the way, which is enough to judge the
/// decisions. Pure; time is seconds on the caller's clock.

/// State of charge as a fraction of a full battery, drained per grid step (more when carrying)
/// and restored at a charger at a fixed rate.
public struct BatteryModel: Sendable, Equatable {
    public var drainPerStep: Double
    public var drainPerStepLoaded: Double
    public var chargePerSecond: Double
    /// Seconds to move one cell.
    public var secondsPerStep: Double

    public init(drainPerStep: Double, drainPerStepLoaded: Double, chargePerSecond: Double, secondsPerStep: Double) {
        precondition(drainPerStep >= 0 && drainPerStepLoaded >= 0 && chargePerSecond > 0 && secondsPerStep > 0)
        self.drainPerStep = drainPerStep; self.drainPerStepLoaded = drainPerStepLoaded
        self.chargePerSecond = chargePerSecond; self.secondsPerStep = secondsPerStep
    }

    /// A picking robot of the hub's size: 1.5 m cells at 1.5 m/s; a full battery drives 14,000
    /// cells empty (~3.9 h of driving), 10,000 carrying, and charges from empty in 1 hour.
    public static let standard = BatteryModel(drainPerStep: 1.0 / 14_000, drainPerStepLoaded: 1.0 / 10_000,
                                              chargePerSecond: 1.0 / 3600, secondsPerStep: 1.0)
}

/// When robots charge.
public struct ChargingPolicy: Sendable, Equatable {
    /// Go and charge when the state of charge falls below this.
    public var low: Double
    /// Charge up to this…
    public var full: Double
    /// …unless tasks are waiting and no idle robot can take them: then leave the charger at this.
    public var resumeWhenBusy: Double
    /// Never take a task that would leave less than this on arrival at the nearest charger after it.
    public var reserve: Double

    /// Idle robots with nothing to do and below `resumeWhenBusy` go to charge (opportunity charging).
    public var topUpWhenIdle: Bool

    public init(low: Double = 0.25, full: Double = 0.9, resumeWhenBusy: Double = 0.6, reserve: Double = 0.05, topUpWhenIdle: Bool = true) {
        precondition(0 <= reserve && reserve < low && low <= resumeWhenBusy && resumeWhenBusy <= full && full <= 1)
        self.low = low; self.full = full; self.resumeWhenBusy = resumeWhenBusy; self.reserve = reserve; self.topUpWhenIdle = topUpWhenIdle
    }
}

/// A pick: fetch from a storage location and bring it to a pick station.
public struct PickTask: Sendable, Equatable {
    public var id: Int
    /// Cell indices: where the robot picks up (a storage rack's access cell) and drops off.
    public var pickup: Int
    public var dropoff: Int
    public var release: Double
    /// Seconds spent at the pick station.
    public var handlingSeconds: Double
    public init(id: Int, pickup: Int, dropoff: Int, release: Double, handlingSeconds: Double = 10) {
        self.id = id; self.pickup = pickup; self.dropoff = dropoff; self.release = release; self.handlingSeconds = handlingSeconds
    }
}

/// What the policy decides; the log of a run is a list of these with their times.
public enum FleetDecision: Sendable, Equatable {
    case assign(task: Int, robot: Int)
    case sendToCharger(robot: Int, charger: Int)
    case leaveCharger(robot: Int)
}

public struct FleetRun: Sendable {
    public var decisions: [(time: Double, decision: FleetDecision)]
    /// Per task (input order): when it was finished (at the station, handled), and by which robot.
    public var finishedAt: [Double]
    public var robotOfTask: [Int]
    /// The lowest state of charge any robot reached, and the end state per robot.
    public var lowestCharge: Double
    public var finalCharge: [Double]
    public var charges: Int
    /// Of those, top-ups: robots at or above `low` sent because they had nothing to do.
    public var topUps: Int
    /// Total grid steps driven (empty + loaded).
    public var steps: Int
    public var tasksDone: Int { finishedAt.filter { $0.isFinite }.count }
    public var makespan: Double { finishedAt.filter { $0.isFinite }.max() ?? 0 }
}

public enum RobotFleet {
    /// Runs tasks to completion with `robots` robots starting full at the given cells. At every
    /// moment something changes (a robot frees up, a task is released): robots below `low` go to
    /// the nearest free charger; charging robots leave at `full` (or at `resumeWhenBusy` when tasks
    /// wait and no robot is idle); idle robots and waiting tasks are matched by minimum total
    /// travel to the pickup (`Assignment`), a pair allowed only if the robot still reaches a charger
    /// with `reserve` left after it. Tasks whose cells cannot be reached are never assigned.
    public static func run(grid: Grid, chargers: [Int], robotsAt start: [Int], tasks: [PickTask],
                           battery: BatteryModel = .standard, policy: ChargingPolicy = ChargingPolicy(),
                           candidateTasks: Int = 64) -> FleetRun {
        precondition(!chargers.isEmpty, "no charger")
        var sim = FleetSimulation(grid: grid, chargers: chargers, start: start, tasks: tasks, battery: battery, policy: policy, candidates: candidateTasks)
        sim.run()
        return FleetRun(decisions: sim.log, finishedAt: sim.finished, robotOfTask: sim.robotOf, lowestCharge: sim.lowest,
                        finalCharge: sim.robots.map(\.charge), charges: sim.charges, topUps: sim.topUps, steps: sim.steps)
    }
}

struct FleetSimulation {
    enum Activity: Equatable { case idle, working(task: Int), toCharger(Int), charging(Int) }
    struct Robot { var cell: Int; var charge: Double; var activity: Activity; var freeAt: Double; var mustFill = false }

    let grid: Grid
    let chargers: [Int]
    let tasks: [PickTask]
    let battery: BatteryModel
    let policy: ChargingPolicy
    let candidates: Int
    var robots: [Robot]
    var chargerBusy: [Bool]
    var distCache: [Int: [Int32]] = [:]
    let toCharger: [Int32]          // per cell, steps to the nearest charger
    var waiting: [Int] = []         // released, unassigned task indices, in release order
    var nextRelease = 0
    let releaseOrder: [Int]
    var events = TimedEventQueue<Int>()  // payload: robot index, or -1 for a task release
    var now = 0.0
    var log: [(time: Double, decision: FleetDecision)] = []
    var finished: [Double]
    var robotOf: [Int]
    var lowest = 1.0
    var charges = 0
    var topUps = 0
    var steps = 0
    var unreachable: Set<Int> = []

    init(grid: Grid, chargers: [Int], start: [Int], tasks: [PickTask], battery: BatteryModel, policy: ChargingPolicy, candidates: Int) {
        self.grid = grid; self.chargers = chargers; self.tasks = tasks; self.battery = battery; self.policy = policy
        self.candidates = max(1, candidates)
        robots = start.map { Robot(cell: $0, charge: 1, activity: .idle, freeAt: 0) }
        chargerBusy = Array(repeating: false, count: chargers.count)
        var nearest = [Int32](repeating: Grid.unreachable, count: grid.cellCount)
        for c in chargers { for (i, d) in grid.distances(from: c).enumerated() { nearest[i] = min(nearest[i], d) } }
        toCharger = nearest
        releaseOrder = tasks.indices.sorted { tasks[$0].release != tasks[$1].release ? tasks[$0].release < tasks[$1].release : $0 < $1 }
        finished = Array(repeating: .infinity, count: tasks.count)
        robotOf = Array(repeating: -1, count: tasks.count)
    }

    mutating func distances(from cell: Int) -> [Int32] {
        if let d = distCache[cell] { return d }
        let d = grid.distances(from: cell)
        distCache[cell] = d
        return d
    }

    mutating func run() {
        for t in tasks { events.push(t.release, -1) }
        for i in robots.indices { events.push(0, i) }
        while let (t, who) = events.pop() {
            now = t
            if who >= 0 { arrive(who) }
            // Several events at the same instant: decide once, after the last of them.
            while events.nextTime == now, let (_, w) = events.pop() { if w >= 0 { arrive(w) } }
            while nextRelease < releaseOrder.count && tasks[releaseOrder[nextRelease]].release <= now {
                waiting.append(releaseOrder[nextRelease]); nextRelease += 1
            }
            decide()
        }
    }

    /// Robot r reached the end of its activity.
    mutating func arrive(_ r: Int) {
        guard robots[r].freeAt <= now else { return }
        switch robots[r].activity {
        case .working(let task):
            finished[task] = now
            robots[r].activity = .idle
        case .toCharger(let k):
            robots[r].activity = .charging(k)
            robots[r].freeAt = now
        case .charging, .idle:
            break
        }
    }

    mutating func decide() {
        // Charging robots: charge since they arrived (freeAt marks the start of charging).
        let busy = !waiting.isEmpty && !robots.contains { $0.activity == .idle && $0.charge >= policy.low }
        for r in robots.indices {
            guard case .charging(let k) = robots[r].activity else { continue }
            let charged = min(1, robots[r].charge + (now - robots[r].freeAt) * battery.chargePerSecond)
            robots[r].charge = charged; robots[r].freeAt = now
            let target = robots[r].mustFill ? 1 : (busy ? policy.resumeWhenBusy : policy.full)
            if charged >= target - 1e-12 {
                chargerBusy[k] = false
                robots[r].activity = .idle
                robots[r].mustFill = false
                log.append((now, .leaveCharger(robot: r)))
            } else {
                events.push(now + (target - charged) / battery.chargePerSecond, r)
            }
        }
        // Low robots go to charge (nearest free charger by steps); with nothing to do, robots
        // below `resumeWhenBusy` top up so they are ready when work comes.
        for r in robots.indices where robots[r].activity == .idle
            && (robots[r].charge < policy.low || robots[r].mustFill || (policy.topUpWhenIdle && waiting.isEmpty && robots[r].charge < policy.resumeWhenBusy)) {
            let d = distances(from: robots[r].cell)
            guard let k = chargers.indices.filter({ !chargerBusy[$0] && d[chargers[$0]] != Grid.unreachable })
                .min(by: { d[chargers[$0]] != d[chargers[$1]] ? d[chargers[$0]] < d[chargers[$1]] : $0 < $1 }) else { continue }
            let s = Int(d[chargers[k]])
            // A farther charger than the nearest (busy) one may be out of reach: then wait for one.
            guard robots[r].charge - Double(s) * battery.drainPerStep > 0 else { continue }
            chargerBusy[k] = true
            move(r, steps: s, loaded: false)
            robots[r].cell = chargers[k]
            robots[r].activity = .toCharger(k)
            robots[r].freeAt = now + Double(s) * battery.secondsPerStep
            charges += 1
            if robots[r].charge >= policy.low && !robots[r].mustFill { topUps += 1 }
            log.append((now, .sendToCharger(robot: r, charger: k)))
            events.push(robots[r].freeAt, r)
        }
        // Idle robots and waiting tasks: minimum total travel to the pickups.
        let idle = robots.indices.filter { robots[$0].activity == .idle && robots[$0].charge >= policy.low && !robots[$0].mustFill }
        guard !idle.isEmpty, !waiting.isEmpty else { return }
        let pool = Array(waiting.prefix(candidates))
        let big = Int64(1) << 40
        var cost = [[Int64]](repeating: [Int64](repeating: big, count: pool.count), count: idle.count)
        var plans: [[(toPickup: Int, carry: Int)?]] = Array(repeating: Array(repeating: nil, count: pool.count), count: idle.count)
        for (j, t) in pool.enumerated() {
            let fromPickup = distances(from: tasks[t].pickup)
            let carry = fromPickup[tasks[t].dropoff]
            let back = toCharger[tasks[t].dropoff]
            guard carry != Grid.unreachable, back != Grid.unreachable else { unreachable.insert(t); continue }
            for (i, r) in idle.enumerated() {
                let reach = fromPickup[robots[r].cell]
                guard reach != Grid.unreachable else { continue }
                let need = Double(reach) * battery.drainPerStep + Double(carry) * battery.drainPerStepLoaded + Double(back) * battery.drainPerStep
                guard robots[r].charge - need >= policy.reserve else { continue }
                cost[i][j] = Int64(reach)
                plans[i][j] = (Int(reach), Int(carry))
            }
        }
        waiting.removeAll { unreachable.contains($0) }
        let match = MinCostAssignment.minimumCost(cost)
        var taken: Set<Int> = []
        for (i, j) in match.enumerated() {
            guard let j, let plan = plans[i][j] else { continue }
            let r = idle[i], t = pool[j]
            move(r, steps: plan.toPickup, loaded: false)
            move(r, steps: plan.carry, loaded: true)
            robots[r].cell = tasks[t].dropoff
            robots[r].activity = .working(task: t)
            robots[r].freeAt = now + Double(plan.toPickup + plan.carry) * battery.secondsPerStep + tasks[t].handlingSeconds
            robotOf[t] = r
            taken.insert(t)
            log.append((now, .assign(task: t, robot: r)))
            events.push(robots[r].freeAt, r)
        }
        waiting.removeAll { taken.contains($0) }
        // An idle robot that could take none of the waiting tasks for want of charge charges to
        // full now (if it is not full already: then those tasks are beyond any robot and wait).
        for (i, r) in idle.enumerated() where robots[r].activity == .idle && !pool.isEmpty && robots[r].charge < 1 - 1e-6
            && !plans[i].contains(where: { $0 != nil }) && hasBatteryLimitedTask(robot: r, pool: pool) {
            robots[r].mustFill = true
            events.push(now, r)
        }
    }

    /// Some task of the pool that the robot can reach but not afford on its current charge.
    mutating func hasBatteryLimitedTask(robot r: Int, pool: [Int]) -> Bool {
        let d = distances(from: robots[r].cell)
        for t in pool where d[tasks[t].pickup] != Grid.unreachable && !unreachable.contains(t) {
            let carry = distances(from: tasks[t].pickup)[tasks[t].dropoff]
            let need = Double(d[tasks[t].pickup]) * battery.drainPerStep + Double(carry) * battery.drainPerStepLoaded
                + Double(toCharger[tasks[t].dropoff]) * battery.drainPerStep
            if need <= 1 - policy.reserve { return true }
        }
        return false
    }

    mutating func move(_ r: Int, steps s: Int, loaded: Bool) {
        robots[r].charge -= Double(s) * (loaded ? battery.drainPerStepLoaded : battery.drainPerStep)
        lowest = min(lowest, robots[r].charge)
        steps += s
    }
}
