import Fleet
import Geo
import Routing

extension RegionDispatchState {
    /// When the dawn wave may be planned: the dawn cutoff on the evening before the service day.
    public var dawnCutoff: Instant? {
        config.products.dawn.map { Instant.local(config.serviceDay + (-1), $0.cutoff.seconds, config.offset) }
    }

    /// Dawn orders waiting for the wave, by arrival.
    func pendingDawn() -> [OrderEntry] {
        let waiting: Set<OrderState> = [.accepted, .allocated, .picking, .packed]
        return orders.values.filter { $0.order.product == .dawn && $0.courier == nil && !$0.held && waiting.contains($0.order.state) }
            .sorted { $0.seq < $1.seq }
    }

    /// Couriers a re-optimisation may change.
    func reoptimisable(now: Instant) -> [Int] {
        couriers.indices.filter { !couriers[$0].locked && !couriers[$0].broken && !couriers[$0].ended && config.couriers[$0].shiftEnd > now }
    }

    /// Jobs due at `at`: the dawn wave once the cutoff passed (until it is planned), and for the
    /// optimised policy a re-optimisation every `budgets.reoptimiseEverySeconds` when the plan changed.
    public func pendingWork(at: Instant) -> [DispatchWork] {
        var out: [DispatchWork] = []
        if let cutoff = dawnCutoff, !dawnWavePlanned, at >= cutoff { out.append(dawnWaveWork(at: at)) }
        if config.policy == .optimised, version != reoptimisedVersion,
           lastReoptimiseAt.map({ at >= $0 + config.budgets.reoptimiseEverySeconds }) ?? true,
           reoptimisable(now: at).contains(where: { couriers[$0].trips.contains { $0.start == .site && !$0.orders.isEmpty } }) {
            let snapshot = self, version = self.version, budget = config.budgets.reoptimiseIterations
            out.append(DispatchWork(kind: .reoptimise, region: config.region, basedOnVersion: version) { shouldStop in
                let routes = snapshot.improve(now: at, passes: budget, shouldStop: shouldStop)
                return DispatchWorkResult(kind: .reoptimise, basedOnVersion: version, routes: routes, unplaced: [], takenAt: at)
            })
        }
        return out
    }

    // MARK: - The dawn wave

    /// The wave's setup from the config: the hub, the dawn vans (van and EV van units at the hub
    /// whose shift overlaps the window), their departures spread over the first-trip waves.
    func dawnSetup() -> (WaveSetup, WaveSetup.RegionFleet)? {
        guard let dawn = config.products.dawn, let hub = config.hub, let hubSite = config.site(hub) else { return nil }
        let day = config.serviceDay, off = config.offset
        let origin = Instant.local(day, 0, off)
        let wStart = Instant.local(day, dawn.windowStart.seconds, off), wEnd = Instant.local(day, dawn.windowEnd.seconds, off)
        let all = dawn.waveDepartures(for: day, off)
        var waves = all.filter { wEnd - $0 >= WaveSetup.minimumFirstTripHours * 3600 }
        if waves.isEmpty { waves = all.isEmpty ? [wStart] : [all[0]] }
        var vans: [Vehicle] = [], departures: [Instant] = []
        for (i, c) in config.couriers.enumerated() where (c.kind == .van || c.kind == .evVan) && c.home == hub
            && c.shiftStart < wEnd && c.shiftEnd > wStart && !couriers[i].broken && !couriers[i].ended && !couriers[i].locked {
            guard let v = try? Vehicle(id: VehicleID(c.ref.id), kind: c.kind, capacity: c.capacity, home: hub,
                                       shift: ShiftPattern(start: TimeOfDay(seconds: c.shiftStart - origin), end: TimeOfDay(seconds: c.shiftEnd - origin)))
            else { continue }
            departures.append(max(waves[vans.count % waves.count], c.shiftStart))
            vans.append(v)
        }
        let fleet = WaveSetup.RegionFleet(regionID: config.region, vans: vans, departures: departures)
        let setup = WaveSetup(deliveryDay: day, offset: off, origin: origin, windowStart: wStart, windowEnd: wEnd, sites: [hub: hubSite.location],
                              regions: [fleet], model: travel.model, emissions: config.travel.emissions, waves: waves)
        return (setup, fleet)
    }

    func dawnWaveWork(at: Instant) -> DispatchWork {
        let pending = pendingDawn().map(\.order)
        let setup = dawnSetup(), policy = config.policy, version = self.version
        let iterations = config.budgets.dawnWaveIterations, seed = config.seed, threads = max(1, config.budgets.dawnWaveThreads ?? 1)
        return DispatchWork(kind: .dawnWave, region: config.region, basedOnVersion: version) { shouldStop in
            let ids = pending.map(\.id)
            guard let (setup, fleet) = setup, !pending.isEmpty, !fleet.vans.isEmpty,
                  let rp = try? WavePlanner.prepare(region: fleet, orders: pending, setup: setup, times: .standard) else {
                return DispatchWorkResult(kind: .dawnWave, basedOnVersion: version, routes: [], unplaced: ids, takenAt: at)
            }
            let plan: RegionPlan
            switch policy {
            case .optimised:
                plan = WavePlanner.planVerified(rp) { attempt in
                    var o = SolveOptions(seed: seed &+ UInt64(attempt), shouldStop: shouldStop, maxIterations: iterations)
                    o.threads = threads
                    return o
                }
            case .baseline:
                plan = WavePlanner.baseline(rp)
            }
            var trips: [VehicleID: [[OrderID]]] = [:]
            for r in plan.routes where !r.stops.isEmpty { trips[r.vehicle, default: []].append(r.stops.map(\.order)) }
            let routes = fleet.vans.compactMap { v in trips[v.id].map { CourierRoutePlan(courier: .vehicle(v.id), trips: $0) } }
            return DispatchWorkResult(kind: .dawnWave, basedOnVersion: version, routes: routes, unplaced: plan.unassigned.map(\.order), takenAt: at)
        }
    }

    mutating func workDone(_ r: DispatchWorkResult, _ step: inout Step) -> DispatchResponse {
        switch r.kind {
        case .dawnWave: return dawnWaveDone(r, &step)
        case .reoptimise: return reoptimiseDone(r, &step)
        }
    }

    func stale(_ m: String) -> DispatchResponse { refuse("work \(config.region)", .invalidState, "stale: \(m)") }

    mutating func dawnWaveDone(_ r: DispatchWorkResult, _ step: inout Step) -> DispatchResponse {
        guard !dawnWavePlanned else { return stale("the dawn wave is already planned") }
        let covered = r.routes.flatMap { $0.trips.flatMap { $0 } } + r.unplaced
        let pending = Set(pendingDawn().map(\.order.id))
        guard Set(covered).count == covered.count else { return stale("an order appears twice in the wave") }
        if let changed = covered.first(where: { !pending.contains($0) }) { return stale("order \(changed) changed since the wave was taken") }
        if let missing = pending.sorted().first(where: { !covered.contains($0) }) { return stale("order \(missing) is not in the wave") }
        for route in r.routes {
            guard let i = courierIndex(route.courier), !couriers[i].broken, !couriers[i].ended, !couriers[i].locked else {
                return stale("courier \(route.courier.id) cannot take a wave route")
            }
        }
        let now = clock ?? dawnCutoff ?? Instant(epochSeconds: 0)
        dawnWavePlanned = true
        version += 1
        step.accepted = true
        for route in r.routes {
            let i = courierIndex(route.courier)!
            couriers[i].trips += route.trips.filter { !$0.isEmpty }.map { Trip(start: .site, orders: $0) }
            for id in route.trips.flatMap({ $0 }) { orders[id]?.courier = route.courier }
        }
        for route in r.routes {
            let i = courierIndex(route.courier)!
            let s = schedule(couriers[i], trips: couriers[i].trips, now: now)
            for id in route.trips.flatMap({ $0 }) {
                syncAssign(id, at: now, &step)
                notify(id, .assigned(etaWindow(s.eta[id] ?? now)), at: now, &step)
            }
        }
        return .done
    }

    // MARK: - Re-optimisation

    /// Relocation of single orders (between and within routes), 2-opt within trips and exchange
    /// of two orders between couriers, over
    /// not-yet-loaded orders of unlocked couriers. For each order the moves are ranked by their
    /// exact metres change and simulated best first until one keeps every route feasible. Never
    /// makes an on-time order late; `passes` bounds the work, `shouldStop` is checked per order.
    /// Returns the changed couriers' site trips.
    func improve(now: Instant, passes: Int, shouldStop: () -> Bool) -> [CourierRoutePlan] {
        var s = self
        let eligible = reoptimisable(now: now)
        var sched: [Int: Schedule] = [:]
        for i in eligible { sched[i] = s.schedule(s.couriers[i], trips: s.couriers[i].trips, now: now, detail: false) }
        var changed = Set<Int>()
        let m = travel.metres
        search: for _ in 0..<max(0, passes) {
            var improved = false
            for a in eligible {
                for id in s.couriers[a].trips.filter({ $0.start == .site }).flatMap(\.orders) {
                    if shouldStop() { break search }
                    guard let e = s.orders[id] else { continue }
                    var without = s.couriers[a].trips
                    for k in without.indices where without[k].start == .site { without[k].orders.removeAll { $0 == id } }
                    without.removeAll { $0.start == .site && $0.orders.isEmpty }
                    let sa = s.schedule(s.couriers[a], trips: without, now: now, detail: false)
                    guard s.feasible(sa, newOrders: [], before: sched[a]!) else { continue }
                    let removalGain = sched[a]!.metres - sa.metres
                    var cands: [(Candidate, [Trip])] = []
                    for b in eligible where s.suitable(b, for: e, now: now) {
                        let base = b == a ? without : s.couriers[b].trips
                        for c in s.candidates(id, courier: b, trips: base, rankFrom: b * 1_000_000) where removalGain - c.delta > 0 {
                            cands.append((c, base))
                        }
                    }
                    cands.sort { $0.0.delta != $1.0.delta ? $0.0.delta < $1.0.delta : $0.0.rank < $1.0.rank }
                    for (c, base) in cands {
                        let b = c.courier
                        let trips = s.materialize(id, c, into: base)
                        let sb = s.schedule(s.couriers[b], trips: trips, now: now, detail: false)
                        if b == a {
                            guard s.feasible(sb, newOrders: [], before: sched[a]!), sb.metres < sched[a]!.metres else { continue }
                        } else {
                            guard s.feasible(sb, newOrders: sched[a]!.isLate(id) ? [] : [id], before: sched[b]!),
                                  sa.metres + sb.metres < sched[a]!.metres + sched[b]!.metres else { continue }
                            s.couriers[a].trips = without
                            sched[a] = sa
                            s.orders[id]?.courier = s.couriers[b].ref
                        }
                        s.couriers[b].trips = trips
                        sched[b] = sb
                        changed.insert(a); changed.insert(b)
                        improved = true
                        break
                    }
                }
                // 2-opt inside each trip loaded at the site: reverse a stretch when it shortens the
                // trip (exact metres from the geometry; simulated only then).
                let home = s.homePoint(s.couriers[a])
                for k in s.couriers[a].trips.indices where s.couriers[a].trips[k].start == .site && s.couriers[a].trips[k].orders.count >= 3 {
                    if shouldStop() { break search }
                    let n = s.couriers[a].trips[k].orders.count
                    var d = s.couriers[a].trips[k].orders.map(s.orderPoint)
                    for x in 0..<(n - 1) {
                        for y in (x + 1)..<n {
                            let prev = x == 0 ? home : d[x - 1], next = y == n - 1 ? home : d[y + 1]
                            guard m(prev, d[y]) + m(d[x], next) < m(prev, d[x]) + m(d[y], next) else { continue }
                            var trips = s.couriers[a].trips
                            trips[k].orders[x...y].reverse()
                            let sn = s.schedule(s.couriers[a], trips: trips, now: now, detail: false)
                            if sn.metres < sched[a]!.metres, s.feasible(sn, newOrders: [], before: sched[a]!) {
                                s.couriers[a].trips = trips; sched[a] = sn; changed.insert(a); improved = true
                                d = trips[k].orders.map(s.orderPoint)
                            }
                        }
                    }
                }
            }
            // Exchange: two orders of different couriers swap places when the exact metres go
            // down; simulated only then, kept only if both routes stay feasible.
            var slots: [(courier: Int, trip: Int, pos: Int)] = []
            for a in eligible {
                for (k, t) in s.couriers[a].trips.enumerated() where t.start == .site {
                    for p in t.orders.indices { slots.append((a, k, p)) }
                }
            }
            for x in slots.indices {
                if shouldStop() { break search }
                for y in (x + 1)..<slots.count where slots[x].courier != slots[y].courier {
                    let (a, ka, pa) = slots[x], (b, kb, pb) = slots[y]
                    let id1 = s.couriers[a].trips[ka].orders[pa], id2 = s.couriers[b].trips[kb].orders[pb]
                    guard let e1 = s.orders[id1], let e2 = s.orders[id2], s.suitable(b, for: e1, now: now), s.suitable(a, for: e2, now: now) else { continue }
                    let gainA = Self.swapDelta(s, a, ka, pa, out: id1, in: id2, metres: m)
                    let gainB = Self.swapDelta(s, b, kb, pb, out: id2, in: id1, metres: m)
                    guard gainA + gainB < 0 else { continue }
                    var ta = s.couriers[a].trips, tb = s.couriers[b].trips
                    ta[ka].orders[pa] = id2
                    tb[kb].orders[pb] = id1
                    let sa = s.schedule(s.couriers[a], trips: ta, now: now, detail: false)
                    let sb = s.schedule(s.couriers[b], trips: tb, now: now, detail: false)
                    guard sa.metres + sb.metres < sched[a]!.metres + sched[b]!.metres,
                          s.feasible(sa, newOrders: sched[b]!.isLate(id2) ? [] : [id2], before: sched[a]!),
                          s.feasible(sb, newOrders: sched[a]!.isLate(id1) ? [] : [id1], before: sched[b]!) else { continue }
                    s.couriers[a].trips = ta; s.couriers[b].trips = tb
                    sched[a] = sa; sched[b] = sb
                    s.orders[id1]?.courier = s.couriers[b].ref
                    s.orders[id2]?.courier = s.couriers[a].ref
                    changed.insert(a); changed.insert(b)
                    improved = true
                }
            }
            if !improved { break }
        }
        return changed.sorted().map { i in
            CourierRoutePlan(courier: s.couriers[i].ref, trips: s.couriers[i].trips.filter { $0.start == .site }.map(\.orders))
        }
    }

    /// Metres added when `out` at position `p` of courier `c`'s trip `k` is replaced by `new`. O(1).
    static func swapDelta(_ s: RegionDispatchState, _ c: Int, _ k: Int, _ p: Int, out: OrderID, in new: OrderID,
                          metres m: (LiveTravel.Point, LiveTravel.Point) -> Int64) -> Int64 {
        let trip = s.couriers[c].trips[k].orders, home = s.homePoint(s.couriers[c])
        let prev = p == 0 ? home : s.orderPoint(trip[p - 1]), next = p == trip.count - 1 ? home : s.orderPoint(trip[p + 1])
        let o = s.orderPoint(out), n = s.orderPoint(new)
        return m(prev, n) + m(n, next) - m(prev, o) - m(o, next)
    }

    mutating func reoptimiseDone(_ r: DispatchWorkResult, _ step: inout Step) -> DispatchResponse {
        guard r.basedOnVersion == version else { return stale("the plan moved on (version \(version), job from \(r.basedOnVersion))") }
        let now = r.takenAt ?? clock ?? Instant(epochSeconds: 0)
        var idx: [Int] = []
        for route in r.routes {
            guard let i = courierIndex(route.courier), reoptimisable(now: now).contains(i), !idx.contains(i) else {
                return stale("courier \(route.courier.id) may not be re-planned")
            }
            idx.append(i)
        }
        let beforeOrders = idx.flatMap { couriers[$0].trips.filter { $0.start == .site }.flatMap(\.orders) }.sorted()
        let afterOrders = r.routes.flatMap { $0.trips.flatMap { $0 } }.sorted()
        guard beforeOrders == afterOrders else { return stale("the routes do not hold the same orders") }
        var trial = self
        var beforeM: Int64 = 0, afterM: Int64 = 0
        var lateBefore = Set<OrderID>(), lateAfter = Set<OrderID>()
        var overAfter = false
        for (n, i) in idx.enumerated() {
            let sb = schedule(couriers[i], trips: couriers[i].trips, now: now)
            beforeM += sb.metres; lateBefore.formUnion(sb.late)
            let kept = couriers[i].trips.filter { $0.start != .site }
            trial.couriers[i].trips = kept + r.routes[n].trips.filter { !$0.isEmpty }.map { Trip(start: .site, orders: $0) }
            for id in r.routes[n].trips.flatMap({ $0 }) { trial.orders[id]?.courier = couriers[i].ref }
        }
        for i in idx {
            let sa = trial.schedule(trial.couriers[i], trips: trial.couriers[i].trips, now: now)
            afterM += sa.metres; lateAfter.formUnion(sa.late)
            if sa.overCapacity || sa.overShift { overAfter = true }
            for id in trial.couriers[i].trips.flatMap(\.orders) where !suitableKeep(i, id) { overAfter = true }
        }
        lastReoptimiseAt = now
        reoptimisedVersion = version
        step.accepted = true
        guard !overAfter, lateAfter.isSubset(of: lateBefore), afterM < beforeM else { return .done }
        let moved = afterOrders.filter { trial.orders[$0]?.courier != orders[$0]?.courier }
        couriers = trial.couriers
        orders = trial.orders
        version += 1
        reoptimisedVersion = version
        for id in moved { syncAssign(id, at: now, &step) }
        refresh(now: now, &step)
        return .done
    }

    /// Whether courier `i` may carry order `id` (home site and kind).
    func suitableKeep(_ i: Int, _ id: OrderID) -> Bool {
        guard let e = orders[id] else { return false }
        let cfg = config.couriers[i]
        if couriers[i].trips.contains(where: { $0.start != .site && $0.orders.contains(id) }) { return true }
        return cfg.home == e.site && (e.order.product == .quick) == cfg.kind.isRider
    }
}
