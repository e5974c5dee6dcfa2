@testable import DispatchPlanning
import Fleet
import Foundation
import Geo
import Testing

@Suite struct LiveNotifyAndFleetTests {
    /// A morning of same-day orders with re-optimisation between them moves planned ETAs back and
    /// forth by more than the threshold; the customer hears none of it while the trip loads more
    /// than the horizon away, and once it is near, a window change goes out only when the window
    /// moved past the threshold from the last window sent.
    @Test(arguments: [UInt64(2), 8, 21])
    func planChurnBeforeLoadingIsNotSentAndChangesFollowTheLastWindowSent(seed: UInt64) {
        var h = Harness(Live.config(couriers: [Live.van("day-1", Live.at(13), Live.at(22, 30)), Live.van("day-2", Live.at(13), Live.at(22, 30))]))
        var pts = Live.Points(s: seed)
        var assignedAt: [OrderID: Instant] = [:]
        var churn = 0
        for n in 0..<30 {
            let p = pts.next(), at = Live.at(9, Int64(3 * n))
            guard case .assigned(_, _, let eta, _) = h.place(Live.draft("s\(n)", .sameDay, p.lat, p.lon), at: at) else { continue }
            assignedAt[OrderID("s\(n)")] = eta
            for w in h.state.pendingWork(at: at) where w.kind == .reoptimise { _ = h.send(.workDone(w.run({ false }))) }
            // The plan's ETAs now, against the window each customer was first given.
            for c in h.state.couriers {
                for (id, e) in h.state.schedule(c, trips: c.trips, now: at).eta where abs((assignedAt[id] ?? e) - e) > 15 * 60 { churn += 1 }
            }
        }
        _ = h.send(.tick(at: Live.at(11)))
        #expect(churn > 0, "the scenario must move planned ETAs past the threshold")
        #expect(!h.notifications.contains { $0.kind == .windowChanged }, "no window change while loading is hours away")
        // Near loading the estimates count again.
        _ = h.send(.tick(at: Live.at(12, 30)))
        _ = h.handheld(.shiftStarted(.vehicle("day-1"), at: Live.at(13), position: Coordinate(lat: 37.45, lon: 126.80)))
        _ = h.handheld(.position(.vehicle("day-1"), Coordinate(lat: 37.45, lon: 126.80), at: Live.at(14)))
        var last: [OrderID: ETAWindow] = [:]
        var changes = 0
        for n in h.notifications {
            guard let w = n.window else { continue }
            if n.kind == .windowChanged, let l = last[n.order] {
                changes += 1
                #expect(max(abs(w.earliest - l.earliest), abs(w.latest - l.latest)) > 15 * 60, "\(n.order) re-sent a window within the threshold")
            }
            last[n.order] = w
        }
        #expect(changes > 0, "a van stuck far away until 14:00 moves its customers' windows")
        h.checkLifecycle()
        h.checkReplay()
    }

    /// An idle e-bike and an idle motorbike at the same store cost the same metres: the e-bike
    /// (lower emissions) takes the order when it can keep the promise, whatever the roster order.
    @Test(arguments: [UInt64(1), 5, 9])
    func eBikesTakeOrdersWhenTheyCostNoMoreMetres(seed: UInt64) {
        let moto = Live.rider("m-1", Live.storeA, max: 3)
        let ebike = RegionDispatchConfig.Courier(ref: .rider("e-1"), kind: .eBike, capacity: Live.bike, home: Live.storeA,
                                                 shiftStart: Live.at(9), shiftEnd: Live.at(22), maxOrdersPerRun: 2)
        var h = Harness(Live.config(couriers: [moto, ebike]))
        var pts = Live.Points(s: seed)
        var p = pts.next()
        // Within ~1.5 km of store A (37.55, 127.03).
        p = Coordinate(lat: 37.55 + (p.lat - 37.55) / 8, lon: 127.03 + (p.lon - 127.05) / 8)
        guard case .assigned(let c, _, let eta, let w) = h.place(Live.draft("q0", .quick, p.lat, p.lon), at: Live.at(12)) else {
            Issue.record("q0 not placed"); return
        }
        #expect(c == ebike.ref && eta <= w.latest)
        h.checkReplay()
    }

    /// Daytime van orders are planned to start at least the slack before their window ends, so a
    /// slower road than modelled does not make them late at once: filling one van's 14:00–16:00
    /// slot, every accepted order is planned that early, and the van's whole plan keeps it.
    @Test(arguments: [UInt64(3), 6])
    func scheduledOrdersArePlannedWithSlackBeforeTheWindowEnds(seed: UInt64) {
        var h = Harness(Live.config(couriers: [Live.van("day-1", Live.at(13), Live.at(22, 30))]))
        var pts = Live.Points(s: seed)
        var accepted = 0, rejected = 0
        for n in 0..<40 {
            let p = pts.next()
            switch h.place(Live.draft("sch\(n)", .scheduled, p.lat, p.lon), at: Live.at(9, Int64(n)), slot: Live.at(14)) {
            case .assigned(_, _, let eta, let w):
                accepted += 1
                #expect(eta <= w.latest - 20 * 60, "sch\(n) planned at \(eta.epochSeconds), window ends \(w.latest.epochSeconds)")
            case .rejected: rejected += 1
            default: Issue.record("sch\(n) neither assigned nor rejected")
            }
        }
        #expect(accepted > 0 && rejected > 0, "the slot must fill up: accepted \(accepted), rejected \(rejected)")
        let c = h.state.couriers[0]
        for (id, eta) in h.state.schedule(c, trips: c.trips, now: Live.at(9, 40)).eta {
            #expect(eta <= h.state.orders[id]!.order.promise.latest - 20 * 60, "\(id) planned inside the slack")
        }
        h.checkReplay()
    }
}
