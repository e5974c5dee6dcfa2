@testable import DispatchPlanning
import Fleet
import Geo
import Testing

/// A request's work is proportional to what it changes: a courier's position report simulates
/// that courier's schedule a bounded number of times, however many couriers the region has.
@Suite struct LiveBoundedWorkTests {
    /// A region with `n` vans on shift, each with two same-day orders planned; returns the number
    /// of schedules one position report of the first van simulates.
    func schedulesPerPosition(vans n: Int) -> (position: Int, tick: Int) {
        // Room for two parcels each: the orders spread over every van.
        let two = Capacity(weightGrams: 700, volumeMillilitres: 1_200, chilledMillilitres: 0, frozenMillilitres: 0)
        let couriers = (0..<n).map { Live.van("day-\($0)", Live.at(9), Live.at(22), capacity: two) }
        var h = Harness(Live.config(couriers: couriers, stock: 10_000))
        var points = Live.Points(s: 11)
        for k in 0..<(2 * n) {
            let p = points.next()
            guard case .assigned = h.place(Live.draft("o\(k)", .sameDay, p.lat, p.lon), at: Live.at(9, 5)) else {
                Issue.record("order o\(k) not assigned with \(n) vans"); return (0, 0)
            }
        }
        for c in couriers { _ = h.handheld(.shiftStarted(c.ref, at: Live.at(9, 10), position: Coordinate(lat: 37.55, lon: 126.96))) }
        let probe = WorkProbe()
        WorkProbe.$current.withValue(probe) {
            _ = h.handheld(.position(couriers[0].ref, Coordinate(lat: 37.54, lon: 126.97), at: Live.at(9, 12)))
        }
        let position = probe.schedules.load(ordering: .relaxed)
        let tickProbe = WorkProbe()
        WorkProbe.$current.withValue(tickProbe) { _ = h.send(.tick(at: Live.at(9, 13))) }
        return (position, tickProbe.schedules.load(ordering: .relaxed))
    }

    @Test func aPositionSimulatesOneCourierWhateverTheRegionsSize() {
        let small = schedulesPerPosition(vans: 3), large = schedulesPerPosition(vans: 40)
        #expect(small.position > 0)
        #expect(large.position == small.position, "a position report simulated \(small.position) schedules with 3 vans, \(large.position) with 40")
        // The periodic tick is what looks at every courier: the probe sees the region's size there.
        #expect(large.tick > small.tick, "tick: \(small.tick) schedules with 3 vans, \(large.tick) with 40")
    }
}
