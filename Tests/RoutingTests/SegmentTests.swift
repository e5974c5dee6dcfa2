import Testing
@testable import Routing

@Suite struct SegmentTests {
    @Test func mergingIsAssociative() {
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<2000 {
            func seg(_ k: Int32) -> TimeSegment {
                let r = Int64(rng.below(500))
                return TimeSegment(node: Int(k), ready: r, due: r + Int64(rng.below(300)), service: Int64(rng.below(30)))
            }
            let a = seg(0), b = seg(1), c = seg(2)
            let tab = Int64(rng.below(100)), tbc = Int64(rng.below(100))
            let left = TimeSegment.merge(TimeSegment.merge(a, b, travel: tab), c, travel: tbc)
            let right = TimeSegment.merge(a, TimeSegment.merge(b, c, travel: tbc), travel: tab)
            #expect(left == right)
        }
    }

    @Test func segmentAlgebraMatchesStopByStopSimulation() {
        for seed in 0..<200 as Range<UInt64> {
            let p = Generated.problem(seed: seed, .init(customers: 7, vehicles: 1, windowWidth: 50...600))
            let e = Engine(p, objective: .distance)
            var rng = SeededGenerator(seed: seed)
            var route = p.jobs
            route.shuffle(using: &rng)
            route = Array(route.prefix(1 + rng.below(route.count)))
            e.visits[0] = [0] + route.map(Int32.init) + [0]
            e.refresh(0)
            let whole = e.fwdT[0].last!
            let sim = Generated.simulate(p, vehicle: 0, route: route, exactDuration: true)
            #expect((whole.timeWarp == 0) == (sim.timeWarp == 0))
            if sim.timeWarp == 0 { #expect(whole.duration == sim.duration) }
            #expect(e.cumD[0].last! == sim.distance)
            // Every prefix ⊕ suffix split gives the same whole.
            for k in 0..<(route.count + 1) {
                let m = TimeSegment.merge(e.fwdT[0][k], e.bwdT[0][k + 1], travel: e.t(e.visits[0][k], e.visits[0][k + 1]))
                #expect(m.timeWarp == whole.timeWarp && m.duration == whole.duration)
            }
        }
    }

    @Test func loadPeakMatchesSimulation() {
        let cap = Load(10, 10, 10, 10)
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<500 {
            var segs: [LoadSegment] = []
            var startLoad = Load.zero
            var changes: [Load] = []
            for _ in 0..<6 {
                let q = Load(Int64(rng.below(6)), Int64(rng.below(6)), 0, 0)
                if rng.below(2) == 0 { segs.append(LoadSegment(delivery: q, pickup: .zero, peak: q)); startLoad &+= q; changes.append(.zero &- q) }
                else { segs.append(LoadSegment(delivery: .zero, pickup: q, peak: q)); changes.append(q) }
            }
            var load = startLoad, peak = startLoad
            for c in changes { load &+= c; peak = pointwiseMax(peak, load) }
            let merged = segs.dropFirst().reduce(segs[0]) { LoadSegment.merge($0, $1) }
            #expect(merged.fits(cap) == !any(peak .> cap))
        }
    }
}
