/// The hub's loop sorter as a pure discrete-event state machine (Docs/SITES.md). Parcels are
/// inducted at the inducts at a fixed rate, earliest-departing routes first; each rides the loop to
/// a chute of its own route (never another's), drops in if the chute has room, and otherwise goes
/// round the loop again (recirculates) until it has. A chute is emptied when its van starts
/// loading and then stays live (parcels go straight into the van) until the van leaves; the van
/// leaves at its departure, or, if parcels are still missing, when the last one is sorted (late).
/// Only then does the chute pass to the route it serves in a later wave. Nothing is ever dropped.

public struct SorterConfig: Sendable, Equatable {
    public var inducts: Int
    /// Parcels per hour one induct feeds onto the loop.
    public var inductsPerHour: Double
    /// One trip round the loop, seconds; a parcel reaches chute c of n after (c + ½) / n of it.
    public var loopSeconds: Double
    /// Loading into the van starts this long before its departure (the van is at its dock door),
    /// unless the route has its own `loadingStart` (a dock door schedule).
    public var loadingLeadSeconds: Double
    /// Period of the chute-fill samples (for the picture), seconds.
    public var sampleSeconds: Double

    public init(inducts: Int, inductsPerHour: Double, loopSeconds: Double, loadingLeadSeconds: Double, sampleSeconds: Double = 60) {
        precondition(inducts > 0 && inductsPerHour > 0 && loopSeconds > 0 && loadingLeadSeconds >= 0 && sampleSeconds > 0)
        self.inducts = inducts; self.inductsPerHour = inductsPerHour; self.loopSeconds = loopSeconds
        self.loadingLeadSeconds = loadingLeadSeconds; self.sampleSeconds = sampleSeconds
    }

    /// The layout's sorter: its inducts and chutes, rate and loop time (nil if it has no sorter).
    public init?(layout: SiteLayout, loadingLeadSeconds: Double = 1800) {
        let inducts = layout.features(.induct).count
        guard inducts > 0, let rate = layout.inductsPerHour, let loop = layout.loopSeconds else { return nil }
        self.init(inducts: inducts, inductsPerHour: Double(rate), loopSeconds: Double(loop), loadingLeadSeconds: loadingLeadSeconds)
    }

    public var nominalParcelsPerHour: Double { Double(inducts) * inductsPerHour }

    /// When loading into this route's van starts: its own `loadingStart`, else the lead before departure.
    public func loadingStart(_ route: SorterRoute) -> Double { route.loadingStart ?? route.departure - loadingLeadSeconds }
}

/// A parcel to sort: its route (index into the routes) and when it is ready at the inducts.
public struct SorterParcel: Sendable, Equatable {
    public var id: Int
    public var route: Int
    public var ready: Double
    public init(id: Int, route: Int, ready: Double) { self.id = id; self.route = route; self.ready = ready }
}

public struct SortResult: Sendable {
    public struct RouteOutcome: Sendable, Equatable {
        public var van: String
        public var wave: Int
        public var departure: Double
        public var parcels: Int
        /// When its last parcel dropped into its chute (its departure if it had none).
        public var allSortedAt: Double
        /// When it actually left: its departure, or `allSortedAt` if that was later.
        public var leftAt: Double
        /// Parcels not yet sorted at its departure (empty when on time), by parcel id.
        public var missing: [Int]
        public var isLate: Bool { !missing.isEmpty }
    }

    /// Per parcel (indexed as the input): when it was inducted, when and into which chute it was
    /// sorted, and how many times it went round again because its chutes were full.
    public var inductedAt: [Double]
    public var sortedAt: [Double]
    public var chute: [Int]
    public var recirculations: [Int]
    /// Per parcel, the index of the chute assignment it was sorted under (into `plan.assignments`).
    public var assignment: [Int]
    public var routes: [RouteOutcome]
    /// Parcels that entered a chute not assigned to their route at that moment (checked on every
    /// drop; the state machine never does it, so this is 0 unless there is a bug).
    public var misSorts: Int
    /// Sample times and, per wave (index into `waves`), parcels sitting in that wave's chutes.
    public var sampleTimes: [Double]
    public var waves: [Int]
    public var waveFill: [[Int]]
    /// Per wave, the total capacity of the chutes it was assigned.
    public var waveCapacity: [Int]

    public var totalRecirculations: Int { recirculations.reduce(0, +) }
    public var lateRoutes: [RouteOutcome] { routes.filter(\.isLate) }
    public var firstInduct: Double { inductedAt.min() ?? 0 }
    public var lastSort: Double { sortedAt.max() ?? 0 }

    /// Sorted parcels per hour: the count in the busiest 60-minute window; for a sort shorter than
    /// an hour, the count over its span (first induct to last drop) scaled to an hour.
    public var parcelsPerHour: Double {
        guard !sortedAt.isEmpty else { return 0 }
        let span = lastSort - firstInduct
        if span < 3600 { return span > 0 ? Double(sortedAt.count) * 3600 / span : 0 }
        let t = sortedAt.sorted()
        var best = 0, lo = 0
        for hi in t.indices {
            while t[hi] - t[lo] >= 3600 { lo += 1 }
            best = max(best, hi - lo + 1)
        }
        return Double(best)
    }

    /// Over the whole night: parcels / (last drop − first induct), per hour.
    public var spanParcelsPerHour: Double {
        let span = lastSort - firstInduct
        return span > 0 ? Double(sortedAt.count) * 3600 / span : 0
    }
}

public enum Sorter {
    /// Runs the night to completion: every parcel sorted (late ones after their van's departure).
    /// `routes` and `plan` come from `ChutePlan.assign` (or are built by hand); every route with
    /// parcels needs at least one chute. Deterministic: ties are broken by index.
    public static func run(parcels: [SorterParcel], routes: [SorterRoute], plan: ChutePlan, config: SorterConfig) -> SortResult {
        var m = SorterMachine(parcels: parcels, routes: routes, plan: plan, config: config)
        m.run()
        return m.result()
    }
}

/// A small binary min-heap of events keyed by (time, sequence): equal times run in the order
/// they were scheduled, so the run is deterministic.
struct TimedEventQueue<Payload> {
    private var heap: [(time: Double, seq: Int, payload: Payload)] = []
    private var seq = 0
    var isEmpty: Bool { heap.isEmpty }
    var nextTime: Double? { heap.first?.time }

    mutating func push(_ time: Double, _ payload: Payload) {
        seq += 1
        heap.append((time, seq, payload))
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard less(i, p) else { break }
            heap.swapAt(i, p); i = p
        }
    }

    mutating func pop() -> (time: Double, payload: Payload)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && less(l, m) { m = l }
            if r < heap.count && less(r, m) { m = r }
            if m == i { break }
            heap.swapAt(i, m); i = m
        }
        return (top.time, top.payload)
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        heap[a].time != heap[b].time ? heap[a].time < heap[b].time : heap[a].seq < heap[b].seq
    }
}

/// The sorter's state. Invariants: a chute's occupant is the route of `plan.byChute[c][cursor[c]]`;
/// a parcel is only sent to, and only dropped into, a chute whose occupant is its own route; a
/// route releases its chutes only once all its parcels are sorted and its departure has passed.
struct SorterMachine {
    enum Event { case inductFree(Int), arrive(parcel: Int, chute: Int), loadStart(Int), departure(Int) }

    let parcels: [SorterParcel]
    let routes: [SorterRoute]
    let plan: ChutePlan
    let config: SorterConfig
    var events = TimedEventQueue<Event>()
    var now = -Double.infinity

    // Per chute.
    var cursor: [Int]          // index into plan.byChute[c] of the current occupant; == count when retired
    var fill: [Int]
    var inFlight: [Int]
    // Per route.
    let members: [[Int]]       // parcel indices of each route
    var pending: [[Int]]       // parcel indices not yet inducted, by (ready, id), reversed (pop from the end)
    var unsorted: [Int]
    var live: [Bool]
    var departed: [Bool]       // departure time reached
    var left: [Double?]
    var missingAtDeparture: [[Int]]
    let priority: [Int]        // routes in induct order
    var firstOpen = 0          // priority[..<firstOpen] have nothing left to induct
    // Per induct.
    var idle: [Bool]
    // Per parcel.
    var inductedAt: [Double]
    var sortedAt: [Double]
    var chuteOf: [Int]
    var assignmentOf: [Int]
    var recirculations: [Int]
    var misSorts = 0
    // Samples.
    let waveIDs: [Int]
    let waveIndex: [Int: Int]
    var nextSample: Double = 0
    var sampleTimes: [Double] = []
    var waveFill: [[Int]]

    init(parcels: [SorterParcel], routes: [SorterRoute], plan: ChutePlan, config: SorterConfig) {
        self.parcels = parcels; self.routes = routes; self.plan = plan; self.config = config
        cursor = Array(repeating: 0, count: plan.chutes)
        fill = Array(repeating: 0, count: plan.chutes)
        inFlight = Array(repeating: 0, count: plan.chutes)
        var byRoute = Array(repeating: [Int](), count: routes.count)
        for (i, p) in parcels.enumerated() {
            precondition(p.route >= 0 && p.route < routes.count, "parcel \(p.id) has no route")
            byRoute[p.route].append(i)
        }
        for r in routes.indices {
            byRoute[r].sort { parcels[$0].ready != parcels[$1].ready ? parcels[$0].ready > parcels[$1].ready : parcels[$0].id > parcels[$1].id }
            precondition(byRoute[r].isEmpty || !plan.byRoute[r].isEmpty, "route \(routes[r].van) has parcels but no chute")
        }
        pending = byRoute
        members = byRoute
        unsorted = byRoute.map(\.count)
        live = Array(repeating: false, count: routes.count)
        departed = Array(repeating: false, count: routes.count)
        left = Array(repeating: nil, count: routes.count)
        missingAtDeparture = Array(repeating: [], count: routes.count)
        priority = routes.indices.sorted { a, b in
            let x = routes[a], y = routes[b]
            return x.departure != y.departure ? x.departure < y.departure : (x.wave != y.wave ? x.wave < y.wave : a < b)
        }
        idle = Array(repeating: false, count: config.inducts)
        inductedAt = Array(repeating: .nan, count: parcels.count)
        sortedAt = Array(repeating: .nan, count: parcels.count)
        chuteOf = Array(repeating: -1, count: parcels.count)
        assignmentOf = Array(repeating: -1, count: parcels.count)
        recirculations = Array(repeating: 0, count: parcels.count)
        waveIDs = Array(Set(routes.map(\.wave))).sorted()
        waveIndex = Dictionary(uniqueKeysWithValues: waveIDs.enumerated().map { ($1, $0) })
        waveFill = Array(repeating: [], count: waveIDs.count)
    }

    /// The route currently holding chute c, if any.
    func occupant(_ c: Int) -> Int? {
        let list = plan.byChute[c]
        return cursor[c] < list.count ? plan.assignments[list[cursor[c]]].route : nil
    }

    func activeChutes(_ r: Int) -> [Int] {
        plan.byRoute[r].map { plan.assignments[$0].chute }.filter { occupant($0) == r }
    }

    var start: Double {
        let firstReady = parcels.map(\.ready).min() ?? 0
        let firstFrom = plan.assignments.map(\.from).min() ?? firstReady
        return min(firstReady, firstFrom)
    }

    mutating func run() {
        let t0 = start
        nextSample = t0
        for i in 0..<config.inducts { events.push(t0, .inductFree(i)) }
        for r in routes.indices {
            events.push(config.loadingStart(routes[r]), .loadStart(r))
            events.push(routes[r].departure, .departure(r))
        }
        while let (t, e) = events.pop() {
            sample(upTo: t)
            now = t
            switch e {
            case .inductFree(let i): induct(i)
            case let .arrive(p, c): arrive(p, at: c)
            case .loadStart(let r): startLoading(r)
            case .departure(let r): departureTime(r)
            }
        }
        sample(upTo: now)
    }

    mutating func sample(upTo t: Double) {
        while nextSample <= t {
            var totals = Array(repeating: 0, count: waveIDs.count)
            for c in 0..<plan.chutes where fill[c] > 0 {
                if let r = occupant(c) { totals[waveIndex[routes[r].wave]!] += fill[c] }
            }
            sampleTimes.append(nextSample)
            for w in totals.indices { waveFill[w].append(totals[w]) }
            nextSample += config.sampleSeconds
        }
    }

    /// Induct i is free: take the ready parcel of the earliest-departing route that holds a chute.
    mutating func induct(_ i: Int) {
        idle[i] = false
        while firstOpen < priority.count && pending[priority[firstOpen]].isEmpty { firstOpen += 1 }
        var nextReady = Double.infinity
        for k in firstOpen..<priority.count {
            let r = priority[k]
            guard let p = pending[r].last else { continue }
            let chutes = activeChutes(r)
            guard !chutes.isEmpty else { continue }
            guard parcels[p].ready <= now else { nextReady = min(nextReady, parcels[p].ready); continue }
            pending[r].removeLast()
            inductedAt[p] = now
            send(p, route: r, from: chutes, recirculating: false)
            events.push(now + 3600 / config.inductsPerHour, .inductFree(i))
            return
        }
        if nextReady.isFinite { events.push(nextReady, .inductFree(i)) } else { idle[i] = true }
    }

    /// Sends parcel p to the active chute of its route with the most room left (counting parcels
    /// already on their way), ties by lowest chute.
    /// From an induct, chute c is (c + ½) / chutes of the loop away; going round again is a full loop.
    mutating func send(_ p: Int, route r: Int, from chutes: [Int], recirculating: Bool) {
        var best = chutes[0]
        func room(_ c: Int) -> Int { live[r] ? Int.max : plan.capacity - fill[c] - inFlight[c] }
        for c in chutes.dropFirst() where room(c) > room(best) { best = c }
        inFlight[best] += 1
        let travel = recirculating ? config.loopSeconds : (Double(best) + 0.5) / Double(plan.chutes) * config.loopSeconds
        events.push(now + travel, .arrive(parcel: p, chute: best))
    }

    mutating func arrive(_ p: Int, at c: Int) {
        inFlight[c] -= 1
        let r = parcels[p].route
        guard live[r] || fill[c] < plan.capacity else {
            // Full: once more round the loop, to whichever of its chutes then has the most room.
            recirculations[p] += 1
            precondition(recirculations[p] < 100_000, "parcel \(parcels[p].id) cannot be sorted")
            let chutes = activeChutes(r)
            send(p, route: r, from: chutes.isEmpty ? [c] : chutes, recirculating: true)
            return
        }
        // The drop. Checked against the plan, independently of how the chute was chosen.
        let list = plan.byChute[c]
        let k = cursor[c] < list.count ? list[cursor[c]] : -1
        if k < 0 || plan.assignments[k].route != r { misSorts += 1 }
        if !live[r] { fill[c] += 1 }
        sortedAt[p] = now
        chuteOf[p] = c
        assignmentOf[p] = k
        unsorted[r] -= 1
        if unsorted[r] == 0 && departed[r] { leave(r) }
    }

    mutating func startLoading(_ r: Int) {
        live[r] = true
        for c in activeChutes(r) { fill[c] = 0 }
    }

    mutating func departureTime(_ r: Int) {
        departed[r] = true
        missingAtDeparture[r] = members[r].filter { sortedAt[$0].isNaN }.map { parcels[$0].id }.sorted()
        if unsorted[r] == 0 { leave(r) }
    }

    /// The van leaves: its chutes pass to their next routes, and idle inducts look again.
    mutating func leave(_ r: Int) {
        left[r] = now
        for k in plan.byRoute[r] {
            let c = plan.assignments[k].chute
            guard occupant(c) == r else { continue }
            fill[c] = 0
            cursor[c] += 1
        }
        for i in idle.indices where idle[i] { idle[i] = false; events.push(now, .inductFree(i)) }
    }

    func result() -> SortResult {
        var sortedAtRoute = Array(repeating: -Double.infinity, count: routes.count)
        for (i, p) in parcels.enumerated() { sortedAtRoute[p.route] = max(sortedAtRoute[p.route], sortedAt[i]) }
        let outcomes = routes.indices.map { r in
            SortResult.RouteOutcome(van: routes[r].van, wave: routes[r].wave, departure: routes[r].departure, parcels: members[r].count,
                                    allSortedAt: sortedAtRoute[r].isFinite ? sortedAtRoute[r] : routes[r].departure,
                                    leftAt: left[r] ?? routes[r].departure, missing: missingAtDeparture[r])
        }
        var capacity = Array(repeating: 0, count: waveIDs.count)
        for a in plan.assignments { capacity[waveIndex[a.wave] ?? 0] += plan.capacity }
        return SortResult(inductedAt: inductedAt, sortedAt: sortedAt, chute: chuteOf, recirculations: recirculations, assignment: assignmentOf,
                          routes: outcomes, misSorts: misSorts, sampleTimes: sampleTimes, waves: waveIDs, waveFill: waveFill, waveCapacity: capacity)
    }

}
