@testable import DispatchPlanning
import Fleet
import Foundation
import Geo
import Testing

/// The dawn wave job on several search threads (`Budgets.dawnWaveThreads`): every order planned
/// exactly once, and the same seed and thread count give the same plan.
@Suite struct LiveDawnThreadsTests {
    typealias L = Live

    static func wave(threads: Int?) -> (DispatchWorkResult, [OrderID]) {
        var config = L.config()
        config.budgets.dawnWaveThreads = threads
        var h = Harness(config)
        var pts = L.Points(s: 91)
        var ids: [OrderID] = []
        for n in 0..<24 {
            let p = pts.next()
            _ = h.place(L.draft("t\(n)", .dawn, p.lat, p.lon, sku: "grocery-chilled", weight: 5_000), at: L.eve(18, Int64(n)))
            ids.append(OrderID("t\(n)"))
        }
        let work = h.state.pendingWork(at: L.eve(23)).first { $0.kind == .dawnWave }!
        return (work.run({ false }), ids)
    }

    @Test func twoThreadsPlanEveryOrderOnceAndReproducibly() {
        let (a, ids) = Self.wave(threads: 2)
        let planned = a.routes.flatMap { $0.trips.flatMap { $0 } }
        #expect(a.unplaced.isEmpty, "\(a.unplaced)")
        #expect(planned.sorted() == ids.sorted(), "every order once")
        let (b, _) = Self.wave(threads: 2)
        #expect(a.routes == b.routes, "same seed and thread count, same plan")
        // One thread (the default) plans them all too.
        let (one, _) = Self.wave(threads: nil)
        #expect(one.routes.flatMap { $0.trips.flatMap { $0 } }.sorted() == ids.sorted())
    }
}
