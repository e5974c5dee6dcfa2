import DispatchPlanning
import Fleet
import Foundation
import Geo

/// Customers: they check out (and take the next free slot when theirs is full), cancel, and
/// collect BOPIS orders with their pickup code.
extension RegionWorld {
    // MARK: Customers

    func place(_ id: OrderID, _ now: Instant) async {
        guard let so = scenarioOrders[id] else { return }
        let t0 = wall.now()
        let outcome = await call("placeOrder \(id)", at: now) { try await gateway.placeOrder(so.draft, slot: so.slot, at: now) }
        let nanos = (wall.now() - t0).nanos
        orders[id]!.placeNanos = nanos
        guard let outcome else {
            // The checkout failed in transit: the customer tries again (the same order id; a
            // duplicate is refused by the system) up to three times, 30 s apart.
            placeAttempts[id, default: 0] += 1
            if placeAttempts[id]! < 3 { schedule(now + 30, .place(id)) } else { orders[id]!.rejection = "transport error (3 attempts)" }
            return
        }
        var site: SiteID?
        switch outcome {
        case .rejected(let r):
            if r.problem == .slotFull, let want = so.slot,
               let next = r.offeredSlots?.first(where: { $0.localDay(scenario.offset) == want.localDay(scenario.offset) }), want != next {
                // The checkout shows the next free slots: the customer takes the first one on the day
                // they wanted (a later day is past the simulated day; that customer gives up).
                scenarioOrders[id]!.slot = next
                orders[id]!.slotRebooked = true
                schedule(now, .place(id))
                return
            }
            orders[id]!.rejection = r.description
            if so.bad == nil { note(now, "rejected \(r.description)") }
            return
        case .assigned(let c, let s, _, let w):
            orders[id]!.promise = w; orders[id]!.courier = c.id; site = s
            orders[id]!.acknowledgedState = .assigned
            // The handheld buzzes: an idle courier looks at its manifest now.
            if let ci = courierIndex[c], sim[ci].phase == .idle {
                sim[ci].epoch += 1
                schedule(now, .poll(ci, epoch: sim[ci].epoch))
            }
        case .awaitingWave(let s, let w), .awaitingCollection(let s, let w):
            orders[id]!.promise = w; site = s
            orders[id]!.acknowledgedState = .allocated
        }
        orders[id]!.accepted = true
        orders[id]!.site = site
        if so.bad != nil { note(now, "bad order \(id) (\(so.bad!.rawValue)) was ACCEPTED") }
        if let after = so.fate.cancelAfterSeconds { schedule(now + after, .cancel(id)) }
        if let s = site { await enqueuePick(s, id, now) }
    }

    func cancel(_ id: OrderID, _ now: Instant) async {
        guard let r = await call("cancelOrder \(id)", at: now, { try await gateway.cancelOrder(id, reason: .customerRequest, at: now) }) else { return }
        switch r {
        case .success: orders[id]!.cancelledAt = now; orders[id]!.acknowledgedState = .cancelled
        case .failure(let e): orders[id]!.cancelRefused = e.description
        }
    }

    func collect(_ id: OrderID, attempt: Int, _ now: Instant) async {
        guard let truth = orders[id], let code = truth.pickupCode, truth.handedOverAt == nil, truth.cancelledAt == nil else { return }
        let wrong = attempt == 0 && (scenarioOrders[id]?.fate.wrongCodeFirst ?? false)
        let typed = wrong ? String(code.reversed()) == code ? code + "9" : String(code.reversed()) : code
        guard let out = await call("collect \(id)", at: now, { try await gateway.collect(id, code: typed, at: now) }) else { return }
        switch out {
        case .handedOver:
            orders[id]!.handedOverAt = now; orders[id]!.acknowledgedState = .pickedUp
        case .wrongCode:
            orders[id]!.wrongCodeAnswered = true
            if attempt < 2 { schedule(now + 60, .collect(id, attempt: attempt + 1)) }
        case .notReady:
            if attempt < 5 { schedule(now + 900, .collect(id, attempt: attempt + 1)) }
        case .locked, .expired, .unknownOrder:
            note(now, "collect \(id): \(out)")
        }
    }
}
