import Fleet
import Geo

/// Half the width of the ETA window sent to customers around the planned arrival.
let etaHalfWindowSeconds: Int64 = 15 * 60
/// ETA changes of an order not yet loaded are told to the customer only once its trip loads
/// within this horizon (before, re-planning still moves it back and forth).
let etaCommitHorizonSeconds: Int64 = 60 * 60

extension RegionDispatchState {
    func etaWindow(_ eta: Instant) -> ETAWindow { ETAWindow(earliest: eta - etaHalfWindowSeconds, latest: eta + etaHalfWindowSeconds) }

    /// A lifecycle step for the order's actor, applied to the state's copy of the order with Fleet's
    /// transition table (so an illegal step can never be emitted: it is a bug and asserts).
    mutating func life(_ id: OrderID, _ e: OrderEffect, at: Instant, _ step: inout Step) {
        guard var entry = orders[id] else { return }
        if let cmd = e.fleetCommand {
            do { _ = try entry.order.apply(cmd, at: at) } catch {
                assertionFailure("dispatcher emitted an illegal lifecycle step: \(error)")
                return
            }
        }
        orders[id] = entry
        step.add(.order(id, e))
    }

    /// Whether Fleet's table allows `command` for the order now.
    func allows(_ id: OrderID, _ command: OrderCommand.Kind) -> Bool {
        guard let s = orders[id]?.order.state else { return false }
        return OrderTransitions.target(from: s, command) != nil
    }

    /// A change for a store's actor, mirrored in the state's inventory.
    mutating func store(_ site: SiteID, _ e: StoreEffect, _ step: inout Step) {
        switch e {
        case .reserve(let id, let lines): try? inventories[site]?.reserve(id, lines)
        case .release(let id): try? inventories[site]?.release(id)
        case .pick(let id): try? inventories[site]?.commit(id)
        case .restock(let id, let lines): try? inventories[site]?.restock(lines, order: id)
        case .noShow(let id): if let lines = orders[id]?.order.lines { try? inventories[site]?.restock(lines, order: id) }
        case .adjust(let sku, let delta, _, _):
            if let inv = inventories[site] { try? inventories[site]?.setCount(sku, (inv.onHand[sku] ?? 0) + delta) }
        case .markReady, .handOver, .unlock: break   // the counter was changed by the caller
        }
        step.add(.store(site, e))
    }

    /// Runs Fleet's notification policy on the order's memory; any change of that memory is a change
    /// of state (so the request is journaled even when the policy stays silent).
    mutating func notify(_ id: OrderID, _ u: TrackingUpdate, at: Instant, _ step: inout Step) {
        guard var e = orders[id] else { return }
        let before = e.notify
        let out = config.notifications.decide(u, order: id, at: at, state: &e.notify)
        // Written back only when it changed: an unchanged write would copy the region's order table
        // in a `decide` (which works on a copy of the state).
        if e.notify != before { step.accepted = true; orders[id] = e }
        for n in out { step.add(.notify(n)) }
    }

    /// Makes sure a delivery order is packed (a pickup scan proves it was): startPicking/pack as
    /// needed, with the stock commit.
    mutating func ensurePacked(_ id: OrderID, at: Instant, _ step: inout Step) {
        guard let e = orders[id] else { return }
        if e.order.state == .allocated { life(id, .startPicking, at: at, &step) }
        if orders[id]!.order.state == .picking {
            life(id, .pack, at: at, &step)
            store(e.site, .pick(id), &step)
        }
        if !orders[id]!.packed { orders[id]!.packed = true; orders[id]!.ready = min(e.ready, at) }
    }

    /// Sends Fleet's `assign` for the planned courier once the order is packed (the table allows
    /// it only from `packed`, `assigned` or `failed`).
    mutating func syncAssign(_ id: OrderID, at: Instant, _ step: inout Step) {
        guard let e = orders[id], let c = e.courier, e.packed, e.assignSent != c, e.order.state != .outForDelivery,
              allows(id, .assign) else { return }
        life(id, .assign(c), at: at, &step)
        orders[id]!.assignSent = c
    }

    /// Takes a not-yet-loaded order out of every route. Returns the courier index it left.
    @discardableResult
    mutating func removeFromPlan(_ id: OrderID) -> Int? {
        for i in couriers.indices {
            for k in couriers[i].trips.indices where couriers[i].trips[k].start == .site {
                if let p = couriers[i].trips[k].orders.firstIndex(of: id) {
                    couriers[i].trips[k].orders.remove(at: p)
                    couriers[i].trips.removeAll { $0.orders.isEmpty && $0.start != .onBoard }
                    orders[id]?.courier = nil
                    version += 1
                    return i
                }
            }
        }
        return nil
    }

    /// Back to the unplanned pool: out of every route, and Fleet's `unassign` if it was assigned.
    mutating func unplan(_ id: OrderID, at: Instant, _ step: inout Step) {
        if removeFromPlan(id) != nil { step.accepted = true }
        orders[id]?.courier = nil
        if orders[id]?.assignSent != nil, orders[id]?.order.state == .assigned {
            life(id, .unassign, at: at, &step)
        }
        orders[id]?.assignSent = nil
    }

    /// Commits an insertion: the courier's new trips, the order's courier, the lifecycle and
    /// (first time) the assignment notification with the ETA window.
    mutating func commit(_ id: OrderID, _ ins: Insertion, at: Instant, _ step: inout Step, notifyAssigned: Bool) {
        couriers[ins.courier].trips = ins.trips
        orders[id]?.courier = couriers[ins.courier].ref
        version += 1
        step.accepted = true
        syncAssign(id, at: at, &step)
        if notifyAssigned { notify(id, .assigned(etaWindow(ins.eta)), at: at, &step) }
    }

    /// Estimates and "approaching" for every planned delivery (decided by the notification
    /// policy: only moves past the threshold and the first approach are sent).
    /// `only`: the couriers whose schedules the request changed (a report of one courier touches
    /// that courier alone); nil for every courier. Others are refreshed by their own reports and by
    /// the periodic tick, so a request's cost does not grow with the region.
    mutating func refresh(now: Instant, only: Int? = nil, _ step: inout Step) {
        let which = only.map { [$0] } ?? Array(couriers.indices)
        for i in which where !couriers[i].trips.isEmpty {
            let c = couriers[i]
            let s = schedule(c, trips: c.trips, now: now)
            // Load time of the site trip the stops belong to (nil: on board or a transfer).
            var loadAt: Instant?
            for stop in s.stops {
                switch stop.kind {
                case .pickup: loadAt = stop.from == nil ? stop.start : nil
                case .returnToBase: loadAt = nil
                case .delivery:
                    let id = stop.orders[0]
                    guard orders[id]?.notify.lastWindowSent != nil else { continue }
                    // Not loaded yet and loading more than the horizon away: the plan is still
                    // moving (new orders, re-optimisation); the customer hears of it once it
                    // settles, not of every swing.
                    if let l = loadAt, l - now > etaCommitHorizonSeconds { continue }
                    notify(id, .estimate(etaWindow(stop.start)), at: now, &step)
                }
            }
            if let first = c.trips.first, first.start == .onBoard {
                for (n, id) in first.orders.enumerated() where n <= config.notifications.approachingStops {
                    notify(id, .stopsAway(n), at: now, &step)
                }
            }
        }
    }

    /// Delivery orders waiting for a courier (not held, not on board, not finished), by arrival.
    func unplannedOrders() -> [OrderID] {
        let waiting: Set<OrderState> = [.accepted, .allocated, .picking, .packed, .assigned]
        return orders.values.filter { e in
            e.courier == nil && !e.held && e.order.product != .bopis && waiting.contains(e.order.state)
                && (e.order.product != .dawn || dawnWavePlanned)
        }.sorted { $0.seq < $1.seq }.map(\.order.id)
    }

    /// Tries to place every unplanned order (the policy's rule, hard windows for the optimised one).
    mutating func placeUnplanned(now: Instant, _ step: inout Step) {
        for id in unplannedOrders() {
            if let ins = place(id, couriers: candidates(for: id, now: now), now: now) {
                commit(id, ins, at: now, &step, notifyAssigned: orders[id]?.notify.lastWindowSent == nil)
            }
        }
    }

    /// Optimised policy: orders not yet loaded that their courier would now deliver late move to
    /// another courier who can still keep the promise (nothing moves when none can).
    /// `only`: the one courier whose schedule a report changed (nil: every courier).
    mutating func repairLate(now: Instant, only: Int? = nil, _ step: inout Step) {
        guard config.policy == .optimised else { return }
        let which = only.map { [$0] } ?? Array(couriers.indices)
        for i in which where !couriers[i].locked && !couriers[i].trips.isEmpty {
            let s = schedule(couriers[i], trips: couriers[i].trips, now: now)
            let loadable = Set(couriers[i].trips.filter { $0.start == .site }.flatMap(\.orders))
            for id in s.late where loadable.contains(id) {
                let others = candidates(for: id, now: now, excluding: i)
                guard let ins = cheapestInsertion(id, couriers: others, now: now) else { continue }
                removeFromPlan(id)
                commit(id, ins, at: now, &step, notifyAssigned: false)
            }
        }
    }
}
