@testable import DispatchPlanning
import Fleet
import Geo
import Testing

/// A position report's change is computed from what a position can touch (the reporting courier,
/// the orders on its trips, the observed speed, the clock), not by diffing the whole region: the
/// targeted change must equal the whole-state diff, position after position, through a day with
/// loaded vans (approach notifications), ETAs moving and late orders repaired.
@Suite struct LivePositionChangeTests {
    @Test func aPositionsChangeEqualsTheWholeStateDiff() {
        let vans = [Live.van("day-1", Live.at(13), Live.at(22, 30)), Live.van("day-2", Live.at(13), Live.at(22, 30))]
        var h = Harness(Live.config(couriers: vans))
        var points = Live.Points(s: 23)
        // A morning of same-day orders (each customer told its window), loading near by 12:30.
        for k in 0 ..< 20 {
            let p = points.next()
            _ = h.place(Live.draft("o\(k)", .sameDay, p.lat, p.lon), at: Live.at(9, Int64(3 * k)))
        }
        _ = h.send(.tick(at: Live.at(12, 30)))
        // The vans start far outside the region: their customers' windows move as they report.
        let far = Coordinate(lat: 37.45, lon: 126.80)
        for c in vans { _ = h.handheld(.shiftStarted(c.ref, at: Live.at(13), position: far)) }
        // The first van loads its first trip: its orders are on board (approach notifications).
        if let m = h.handheld(.position(vans[0].ref, Coordinate(lat: 37.55, lon: 126.96), at: Live.at(13, 20))),
           let load = m.stops.first(where: { $0.kind == .pickup }) {
            _ = h.handheld(.pickedUp(vans[0].ref, orders: load.orders, at: Live.at(13, 25)))
        }
        var withOrders = 0, targeted = 0, compared = 0
        for step in 0 ..< 240 {
            let c = vans[step % vans.count].ref
            // From mid-afternoon to late evening, now far away and now in the region: ETAs move past
            // the threshold, and late in the day promises are missed.
            let at = Live.at(13, 30) + Int64(step) * 110
            let here = step % 7 == 3 ? far : points.next()
            let request = DispatchRequest.report(.position(c, here, at: at))
            let fast = h.state.decide(request)
            let full = h.state.decide(request, wholeStateDiff: true)
            let same = fast.event == full.event && fast.response == full.response
            #expect(same, "position \(step) of \(c.id) at \(at): the targeted change differs from the whole-state diff")
            compared += 1
            if let e = fast.event {
                if e.version == h.state.version {
                    // The plan kept: the targeted comparison is what gave this event's change.
                    var after = h.state
                    after.apply(e)
                    let t = RegionDispatchState.positionChange(from: h.state, to: after, request)
                    let taken = t != nil && t == full.event?.change
                    #expect(taken, "position \(step): the targeted path was not taken or differs")
                    targeted += 1
                }
                if !(e.change?.orders.isEmpty ?? true) { withOrders += 1 }
            }
            h.send(request)
        }
        #expect(compared == 240)
        #expect(targeted > 0, "no position took the targeted path")
        #expect(withOrders > 0, "no position changed an order (the comparison never covered notifications)")
    }
}
