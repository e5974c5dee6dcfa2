@testable import DispatchPlanning
import Fleet
import Foundation
import Geo
import Testing

/// Breakdowns: the parcels on board are shared out among couriers on shift, none stranded.
@Suite struct LiveBreakdownTests {
    static let big = CourierRef.vehicle("big")
    static let hubPoint = Coordinate(lat: 37.55, lon: 126.96)
    /// 60 kg: six 10 kg boxes per trip.
    static let small = Capacity(weightGrams: 60_000, volumeMillilitres: 5_000_000, chilledMillilitres: 3_000_000, frozenMillilitres: 1_000_000)

    /// `count` 10 kg same-day boxes all loaded on `big` (the others locked while they are placed),
    /// then `big` breaks down at 14:00.
    static func loadedBreakdown(seed: UInt64, count: Int, others: [RegionDispatchConfig.Courier]) -> (Harness, [OrderID]) {
        var h = Harness(Live.config(couriers: [Live.van("big", Live.at(13), Live.at(22, 30))] + others))
        for c in others { _ = h.send(.command(.lockRoute(c.ref), at: Live.at(8))) }
        var pts = Live.Points(s: seed)
        var ids: [OrderID] = []
        for n in 0..<count {
            let p = pts.next()
            guard case .assigned(let c, _, _, _) = h.place(Live.draft("o\(n)", .sameDay, p.lat, p.lon, weight: 10_000), at: Live.at(9, Int64(n))) else {
                Issue.record("o\(n) not placed"); continue
            }
            #expect(c == big)
            ids.append(OrderID("o\(n)"))
        }
        _ = h.handheld(.shiftStarted(big, at: Live.at(13), position: hubPoint))
        _ = h.handheld(.pickedUp(big, orders: ids, at: Live.at(13, 10)))
        for c in others { _ = h.send(.command(.unlockRoute(c.ref), at: Live.at(13, 30))) }
        for c in others where c.shiftStart <= Live.at(13, 30) {
            _ = h.handheld(.shiftStarted(c.ref, at: Live.at(13, 30), position: hubPoint))
        }
        _ = h.handheld(.breakdown(big, position: Coordinate(lat: 37.56, lon: 127.04), at: Live.at(14)))
        return (h, ids)
    }

    @Test(arguments: [UInt64(3), 11, 29])
    func moreParcelsThanAnyOneCourierCanTakeAreSplit(seed: UInt64) {
        let smallVans = (1...4).map { Live.van("small-\($0)", Live.at(13), Live.at(22, 30), capacity: Self.small) }
        // A big van whose shift starts only at 20:00: it must not be given parcels now.
        let later = Live.van("later", Live.at(20), Live.at(23, 59))
        let (h, ids) = Self.loadedBreakdown(seed: seed, count: 20, others: smallVans + [later])
        h.checkNoOrderTwice()
        let now = Live.at(14)
        var taken: [OrderID: CourierRef] = [:]
        for (k, c) in h.state.couriers.enumerated() {
            let s = h.state.schedule(c, trips: c.trips, now: now)
            #expect(!s.overCapacity && !s.overShift, "\(c.ref.id) over capacity or shift")
            for t in c.trips where t.start != .site {
                guard case .transfer(let from, _) = t.start else { Issue.record("\(c.ref.id) has a loaded trip"); continue }
                #expect(from == Self.big)
                #expect(h.state.config.couriers[k].shiftStart <= now, "\(c.ref.id) is not on shift yet")
                for o in t.orders { taken[o] = c.ref }
            }
            // Plenty of time: a split exists that keeps every promise, so none is late.
            #expect(s.late.isEmpty, "\(c.ref.id) late: \(s.late)")
        }
        #expect(Set(taken.keys) == Set(ids), "every parcel on board gets exactly one rescuer")
        #expect(Set(taken.values).count >= 4, "20 boxes, 6 per van: at least four rescuers")
        #expect(!taken.values.contains(.vehicle("later")))
        for id in ids { #expect(h.state.orders[id]?.courier == taken[id]) }
        // Each rescuer's manifest shows one pickup from the broken van with exactly its parcels.
        for ref in Set(taken.values) {
            let m = h.state.manifest(of: ref, at: now)!
            let pick = m.stops.filter { $0.fromCourier == Self.big }
            #expect(pick.count == 1 && Set(pick[0].orders) == Set(taken.filter { $0.value == ref }.keys))
        }
        h.checkLifecycle()
        h.checkReplay()
    }

    @Test func parcelsNobodyCanTakeAreFailedAndReturnedNotStranded() {
        // The only other van starts at 20:00: nobody on shift can collect at 14:00.
        let (h, ids) = Self.loadedBreakdown(seed: 5, count: 8, others: [Live.van("later", Live.at(20), Live.at(23, 59))])
        for c in h.state.couriers { #expect(c.trips.isEmpty, "\(c.ref.id) still plans \(c.trips)") }
        let records = Dictionary(uniqueKeysWithValues: h.state.records().map { ($0.order, $0.state) })
        for id in ids {
            #expect(records[id] == .returned, "\(id) is \(String(describing: records[id]))")
            #expect(h.notifications(id).last?.kind == .failed)
        }
        #expect(h.state.inventories[Live.hub]!.available(Live.apple) == 100, "the goods are back on the shelf")
        h.checkLifecycle()
        h.checkReplay()
    }

    /// A rescuer still delivering its own load drives from its last door straight to the broken-down
    /// van, not back to base first (the hub may be far outside the city).
    @Test(arguments: [UInt64(2), 13])
    func aRescuerOnTheRoadGoesStraightToTheBrokenVan(seed: UInt64) {
        let r1 = Live.van("r1", Live.at(13), Live.at(22, 30))
        var h = Harness(Live.config(couriers: [Live.van("big", Live.at(13), Live.at(22, 30)), r1]))
        var pts = Live.Points(s: seed)
        func placeAll(_ prefix: String, _ n: Int, on: CourierRef, locking other: CourierRef) -> [OrderID] {
            _ = h.send(.command(.lockRoute(other), at: Live.at(8)))
            var ids: [OrderID] = []
            for k in 0..<n {
                let p = pts.next()
                if case .assigned(let c, _, _, _) = h.place(Live.draft("\(prefix)\(k)", .sameDay, p.lat, p.lon), at: Live.at(9, Int64(k))), c == on {
                    ids.append(OrderID("\(prefix)\(k)"))
                }
            }
            _ = h.send(.command(.unlockRoute(other), at: Live.at(8)))
            return ids
        }
        let mine = placeAll("b", 6, on: Self.big, locking: r1.ref)
        let theirs = placeAll("r", 2, on: r1.ref, locking: Self.big)
        #expect(mine.count == 6 && theirs.count == 2)
        for (c, ids) in [(Self.big, mine), (r1.ref, theirs)] {
            _ = h.handheld(.shiftStarted(c, at: Live.at(13), position: Self.hubPoint))
            _ = h.handheld(.pickedUp(c, orders: ids, at: Live.at(13, 10)))
        }
        _ = h.handheld(.breakdown(Self.big, position: Coordinate(lat: 37.56, lon: 127.04), at: Live.at(14)))
        let m = h.state.manifest(of: r1.ref, at: Live.at(14))!
        guard let k = m.stops.firstIndex(where: { $0.fromCourier == Self.big }) else { Issue.record("r1 does not rescue: \(m.stops)"); return }
        #expect(k > 0 && m.stops[k - 1].kind == .delivery, "before the rescue pickup: \(k > 0 ? m.stops[k - 1].kind.rawValue : "nothing")")
        #expect(m.stops.last?.kind == .returnToBase)
        h.checkReplay()
    }
}
