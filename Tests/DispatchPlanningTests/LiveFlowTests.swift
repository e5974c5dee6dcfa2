@testable import DispatchPlanning
import Fleet
import Foundation
import Geo
import Testing

@Suite struct LiveFlowTests {
    static let van = CourierRef.vehicle("day-1")
    static let hubPoint = Coordinate(lat: 37.55, lon: 126.96)

    @Test func notificationsFollowThePolicyWithoutDuplicates() {
        var h = Harness(Live.config(couriers: [Live.van("day-1", Live.at(13), Live.at(22, 30))]))
        let ids: [OrderID] = ["n0", "n1", "n2", "n3"]
        for (k, id) in ids.enumerated() {
            guard case .assigned = h.place(Live.draft(id.rawValue, .sameDay, 37.52 + 0.02 * Double(k), 127.02 + 0.02 * Double(k)), at: Live.at(10)) else {
                Issue.record("\(id) not assigned"); return
            }
        }
        // Each first hears of its assignment (later insertions may move a window past the threshold).
        for id in ids { #expect(h.notifications(id).first?.kind == .assigned && h.notifications(id)[0].window != nil) }
        #expect(h.notifications.filter { $0.kind == .assigned }.count == 4)
        func moved(_ id: OrderID) -> Int { h.notifications(id).filter { $0.kind == .windowChanged }.count }
        // Changes while loading is hours away are held back; once it is near they are caught up once.
        _ = h.send(.tick(at: Live.at(12, 30)))
        let movedBefore = ids.map(moved)
        // A small move changes ETAs by less than the threshold: silence.
        _ = h.handheld(.shiftStarted(Self.van, at: Live.at(13), position: Coordinate(lat: 37.551, lon: 126.961)))
        #expect(ids.map(moved) == movedBefore)
        // Stuck far away until 15:30: every ETA moves by more than 15 minutes.
        _ = h.handheld(.position(Self.van, Coordinate(lat: 37.45, lon: 126.80), at: Live.at(15, 30)))
        #expect(ids.map(moved) == movedBefore.map { $0 + 1 })
        // The same position again: nothing new.
        let count = h.notifications.count
        _ = h.handheld(.position(Self.van, Coordinate(lat: 37.45, lon: 126.80), at: Live.at(15, 31)))
        #expect(h.notifications.count == count)
        // Loaded: the first three are at most 2 stops away, the fourth is not.
        let m = h.handheld(.pickedUp(Self.van, orders: ids, at: Live.at(16)))!
        let order = m.stops.filter { $0.kind == .delivery }.map { $0.orders[0] }
        #expect(Set(order) == Set(ids) && m.onBoard.count == 4)
        for (n, id) in order.enumerated() {
            #expect(h.notifications(id).contains { $0.kind == .approaching } == (n <= 2), "\(id) at \(n) stops")
        }
        _ = h.handheld(.delivered(Self.van, order: order[0], proof: .init(kind: .pin, reference: "1"), at: Live.at(16, 40)))
        #expect(h.notifications(order[3]).filter { $0.kind == .approaching }.count == 1, "now 2 stops away")
        _ = h.handheld(.failed(Self.van, order: order[1], reason: .nobodyHome, at: Live.at(16, 50)))
        #expect(h.notifications(order[0]).last?.kind == .delivered)
        #expect(h.notifications(order[1]).last?.kind == .failed && h.notifications(order[1]).last?.failure == .nobodyHome)
        // Delivered twice is refused; nothing is ever sent twice.
        guard case .refused = h.send(.report(.delivered(Self.van, order: order[0], proof: .init(kind: .pin, reference: "1"), at: Live.at(17)))) else {
            Issue.record("second delivery accepted"); return
        }
        var seen = Set<String>()
        for n in h.notifications { #expect(seen.insert("\(n.order)/\(n.kind)/\(String(describing: n.window))").inserted, "duplicate \(n)") }
        h.checkLifecycle()
        h.checkReplay()
    }

    @Test func bopisWrongCodeLocksAndNoShowRestocks() {
        var h = Harness(Live.config())
        guard case .awaitingCollection(let site, _) = h.place(Live.draft("b1", .bopis, 37.551, 127.031, quantity: 2), at: Live.at(10)),
              case .awaitingCollection = h.place(Live.draft("b2", .bopis, 37.551, 127.031), at: Live.at(10)) else { Issue.record("not accepted"); return }
        #expect(site == Live.storeA)
        #expect(h.state.inventories[site]!.available(Live.apple) == 97)
        #expect(h.send(.collect("b1", code: "000000", at: Live.at(10, 30))) == .collect(.notReady))
        guard case .site(.readyForCollection(let code, let holdUntil)) = h.send(.site(.packed(site: site, order: "b1", at: Live.at(11)))),
              case .site(.readyForCollection(let code2, _)) = h.send(.site(.packed(site: site, order: "b2", at: Live.at(11)))) else {
            Issue.record("not ready"); return
        }
        #expect(code.count == 6 && holdUntil > Live.at(11))
        #expect(h.notifications("b1").first { $0.kind == .readyForPickup }?.code == code)
        // Deterministic codes: another state with the same config and orders draws the same.
        var again = Harness(Live.config())
        _ = again.place(Live.draft("b1", .bopis, 37.551, 127.031, quantity: 2), at: Live.at(10))
        guard case .site(.readyForCollection(let same, _)) = again.send(.site(.packed(site: site, order: "b1", at: Live.at(11)))) else { Issue.record(); return }
        #expect(same == code)

        let wrong = code == "111111" ? "222222" : "111111"
        let events = h.events.count
        #expect(h.send(.collect("b1", code: wrong, at: Live.at(12))) == .collect(.wrongCode(attemptsLeft: 2)))
        #expect(h.events.count == events + 1, "a wrong code is journaled")
        #expect(h.send(.collect("b1", code: wrong, at: Live.at(12))) == .collect(.wrongCode(attemptsLeft: 1)))
        #expect(h.send(.collect("b1", code: wrong, at: Live.at(12))) == .collect(.locked))
        #expect(h.send(.collect("b1", code: code, at: Live.at(12))) == .collect(.locked))
        #expect(h.send(.collect("b2", code: code2, at: Live.at(12))) == .collect(.handedOver))
        #expect(h.send(.collect("b2", code: code2, at: Live.at(12))) == .collect(.unknownOrder))
        // Nobody comes for b1: after the hold it is a no-show and the goods go back on the shelf.
        #expect(h.send(.collect("b1", code: code, at: holdUntil)) == .collect(.expired))
        _ = h.send(.tick(at: holdUntil))
        #expect(h.state.records().map(\.state) == [.returned, .pickedUp])
        #expect(h.state.inventories[site]!.available(Live.apple) == 99)
        #expect(h.events.last!.effects.contains(.store(site, .noShow("b1"))))
        h.checkLifecycle()
        h.checkReplay()
    }

    @Test func breakdownLosesNoOrder() {
        var h = Harness(Live.config(couriers: [Live.van("day-1", Live.at(13), Live.at(22, 30)), Live.van("day-2", Live.at(13), Live.at(22, 30))]))
        var pts = Live.Points(s: 9)
        var ids: [OrderID] = []
        for n in 0..<8 {
            let p = pts.next()
            guard case .assigned = h.place(Live.draft("k\(n)", .sameDay, p.lat, p.lon), at: Live.at(9, Int64(n))) else { continue }
            ids.append(OrderID("k\(n)"))
        }
        #expect(ids.count == 8)
        // day-1 loads what it has, delivers one, then breaks down.
        let first = h.state.manifest(of: Self.van, at: Live.at(13))!
        guard let load = first.stops.first(where: { $0.kind == .pickup })?.orders, load.count >= 2 else { Issue.record("day-1 has no trip"); return }
        _ = h.handheld(.shiftStarted(Self.van, at: Live.at(13), position: Self.hubPoint))
        let m = h.handheld(.pickedUp(Self.van, orders: load, at: Live.at(13, 10)))!
        let next = m.stops.first { $0.kind == .delivery }!.orders[0]
        _ = h.handheld(.delivered(Self.van, order: next, proof: .init(kind: .pin, reference: "x"), at: Live.at(14, 10)))
        let broken = h.handheld(.breakdown(Self.van, position: Coordinate(lat: 37.56, lon: 127.04), at: Live.at(14, 30)))!
        #expect(broken.status == .brokenDown && broken.onBoard.isEmpty && broken.stops.isEmpty)
        h.checkNoOrderTwice()
        // day-2 now holds every undelivered order: a transfer pickup from day-1, then deliveries.
        let other = CourierRef.vehicle("day-2")
        let m2 = h.state.manifest(of: other, at: Live.at(14, 30))!
        let transfer = m2.stops.first { $0.fromCourier == Self.van }
        #expect(transfer != nil && Set(transfer!.orders) == Set(load).subtracting([next]))
        let planned = Set(m2.stops.filter { $0.kind == .delivery }.map { $0.orders[0] })
        #expect(planned == Set(ids).subtracting([next]), "every order not delivered is on day-2's manifest")
        // day-2 drives its whole manifest.
        var t = Live.at(14, 31)
        _ = h.handheld(.shiftStarted(other, at: t, position: Self.hubPoint))
        var guardSteps = 0
        while let stop = h.state.manifest(of: other, at: t)?.stops.first, guardSteps < 40 {
            guardSteps += 1
            t = max(t, stop.eta) + 60
            switch stop.kind {
            case .pickup: _ = h.handheld(.pickedUp(other, orders: stop.orders, at: t))
            case .delivery: _ = h.handheld(.delivered(other, order: stop.orders[0], proof: .init(kind: .photo, reference: "p"), at: t))
            case .returnToBase: _ = h.handheld(.returned(other, at: t))
            }
        }
        #expect(h.state.records().allSatisfy { $0.state == .delivered }, "\(h.state.records().map { "\($0.order)=\($0.state)" })")
        h.checkLifecycle()
        h.checkReplay()
    }

    static func dawnDay(policy: DispatchPolicy, count: Int) -> Harness {
        var h = Harness(Live.config(policy: policy))
        var pts = Live.Points(s: 77)
        for n in 0..<count {
            let p = pts.next()
            let o = h.place(Live.draft("d\(n)", .dawn, p.lat, p.lon, sku: "grocery-chilled", weight: 6_000), at: Live.eve(18, Int64(n)))
            #expect(o == .awaitingWave(site: Live.hub, window: PromiseWindow(product: .dawn, earliest: Live.at(0), latest: Live.at(7))))
        }
        return h
    }

    @Test func staleWaveIsRefusedAndAFreshOneAccepted() {
        var h = Self.dawnDay(policy: .optimised, count: 6)
        #expect(!h.state.pendingWork(at: Live.eve(22, 59)).contains { $0.kind == .dawnWave })
        guard let work = h.state.pendingWork(at: Live.eve(23)).first(where: { $0.kind == .dawnWave }) else { Issue.record("no wave"); return }
        let result = work.run({ false })
        #expect(h.send(.cancelOrder("d2", reason: .customerRequest, at: Live.eve(23, 1))) == .done)
        let events = h.events.count
        guard case .refused(let stale) = h.send(.workDone(result)) else { Issue.record("stale wave accepted"); return }
        #expect(stale.message.contains("d2") && h.events.count == events)
        guard let fresh = h.state.pendingWork(at: Live.eve(23, 2)).first(where: { $0.kind == .dawnWave }) else { Issue.record("no fresh wave"); return }
        #expect(h.send(.workDone(fresh.run({ false }))) == .done)
        #expect(!h.state.pendingWork(at: Live.eve(23, 3)).contains { $0.kind == .dawnWave })
        let records = h.state.records()
        #expect(records.filter { $0.state != .cancelled }.allSatisfy { $0.courier != nil })
        for r in records where r.state != .cancelled {
            #expect(h.notifications(r.order).first?.kind == .assigned)
        }
        // A re-optimisation job taken before a change is stale afterwards.
        _ = h.send(.command(.replanNow, at: Live.eve(23, 4)))
        if let reopt = h.state.pendingWork(at: Live.eve(23, 5)).first(where: { $0.kind == .reoptimise }) {
            let r = reopt.run({ false })
            _ = h.send(.command(.hold("d3"), at: Live.eve(23, 6)))
            guard case .refused = h.send(.workDone(r)) else { Issue.record("stale re-optimisation accepted"); return }
        } else { Issue.record("no re-optimisation offered") }
        h.checkLifecycle()
        h.checkReplay()
    }

    @Test func dawnWaveOptimisedDrivesNoMoreThanBaseline() {
        var km: [DispatchPolicy: Int64] = [:]
        for policy in DispatchPolicy.allCases {
            var h = Self.dawnDay(policy: policy, count: 20)
            guard let w = h.state.pendingWork(at: Live.eve(23)).first(where: { $0.kind == .dawnWave }) else { Issue.record(); continue }
            let r = w.run({ false })
            #expect(r.unplaced.isEmpty)
            #expect(h.send(.workDone(r)) == .done)
            km[policy] = h.state.plannedMetres(now: Live.eve(23))
            h.checkReplay()
        }
        #expect(km[.optimised]! > 0 && km[.optimised]! <= km[.baseline]!, "\(km)")
    }
}
