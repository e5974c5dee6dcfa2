@testable import DispatchPlanning
import Fleet
import Foundation
import Geo
import Testing

@Suite struct LiveCommandTests {
    static let d1 = CourierRef.vehicle("day-1"), d2 = CourierRef.vehicle("day-2")
    static func twoVans() -> Harness {
        Harness(Live.config(couriers: [Live.van("day-1", Live.at(13), Live.at(22, 30)), Live.van("day-2", Live.at(13), Live.at(22, 30))]))
    }
    func courier(_ h: Harness, _ id: OrderID) -> CourierRef? { h.state.records().first { $0.order == id }?.courier }

    @Test func assignReassignAndRefusals() {
        var h = Self.twoVans()
        _ = h.place(Live.draft("a", .sameDay, 37.55, 127.05), at: Live.at(10))
        let first = courier(h, "a")!
        let other = first == Self.d1 ? Self.d2 : Self.d1
        #expect(h.send(.command(.reassign("a", to: other), at: Live.at(10, 5))) == .done)
        #expect(courier(h, "a") == other)
        #expect(h.state.manifest(of: first, at: Live.at(10, 5))!.stops.isEmpty)
        // Packed: Fleet's assign goes out for the planned courier, and again on a reassignment.
        _ = h.send(.site(.packed(site: Live.hub, order: "a", at: Live.at(11))))
        #expect(h.events.last!.effects.contains(.order("a", .assign(other))))
        #expect(h.send(.command(.assign("a", to: first), at: Live.at(11, 5))) == .done)
        #expect(h.events.last!.effects.contains(.order("a", .assign(first))))
        guard case .refused(let unknown) = h.send(.command(.hold("zz"), at: Live.at(11))) else { Issue.record(); return }
        #expect(unknown.problem == .unknownOrder && unknown.item.contains("zz"))
        guard case .refused(let notHeld) = h.send(.command(.release("a"), at: Live.at(11))) else { Issue.record(); return }
        #expect(notHeld.problem == .invalidState)
        _ = h.handheld(.breakdown(other, position: Coordinate(lat: 37.55, lon: 127.0), at: Live.at(13)))
        guard case .refused(let broken) = h.send(.command(.assign("a", to: other), at: Live.at(13, 1))) else { Issue.record(); return }
        #expect(broken.problem == .infeasible && broken.message.contains("broken"))
        h.checkLifecycle()
        h.checkReplay()
    }

    @Test func heldOrdersAreNeverPlannedUntilReleased() {
        var h = Self.twoVans()
        _ = h.place(Live.draft("a", .sameDay, 37.55, 127.05), at: Live.at(10))
        #expect(h.send(.command(.hold("a"), at: Live.at(10, 1))) == .done)
        #expect(courier(h, "a") == nil)
        _ = h.send(.tick(at: Live.at(10, 30)))
        #expect(courier(h, "a") == nil, "a tick does not plan a held order")
        #expect(h.send(.command(.release("a"), at: Live.at(10, 31))) == .done)
        #expect(courier(h, "a") != nil)
        // Unassign: back to the pool, placed again by the next tick.
        #expect(h.send(.command(.unassign("a"), at: Live.at(10, 32))) == .done)
        #expect(courier(h, "a") == nil)
        _ = h.send(.tick(at: Live.at(10, 33)))
        #expect(courier(h, "a") != nil)
        h.checkLifecycle()
        h.checkReplay()
    }

    @Test func aLockedRouteIsNeverTouched() {
        var h = Self.twoVans()
        #expect(h.send(.command(.lockRoute(Self.d1), at: Live.at(9))) == .done)
        for n in 0..<4 { _ = h.place(Live.draft("l\(n)", .sameDay, 37.52 + 0.02 * Double(n), 127.03), at: Live.at(9, Int64(n))) }
        #expect(h.state.records().allSatisfy { $0.courier == Self.d2 })
        guard case .refused(let locked) = h.send(.command(.assign("l0", to: Self.d1), at: Live.at(9, 10))) else { Issue.record(); return }
        #expect(locked.problem == .infeasible && locked.message.contains("locked"))
        #expect(h.send(.command(.unlockRoute(Self.d1), at: Live.at(9, 11))) == .done)
        #expect(h.send(.command(.assign("l0", to: Self.d1), at: Live.at(9, 12))) == .done)
        // Locked again: re-optimisation leaves it alone.
        _ = h.send(.command(.lockRoute(Self.d1), at: Live.at(9, 13)))
        for w in h.state.pendingWork(at: Live.at(9, 30)) where w.kind == .reoptimise {
            let r = w.run({ false })
            #expect(!r.routes.contains { $0.courier == Self.d1 })
            _ = h.send(.workDone(r))
        }
        #expect(courier(h, "l0") == Self.d1)
        guard case .refused(let ghost) = h.send(.command(.lockRoute(.vehicle("ghost")), at: Live.at(9, 31))) else { Issue.record(); return }
        #expect(ghost.problem == .unknownCourier && ghost.item.contains("ghost"))
        h.checkReplay()
    }

    @Test func reoptimisationLowersMetresAndKeepsEveryPromise() {
        // The baseline of placement (nearest courier, appended) leaves room; build it with the
        // dispatcher's own commands on an optimised state: everything forced onto one van in a
        // poor order, then re-optimised.
        var h = Self.twoVans()
        var pts = Live.Points(s: 5)
        for n in 0..<8 {
            let p = pts.next()
            _ = h.place(Live.draft("r\(n)", .sameDay, p.lat, p.lon), at: Live.at(9, Int64(n)))
        }
        let now = Live.at(10)
        let before = h.state.plannedMetres(now: now)
        let lateBefore = h.state.couriers.flatMap { h.state.schedule($0, trips: $0.trips, now: now).late }
        guard let w = h.state.pendingWork(at: now).first(where: { $0.kind == .reoptimise }) else { Issue.record("no job"); return }
        let r = w.run({ false })
        #expect(h.send(.workDone(r)) == .done)
        let after = h.state.plannedMetres(now: now)
        let lateAfter = h.state.couriers.flatMap { h.state.schedule($0, trips: $0.trips, now: now).late }
        #expect(after <= before)
        #expect(Set(lateAfter).isSubset(of: Set(lateBefore)))
        #expect(h.state.records().allSatisfy { $0.courier != nil })
        h.checkNoOrderTwice()
        // Nothing changed since: no new job until the plan moves.
        #expect(!h.state.pendingWork(at: Live.at(11)).contains { $0.kind == .reoptimise })
        // A forged result that drives more is not accepted (the plan stays as it is).
        let version = h.state.version
        let i = h.state.couriers.firstIndex { $0.trips.contains { $0.orders.count >= 2 } }!
        let trips = h.state.couriers[i].trips.filter { $0.start == .site }.map(\.orders)
        let worse = CourierRoutePlan(courier: h.state.couriers[i].ref, trips: trips.flatMap { $0.map { [$0] } })
        _ = h.send(.command(.replanNow, at: Live.at(11)))
        let v = h.state.version
        #expect(v == version)
        _ = h.send(.workDone(DispatchWorkResult(kind: .reoptimise, basedOnVersion: v, routes: [worse], unplaced: [], takenAt: Live.at(11))))
        #expect(h.state.version == v && h.state.couriers[i].trips.filter { $0.start == .site }.map(\.orders) == trips)
        h.checkReplay()
    }

    @Test func reoptimisationExchangesOrdersWhenRelocationCannot() {
        // Two apples per van and one trip per shift: only a swap can untangle crossed routes.
        let two = Capacity(weightGrams: 600, volumeMillilitres: 10_000)
        var h = Harness(Live.config(couriers: [Live.van("day-1", Live.at(13), Live.at(15, 45), capacity: two),
                                               Live.van("day-2", Live.at(13), Live.at(15, 45), capacity: two)]))
        let spots: [(String, Double, Double)] = [("w1", 37.55, 127.01), ("e1", 37.55, 127.09), ("e2", 37.56, 127.092), ("w2", 37.56, 127.012)]
        for (id, lat, lon) in spots { _ = h.place(Live.draft(id, .sameDay, lat, lon), at: Live.at(9)) }
        for (id, _, _) in spots { #expect(h.send(.command(.unassign(OrderID(id)), at: Live.at(9, 1))) == .done) }
        for (id, to) in [("w1", Self.d1), ("e1", Self.d1), ("e2", Self.d2), ("w2", Self.d2)] {
            #expect(h.send(.command(.assign(OrderID(id), to: to), at: Live.at(9, 2))) == .done, "\(id)")
        }
        let crossed = h.state.plannedMetres(now: Live.at(9, 3))
        guard let w = h.state.pendingWork(at: Live.at(9, 3)).first(where: { $0.kind == .reoptimise }) else { Issue.record("no job"); return }
        #expect(h.send(.workDone(w.run({ false }))) == .done)
        #expect(h.state.plannedMetres(now: Live.at(9, 3)) < crossed)
        let c = Dictionary(uniqueKeysWithValues: h.state.records().map { ($0.order.rawValue, $0.courier) })
        #expect(c["w1"] == c["w2"] && c["e1"] == c["e2"] && c["w1"] != c["e1"], "\(c)")
        h.checkReplay()
    }

    @Test func lateOrdersMoveToACourierWhoCanKeepThePromise() {
        var h = Harness(Live.config(couriers: [Live.van("day-1", Live.at(13), Live.at(22, 30)), Live.van("day-2", Live.at(13), Live.at(22, 30))]))
        _ = h.send(.command(.lockRoute(Self.d2), at: Live.at(9)))
        for n in 0..<3 { _ = h.place(Live.draft("m\(n)", .sameDay, 37.52 + 0.03 * Double(n), 127.04), at: Live.at(9, Int64(n))) }
        #expect(h.state.records().allSatisfy { $0.courier == Self.d1 })
        _ = h.send(.command(.unlockRoute(Self.d2), at: Live.at(9, 10)))
        // day-1 is 80 km away at 19:00: its orders would be late, day-2 (at the hub) takes them.
        _ = h.handheld(.position(Self.d1, Coordinate(lat: 36.9, lon: 126.5), at: Live.at(19)))
        #expect(h.state.records().allSatisfy { $0.courier == Self.d2 }, "\(h.state.records().map { "\($0.order)=\($0.courier?.id ?? "-")" })")
        h.checkReplay()
    }
}
