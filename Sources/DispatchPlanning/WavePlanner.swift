import Fleet
import Geo
import Routing

/// One region's routing input: its orders and dawn vans, the `DispatchInstance` (node-indexed, in
/// seconds from the wave origin) and the `Routing.Problem` mapped from it.
public struct RegionProblem: Sendable {
    public var region: RegionID
    public var orders: [Order]
    public var fleet: WaveSetup.RegionFleet
    public var setup: WaveSetup
    public var instance: DispatchInstance
    /// Node index of `orders[0]` (depots come first).
    public var firstOrderNode: Int
    /// Which travel times the solver plans with (the routing model in use takes one matrix).
    public var times: PlanningTimes
    /// The planning duration matrix: per arc, the maximum over the slots `times` selects and over
    /// the van kinds present. ETAs are always simulated over the real slot matrices.
    public var planningDurations: [Int64]
    /// nil when there is nothing to plan (no orders or no vans).
    public var problem: Problem?

    func order(atNode n: Int) -> Order { orders[n - firstOrderNode] }

    /// The same instance planned with other travel times. O(slots × n²).
    public func with(_ times: PlanningTimes) -> RegionProblem {
        var rp = self
        rp.times = times
        let n = instance.nodes.count
        let cutoff = times.lastSlotStart(windowEnd: setup.windowEnd)
        var planning = [Int64](repeating: 0, count: n * n)
        for td in instance.durations.values {
            for (k, m) in td.matrices.enumerated() where k == 0 || td.slots.starts[k] <= cutoff {
                m.values.withUnsafeBufferPointer { src in
                    for i in 0..<(n * n) where src[i] > planning[i] { planning[i] = src[i] }
                }
            }
        }
        rp.planningDurations = planning
        rp.problem = nil
        guard !orders.isEmpty, !fleet.vans.isEmpty else { return rp }
        let margin = times.marginSeconds
        let nodes = instance.nodes.map { node -> Problem.Node in
            switch node.kind {
            case .depot: return Problem.Node(kind: .depot, ready: 0, due: node.due)
            case .order: return Problem.Node(kind: .delivery, ready: node.ready, due: max(node.ready, node.due - margin),
                                             service: node.service, demand: node.demand)
            }
        }
        let vehicles = instance.vehicles.enumerated().map { i, v in
            let start = max(v.shiftStart, fleet.departures[i] - setup.origin)
            return Problem.Vehicle(start: v.startNode, end: v.endNode, capacity: v.capacity, shiftStart: start, shiftEnd: max(start, v.shiftEnd - margin))
        }
        // Validated by construction (windows clamped, matrices non-negative and n × n, depots first).
        rp.problem = try! Problem(nodes: nodes, vehicles: vehicles, distances: instance.distances.values, durations: planning)
        return rp
    }
}

/// The travel times the solver plans with. Speeds change by the hour but the solver takes one
/// matrix, so the planner chooses a per-arc upper bound and checks the result by simulation.
public enum PlanningTimes: Sendable, Equatable, CustomStringConvertible {
    /// The slowest hourly slot of the whole window (07:00 dominates). Travel times are FIFO, so a
    /// van that really drives faster never arrives later: every plan keeps its promises, at the
    /// cost of idle time before 07:00.
    case slowestSlot
    /// The slowest slot of the night proper (slots starting at least 2 h before the window ends),
    /// with promises and shift ends tightened by `marginSeconds` to absorb the morning slowdown.
    /// Not a guarantee: `WavePlanner.planVerified` simulates and falls back to `slowestSlot`.
    case night(marginSeconds: Int64)

    func lastSlotStart(windowEnd: Instant) -> Instant {
        switch self {
        case .slowestSlot: return Instant(epochSeconds: .max)
        case .night: return windowEnd - 2 * 3600
        }
    }
    var marginSeconds: Int64 { if case .night(let m) = self { return m } else { return 0 } }
    public var description: String {
        switch self {
        case .slowestSlot: return "slowest slot"
        case .night(let m): return "night slots, \(m / 60) min margin"
        }
    }
    /// The demo's default.
    public static let standard = PlanningTimes.night(marginSeconds: 15 * 60)
}

public struct WavePlanError: Error, Sendable, Equatable, CustomStringConvertible {
    public var item: String
    public var message: String
    public var description: String { "wave plan: \(item): \(message)" }
}

/// Plans a dawn wave per region. Pure: orders, fleet, travel model, seeds and the stop condition
/// come in as values; the caller measures time and chooses threads.
public enum WavePlanner {
    /// Time at the door: 2 min plus 30 s per parcel.
    public static func serviceSeconds(_ o: Order) -> Int64 { 120 + 30 * Int64(o.parcels) }

    /// Splits orders by region. Orders of a region without vans, of an unknown region, or not
    /// promised inside this wave's window are returned as unassigned with the reason.
    public static func partition(_ orders: [Order], setup: WaveSetup) -> (byRegion: [RegionID: [Order]], unassigned: [UnassignedOrder]) {
        var known: [RegionID: Int] = [:]
        for r in setup.regions { known[r.regionID] = r.vans.count }
        var by: [RegionID: [Order]] = [:]
        var un: [UnassignedOrder] = []
        for o in orders {
            guard let vans = known[o.region] else { un.append(UnassignedOrder(order: o.id, region: o.region, reason: .unknownRegion)); continue }
            guard o.product == .dawn, o.promise.latest > setup.windowStart, o.promise.earliest < setup.windowEnd else {
                un.append(UnassignedOrder(order: o.id, region: o.region, reason: .notThisWave)); continue
            }
            guard vans > 0 else { un.append(UnassignedOrder(order: o.id, region: o.region, reason: .noFleetInRegion)); continue }
            by[o.region, default: []].append(o)
        }
        return (by, un)
    }

    /// Builds the region's instance and problem. O(kinds × slots × n²).
    public static func prepare(region fleet: WaveSetup.RegionFleet, orders: [Order], setup: WaveSetup,
                               times: PlanningTimes = .slowestSlot) throws(WavePlanError) -> RegionProblem {
        let firstHour = (setup.waves.min() ?? setup.windowStart).secondsOfLocalDay(setup.offset) / 3600
        let lastHour = (setup.windowEnd - setup.origin + 3599) / 3600
        let slots = TimeSlots(starts: (firstHour...max(firstHour, lastHour)).map { setup.origin + $0 * 3600 })
        let instance: DispatchInstance
        do {
            instance = try DispatchInstance.build(orders: orders, vehicles: fleet.vans, sites: setup.sites, origin: setup.origin,
                                                  shiftDay: setup.deliveryDay, offset: setup.offset, slots: slots,
                                                  serviceSeconds: serviceSeconds, model: setup.model)
        } catch { throw WavePlanError(item: "region \(fleet.regionID)", message: error.description) }
        let n = instance.nodes.count
        let firstOrder = instance.nodes.firstIndex { if case .order = $0.kind { return true } else { return false } } ?? n
        let rp = RegionProblem(region: fleet.regionID, orders: orders, fleet: fleet, setup: setup, instance: instance,
                               firstOrderNode: firstOrder, times: times, planningDurations: [], problem: nil)
        return rp.with(times)
    }

    /// Solves the region with `Routing.solve` and times the routes over the travel model.
    /// Runs on the caller's thread until `options.shouldStop()`; CPU-bound.
    public static func optimise(_ rp: RegionProblem, options: SolveOptions) -> RegionPlan {
        guard let problem = rp.problem else { return emptyPlan(rp) }
        let solution = Routing.solve(problem, options: options)
        var routes: [PlannedRoute] = []
        for (k, seq) in solution.routes.enumerated() {
            routes.append(simulate(rp, vehicle: solution.vehicleOfRoute[k], nodes: seq))
        }
        let unassigned = solution.unassigned.map { UnassignedOrder(order: rp.order(atNode: $0).id, region: rp.region, reason: .noFeasibleVan) }
        var plan = RegionPlan(region: rp.region, orders: rp.orders.count, routes: routes, unassigned: unassigned,
                              vansAvailable: rp.fleet.vans.count, iterations: solution.iterations, planningTimes: rp.times)
        plan.constructionMetres = Int64(solution.constructionDistance.rounded())
        return plan
    }

    /// `optimise`, then a check by simulation: if any stop would miss its promise or any van its
    /// shift end, the region is planned again on `.slowestSlot` (which cannot miss). `options` is
    /// called once per attempt (0, then 1), so the caller can give each attempt its own budget.
    public static func planVerified(_ rp: RegionProblem, options: (Int) -> SolveOptions) -> RegionPlan {
        let plan = optimise(rp, options: options(0))
        guard rp.times != .slowestSlot, !plan.keepsEveryPromise else { return plan }
        var safe = optimise(rp.with(.slowestSlot), options: options(1))
        safe.fellBack = true
        return safe
    }

    /// The comparison plan a dispatcher without optimisation would make: orders in arrival order
    /// (creation time, then id), each appended to the van whose current end (last stop, or the hub
    /// for an unused van) is nearest by road and that can still take it within capacity, promise
    /// and shift, judged over the real time-dependent travel times (a greedy dispatcher knows the
    /// clock). O(orders × vans log vans).
    public static func baseline(_ rp: RegionProblem) -> RegionPlan {
        guard let problem = rp.problem else { return emptyPlan(rp) }
        let inst = rp.instance
        let n = problem.nodeCount
        struct Van { var last: Int; var time: Int64; var load: SIMD4<Int64>; var stops: [Int] }
        var vans = inst.vehicles.indices.map { i in
            Van(last: inst.vehicles[i].startNode, time: max(inst.vehicles[i].shiftStart, rp.fleet.departures[i] - inst.origin), load: .zero, stops: [])
        }
        let order = (0..<rp.orders.count).sorted {
            let a = rp.orders[$0], b = rp.orders[$1]
            return a.createdAt != b.createdAt ? a.createdAt < b.createdAt : a.id < b.id
        }
        var unassigned: [UnassignedOrder] = []
        for oi in order {
            let node = rp.firstOrderNode + oi
            let job = inst.nodes[node]
            let candidates = vans.indices.sorted {
                let da = problem.distances[vans[$0].last * n + node], db = problem.distances[vans[$1].last * n + node]
                return da != db ? da < db : $0 < $1
            }
            var placed = false
            for v in candidates {
                let spec = inst.vehicles[v]
                let td = inst.durations[spec.kind]!
                let load = vans[v].load &+ job.demand
                guard !any(load .> spec.capacity) else { continue }
                let t = vans[v].time
                let arrival = t + td.duration(from: vans[v].last, to: node, departingAt: inst.origin + t)
                let start = max(arrival, job.ready)
                guard start <= job.due else { continue }
                let leave = start + job.service
                guard leave + td.duration(from: node, to: spec.endNode, departingAt: inst.origin + leave) <= spec.shiftEnd else { continue }
                vans[v].last = node; vans[v].time = leave; vans[v].load = load; vans[v].stops.append(node)
                placed = true
                break
            }
            if !placed { unassigned.append(UnassignedOrder(order: rp.orders[oi].id, region: rp.region, reason: .noFeasibleVan)) }
        }
        let routes = vans.indices.filter { !vans[$0].stops.isEmpty }.map { simulate(rp, vehicle: $0, nodes: vans[$0].stops) }
        return RegionPlan(region: rp.region, orders: rp.orders.count, routes: routes, unassigned: unassigned,
                          vansAvailable: rp.fleet.vans.count, iterations: 0, planningTimes: nil)
    }

    static func emptyPlan(_ rp: RegionProblem) -> RegionPlan {
        RegionPlan(region: rp.region, orders: rp.orders.count, routes: [],
                   unassigned: rp.orders.map { UnassignedOrder(order: $0.id, region: rp.region, reason: rp.fleet.vans.isEmpty ? .noFleetInRegion : .noFeasibleVan) },
                   vansAvailable: rp.fleet.vans.count, iterations: 0, planningTimes: rp.times)
    }

    /// Drives `nodes` with van `vehicle` over the time-dependent slot matrices of its kind: leave the
    /// hub at the van's departure, arrive, wait for the window if early, serve, go on; back to the hub.
    public static func simulate(_ rp: RegionProblem, vehicle v: Int, nodes: [Int]) -> PlannedRoute {
        let inst = rp.instance
        let spec = inst.vehicles[v]
        let van = rp.fleet.vans[v]
        let td = inst.durations[spec.kind]!
        let origin = inst.origin
        let depart = max(origin + spec.shiftStart, rp.fleet.departures[v])
        var t = depart
        var at = spec.startNode
        var metres: Int64 = 0
        var load = Capacity.zero
        var stops: [PlannedStop] = []
        for node in nodes {
            let leg = inst.distances[at, node]
            let arrival = t + td.duration(from: at, to: node, departingAt: t)
            let n = inst.nodes[node]
            let start = max(arrival, origin + n.ready)
            let o = rp.order(atNode: node)
            load = load + o.load
            stops.append(PlannedStop(order: o.id, location: o.destination, arrival: arrival, serviceStart: start,
                                     departure: start + n.service, windowStart: o.promise.earliest, windowEnd: o.promise.latest,
                                     parcels: o.parcels, legMetres: leg))
            metres += leg
            t = start + n.service
            at = node
        }
        metres += inst.distances[at, spec.endNode]
        let back = t + td.duration(from: at, to: spec.endNode, departingAt: t)
        let (ss, se) = van.shift.on(rp.setup.deliveryDay, rp.setup.offset)
        return PlannedRoute(vehicle: van.id, kind: van.kind, hub: van.home, hubLocation: inst.nodes[spec.startNode].location,
                            departure: depart, returnAt: back, shiftStart: ss, shiftEnd: se, stops: stops, metres: metres,
                            load: load, capacity: van.capacity, gramsCO2e: rp.setup.emissions.grams(van.kind, metres: metres))
    }
}
