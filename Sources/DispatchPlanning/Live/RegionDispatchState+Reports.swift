import Fleet
import Geo

extension RegionDispatchState {
    /// A handheld's report. Validated (courier of this region, orders on its manifest); the reply
    /// is the courier's manifest after the change.
    mutating func report(_ r: HandheldReport, _ step: inout Step) -> DispatchResponse {
        let ref = r.courier, at = r.at
        guard let i = courierIndex(ref) else {
            return refuse("courier \(ref.id)", .unknownCourier, "\(ref.id) is not a courier of region \(config.region)")
        }
        let home = siteLocation(config.couriers[i].home)
        func onBoardTrip() -> [OrderID] { couriers[i].trips.first { $0.start == .onBoard }?.orders ?? [] }
        func notOnBoard(_ id: OrderID) -> DispatchResponse {
            refuse("order \(id)", orders[id] == nil ? .unknownOrder : .invalidState, "order \(id) is not on board courier \(ref.id)")
        }
        // Observed speed (optimised policy): a position or an arrival ends a stretch of driving.
        if config.policy == .optimised {
            switch r {
            case .position(_, let p, _): learnSpeed(i, reached: p, at: at)
            case .arrived(_, let kind, let ids, _): if let p = arrivalLocation(i, kind, ids) { learnSpeed(i, reached: p, at: at) }
            default: break
            }
        }
        switch r {
        case .shiftStarted(_, _, let p):
            couriers[i].started = true; couriers[i].ended = false
            couriers[i].position = p; couriers[i].positionAt = at
            step.accepted = true
        case .position(_, let p, _):
            // A late position (older than what is known, e.g. replayed after a newer one) never
            // moves the courier back.
            if let known = couriers[i].positionAt, at < known {} else { couriers[i].position = p; couriers[i].positionAt = at }
            step.accepted = true
            repairLate(now: at, only: i, &step)
        case .arrived(_, let kind, let ids, _):
            if kind == .delivery {
                for id in ids where !onBoardTrip().contains(id) { return notOnBoard(id) }
                for id in ids {
                    if orders[id]?.order.state == .outForDelivery { life(id, .arrive, at: at, &step) }
                    if let d = orders[id]?.order.destination { couriers[i].position = d }
                }
            } else {
                couriers[i].position = kind == .pickup ? (positionOfPickup(i, ids) ?? home) : home
            }
            couriers[i].positionAt = at
            step.accepted = true
        case .pickedUp(_, let ids, _):
            guard !ids.isEmpty else { return refuse("courier \(ref.id)", .invalidState, "a pickup needs at least one order") }
            guard !couriers[i].broken else { return refuse("courier \(ref.id)", .infeasible, "courier \(ref.id) has broken down: it cannot load") }
            var transferLocation: Coordinate?
            for id in ids {
                guard orders[id] != nil else { return refuse("order \(id)", .unknownOrder, "region \(config.region) does not know order \(id)") }
                guard let k = couriers[i].trips.firstIndex(where: { $0.start != .onBoard && $0.orders.contains(id) }) else {
                    return refuse("order \(id)", .invalidState, "order \(id) is not waiting to be loaded on courier \(ref.id)'s manifest")
                }
                if case .transfer(_, let loc) = couriers[i].trips[k].start { transferLocation = loc }
            }
            var loaded = onBoardTrip()
            for k in couriers[i].trips.indices where couriers[i].trips[k].start != .onBoard {
                let picked = couriers[i].trips[k].orders.filter { ids.contains($0) }
                loaded += picked
                couriers[i].trips[k].orders.removeAll { ids.contains($0) }
            }
            couriers[i].trips.removeAll { $0.start == .onBoard || $0.orders.isEmpty }
            couriers[i].trips.insert(Trip(start: .onBoard, orders: loaded), at: 0)
            for id in ids where orders[id]?.order.state != .outForDelivery {
                ensurePacked(id, at: at, &step)
                syncAssign(id, at: at, &step)
                if allows(id, .dispatch) { life(id, .dispatch, at: at, &step) }
            }
            couriers[i].position = transferLocation ?? home
            couriers[i].positionAt = at
            couriers[i].away = true
            couriers[i].started = true
            version += 1
            step.accepted = true
        case .delivered(_, let id, let proof, _):
            guard onBoardTrip().contains(id) else { return notOnBoard(id) }
            if orders[id]?.order.state == .outForDelivery { life(id, .arrive, at: at, &step) }
            life(id, .deliver(proof), at: at, &step)
            takeOffBoard(i, id)
            couriers[i].position = orders[id]?.order.destination
            couriers[i].positionAt = at
            notify(id, .delivered, at: at, &step)
        case .failed(_, let id, let reason, _):
            guard onBoardTrip().contains(id) else { return notOnBoard(id) }
            life(id, .fail(reason), at: at, &step)
            takeOffBoard(i, id)
            couriers[i].failedOnBoard.append(id)
            couriers[i].position = orders[id]?.order.destination
            couriers[i].positionAt = at
            notify(id, .failed(reason), at: at, &step)
        case .returned:
            for id in couriers[i].failedOnBoard {
                guard let e = orders[id] else { continue }
                if allows(id, .returnItems) { life(id, .returnItems, at: at, &step) }
                store(e.site, .restock(id, e.order.lines), &step)
            }
            couriers[i].failedOnBoard = []
            couriers[i].away = false
            couriers[i].position = home
            couriers[i].positionAt = at
            step.accepted = true
        case .breakdown(_, let p, _):
            couriers[i].position = p; couriers[i].positionAt = at
            couriers[i].broken = true
            step.accepted = true
            rehome(i, at: at, breakdownAt: p, &step)
        case .shiftEnded:
            couriers[i].ended = true; couriers[i].started = false
            couriers[i].positionAt = at
            step.accepted = true
            rehome(i, at: at, breakdownAt: nil, &step)
        }
        // A position, an arrival, a delivery or a failure changes this courier's schedule alone.
        switch r {
        case .position, .arrived, .delivered, .failed: refresh(now: at, only: i, &step)
        default: refresh(now: at, &step)
        }
        let m = manifest(of: ref, at: at)!
        if config.policy == .optimised { setLeg(i, after: r, next: m.stops.first?.location) }
        return .manifest(m)
    }

    /// Where a transfer pickup of `ids` happens, if the courier has one.
    func positionOfPickup(_ i: Int, _ ids: [OrderID]) -> Coordinate? {
        for t in couriers[i].trips { if case .transfer(_, let loc) = t.start, t.orders.contains(where: ids.contains) { return loc } }
        return nil
    }

    mutating func takeOffBoard(_ i: Int, _ id: OrderID) {
        for k in couriers[i].trips.indices where couriers[i].trips[k].start == .onBoard { couriers[i].trips[k].orders.removeAll { $0 == id } }
        couriers[i].trips.removeAll { $0.start == .onBoard && $0.orders.isEmpty }
        version += 1
    }

    /// Courier `i` can no longer drive (breakdown) or works no more (shift ended): its orders not
    /// yet loaded go to other couriers (or the unplanned pool); after a breakdown, the parcels on
    /// board (and transfers it was to collect) become a transfer pickup on the best other courier.
    mutating func rehome(_ i: Int, at: Instant, breakdownAt: Coordinate?, _ step: inout Step) {
        let loadable = couriers[i].trips.filter { $0.start == .site }.flatMap(\.orders)
        var carried: [Trip] = [], keep: [Trip] = []
        for t in couriers[i].trips {
            switch t.start {
            case .site: break
            case .onBoard:
                if let p = breakdownAt {
                    if !t.orders.isEmpty { carried.append(Trip(start: .transfer(from: couriers[i].ref, location: p), orders: t.orders)) }
                } else { keep.append(t) }
            case .transfer: carried.append(t)
            }
        }
        couriers[i].trips = keep
        version += 1
        for id in loadable.sorted(by: { (orders[$0]?.seq ?? 0) < (orders[$1]?.seq ?? 0) }) {
            orders[id]?.courier = nil
            if let ins = place(id, couriers: candidates(for: id, now: at, excluding: i), now: at) {
                commit(id, ins, at: at, &step, notifyAssigned: false)
            } else {
                unplan(id, at: at, &step)
            }
        }
        for trip in carried {
            let plan = splitTransfer(trip, excluding: i, now: at)
            for (k, trips) in plan.routes {
                couriers[k].trips = trips
                for t in trips { if t.start == trip.start { for id in t.orders { orders[id]?.courier = couriers[k].ref } } }
                version += 1
                step.accepted = true
            }
            // Nobody on shift can collect these: they fail (Fleet has no breakdown reason; the
            // door could not be reached) and go back to the site with the towed van at once, so
            // no parcel is ever stranded `outForDelivery` on a broken courier.
            for id in plan.stranded { strand(id, at: at, &step) }
        }
    }

    /// A parcel on a broken-down courier that nobody can take over: failed, returned, restocked,
    /// the customer told.
    mutating func strand(_ id: OrderID, at: Instant, _ step: inout Step) {
        guard let e = orders[id] else { return }
        if allows(id, .fail) {
            life(id, .fail(.accessDenied), at: at, &step)
            notify(id, .failed(.accessDenied), at: at, &step)
        }
        if allows(id, .returnItems) { life(id, .returnItems, at: at, &step) }
        store(e.site, .restock(id, e.order.lines), &step)
        step.accepted = true
    }

    /// Whether courier `k` may rescue parcels of broken-down courier `broken` at `now`: on shift
    /// now (started by the clock, not ended, not broken, not locked), same home site, same kind
    /// family (van-like or rider). Idle couriers at the hub count: they drive out.
    func canRescue(_ k: Int, from broken: Int, now: Instant) -> Bool {
        let c = couriers[k], cfg = config.couriers[k], b = config.couriers[broken]
        return k != broken && !c.broken && !c.ended && !c.locked && cfg.home == b.home && cfg.kind.isRider == b.kind.isRider
            && cfg.shiftStart <= now && cfg.shiftEnd > now
    }

    /// How a transfer trip is shared out: per rescuing courier its new trips, and the parcels
    /// nobody can take.
    struct TransferPlan { var routes: [(Int, [Trip])] = []; var stranded: [OrderID] = [] }

    /// Splits a transfer (parcels to collect from a broken-down courier at one place) over the
    /// couriers that can rescue them. Greedy, parcel by parcel in the broken courier's delivery
    /// order: each parcel goes where it adds (1) the fewest late orders (itself, and orders of
    /// the rescuer that were on time), then (2) the fewest metres, among: every rescuer's own
    /// transfer trip (the best few positions by exact metres) or a new transfer trip at every
    /// place after the rescuer's loaded parcels. Capacity is hard; overtime (back after the shift
    /// ends) is allowed only when no rescuer can take the parcel within its shift (ranked before
    /// lateness). A parcel no rescuer on shift has room for is stranded. So the nearest courier collects as
    /// many as it can deliver in time, and the rest go to others, each picking its subset up at
    /// the breakdown point. O(parcels × rescuers × (positions tried) × route length).
    func splitTransfer(_ trip: Trip, excluding broken: Int, now: Instant) -> TransferPlan {
        guard case .transfer(_, let loc) = trip.start else { return TransferPlan(routes: [], stranded: trip.orders) }
        let rescuers = couriers.indices.filter { canRescue($0, from: broken, now: now) }
        var trips: [Int: [Trip]] = [:]
        var rescueTrip: [Int: Int] = [:]
        var base: [Int: Schedule] = [:]
        var current: [Int: Schedule] = [:]
        var out = TransferPlan()
        let m = travel.metres, pickup = travel.point(loc)
        for k in rescuers {
            trips[k] = couriers[k].trips
            base[k] = schedule(couriers[k], trips: couriers[k].trips, now: now, detail: false)
            current[k] = base[k]
        }
        for id in trip.orders {
            guard orders[id] != nil else { continue }
            var best: (k: Int, trips: [Trip], overtime: Int, late: Int, metres: Int64, s: Schedule, newTrip: Int?)?
            for k in rescuers {
                let c = couriers[k], ts = trips[k]!, cur = current[k]!
                var options: [([Trip], Int?)] = []
                if let r = rescueTrip[k] {
                    let o = orderPoint(id)
                    let dests = ts[r].orders.map(orderPoint)
                    var pos: [(Int, Int64)] = []
                    for p in 0...dests.count {
                        let prev = p == 0 ? pickup : dests[p - 1], next = p == dests.count ? homePoint(c) : dests[p]
                        pos.append((p, m(prev, o) + m(o, next) - m(prev, next)))
                    }
                    pos.sort { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
                    for (p, _) in pos.prefix(6) {
                        var t = ts
                        t[r].orders.insert(id, at: p)
                        options.append((t, nil))
                    }
                } else {
                    for p in firstMovableTrip(ts)...ts.count {
                        var t = ts
                        t.insert(Trip(start: trip.start, orders: [id]), at: p)
                        options.append((t, p))
                    }
                }
                for (t, newTrip) in options {
                    let s = schedule(c, trips: t, now: now, detail: false)
                    guard !s.overCapacity else { continue }
                    // Overtime only when nothing else is possible: a rescue past the shift's end
                    // beats failing a parcel that is already on the road.
                    let overtime = s.overShift && !base[k]!.overShift ? 1 : 0
                    // Lateness added: this parcel if late, plus any order that was on time before.
                    var late = 0
                    for o in s.late where o == id || !cur.isLate(o) { late += 1 }
                    let metres = s.metres - cur.metres
                    if best == nil || (overtime, late, metres) < (best!.overtime, best!.late, best!.metres) {
                        best = (k, t, overtime, late, metres, s, newTrip)
                    }
                }
            }
            guard let b = best else { out.stranded.append(id); continue }
            trips[b.k] = b.trips
            current[b.k] = b.s
            if let p = b.newTrip { rescueTrip[b.k] = p }
        }
        for k in rescuers where rescueTrip[k] != nil { out.routes.append((k, trips[k]!)) }
        return out
    }
}
