/// The hub's dawn wave simulated at the level of decisions, for the simulated night and benches
/// (Docs/WAREHOUSE.md, "The hub in the simulated night"). The decisions are `HubState`'s (the same
/// state machine the `HubController` journals); the floor is `RobotFleet` (robots on shortest paths,
/// battery and charging, optimal assignment; robots do not see each other, see Docs/SITES.md) and the
/// sorter a timed model (inducts at their rate, a parcel reaches its chute half a loop after its
/// induct, a full chute sends it round again). Pure and deterministic.
public struct HubNightConfig: Sendable, Equatable {
    public var robots: Int
    /// Seconds a tote spends at the pick station (parcels out onto the induct conveyor).
    public var handlingSeconds: Double
    public var battery: BatteryModel
    public var inducts: Int
    public var inductsPerHour: Double
    public var loopSeconds: Double
    /// A van's picks are released this long before its departure (not before the wave's start).
    public var releaseLeadSeconds: Double = 7200
    public init(robots: Int = 60, handlingSeconds: Double = 10, battery: BatteryModel = .standard,
                inducts: Int, inductsPerHour: Double, loopSeconds: Double) {
        precondition(robots > 0 && inducts > 0 && inductsPerHour > 0 && loopSeconds > 0)
        self.robots = robots; self.handlingSeconds = handlingSeconds; self.battery = battery
        self.inducts = inducts; self.inductsPerHour = inductsPerHour; self.loopSeconds = loopSeconds
    }

    /// The layout's sorter, `robots` robots.
    public init?(layout: SiteLayout, robots: Int = 60) {
        guard let rate = layout.inductsPerHour, let loop = layout.loopSeconds, !layout.features(.induct).isEmpty else { return nil }
        self.init(robots: robots, inducts: layout.features(.induct).count, inductsPerHour: Double(rate), loopSeconds: Double(loop))
    }
}

public struct HubNightResult: Sendable {
    /// The final state: per parcel its release, pick, sort, chute and load times; per van its outcome.
    public var state: HubState
    /// Drops into a chute not assigned to the parcel's van at that moment (checked here against the
    /// chute plan and the vans that had left, independently of how the chute was chosen): 0 unless a bug.
    public var misSorts: Int
    /// Sorted parcels in the busiest 60 minutes (or over the span scaled to an hour, if shorter).
    public var sortedPerHour: Double
    /// Robots' time driving or at a pick station over robots × (first release → last pick).
    public var robotUtilisation: Double
    /// Per parcel: loaded − picked, seconds.
    public var pickToLoad: [Double]
    /// Times a parcel found its chutes full or not yet its van's, and went round again.
    public var recirculations: Int
    /// Robot cell visits per grid cell (driving, from the fleet's decisions along shortest paths).
    public var traffic: [Int]
    /// Per departure wave (`waves[k]`), per chute, the most parcels it held at once.
    public var waves: [Int]
    public var peakFill: [[Int]]
    public var lowestCharge: Double
    public var charges: Int
    public var picksDone: Int
    public var picks: Int

    public var vans: [VanOutcome] { state.vanReport }
    public var lateVans: [VanOutcome] { vans.filter(\.isLate) }
    public var meanPickToLoad: Double { pickToLoad.isEmpty ? 0 : pickToLoad.reduce(0, +) / Double(pickToLoad.count) }
    public var p95PickToLoad: Double {
        guard !pickToLoad.isEmpty else { return 0 }
        let s = pickToLoad.sorted()
        return s[min(s.count - 1, Int((Double(s.count) * 0.95).rounded(.up)) - 1)]
    }
}

public enum HubNight {
    /// Runs `wave` on `layout`: `totes` groups the wave's parcels (indices) into robot tasks (one
    /// tote from one storage location, e.g. one order's parcels), released `releaseLeadSeconds`
    /// before their van's departure (not before `wave.start`), in order of departure. Throws the
    /// wave's refusal (`HubState.decide(.open)`).
    public static func run(layout: SiteLayout, wave: HubWave, totes: [[Int]], config: HubNightConfig) throws(HubRejection) -> HubNightResult {
        var s = HubState()
        func act(_ c: HubCommand) {
            do { s.apply(try s.decide(c)) } catch { preconditionFailure("hub night: \(c) refused: \(error)") }
        }
        s.apply(try s.decide(.open(wave)))
        let racks = layout.features(.storage).map(\.access), stations = layout.features(.pick).map(\.cell)
        let chargers = layout.features(.charger).map(\.cell)
        precondition(!racks.isEmpty && !stations.isEmpty && !chargers.isEmpty, "hub night: the layout needs storage, pick stations and chargers")
        let order = totes.indices.filter { !totes[$0].isEmpty }.sorted { a, b in
            let da = wave.vans[wave.parcels[totes[a][0]].van].departure, db = wave.vans[wave.parcels[totes[b][0]].van].departure
            return da != db ? da < db : a < b
        }
        let tasks = order.enumerated().map { k, t in
            PickTask(id: k, pickup: racks[wave.parcels[totes[t][0]].storage % racks.count], dropoff: stations[k % stations.count],
                     release: max(wave.start, wave.vans[wave.parcels[totes[t][0]].van].departure - config.releaseLeadSeconds),
                     handlingSeconds: config.handlingSeconds)
        }

        // The floor: robots start full, spread over the free floor.
        let g = layout.grid
        let featureCells = Set(layout.features.map(\.cell))
        let free = (0..<g.cellCount).filter { g.isFree($0) && !featureCells.contains($0) }
        let starts = (0..<config.robots).map { free[($0 * 97) % free.count] }
        let fleet = RobotFleet.run(grid: g, chargers: chargers, robotsAt: starts, tasks: tasks, battery: config.battery)

        // The sorter and the vans, in time order.
        enum Ev { case release([Int]), picked(Int), arrive(Int), loadStart(Int), departure(Int) }
        var q = TimedEventQueue<Ev>()
        for (t, ks) in Dictionary(grouping: tasks.indices, by: { tasks[$0].release }).sorted(by: { $0.key < $1.key }) {
            q.push(t, .release(ks.sorted()))
        }
        for v in wave.vans.indices { q.push(wave.loadingStart(of: v), .loadStart(v)) }
        for v in wave.vans.indices { q.push(wave.vans[v].departure, .departure(v)) }
        for k in tasks.indices where fleet.finishedAt[k].isFinite { q.push(fleet.finishedAt[k], .picked(k)) }
        var inductFree = Array(repeating: -Double.infinity, count: config.inducts)
        let inductGap = 3600 / config.inductsPerHour
        let waveIDs = Array(Set(wave.vans.map(\.wave))).sorted()
        let waveIndex = Dictionary(uniqueKeysWithValues: waveIDs.enumerated().map { ($1, $0) })
        var peak = Array(repeating: Array(repeating: 0, count: wave.chutes), count: waveIDs.count)
        var byChute = Array(repeating: [ChuteAssignment](), count: wave.chutes)
        for a in s.chutes { byChute[a.chute].append(a) }
        var misSorts = 0, recirculations = 0
        while let (t, e) = q.pop() {
            switch e {
            case .release(let ks):
                act(.release(round: s.rounds, parcels: ks.flatMap { totes[order[$0]] }, at: t))
            case .picked(let k):
                let ps = totes[order[k]]
                act(.picked(parcels: ps, robot: "robot-\(fleet.robotOfTask[k])", at: t))
                for p in ps {
                    let i = inductFree.indices.min { inductFree[$0] < inductFree[$1] }!
                    let at = max(t, inductFree[i])
                    inductFree[i] = at + inductGap
                    q.push(at + config.loopSeconds / 2, .arrive(p))
                }
            case .arrive(let p):
                guard let c = s.chute(for: p) else {
                    recirculations += 1
                    q.push(t + config.loopSeconds, .arrive(p))
                    continue
                }
                // Independent check: the chute is assigned to this van, and every van before it on
                // this chute has left.
                let v = s.parcels[p].van
                if let k = byChute[c].firstIndex(where: { $0.route == v }) {
                    if byChute[c][..<k].contains(where: { s.vans[$0.route].leftAt == nil }) { misSorts += 1 }
                } else { misSorts += 1 }
                act(.sort(parcel: p, chute: c, at: t))
                if let w = waveIndex[wave.vans[v].wave] { peak[w][c] = max(peak[w][c], s.chuteFill[c]) }
            case .loadStart(let v):
                act(.startLoading(van: v, at: t))
            case .departure(let v):
                act(.departureDue(van: v, at: t))
            }
        }

        // Measures.
        let sortTimes = s.parcels.compactMap(\.sortedAt).sorted()
        var best = 0, lo = 0
        for hi in sortTimes.indices {
            while sortTimes[hi] - sortTimes[lo] >= 3600 { lo += 1 }
            best = max(best, hi - lo + 1)
        }
        var perHour = Double(best)
        if let first = sortTimes.first, let last = sortTimes.last, last - first < 3600 {
            perHour = last > first ? Double(sortTimes.count) * 3600 / (last - first) : Double(sortTimes.count)
        }
        let span = max(1, fleet.makespan - (tasks.map(\.release).min() ?? wave.start))
        let busy = Double(fleet.steps) * config.battery.secondsPerStep + Double(fleet.tasksDone) * config.handlingSeconds
        let pickToLoad = s.parcels.compactMap { p -> Double? in
            guard let a = p.pickedAt, let b = p.loadedAt else { return nil }
            return b - a
        }
        return HubNightResult(state: s, misSorts: misSorts, sortedPerHour: perHour,
                              robotUtilisation: min(1, busy / (Double(config.robots) * span)), pickToLoad: pickToLoad,
                              recirculations: recirculations, traffic: traffic(fleet, grid: g, starts: starts, tasks: tasks, chargers: chargers),
                              waves: waveIDs, peakFill: peak, lowestCharge: fleet.lowestCharge, charges: fleet.charges,
                              picksDone: fleet.tasksDone, picks: tasks.count)
    }

    /// Cell visits of every robot, following its decisions along shortest paths (one BFS table per
    /// destination, cached).
    static func traffic(_ fleet: FleetRun, grid: Grid, starts: [Int], tasks: [PickTask], chargers: [Int]) -> [Int] {
        var visits = Array(repeating: 0, count: grid.cellCount)
        var tables: [Int: [Int32]] = [:]
        var at = starts
        var nb: [Int] = []
        func walk(_ r: Int, to goal: Int) {
            if tables[goal] == nil { tables[goal] = grid.distances(from: goal) }
            let d = tables[goal]!
            var here = at[r]
            guard d[here] != Grid.unreachable else { return }
            while here != goal {
                grid.neighbours(here, into: &nb)
                guard let next = nb.first(where: { d[$0] < d[here] }) else { break }
                here = next
                visits[here] += 1
            }
            at[r] = here
        }
        for (_, decision) in fleet.decisions {
            switch decision {
            case let .assign(t, r):
                walk(r, to: tasks[t].pickup)
                walk(r, to: tasks[t].dropoff)
            case let .sendToCharger(r, k):
                walk(r, to: chargers[k])
            case .leaveCharger:
                break
            }
        }
        return visits
    }
}
