import Fleet
import Foundation
import Geo

// City-scale dawn wave (`daybreak bench dawn-wave`): a fleet scaled to a requested size, a
// time budget split over regions, and an independent check of the finished plan. Pure.

extension WaveSetup {
    /// The same wave with `vans` dawn vans in total, spread over the regions in proportion to
    /// `orders[region]` (largest remainder; a region with orders gets at least one van, a region
    /// without orders none). Each region's vans are its own vans cycled in order: copy k ≥ 1 of
    /// van `X` is `X~k` with the same kind, capacity, hub and shift. Departures are re-spread
    /// round-robin over the first-trip waves (as `dawn` does). Regions keep their order.
    public func scaled(toVans vans: Int, orders: [RegionID: Int]) -> WaveSetup {
        let eligible = regions.filter { !$0.vans.isEmpty && (orders[$0.regionID] ?? 0) > 0 }
        let total = eligible.reduce(0) { $0 + (orders[$1.regionID] ?? 0) }
        var count: [RegionID: Int] = [:]
        if total > 0 && vans > 0 {
            let floorShare = eligible.map { r -> (RegionID, Int, Double) in
                let exact = Double(vans) * Double(orders[r.regionID] ?? 0) / Double(total)
                return (r.regionID, Int(exact), exact - Double(Int(exact)))
            }
            for (id, n, _) in floorShare { count[id] = n }
            var left = vans - floorShare.reduce(0) { $0 + $1.1 }
            for (id, _, _) in floorShare.sorted(by: { $0.2 != $1.2 ? $0.2 > $1.2 : $0.0 < $1.0 }) where left > 0 {
                count[id, default: 0] += 1; left -= 1
            }
            // At least one van wherever there are orders (taken from the largest share).
            for r in eligible where count[r.regionID] == 0 {
                if let donor = count.max(by: { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }), donor.value > 1 {
                    count[donor.key] = donor.value - 1; count[r.regionID] = 1
                }
            }
        }
        var out = self
        out.regions = regions.map { r in
            let n = count[r.regionID] ?? 0
            var vs: [Vehicle] = []
            vs.reserveCapacity(n)
            for i in 0..<n {
                var v = r.vans[i % r.vans.count]
                let copy = i / r.vans.count
                if copy > 0 { v.id = VehicleID(v.id.rawValue + "~\(copy)") }
                vs.append(v)
            }
            let departures = vs.indices.map { i in max(waves[i % waves.count], vs[i].shift.on(deliveryDay, offset).start) }
            return RegionFleet(regionID: r.regionID, vans: vs, departures: departures)
        }
        return out
    }
}

/// Splitting a total wall-clock budget over regions run on `cores` threads, largest first.
public enum WaveBudget {
    /// Seconds for a region of `orders` orders starting now, when `remaining` seconds are left
    /// before the deadline and `waiting` orders of regions not yet started still need a thread:
    /// the region's share of the time left on its thread, assuming the waiting regions are shared
    /// evenly over the `cores` threads (list scheduling, largest first). Never negative.
    public static func seconds(orders: Int, remaining: Double, waiting: Int, cores: Int) -> Double {
        guard remaining > 0, orders > 0 else { return 0 }
        let later = Double(waiting) / Double(max(1, cores))
        return remaining * Double(orders) / (Double(orders) + later)
    }
}

/// An independent check of a finished wave, not trusting the planner's own bookkeeping:
/// every order planned or unassigned exactly once, and every route re-driven over the travel
/// model (hub departure no earlier than its wave, arrival, promise window, service time, leg and
/// total metres, load within capacity, back before the shift ends).
public enum WaveCheck {
    /// Human-readable problems; empty when the plan is sound. O(stops × slots) plus a dictionary of orders.
    public static func problems(_ plan: WavePlan, orders: [Order], setup: WaveSetup, limit: Int = 20) -> [String] {
        var out: [String] = []
        func fail(_ s: String) { if out.count < limit { out.append(s) } }
        var byID: [OrderID: Order] = [:]
        byID.reserveCapacity(orders.count)
        for o in orders { byID[o.id] = o }
        var seen: [OrderID: Int] = [:]
        seen.reserveCapacity(orders.count)
        for r in plan.regions {
            for route in r.routes { for s in route.stops { seen[s.order, default: 0] += 1 } }
        }
        for u in plan.allUnassigned { seen[u.order, default: 0] += 1 }
        for (id, n) in seen where byID[id] == nil { fail("\(id) is in the plan \(n) times but was never ordered") }
        for o in orders where seen[o.id] != 1 { fail("order \(o.id) appears \(seen[o.id] ?? 0) times") }

        let model = setup.model
        let firstHour = (setup.waves.min() ?? setup.windowStart).secondsOfLocalDay(setup.offset) / 3600
        let lastHour = (setup.windowEnd - setup.origin + 3599) / 3600
        let slots = TimeSlots(starts: (firstHour...max(firstHour, lastHour)).map { setup.origin + $0 * 3600 })
        func seconds(_ a: Coordinate, _ b: Coordinate, _ kind: VehicleKind, _ t: Instant) -> Int64 {
            model.durationMatrices([a, b], kind: kind, slots: slots).duration(from: 0, to: 1, departingAt: t)
        }
        for r in plan.regions {
            guard let fleet = setup.regions.first(where: { $0.regionID == r.region }) else { fail("region \(r.region) is not in the setup"); continue }
            var vanIndex: [VehicleID: Int] = [:]
            for (i, v) in fleet.vans.enumerated() { vanIndex[v.id] = i }
            var used = Set<VehicleID>()
            for route in r.routes {
                guard let vi = vanIndex[route.vehicle] else { fail("\(route.vehicle) is not a van of \(r.region)"); continue }
                if !used.insert(route.vehicle).inserted { fail("\(route.vehicle) drives two routes") }
                let van = fleet.vans[vi]
                if route.departure < fleet.departures[vi] { fail("\(route.vehicle) leaves before its wave") }
                guard let hub = setup.sites[van.home] else { fail("\(route.vehicle): hub \(van.home) unknown"); continue }
                var t = route.departure, at = hub, metres: Int64 = 0, load = Capacity.zero
                for s in route.stops {
                    guard let o = byID[s.order] else { continue }
                    if o.region != r.region { fail("\(o.id) of \(o.region) planned in \(r.region)") }
                    let leg = model.distanceMetres(from: at, to: o.destination)
                    if s.legMetres != leg { fail("\(o.id): leg \(s.legMetres) m, recomputed \(leg) m") }
                    let arrival = t + seconds(at, o.destination, van.kind, t)
                    if s.arrival != arrival { fail("\(o.id): arrival \(s.arrival), recomputed \(arrival)") }
                    if s.serviceStart < arrival || s.serviceStart < o.promise.earliest { fail("\(o.id): served before arrival or window") }
                    if s.serviceStart > o.promise.latest { fail("\(o.id): served at \(s.serviceStart) after its promise \(o.promise.latest)") }
                    if s.departure != s.serviceStart + WavePlanner.serviceSeconds(o) { fail("\(o.id): service time") }
                    metres += leg; load = load + o.load; t = s.departure; at = o.destination
                }
                metres += model.distanceMetres(from: at, to: hub)
                let back = t + seconds(at, hub, van.kind, t)
                if route.metres != metres { fail("\(route.vehicle): \(route.metres) m, recomputed \(metres) m") }
                if route.returnAt != back { fail("\(route.vehicle): return \(route.returnAt), recomputed \(back)") }
                if back > van.shift.on(setup.deliveryDay, setup.offset).end { fail("\(route.vehicle) back after its shift ends") }
                if !van.capacity.fits(load) { fail("\(route.vehicle) carries \(load) over capacity \(van.capacity)") }
            }
        }
        return out
    }
}

extension WaveSetup.RegionFleet {
    /// Splits a large region into sectors of at most `maxOrders` orders, so that each routing
    /// problem's O(n²) matrices stay small (memory and build time) and construction finishes:
    /// orders sorted by bearing from the region's hub (the first van's home; ties by id) and cut
    /// into equal consecutive runs; the vans dealt round-robin over the sectors (so every sector
    /// gets each kind and departure wave), vans[j], vans[j + k], …, with their departures. A region
    /// of at most `maxOrders` orders, or with fewer vans than sectors would need, is one sector.
    /// Every order and every van is in exactly one sector; sectors keep the region's id.
    public func sectors(orders: [Order], maxOrders: Int, sites: [SiteID: Coordinate]) -> [(fleet: WaveSetup.RegionFleet, orders: [Order])] {
        let k = min(vans.count, (orders.count + max(1, maxOrders) - 1) / max(1, maxOrders))
        guard k > 1, let hub = vans.first.flatMap({ sites[$0.home] }) else { return [(self, orders)] }
        let sorted = orders.map { o -> (Double, Order) in
            (atan2(o.destination.lat - hub.lat, (o.destination.lon - hub.lon) * cos(hub.lat * .pi / 180)), o)
        }.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1.id < $1.1.id }.map(\.1)
        return (0..<k).map { j in
            let lo = sorted.count * j / k, hi = sorted.count * (j + 1) / k
            let idx = Array(stride(from: j, to: vans.count, by: k))
            return (WaveSetup.RegionFleet(regionID: regionID, vans: idx.map { vans[$0] }, departures: idx.map { departures[$0] }),
                    Array(sorted[lo..<hi]))
        }
    }
}

extension RegionPlan {
    /// One region's plan from the plans of its sectors: routes and unassigned orders joined,
    /// counts, iterations and construction metres summed, fell back if any sector did.
    public static func merged(_ parts: [RegionPlan]) -> RegionPlan {
        precondition(!parts.isEmpty && Set(parts.map(\.region)).count == 1, "sectors of one region")
        var p = RegionPlan(region: parts[0].region, orders: parts.reduce(0) { $0 + $1.orders }, routes: parts.flatMap(\.routes),
                           unassigned: parts.flatMap(\.unassigned), vansAvailable: parts.reduce(0) { $0 + $1.vansAvailable },
                           iterations: parts.reduce(0) { $0 + $1.iterations }, planningTimes: parts[0].planningTimes)
        p.fellBack = parts.contains { $0.fellBack }
        p.constructionMetres = parts.reduce(Int64(0)) { $0 + ($1.constructionMetres ?? 0) }
        return p
    }
}
