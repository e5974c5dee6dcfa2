import Fleet
import Geo

extension RegionDispatchState {
    /// A dispatcher's command, validated against the state.
    mutating func command(_ c: DispatcherCommand, at: Instant, _ step: inout Step) -> DispatchResponse {
        func unknownOrder(_ id: OrderID) -> DispatchResponse { refuse("order \(id)", .unknownOrder, "region \(config.region) does not know order \(id)") }
        func unknownCourier(_ r: CourierRef) -> DispatchResponse { refuse("courier \(r.id)", .unknownCourier, "\(r.id) is not a courier of region \(config.region)") }
        /// Not yet loaded delivery orders only.
        func movable(_ id: OrderID) -> DispatchResponse? {
            guard let e = orders[id] else { return unknownOrder(id) }
            let ok: Set<OrderState> = [.accepted, .allocated, .picking, .packed, .assigned]
            guard e.order.product != .bopis else { return refuse("order \(id)", .invalidState, "order \(id) is a BOPIS order: no courier carries it") }
            guard ok.contains(e.order.state) else {
                return refuse("order \(id)", .invalidState, "order \(id) is \(e.order.state.rawValue): only orders not yet loaded can be planned")
            }
            return nil
        }
        switch c {
        case .assign(let id, let ref), .reassign(let id, let ref):
            if let r = movable(id) { return r }
            guard let i = courierIndex(ref) else { return unknownCourier(ref) }
            let cfg = config.couriers[i], cour = couriers[i], e = orders[id]!
            let why: String? =
                cour.broken ? "courier \(ref.id) has broken down" :
                cour.ended ? "courier \(ref.id) has ended its shift" :
                cour.locked ? "courier \(ref.id)'s route is locked" :
                cfg.shiftEnd <= at ? "courier \(ref.id)'s shift is over" :
                cfg.home != e.site ? "courier \(ref.id) loads at \(cfg.home), order \(id) is at \(e.site)" :
                (e.order.product == .quick) != cfg.kind.isRider ? "a \(cfg.kind.rawValue) does not carry \(e.order.product.rawValue) orders" : nil
            if let why { return refuse("courier \(ref.id)", .infeasible, why) }
            var copy = self
            copy.removeFromPlan(id)
            let c = copy.couriers[i]
            let before = copy.schedule(c, trips: c.trips, now: at)
            var best: Insertion?
            for trips in copy.insertionCandidates(id, into: c.trips, courier: i) {
                let s = copy.schedule(c, trips: trips, now: at)
                guard !s.overCapacity, !s.overShift else { continue }
                if config.policy == .optimised, !copy.feasible(s, newOrders: [], before: before) { continue }
                let delta = s.metres - before.metres
                if best == nil || delta < best!.delta { best = Insertion(courier: i, trips: trips, delta: delta, eta: s.eta[id] ?? at) }
            }
            guard let ins = best else {
                return refuse("courier \(ref.id)", .infeasible, "order \(id) does not fit courier \(ref.id)'s route (capacity or shift)")
            }
            removeFromPlan(id)
            commit(id, ins, at: at, &step, notifyAssigned: orders[id]?.notify.lastWindowSent == nil)
        case .unassign(let id):
            if let r = movable(id) { return r }
            unplan(id, at: at, &step)
            step.accepted = true
        case .hold(let id):
            if let r = movable(id) { return r }
            unplan(id, at: at, &step)
            orders[id]!.held = true
            step.accepted = true
        case .release(let id):
            guard let e = orders[id] else { return unknownOrder(id) }
            guard e.held else { return refuse("order \(id)", .invalidState, "order \(id) is not held") }
            orders[id]!.held = false
            step.accepted = true
            if e.order.product != .dawn || dawnWavePlanned { placeUnplanned(now: at, &step) }
        case .cancel(let id, let reason):
            return cancel(id, reason: reason, at: at, &step)
        case .lockRoute(let ref), .unlockRoute(let ref):
            guard let i = courierIndex(ref) else { return unknownCourier(ref) }
            let lock: Bool
            if case .lockRoute = c { lock = true } else { lock = false }
            guard couriers[i].locked != lock else { return .done }
            couriers[i].locked = lock
            version += 1
            step.accepted = true
        case .replanNow:
            lastReoptimiseAt = nil
            reoptimisedVersion = -1
            step.accepted = true
            placeUnplanned(now: at, &step)
        }
        refresh(now: at, &step)
        return .done
    }
}
