@testable import DispatchPlanning
import Fleet
import Foundation
import Geo
import Testing

@Suite struct LivePlacementTests {
    /// The brute force: every position of every suitable courier, simulated in full.
    static func bruteForce(_ s: RegionDispatchState, _ id: OrderID, now: Instant) -> Int64? {
        var best: Int64?
        for i in s.couriers.indices where s.suitable(i, for: s.orders[id]!, now: now) {
            let c = s.couriers[i]
            let before = s.schedule(c, trips: c.trips, now: now)
            var options: [[Trip]] = []
            for k in c.trips.indices where c.trips[k].start == .site {
                for p in 0...c.trips[k].orders.count { var t = c.trips; t[k].orders.insert(id, at: p); options.append(t) }
            }
            for k in 0...c.trips.count where k >= (c.trips.first?.start == .onBoard ? 1 : 0) {
                var t = c.trips; t.insert(Trip(start: .site, orders: [id]), at: k); options.append(t)
            }
            for t in options {
                let after = s.schedule(c, trips: t, now: now)
                guard !after.overCapacity, !after.overShift, !after.late.contains(id),
                      Set(after.late).isSubset(of: Set(before.late)) else { continue }
                best = min(best ?? .max, after.metres - before.metres)
            }
        }
        return best
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func insertionEqualsBruteForceOverAllPositions(seed: UInt64) {
        // Two or three vans, small capacity so new trips and capacity limits matter.
        let small = Capacity(weightGrams: 1_000, volumeMillilitres: 1_600)
        let couriers = Array([Live.van("day-1", Live.at(13), Live.at(22, 30), capacity: small),
                              Live.van("day-2", Live.at(13), Live.at(20), capacity: small),
                              Live.van("am-1", Live.at(7), Live.at(15, 30), kind: .evVan, capacity: small)].prefix(seed % 2 == 0 ? 3 : 2))
        var h = Harness(Live.config(couriers: couriers))
        var pts = Live.Points(s: seed)
        var assigned = 0
        for n in 0..<5 {
            let p = pts.next()
            let t = Live.at(9, Int64(n))
            guard case .assigned(let courier, _, _, _) = h.place(Live.draft("o\(n)", .sameDay, p.lat, p.lon, quantity: 1 + n % 2), at: t) else {
                continue
            }
            assigned += 1
            // Take the order back out and search every position by brute force.
            var without = h.state
            let i = without.courierIndex(courier)!
            let after = without.schedule(without.couriers[i], trips: without.couriers[i].trips, now: t).metres
            without.removeFromPlan(OrderID("o\(n)"))
            let before = without.schedule(without.couriers[i], trips: without.couriers[i].trips, now: t).metres
            #expect(Self.bruteForce(without, OrderID("o\(n)"), now: t) == after - before, "seed \(seed) order o\(n)")
        }
        #expect(assigned >= 3, "seed \(seed): only \(assigned) of 5 placed")
        h.checkNoOrderTwice()
        h.checkLifecycle()
        h.checkReplay()
    }

    @Test func rejectionsAreTypedAndNameTheItem() {
        var h = Harness(Live.config())
        let t = Live.at(10)
        func rejected(_ o: PlaceOrderOutcome) -> PlaceOrderRejection? { if case .rejected(let r) = o { return r } else { return nil } }

        let sku = rejected(h.place(Live.draft("x1", .sameDay, 37.55, 127.05, sku: "caviar"), at: t))
        #expect(sku?.problem == .invalidOrder && sku?.order == "x1" && sku!.message.contains("caviar"))
        let weight = rejected(h.place(Live.draft("x2", .sameDay, 37.55, 127.05, weight: -5), at: t))
        #expect(weight?.problem == .invalidOrder && weight!.message.contains("-5"))
        let outside = rejected(h.place(Live.draft("x3", .sameDay, 35.10, 129.04), at: t))
        #expect(outside?.problem == .outsideEveryRegion && outside?.order == "x3")
        #expect(rejected(h.place(Live.draft("ok", .sameDay, 37.55, 127.05), at: t)) == nil)
        let dup = rejected(h.place(Live.draft("ok", .sameDay, 37.55, 127.05), at: t))
        #expect(dup?.problem == .duplicateOrder && dup?.order == "ok")
        let far = rejected(h.place(Live.draft("x4", .quick, 37.505, 127.005), at: t))
        #expect(far?.problem == .productNotOffered)
        #expect(h.events.count == 1, "only the accepted order is journaled")

        guard case .refused(let unknownOrder) = h.send(.cancelOrder("nope", reason: .customerRequest, at: t)) else { Issue.record("accepted"); return }
        #expect(unknownOrder.problem == .unknownOrder && unknownOrder.item.contains("nope"))
        guard case .refused(let unknownCourier) = h.send(.report(.position(.vehicle("ghost"), Coordinate(lat: 37.55, lon: 127.05), at: t))) else {
            Issue.record("accepted"); return
        }
        #expect(unknownCourier.problem == .unknownCourier && unknownCourier.item.contains("ghost"))
        guard case .refused(let cmd) = h.send(.command(.assign("ok", to: .vehicle("ghost")), at: t)) else { Issue.record("accepted"); return }
        #expect(cmd.problem == .unknownCourier)
        guard case .refused(let kind) = h.send(.command(.assign("ok", to: .rider("a-1")), at: t)) else { Issue.record("accepted"); return }
        #expect(kind.problem == .infeasible && kind.item.contains("a-1"))
        guard case .refused(let notOnBoard) = h.send(.report(.delivered(.vehicle("day-1"), order: "ok", proof: .init(kind: .pin, reference: "p"), at: t))) else {
            Issue.record("accepted"); return
        }
        #expect(notOnBoard.problem == .invalidState && notOnBoard.item.contains("ok"))
        h.checkReplay()
    }

    @Test func noCapacityRejectsWithoutAnEventAndReservesNothing() {
        let small = Capacity(weightGrams: 1_000, volumeMillilitres: 1_000)
        var h = Harness(Live.config(couriers: [Live.van("day-1", Live.at(13), Live.at(22, 30), capacity: small)]))
        var outcomes: [PlaceOrderOutcome] = []
        // c2 and c3 weigh 1.2 kg: more than the only van carries.
        for n in 0..<4 { outcomes.append(h.place(Live.draft("c\(n)", .sameDay, 37.55, 127.05, quantity: n >= 2 ? 4 : 1), at: Live.at(10))) }
        let rejected = outcomes.compactMap { o -> PlaceOrderRejection? in if case .rejected(let r) = o { return r } else { return nil } }
        #expect(rejected.count == 2 && rejected.allSatisfy { $0.problem == .noCapacity })
        #expect(rejected.first?.order == "c2" && rejected.first!.message.contains("c2"))
        #expect(h.events.count == 2 && h.refusals == 2)
        #expect(h.state.records().count == 2 && !h.state.knows(order: "c3"))
        #expect(h.state.inventories[Live.hub]!.available(Live.apple) == 98)
        h.checkReplay()
    }

    @Test func cancelAfterDeliveryIsRefusedAndBeforePickupReleasesStock() {
        var h = Harness(Live.config(couriers: [Live.van("day-1", Live.at(13), Live.at(22, 30))]))
        guard case .assigned(let van, _, _, _) = h.place(Live.draft("a", .sameDay, 37.55, 127.05), at: Live.at(10)) else { Issue.record(); return }
        _ = h.place(Live.draft("b", .sameDay, 37.56, 127.06), at: Live.at(10, 1))
        #expect(h.state.inventories[Live.hub]!.available(Live.apple) == 98)
        #expect(h.send(.cancelOrder("b", reason: .customerRequest, at: Live.at(11))) == .done)
        #expect(h.state.inventories[Live.hub]!.available(Live.apple) == 99)
        #expect(h.state.manifest(of: van, at: Live.at(11))!.stops.allSatisfy { !$0.orders.contains("b") })
        _ = h.send(.site(.packed(site: Live.hub, order: "a", at: Live.at(12))))
        _ = h.handheld(.shiftStarted(van, at: Live.at(13), position: Coordinate(lat: 37.55, lon: 126.96)))
        _ = h.handheld(.pickedUp(van, orders: ["a"], at: Live.at(13, 5)))
        _ = h.handheld(.delivered(van, order: "a", proof: .init(kind: .photo, reference: "ph"), at: Live.at(14, 5)))
        guard case .refused(let e) = h.send(.cancelOrder("a", reason: .customerRequest, at: Live.at(15))) else { Issue.record("accepted"); return }
        #expect(e.problem == .invalidState && e.item.contains("a"))
        #expect(h.state.records().map(\.state) == [.delivered, .cancelled])
        h.checkLifecycle()
        h.checkReplay()
    }

    @Test func cancelOnBoardFailsTheParcelAndItComesBackAtBase() {
        var h = Harness(Live.config(couriers: [Live.van("day-1", Live.at(13), Live.at(22, 30))]))
        let van = CourierRef.vehicle("day-1")
        _ = h.place(Live.draft("a", .sameDay, 37.55, 127.05), at: Live.at(10))
        _ = h.place(Live.draft("b", .sameDay, 37.56, 127.06), at: Live.at(10))
        _ = h.handheld(.pickedUp(van, orders: ["a", "b"], at: Live.at(13, 5)))
        #expect(h.send(.cancelOrder("b", reason: .customerRequest, at: Live.at(13, 30))) == .done)
        let m = h.handheld(.delivered(van, order: "a", proof: .init(kind: .pin, reference: "1"), at: Live.at(14, 5)))!
        #expect(m.onBoard == ["b"] && m.stops.map(\.kind) == [.returnToBase])
        _ = h.handheld(.returned(van, at: Live.at(15)))
        #expect(h.state.records().map(\.state) == [.delivered, .returned])
        #expect(h.state.inventories[Live.hub]!.available(Live.apple) == 99)
        h.checkLifecycle()
        h.checkReplay()
    }

    @Test func quickGoesToTheNearestStoreRiderAndRespectsRunLimits() {
        var h = Harness(Live.config())
        var riders: [CourierRef] = []
        for n in 0..<5 {
            let o = h.place(Live.draft("q\(n)", .quick, 37.551 + 0.001 * Double(n), 127.035), at: Live.at(12))
            guard case .assigned(let r, let site, let eta, let w) = o else { Issue.record("q\(n): \(o)"); continue }
            #expect(site == Live.storeA && eta <= w.latest)
            riders.append(r)
        }
        #expect(Set(riders).isSubset(of: [.rider("a-1"), .rider("a-2")]))
        for c in h.state.couriers { for t in c.trips { #expect(t.orders.count <= 2) } }
        h.checkLifecycle()
        h.checkReplay()
    }

    @Test func baselineAppendsToTheNearestCourierAndOptimisedDrivesNoMore() {
        var opt = Harness(Live.config(policy: .optimised))
        var base = Harness(Live.config(policy: .baseline))
        var pts = Live.Points(s: 42)
        for n in 0..<14 {
            let p = pts.next()
            let d = Live.draft("s\(n)", .sameDay, p.lat, p.lon)
            _ = opt.place(d, at: Live.at(9, Int64(n)))
            _ = base.place(d, at: Live.at(9, Int64(n)))
        }
        // The optimised dispatcher also re-optimises.
        for w in opt.state.pendingWork(at: Live.at(10)) where w.kind == .reoptimise {
            _ = opt.send(.workDone(w.run({ false })))
        }
        #expect(!base.state.pendingWork(at: Live.at(10)).contains { $0.kind == .reoptimise }, "the baseline never re-optimises")
        let optKm = opt.state.plannedMetres(now: Live.at(10)), baseKm = base.state.plannedMetres(now: Live.at(10))
        #expect(optKm > 0 && optKm <= baseKm, "optimised \(optKm) m vs baseline \(baseKm) m")
        #expect(opt.state.records().count == base.state.records().count)
        opt.checkReplay(); base.checkReplay()
        opt.checkLifecycle(); base.checkLifecycle()
    }

    /// The baseline gives an order to the nearest courier (from where it is now) with shift left
    /// (its route ends before its shift does), lateness and overtime accepted; when none has, to
    /// the nearest whose shift has not ended: it never rejects while a suitable courier is on shift. Checked against a brute force over the state before each placement.
    @Test(arguments: [UInt64(4), 17])
    func baselineTakesTheNearestAvailableCourierLatenessAccepted(seed: UInt64) {
        let vans = [Live.van("v1", Live.at(8), Live.at(15)), Live.van("v2", Live.at(8), Live.at(15, 30)), Live.van("v3", Live.at(8), Live.at(9, 20))]
        var h = Harness(Live.config(policy: .baseline, couriers: vans))
        var pts = Live.Points(s: seed)
        for v in vans { _ = h.handheld(.shiftStarted(v.ref, at: Live.at(8), position: pts.next())) }
        var accepted = 0, overShift = 0, inShift = 0
        for n in 0..<45 {
            let p = pts.next(), at = Live.at(9, Int64(n)), id = OrderID("s\(n)")
            // Brute force over a copy that knows the order (placed, then taken out of the plan).
            var probe = h.state
            guard case .placed(.assigned) = probe.decide(.placeOrder(Live.draft("s\(n)", .sameDay, p.lat, p.lon), slot: nil, at: at)).response else {
                Issue.record("s\(n) refused"); continue
            }
            if let e = probe.decide(.placeOrder(Live.draft("s\(n)", .sameDay, p.lat, p.lon), slot: nil, at: at)).event { probe.apply(e) }
            probe.removeFromPlan(id)
            var fits: (Int, Double)?, any: (Int, Double)?
            for (i, c) in probe.couriers.enumerated() where vans[i].shiftEnd > at {
                let d = GreatCircle.distanceMetres(c.position!, Coordinate(lat: p.lat, lon: p.lon))
                let ok = probe.schedule(c, trips: c.trips, now: at).end < vans[i].shiftEnd
                if ok, fits == nil || d < fits!.1 { fits = (i, d) }
                if any == nil || d < any!.1 { any = (i, d) }
            }
            guard let expected = fits ?? any else { Issue.record("no van on shift"); continue }
            guard case .assigned(let c, _, _, _) = h.place(Live.draft("s\(n)", .sameDay, p.lat, p.lon), at: at) else {
                Issue.record("s\(n) rejected with a van on shift"); continue
            }
            #expect(c == vans[expected.0].ref, "s\(n) went to \(c.id), expected \(vans[expected.0].ref.id)")
            accepted += 1
            if fits != nil { inShift += 1 }
            let i = expected.0
            if h.state.schedule(h.state.couriers[i], trips: h.state.couriers[i].trips, now: at).overShift { overShift += 1 }
        }
        #expect(accepted == 45 && overShift > 0 && inShift > 0, "accepted \(accepted), in shift \(inShift), over shift \(overShift)")
        h.checkLifecycle()
        h.checkReplay()
    }
}
