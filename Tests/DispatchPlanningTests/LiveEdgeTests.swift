@testable import DispatchPlanning
import Fleet
import Foundation
import Geo
import Testing

/// The edge gateway's reads and staff requests: tracking, pick queue, no-shows, stock changes,
/// BOPIS unlock, site reports checked against the site, the manifest change feed's digests.
@Suite struct LiveEdgeTests {
    static let van = CourierRef.vehicle("day-1")

    func json<T: Encodable>(_ v: T) -> String { String(decoding: try! JSONEncoder().encode(v), as: UTF8.self) }

    @Test func trackingShowsTheCourierOnlyWhenNearAndNothingOfOtherOrders() {
        var h = Harness(Live.config(couriers: [Live.van("day-1", Live.at(13), Live.at(22, 30))]))
        let ids: [OrderID] = ["t0", "t1", "t2", "t3", "t4"]
        for (k, id) in ids.enumerated() {
            guard case .assigned = h.place(Live.draft(id.rawValue, .sameDay, 37.52 + 0.015 * Double(k), 127.02 + 0.015 * Double(k)), at: Live.at(10)) else {
                Issue.record("\(id) not assigned"); return
            }
        }
        // Planned, not loaded: stops away and an ETA, but no position (not out for delivery).
        _ = h.handheld(.shiftStarted(Self.van, at: Live.at(13), position: Coordinate(lat: 37.551, lon: 126.961)))
        for id in ids {
            let t = h.state.tracking(order: id, at: Live.at(13))!
            #expect(t.state == .allocated && t.stopsAway != nil && t.eta != nil && t.courierPosition == nil)
        }
        for id in ids { _ = h.send(.site(.packed(site: Live.hub, order: id, at: Live.at(13, 5)))) }
        let loaded = h.handheld(.pickedUp(Self.van, orders: ids, at: Live.at(13, 20)))!
        let here = Coordinate(lat: 37.54, lon: 127.0)
        let m = h.handheld(.position(Self.van, here, at: Live.at(13, 40)))!
        #expect(loaded.onBoard.count == 5)
        let order = m.stops.filter { $0.kind == .delivery }.map { $0.orders[0] }
        #expect(Set(order) == Set(ids))
        for (n, id) in order.enumerated() {
            let t = h.state.tracking(order: id, at: Live.at(13, 40))!
            #expect(t.state == .outForDelivery)
            #expect(t.stopsAway == n, "\(id)")
            #expect((t.courierPosition != nil) == (n <= 2), "\(id) at \(n) stops: position only at ≤ 2")
            if n <= 2 { #expect(t.courierPosition == here) }
            let stop = m.stops.first { $0.kind == .delivery && $0.orders == [id] }!
            #expect(t.eta.map { $0.earliest <= stop.eta && stop.eta <= $0.latest } == true, "the ETA window is around the planned arrival")
            // Nothing about any other order (their ids, their addresses) and no courier id.
            let text = json(t)
            for other in ids where other != id { #expect(!text.contains("\"\(other.rawValue)\"")) }
            for other in ids where other != id {
                let dest = h.state.orders[other]!.order.destination
                #expect(t.courierPosition != dest && !text.contains("\(dest.lat)"))
            }
            #expect(!text.contains("day-1"))
        }
        // Delivered: no more position or stops away.
        _ = h.handheld(.delivered(Self.van, order: order[0], proof: .init(kind: .pin, reference: "1"), at: Live.at(14)))
        let done = h.state.tracking(order: order[0], at: Live.at(14))!
        #expect(done.state == .delivered && done.stopsAway == nil && done.courierPosition == nil)
        // The next one moved up: what was 3 stops away is now 2, and shows the courier.
        #expect(h.state.tracking(order: order[3], at: Live.at(14))!.courierPosition != nil)
        #expect(h.state.tracking(order: "nope", at: Live.at(14)) == nil)
        h.checkReplay()
    }

    @Test func bopisTrackingNeverShowsTheCode() {
        var h = Harness(Live.config())
        guard case .awaitingCollection(let site, _) = h.place(Live.draft("b1", .bopis, 37.551, 127.031), at: Live.at(10)) else { Issue.record(); return }
        let before = h.state.tracking(order: "b1", at: Live.at(10))!
        #expect(before.collectionSite == site && !before.readyForCollection && before.holdUntil == nil && before.eta == nil)
        guard case .site(.readyForCollection(let code, let until)) = h.send(.site(.packed(site: site, order: "b1", at: Live.at(11)))) else { Issue.record(); return }
        let t = h.state.tracking(order: "b1", at: Live.at(11))!
        #expect(t.readyForCollection && t.holdUntil == until && t.state == .readyForPickup)
        #expect(!json(t).contains(code))
    }

    @Test func pickQueueIsTheSitesOwnSortedByDue() {
        var h = Harness(Live.config())
        var pts = Live.Points(s: 3)
        for n in 0..<6 { _ = h.place(Live.draft("s\(n)", .sameDay, pts.next().lat, pts.next().lon), at: Live.at(9, Int64(n))) }
        guard case .assigned(_, let qs, _, _) = h.place(Live.draft("q1", .quick, 37.552, 127.032), at: Live.at(10)),
              case .awaitingCollection(let bs, _) = h.place(Live.draft("b1", .bopis, 37.551, 127.031), at: Live.at(10)),
              case .awaitingCollection(let bs2, _) = h.place(Live.draft("b2", .bopis, 37.551, 127.031), at: Live.at(10, 1)),
              case .awaitingCollection(let other, _) = h.place(Live.draft("bb", .bopis, 37.581, 127.081), at: Live.at(10)) else {
            Issue.record("not placed"); return
        }
        #expect(qs == Live.storeA && bs == Live.storeA && bs2 == Live.storeA && other == Live.storeB)
        let hub = h.state.pickQueue(site: Live.hub, at: Live.at(10))
        #expect(Set(hub.map(\.order)) == Set((0..<6).map { OrderID("s\($0)") }))
        #expect(zip(hub, hub.dropFirst()).allSatisfy { $0.due <= $1.due }, "sorted by due")
        // Due = the planned courier's arrival at the hub for the trip that loads it.
        for e in hub {
            let m = h.state.manifest(of: e.courier!, at: Live.at(10))!
            let pickup = m.stops.first { $0.kind == .pickup && $0.orders.contains(e.order) }!
            #expect(e.due == pickup.eta && e.lines == [OrderLine(sku: Live.apple, quantity: 1)] && !e.awaitingCollection)
        }
        var store = h.state.pickQueue(site: Live.storeA, at: Live.at(10))
        #expect(store.map(\.order).sorted() == ["b1", "b2", "q1"], "only store A's orders")
        #expect(zip(store, store.dropFirst()).allSatisfy { $0.due <= $1.due })
        #expect(store.first { $0.order == "b1" }!.due == h.state.orders["b1"]!.order.promise.latest)
        // Packed: a delivery order leaves the queue; a BOPIS order stays, flagged, due at its hold's end.
        _ = h.send(.site(.packed(site: Live.storeA, order: "q1", at: Live.at(10, 10))))
        guard case .site(.readyForCollection(_, let until)) = h.send(.site(.packed(site: Live.storeA, order: "b1", at: Live.at(10, 10)))) else { Issue.record(); return }
        store = h.state.pickQueue(site: Live.storeA, at: Live.at(10, 10))
        #expect(store.map(\.order) == ["b2", "b1"])
        #expect(store[1].awaitingCollection && store[1].due == until && !store[0].awaitingCollection)
        #expect(h.state.pickQueue(site: "nowhere", at: Live.at(10)).isEmpty)
    }

    @Test func noShowsOfASite() {
        var h = Harness(Live.config())
        _ = h.place(Live.draft("b1", .bopis, 37.551, 127.031), at: Live.at(10))
        _ = h.place(Live.draft("b2", .bopis, 37.551, 127.031), at: Live.at(10))
        guard case .site(.readyForCollection(_, let until)) = h.send(.site(.packed(site: Live.storeA, order: "b1", at: Live.at(11)))),
              case .site(.readyForCollection(let code2, _)) = h.send(.site(.packed(site: Live.storeA, order: "b2", at: Live.at(11)))) else { Issue.record(); return }
        #expect(h.send(.collect("b2", code: code2, at: Live.at(12))) == .collect(.handedOver))
        #expect(h.state.noShows(site: Live.storeA).isEmpty)
        let late = until + 120
        _ = h.send(.tick(at: late))
        let shows = h.state.noShows(site: Live.storeA)
        #expect(shows.map(\.order) == ["b1"] && shows[0].at == late && shows[0].holdUntil == until)
        #expect(h.state.noShows(site: Live.storeB).isEmpty)
        h.checkReplay()
    }

    @Test func stockChangesAreValidatedAndFeedPlacement() {
        var h = Harness(Live.config(couriers: [Live.van("day-1", Live.at(13), Live.at(22, 30))], stock: 2))
        guard case .assigned = h.place(Live.draft("a", .sameDay, 37.55, 127.05, quantity: 2), at: Live.at(9)) else { Issue.record(); return }
        guard case .rejected(let r) = h.place(Live.draft("b", .sameDay, 37.56, 127.05), at: Live.at(9, 1)) else { Issue.record("stock left?"); return }
        #expect(r.problem == .outOfStock)

        func refused(_ c: StockChange) -> DispatchCommandError? {
            let before = h.state, events = h.events.count
            guard case .refused(let e) = h.send(.stock(c)) else { Issue.record("\(c) accepted"); return nil }
            #expect(h.state == before && h.events.count == events, "a refusal changes nothing")
            return e
        }
        let at = Live.at(9, 2)
        #expect(refused(StockChange(site: "nowhere", sku: Live.apple, quantity: .delta(5), reason: .replenishment, at: at))?.problem == .unknownSite)
        #expect(refused(StockChange(site: Live.hub, sku: "durian", quantity: .delta(5), reason: .replenishment, at: at)).map {
            $0.problem == .unknownSKU && $0.item.contains("durian") } == true)
        #expect(refused(StockChange(site: Live.hub, sku: Live.apple, quantity: .delta(-1), reason: .replenishment, at: at))?.problem == .invalidState)
        #expect(refused(StockChange(site: Live.hub, sku: Live.apple, quantity: .counted(9), reason: .replenishment, at: at))?.problem == .invalidState)
        // Below zero, or below what order "a" reserved: refused, naming the SKU and the site.
        let negative = refused(StockChange(site: Live.hub, sku: Live.apple, quantity: .delta(-3), reason: .correction, at: at))
        #expect(negative.map { $0.problem == .invalidState && $0.item.contains("apple") && $0.item.contains("hub") } == true)
        let underReserved = refused(StockChange(site: Live.hub, sku: Live.apple, quantity: .counted(1), reason: .correction, at: at))
        #expect(underReserved.map { $0.message.contains("reserved") } == true)

        // A count equal to the shelf: answered, nothing journaled.
        let events = h.events.count
        #expect(h.send(.stock(StockChange(site: Live.hub, sku: Live.apple, quantity: .counted(2), reason: .correction, at: at)))
                == .stock(StockLevel(site: Live.hub, sku: Live.apple, onHand: 2, available: 0)))
        #expect(h.events.count == events)

        // Replenished: the reply, the store effect, and the next placement is accepted.
        #expect(h.send(.stock(StockChange(site: Live.hub, sku: Live.apple, quantity: .delta(5), reason: .replenishment, note: "truck 7", at: at)))
                == .stock(StockLevel(site: Live.hub, sku: Live.apple, onHand: 7, available: 5)))
        #expect(h.events.last!.effects == [.store(Live.hub, .adjust(Live.apple, delta: 5, reason: .replenishment, note: "truck 7"))])
        guard case .assigned = h.place(Live.draft("b", .sameDay, 37.56, 127.05), at: Live.at(9, 3)) else { Issue.record("not accepted after replenishment"); return }
        // A counted correction becomes the delta from the dispatcher's own count.
        #expect(h.send(.stock(StockChange(site: Live.hub, sku: Live.apple, quantity: .counted(3), reason: .correction, at: Live.at(9, 4))))
                == .stock(StockLevel(site: Live.hub, sku: Live.apple, onHand: 3, available: 0)))
        #expect(h.events.last!.effects == [.store(Live.hub, .adjust(Live.apple, delta: -4, reason: .correction, note: ""))])
        guard case .rejected(let again) = h.place(Live.draft("c", .sameDay, 37.57, 127.05), at: Live.at(9, 5)) else { Issue.record(); return }
        #expect(again.problem == .outOfStock)
        h.checkReplay()
    }

    @Test func unlockOnlyWhenLockedAndAttemptsReset() {
        var h = Harness(Live.config())
        _ = h.place(Live.draft("b1", .bopis, 37.551, 127.031), at: Live.at(10))
        _ = h.place(Live.draft("s1", .sameDay, 37.55, 127.05), at: Live.at(10))
        func refusal(_ r: DispatchRequest) -> DispatchCommandError.Problem? {
            let before = h.state
            guard case .refused(let e) = h.send(r) else { Issue.record("\(r) accepted"); return nil }
            #expect(h.state == before)
            return e.problem
        }
        #expect(refusal(.unlockCollection("b1", staffReason: "ID checked", at: Live.at(10, 30))) == .invalidState, "not ready yet")
        guard case .site(.readyForCollection(let code, _)) = h.send(.site(.packed(site: Live.storeA, order: "b1", at: Live.at(11)))) else { Issue.record(); return }
        #expect(refusal(.unlockCollection("b1", staffReason: "ID checked", at: Live.at(11, 30))) == .invalidState, "not locked")
        #expect(refusal(.unlockCollection("s1", staffReason: "ID checked", at: Live.at(11, 30))) == .invalidState, "not BOPIS")
        #expect(refusal(.unlockCollection("zz", staffReason: "ID checked", at: Live.at(11, 30))) == .unknownOrder)
        let wrong = code == "111111" ? "222222" : "111111"
        for _ in 0..<3 { _ = h.send(.collect("b1", code: wrong, at: Live.at(12))) }
        #expect(h.send(.collect("b1", code: code, at: Live.at(12))) == .collect(.locked))
        #expect(refusal(.unlockCollection("b1", staffReason: "  ", at: Live.at(12, 5))) == .invalidState, "a reason is required")
        #expect(h.send(.unlockCollection("b1", staffReason: "passport checked", at: Live.at(12, 5))) == .done)
        #expect(h.events.last!.effects == [.store(Live.storeA, .unlock("b1"))])
        #expect(h.state.counters[Live.storeA]!.holds["b1"]!.attemptsLeft == 3)
        #expect(h.state.orders["b1"]!.unlocks == [CollectionUnlock(at: Live.at(12, 5), reason: "passport checked")])
        #expect(h.send(.collect("b1", code: wrong, at: Live.at(12, 6))) == .collect(.wrongCode(attemptsLeft: 2)))
        #expect(h.send(.collect("b1", code: code, at: Live.at(12, 7))) == .collect(.handedOver))
        h.checkLifecycle()
        h.checkReplay()
    }

    @Test func siteReportsForAnotherSitesOrderAreRefused() {
        var h = Harness(Live.config())
        _ = h.place(Live.draft("b1", .bopis, 37.551, 127.031), at: Live.at(10))
        _ = h.place(Live.draft("q1", .quick, 37.552, 127.032), at: Live.at(10))
        #expect(h.state.orders["b1"]!.site == Live.storeA && h.state.orders["q1"]!.site == Live.storeA)
        for r in [SiteReport.packed(site: Live.storeB, order: "b1", at: Live.at(11)), .pickingStarted(site: Live.storeB, order: "q1", at: Live.at(11)),
                  .packed(site: Live.hub, order: "q1", at: Live.at(11))] {
            let before = h.state, events = h.events.count
            guard case .refused(let e) = h.send(.site(r)) else { Issue.record("\(r) accepted"); continue }
            #expect(e.problem == .invalidState && e.message.contains("store-a"))
            if case .packed(let s, _, _) = r { #expect(e.message.contains(s.rawValue)) }
            if case .pickingStarted(let s, _, _) = r { #expect(e.message.contains(s.rawValue)) }
            #expect(h.state == before && h.events.count == events, "nothing changed")
        }
        #expect(h.state.orders["b1"]!.order.state == .allocated && h.state.orders["q1"]!.order.state == .allocated)
    }

    @Test func manifestDigestsIgnoreSmallEtaMovesAndProbesFindTheCourier() {
        let stop = ManifestStop(kind: .delivery, orders: ["o1"], location: Coordinate(lat: 37.5, lon: 127), eta: Live.at(14))
        let back = ManifestStop(kind: .returnToBase, orders: [], location: Coordinate(lat: 37.5, lon: 126.9), eta: Live.at(15))
        let m = Manifest(courier: Self.van, version: 3, status: .working, stops: [stop, back], onBoard: ["o1"])
        var later = m
        later.version = 4
        later.stops[0].eta = later.stops[0].eta + 59
        #expect(!ManifestDigest(later).differs(from: ManifestDigest(m)), "an ETA moving under a minute is no change")
        later.stops[0].eta = m.stops[0].eta + 60
        #expect(ManifestDigest(later).differs(from: ManifestDigest(m)))
        var other = m
        other.onBoard = []
        #expect(ManifestDigest(other).differs(from: ManifestDigest(m)))
        other = m
        other.status = .brokenDown
        #expect(ManifestDigest(other).differs(from: ManifestDigest(m)))
        #expect(ManifestChange.topic(region: "gangnam") == "manifest.gangnam")

        // A placement's event probes the courier it went to; its manifest gains the stops.
        var h = Harness(Live.config(couriers: [Live.van("day-1", Live.at(13), Live.at(22, 30)), Live.van("day-2", Live.at(13), Live.at(22, 30))]))
        let d = h.state.decide(.placeOrder(Live.draft("a", .sameDay, 37.55, 127.05), slot: nil, at: Live.at(10)))
        guard case .placed(.assigned(let courier, _, _, _)) = d.response, let event = d.event, let probe = h.state.manifestProbe(for: event) else {
            Issue.record(); return
        }
        #expect(probe.couriers == [courier] && probe.at == Live.at(10))
        let before = h.state.manifestDigests(probe)
        h.state.apply(event)
        let after = h.state.manifestDigests(probe)
        #expect(after.count == 1 && after[0].differs(from: before[0]) && after[0].version == event.version)
        // A repeated pack report has no event; a stock change touches no courier.
        let s = h.state.decide(.stock(StockChange(site: Live.hub, sku: Live.apple, quantity: .delta(1), reason: .replenishment, at: Live.at(10, 1))))
        #expect(s.event.map { h.state.manifestProbe(for: $0) == nil } == true)
    }
}
