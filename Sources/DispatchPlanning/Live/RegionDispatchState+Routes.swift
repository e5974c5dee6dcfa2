import Fleet
import Geo

/// A stop of a courier's timed route.
struct TimedStop: Sendable, Hashable {
    var kind: ManifestStop.Kind
    var orders: [OrderID]
    var location: Coordinate
    var site: SiteID?
    var from: CourierRef?
    var arrival: Instant
    /// Service start (after waiting for `notBefore`).
    var start: Instant
    var departure: Instant
    var notBefore: Instant?
    var window: PromiseWindow?
}

/// A courier's route simulated over the travel model from its current position and time.
struct Schedule: Sendable {
    var stops: [TimedStop] = []
    var metres: Int64 = 0
    /// Delivery orders whose service starts after their promise's latest instant less the
    /// planning slack (`planningSlackSeconds`), ascending.
    var late: [OrderID] = []
    /// A trip over capacity in some dimension, or over a rider's orders per run.
    var overCapacity = false
    /// Back at base after the shift ends.
    var overShift = false
    /// Arrival back at base after the last stop (or the start time when there is nothing to do).
    var end: Instant
    /// Planned service start per delivered order.
    var eta: [OrderID: Instant] = [:]

    func isLate(_ o: OrderID) -> Bool { late.contains(o) }
}

extension RegionDispatchState {
    func courierConfig(_ c: CourierEntry) -> RegionDispatchConfig.Courier { config.couriers[c.index] }
    func siteLocation(_ s: SiteID) -> Coordinate { config.site(s)?.location ?? Coordinate(lat: 0, lon: 0) }
    func courierIndex(_ ref: CourierRef) -> Int? { couriers.firstIndex { $0.ref == ref } }

    /// Where the courier is (last report, or its home site) and from when it can move.
    func origin(of c: CourierEntry, now: Instant) -> (Coordinate, Instant) {
        let cfg = courierConfig(c)
        let p = c.position ?? siteLocation(cfg.home)
        return (p, max(now, c.positionAt ?? now, cfg.shiftStart))
    }

    /// When the order can be loaded: the pack time once packed, else the estimate (never before now).
    func readyTime(_ id: OrderID, now: Instant) -> Instant {
        guard let e = orders[id] else { return now }
        return e.packed ? e.ready : max(e.ready, now)
    }

    /// Daytime van deliveries are planned to start at least this long before the window ends:
    /// roads are slower than the model at times (a jam the dispatcher is not told of shows only in
    /// late positions), and a parcel already loaded can no longer be moved to another courier.
    /// Dawn (the night wave) and quick (riders, short trips) are planned to the window's end.
    func planningSlackSeconds(_ p: Product) -> Int64 {
        switch p {
        case .sameDay, .scheduled: return 20 * 60
        case .dawn, .quick, .bopis: return 0
        }
    }

    /// Delivery may not start before this: the window's start, except quick (sooner is better).
    func notBefore(_ o: Order) -> Instant? { o.product == .quick ? nil : o.promise.earliest }

    func homePoint(_ c: CourierEntry) -> LiveTravel.Point {
        let home = courierConfig(c).home
        return travel.sites[home] ?? travel.point(siteLocation(home))
    }

    func orderPoint(_ id: OrderID) -> LiveTravel.Point {
        guard let e = orders[id] else { return LiveTravel.Point(at: Coordinate(lat: 0, lon: 0), factor: 1) }
        return LiveTravel.Point(at: e.order.destination, factor: e.factor)
    }

    func originPoint(_ c: CourierEntry) -> LiveTravel.Point {
        c.position.map { travel.point($0) } ?? homePoint(c)
    }

    /// Simulates `trips` for courier `c` from its position at `now`. O(stops) travel-time
    /// evaluations; `detail: false` skips building the stops (metres, ETAs and flags only).
    func schedule(_ c: CourierEntry, trips: [Trip], now: Instant, detail: Bool = true) -> Schedule {
        WorkProbe.current?.schedules.add(1, ordering: .relaxed)
        let cfg = courierConfig(c)
        let home = homePoint(c)
        var at = originPoint(c)
        var t = origin(of: c, now: now).1
        var s = Schedule(end: t)
        func drive(to p: LiveTravel.Point) -> Instant {
            let m = travel.metres(at, p)
            s.metres += m
            var secs = travel.seconds(metres: m, cfg.kind, at: t)
            let f = observedSpeed.factor(at: t)
            if f != 1 { secs = Int64((Double(secs) * f).rounded()) }
            let arrival = t + secs
            at = p
            return arrival
        }
        var any = false
        let active = trips.filter { !$0.orders.isEmpty }
        for (n, trip) in active.enumerated() {
            any = true
            var load = Capacity.zero
            for id in trip.orders { if let o = orders[id]?.order { load = load + o.load } }
            if !cfg.capacity.fits(load) { s.overCapacity = true }
            if let m = cfg.maxOrdersPerRun, trip.orders.count > m { s.overCapacity = true }
            switch trip.start {
            case .onBoard: break
            case .site:
                let arrival = drive(to: home)
                var ready = arrival
                for id in trip.orders { ready = max(ready, readyTime(id, now: now)) }
                let begin = max(arrival, ready)
                t = begin + travel.config.loadingSeconds
                if detail {
                    s.stops.append(TimedStop(kind: .pickup, orders: trip.orders, location: home.at, site: cfg.home, from: nil, arrival: arrival,
                                             start: begin, departure: t, notBefore: ready, window: nil))
                }
            case .transfer(let from, let location):
                let arrival = drive(to: travel.point(location))
                t = arrival + travel.config.loadingSeconds
                if detail {
                    s.stops.append(TimedStop(kind: .pickup, orders: trip.orders, location: location, site: nil, from: from, arrival: arrival,
                                             start: arrival, departure: t, notBefore: nil, window: nil))
                }
            }
            for id in trip.orders {
                guard let e = orders[id] else { continue }
                let o = e.order
                let arrival = drive(to: LiveTravel.Point(at: o.destination, factor: e.factor))
                let nb = notBefore(o)
                let begin = max(arrival, nb ?? arrival)
                t = begin + travel.service(o)
                if begin > o.promise.latest - planningSlackSeconds(o.product) { s.late.append(id) }
                s.eta[id] = begin
                if detail {
                    s.stops.append(TimedStop(kind: .delivery, orders: [id], location: o.destination, site: nil, from: nil, arrival: arrival,
                                             start: begin, departure: t, notBefore: nb, window: o.promise))
                }
            }
            // A rescue (transfer) next: straight on to the broken-down courier, not via base.
            if n + 1 < active.count, case .transfer = active[n + 1].start { continue }
            let back = drive(to: home)
            t = back
            if detail {
                s.stops.append(TimedStop(kind: .returnToBase, orders: [], location: home.at, site: cfg.home, from: nil, arrival: back,
                                         start: back, departure: back, notBefore: nil, window: nil))
            }
        }
        if !any && !c.broken && (c.away || !c.failedOnBoard.isEmpty) {
            let back = drive(to: home)
            t = back
            if detail {
                s.stops.append(TimedStop(kind: .returnToBase, orders: c.failedOnBoard, location: home.at, site: cfg.home, from: nil, arrival: back,
                                         start: back, departure: back, notBefore: nil, window: nil))
            }
        }
        s.end = t
        if any && t > cfg.shiftEnd { s.overShift = true }
        s.late.sort()
        return s
    }

    /// Whether courier `i` may be given new work of this order's kind (home site, kind, status).
    func suitable(_ i: Int, for e: OrderEntry, now: Instant, ignoreLock: Bool = false) -> Bool {
        let c = couriers[i], cfg = config.couriers[i]
        guard !c.broken, !c.ended, ignoreLock || !c.locked, cfg.shiftEnd > now, cfg.home == e.site else { return false }
        switch e.order.product {
        case .quick: return cfg.kind.isRider
        case .dawn, .sameDay, .scheduled: return !cfg.kind.isRider
        case .bopis: return false
        }
    }

    /// Index of the first trip new orders may go into or before (after trips already loaded).
    func firstMovableTrip(_ trips: [Trip]) -> Int {
        var k = 0
        while k < trips.count, trips[k].start == .onBoard { k += 1 }
        return k
    }

    /// One way to put an order into a courier's trips: position `position` of trip `trip`, or a
    /// new trip at index `trip`.
    struct Candidate {
        var courier: Int
        var trip: Int
        var position: Int
        var newTrip: Bool
        /// Planned metres added (exact: metres do not depend on time).
        var delta: Int64
        /// Generation order, for deterministic ties.
        var rank: Int
    }

    func materialize(_ id: OrderID, _ cand: Candidate, into trips: [Trip]) -> [Trip] {
        var t = trips
        if cand.newTrip { t.insert(Trip(start: .site, orders: [id]), at: cand.trip) } else { t[cand.trip].orders.insert(id, at: cand.position) }
        return t
    }

    /// Every way to put `id` into courier `i`'s `trips`: each position of each trip loaded at the
    /// site, then a new trip at each place after the loaded ones; each with its metres delta, in
    /// O(1) per candidate from the route's geometry (legs are time-independent in metres).
    func candidates(_ id: OrderID, courier i: Int, trips: [Trip], rankFrom: Int = 0) -> [Candidate] {
        let c = couriers[i]
        let home = homePoint(c), o = orderPoint(id)
        var out: [Candidate] = []
        // The O(1) deltas assume every trip ends at base; a trip followed by a transfer does not.
        let exact = trips.allSatisfy { t in
            if case .transfer = t.start { return false }
            return !t.orders.isEmpty
        }
        func slowDelta(_ cand: Candidate) -> Int64 {
            let now = Instant(epochSeconds: 0)
            return schedule(c, trips: materialize(id, cand, into: trips), now: now, detail: false).metres
                - schedule(c, trips: trips, now: now, detail: false).metres
        }
        let m = travel.metres
        let ho = m(home, o), oh = m(o, home)
        for (k, trip) in trips.enumerated() where trip.start == .site {
            let dests = trip.orders.map(orderPoint)
            for p in 0...dests.count {
                let prev = p == 0 ? home : dests[p - 1], next = p == dests.count ? home : dests[p]
                var cand = Candidate(courier: i, trip: k, position: p, newTrip: false, delta: 0, rank: rankFrom + out.count)
                cand.delta = exact ? m(prev, o) + m(o, next) - m(prev, next) : slowDelta(cand)
                out.append(cand)
            }
        }
        let origin = originPoint(c)
        func startLeg(_ from: LiveTravel.Point, _ trip: Trip) -> Int64 {
            switch trip.start {
            case .site: return m(from, home)
            case .transfer(_, let loc): return m(from, travel.point(loc))
            case .onBoard: return 0
            }
        }
        for k in firstMovableTrip(trips)...trips.count {
            var cand = Candidate(courier: i, trip: k, position: 0, newTrip: true, delta: 0, rank: rankFrom + out.count)
            if !exact {
                cand.delta = slowDelta(cand)
            } else if trips.isEmpty {
                cand.delta = (c.away || !c.failedOnBoard.isEmpty ? 0 : m(origin, home)) + ho + oh
            } else {
                let before = k == 0 ? origin : home
                let old = k < trips.count ? startLeg(before, trips[k]) : 0
                cand.delta = m(before, home) + ho + oh + (k < trips.count ? startLeg(home, trips[k]) : 0) - old
            }
            out.append(cand)
        }
        return out
    }

    /// Every way to put `id` into `trips` (the candidates' routes; tests use it as the brute force).
    func insertionCandidates(_ id: OrderID, into trips: [Trip], courier i: Int) -> [[Trip]] {
        candidates(id, courier: i, trips: trips).map { materialize(id, $0, into: trips) }
    }

    /// Hard constraints of the optimised policy: capacity, shift, the new order on time and no
    /// order that was on time made late.
    func feasible(_ s: Schedule, newOrders: [OrderID], before: Schedule) -> Bool {
        guard !s.overCapacity, !s.overShift else { return false }
        for o in newOrders where s.isLate(o) { return false }
        for o in s.late where !newOrders.contains(o) && !before.isLate(o) { return false }
        return true
    }

    struct Insertion { var courier: Int; var trips: [Trip]; var delta: Int64; var eta: Instant }

    /// Cheapest feasible insertion of `id` over `candidates` (courier indices), every position.
    /// Candidates are ranked by their exact metres delta and simulated in that order until one is
    /// feasible, so the answer equals the brute force (ties: the courier listed first, then the
    /// earlier position). O(candidates log candidates + simulated × stops).
    func cheapestInsertion(_ id: OrderID, couriers list: [Int], now: Instant) -> Insertion? {
        var all: [Candidate] = []
        var before: [Int: Schedule] = [:]
        for (n, i) in list.enumerated() {
            all += candidates(id, courier: i, trips: couriers[i].trips, rankFrom: n * 1_000_000)
        }
        // Equal metres: the cleaner vehicle first (an idle e-bike and an idle motorbike at the same
        // store cost exactly the same metres), then the courier listed first.
        let grams = Dictionary(uniqueKeysWithValues: list.map { ($0, config.travel.emissions.gramsPerKm[config.couriers[$0].kind] ?? 0) })
        all.sort {
            $0.delta != $1.delta ? $0.delta < $1.delta
                : grams[$0.courier]! != grams[$1.courier]! ? grams[$0.courier]! < grams[$1.courier]! : $0.rank < $1.rank
        }
        for cand in all {
            let c = couriers[cand.courier]
            if before[cand.courier] == nil { before[cand.courier] = schedule(c, trips: c.trips, now: now, detail: false) }
            let trips = materialize(id, cand, into: c.trips)
            let s = schedule(c, trips: trips, now: now, detail: false)
            guard feasible(s, newOrders: [id], before: before[cand.courier]!) else { continue }
            return Insertion(courier: cand.courier, trips: trips, delta: s.metres - before[cand.courier]!.metres, eta: s.eta[id] ?? now)
        }
        return nil
    }

    /// The baseline's choice, what common dispatch tools do: the nearest available courier (great
    /// circle from where it is now) takes the order at the end of its route (into its last trip if
    /// that is not loaded yet and has room, else a new trip); first come, first served; lateness
    /// and overtime accepted. Available: the route it already has ends before its shift does
    /// (shift left) and the order fits a trip; when no courier has shift left, the nearest whose
    /// shift has not ended (`suitable`) still takes it. So an order is rejected only when no
    /// suitable courier is on shift any more (or it fits no trip). No insertion search, no
    /// re-optimisation.
    func nearestAppend(_ id: OrderID, couriers candidates: [Int], now: Instant) -> Insertion? {
        guard let o = orders[id]?.order else { return nil }
        let ranked = candidates.map { i -> (Int, Double) in
            (i, GreatCircle.distanceMetres(couriers[i].position ?? siteLocation(config.couriers[i].home), o.destination))
        }.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
        var overtime: Insertion?
        for (i, _) in ranked {
            let c = couriers[i]
            let before = schedule(c, trips: c.trips, now: now, detail: false)
            for trips in appendOptions(id, c.trips) {
                let s = schedule(c, trips: trips, now: now, detail: false)
                guard !s.overCapacity else { continue }
                let ins = Insertion(courier: i, trips: trips, delta: s.metres - before.metres, eta: s.eta[id] ?? now)
                if before.end < config.couriers[i].shiftEnd { return ins }
                if overtime == nil { overtime = ins }
                break
            }
        }
        return overtime
    }

    /// The baseline's ways to append `id`: to the last trip if not yet loaded, then a new trip.
    func appendOptions(_ id: OrderID, _ trips: [Trip]) -> [[Trip]] {
        var options: [[Trip]] = []
        if let last = trips.last, last.start == .site {
            var t = trips
            t[t.count - 1].orders.append(id)
            options.append(t)
        }
        options.append(trips + [Trip(start: .site, orders: [id])])
        return options
    }

    /// The policy's placement of a not-yet-loaded order among `candidates`.
    func place(_ id: OrderID, couriers candidates: [Int], now: Instant) -> Insertion? {
        switch config.policy {
        case .optimised: return cheapestInsertion(id, couriers: candidates, now: now)
        case .baseline: return nearestAppend(id, couriers: candidates, now: now)
        }
    }

    /// Couriers that may take `id` now, in config order.
    func candidates(for id: OrderID, now: Instant, excluding: Int? = nil) -> [Int] {
        guard let e = orders[id] else { return [] }
        return couriers.indices.filter { $0 != excluding && suitable($0, for: e, now: now) }
    }

    /// Total planned metres over every courier (a KPI and the re-optimisation objective).
    func plannedMetres(now: Instant) -> Int64 {
        couriers.reduce(0) { $0 + schedule($1, trips: $1.trips, now: now, detail: false).metres }
    }

    // MARK: - Manifests

    /// What `courier`'s handheld shows at `at`; nil for a courier of another region.
    public func manifest(of courier: CourierRef, at: Instant) -> Manifest? {
        guard let i = courierIndex(courier) else { return nil }
        let c = couriers[i]
        let s = schedule(c, trips: c.trips, now: at)
        let stops = s.stops.map {
            ManifestStop(kind: $0.kind, orders: $0.orders, location: $0.location, site: $0.site, fromCourier: $0.from, eta: $0.arrival,
                         notBefore: $0.notBefore, window: $0.window)
        }
        let status: Manifest.Status = c.broken ? .brokenDown : (!c.started ? .offShift : (stops.isEmpty ? .idle : .working))
        return Manifest(courier: courier, version: version, status: status, stops: stops, onBoard: onBoard(c))
    }

    /// Orders on board: loaded and not yet delivered, then failed parcels to hand back.
    func onBoard(_ c: CourierEntry) -> [OrderID] {
        c.trips.filter { $0.start == .onBoard }.flatMap(\.orders) + c.failedOnBoard
    }
}
