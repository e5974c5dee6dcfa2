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
    /// The planning duration matrix: per arc, the maximum over the departure slots of the dawn
    /// window and over the van kinds present. The routing model in use takes one matrix; planning
    /// on the slot-wise maximum keeps every plan feasible under the time-dependent model (arrival
    /// times are FIFO, so travelling faster never makes a later stop late). ETAs are then simulated
    /// over the real slot matrices.
    public var planningDurations: [Int64]
    /// nil when there is nothing to plan (no orders or no vans).
    public var problem: Problem?

    func order(atNode n: Int) -> Order { orders[n - firstOrderNode] }
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
    public static func prepare(region fleet: WaveSetup.RegionFleet, orders: [Order], setup: WaveSetup) throws(WavePlanError) -> RegionProblem {
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
        var planning = [Int64](repeating: 0, count: n * n)
        for td in instance.durations.values { for m in td.matrices {
            m.values.withUnsafeBufferPointer { src in
                for i in 0..<(n * n) where src[i] > planning[i] { planning[i] = src[i] }
            }
        } }
        var rp = RegionProblem(region: fleet.regionID, orders: orders, fleet: fleet, setup: setup, instance: instance,
                               firstOrderNode: firstOrder, planningDurations: planning, problem: nil)
        guard !orders.isEmpty, !fleet.vans.isEmpty else { return rp }
        let nodes = instance.nodes.map { node -> Problem.Node in
            switch node.kind {
            case .depot: return Problem.Node(kind: .depot, ready: 0, due: node.due)
            case .order: return Problem.Node(kind: .delivery, ready: node.ready, due: node.due, service: node.service, demand: node.demand)
            }
        }
        let vehicles = instance.vehicles.enumerated().map { i, v in
            Problem.Vehicle(start: v.startNode, end: v.endNode, capacity: v.capacity,
                            shiftStart: max(v.shiftStart, fleet.departures[i] - setup.origin), shiftEnd: v.shiftEnd)
        }
        do { rp.problem = try Problem(nodes: nodes, vehicles: vehicles, distances: instance.distances.values, durations: planning) }
        catch { throw WavePlanError(item: "region \(fleet.regionID)", message: error.description) }
        return rp
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
        return RegionPlan(region: rp.region, orders: rp.orders.count, routes: routes, unassigned: unassigned,
                          vansAvailable: rp.fleet.vans.count, iterations: solution.iterations)
    }

    /// The comparison plan a dispatcher without optimisation would make: orders in arrival order
    /// (creation time, then id), each appended to the van whose current end (last stop, or the hub
    /// for an unused van) is nearest by road and that can still take it within capacity, window
    /// and shift under the same planning matrix as the optimiser. O(orders × vans log vans).
    public static func baseline(_ rp: RegionProblem) -> RegionPlan {
        guard let problem = rp.problem else { return emptyPlan(rp) }
        let n = problem.nodeCount
        struct Van { var last: Int; var time: Int64; var load: SIMD4<Int64>; var stops: [Int] }
        var vans = problem.vehicles.map { Van(last: $0.start, time: $0.shiftStart, load: .zero, stops: []) }
        let order = (0..<rp.orders.count).sorted {
            let a = rp.orders[$0], b = rp.orders[$1]
            return a.createdAt != b.createdAt ? a.createdAt < b.createdAt : a.id < b.id
        }
        var unassigned: [UnassignedOrder] = []
        for oi in order {
            let node = rp.firstOrderNode + oi
            let job = problem.nodes[node]
            let candidates = vans.indices.sorted {
                let da = problem.distances[vans[$0].last * n + node], db = problem.distances[vans[$1].last * n + node]
                return da != db ? da < db : $0 < $1
            }
            var placed = false
            for v in candidates {
                let spec = problem.vehicles[v]
                let load = vans[v].load &+ job.demand
                guard !any(load .> spec.capacity) else { continue }
                let arrival = vans[v].time + rp.planningDurations[vans[v].last * n + node]
                let start = max(arrival, job.ready)
                guard start <= job.due else { continue }
                let leave = start + job.service
                guard leave + rp.planningDurations[node * n + spec.end] <= spec.shiftEnd else { continue }
                vans[v].last = node; vans[v].time = leave; vans[v].load = load; vans[v].stops.append(node)
                placed = true
                break
            }
            if !placed { unassigned.append(UnassignedOrder(order: rp.orders[oi].id, region: rp.region, reason: .noFeasibleVan)) }
        }
        let routes = vans.indices.filter { !vans[$0].stops.isEmpty }.map { simulate(rp, vehicle: $0, nodes: vans[$0].stops) }
        return RegionPlan(region: rp.region, orders: rp.orders.count, routes: routes, unassigned: unassigned,
                          vansAvailable: rp.fleet.vans.count, iterations: 0)
    }

    static func emptyPlan(_ rp: RegionProblem) -> RegionPlan {
        RegionPlan(region: rp.region, orders: rp.orders.count, routes: [],
                   unassigned: rp.orders.map { UnassignedOrder(order: $0.id, region: rp.region, reason: rp.fleet.vans.isEmpty ? .noFleetInRegion : .noFeasibleVan) },
                   vansAvailable: rp.fleet.vans.count, iterations: 0)
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
