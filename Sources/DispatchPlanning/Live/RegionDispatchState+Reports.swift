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
        switch r {
        case .shiftStarted(_, _, let p):
            couriers[i].started = true; couriers[i].ended = false
            couriers[i].position = p; couriers[i].positionAt = at
            step.accepted = true
        case .position(_, let p, _):
            couriers[i].position = p; couriers[i].positionAt = at
            step.accepted = true
            repairLate(now: at, &step)
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
        refresh(now: at, &step)
        return .manifest(manifest(of: ref, at: at)!)
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
            if let (k, trips) = bestTransfer(trip, excluding: i, now: at) {
                couriers[k].trips = trips
                for id in trip.orders { orders[id]?.courier = couriers[k].ref }
                version += 1
            } else {
                // Nobody can collect them: they stay with the broken courier, visible on its manifest.
                couriers[i].trips.append(trip)
            }
        }
    }

    /// The cheapest place for a transfer trip on another courier of the same home site, capacity
    /// and shift respected, promises kept where possible (fewest late orders first, then metres).
    func bestTransfer(_ trip: Trip, excluding: Int, now: Instant) -> (Int, [Trip])? {
        let home = config.couriers[excluding].home, kind = config.couriers[excluding].kind
        var best: (Int, [Trip], Int, Int64)?
        for k in couriers.indices where k != excluding {
            let c = couriers[k], cfg = config.couriers[k]
            guard !c.broken, !c.ended, !c.locked, cfg.home == home, cfg.kind.isRider == kind.isRider, cfg.shiftEnd > now else { continue }
            let before = schedule(c, trips: c.trips, now: now)
            for p in firstMovableTrip(c.trips)...c.trips.count {
                var trips = c.trips
                trips.insert(trip, at: p)
                let s = schedule(c, trips: trips, now: now)
                guard !s.overCapacity, !s.overShift else { continue }
                let late = s.late.count, delta = s.metres - before.metres
                if best == nil || late < best!.2 || (late == best!.2 && delta < best!.3) { best = (k, trips, late, delta) }
            }
        }
        return best.map { ($0.0, $0.1) }
    }
}
