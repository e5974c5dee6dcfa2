import Base
import Testing
@testable import Warehouse

@Suite struct SorterTests {
    /// A random night: 1–3 waves, routes with 0–40 parcels, a sorter with enough chutes.
    static func randomNight(seed: UInt64) -> (routes: [SorterRoute], parcels: [SorterParcel], plan: ChutePlan, config: SorterConfig) {
        var rng = SplitMix64(seed: seed)
        let waves = Int.random(in: 1...3, using: &rng)
        var routes: [SorterRoute] = []
        for w in 0..<waves {
            for k in 0..<Int.random(in: 1...8, using: &rng) {
                let departure = Double(1200 + w * 900 + Int.random(in: 0...300, using: &rng))
                routes.append(SorterRoute(van: "w\(w)-van-\(k)", wave: w, departure: departure, parcels: Int.random(in: 0...40, using: &rng)))
            }
        }
        var parcels: [SorterParcel] = []
        for (r, route) in routes.enumerated() {
            for _ in 0..<route.parcels {
                parcels.append(SorterParcel(id: parcels.count, route: r, ready: Double(Int.random(in: 0...600, using: &rng))))
            }
        }
        parcels.shuffle(using: &rng)
        if Bool.random(using: &rng) {
            let slots = DockSchedule.latest(departures: routes.map(\.departure), doors: Int.random(in: 1...4, using: &rng), loadingSeconds: Double(Int.random(in: 60...600, using: &rng)))
            for r in routes.indices { routes[r].loadingStart = slots[r].start }
        }
        let capacity = Int.random(in: 2...15, using: &rng)
        let perWave = (0..<waves).map { w in routes.filter { $0.wave == w }.reduce(0) { $0 + ChutePlan.chutesNeeded(parcels: $1.parcels, capacity: capacity) } }
        let chutes = perWave.max()! + Int.random(in: 0...4, using: &rng)
        let plan = try! ChutePlan.assign(routes: routes, chutes: chutes, capacity: capacity, start: 0)
        let config = SorterConfig(inducts: Int.random(in: 1...4, using: &rng), inductsPerHour: Double(Int.random(in: 200...3000, using: &rng)),
                                  loopSeconds: Double(Int.random(in: 20...200, using: &rng)), loadingLeadSeconds: Double(Int.random(in: 0...900, using: &rng)),
                                  sampleSeconds: 30)
        return (routes, parcels, plan, config)
    }

    /// The invariants of a finished run, checked from the outputs and the plan only.
    static func check(_ res: SortResult, routes: [SorterRoute], parcels: [SorterParcel], plan: ChutePlan, config: SorterConfig) {
        #expect(res.misSorts == 0)
        var perAssignmentBeforeLoading = [Int](repeating: 0, count: plan.assignments.count)
        for (i, p) in parcels.enumerated() {
            // Never dropped: every parcel sorted, once, after its induct.
            #expect(res.sortedAt[i].isFinite && res.sortedAt[i] >= res.inductedAt[i] && res.inductedAt[i] >= p.ready)
            // Never mis-sorted: the chute it fell into was assigned to its own route, and held by it then.
            let k = res.assignment[i]
            guard k >= 0, res.chute[i] >= 0 else { Issue.record("parcel \(p.id) has no chute assignment"); continue }
            #expect(plan.assignments[k].chute == res.chute[i] && plan.assignments[k].route == p.route)
            let onChute = plan.byChute[res.chute[i]]
            guard let q = onChute.firstIndex(of: k) else { Issue.record("parcel \(p.id): assignment \(k) is not chute \(res.chute[i])'s"); continue }
            if q > 0 { #expect(res.routes[plan.assignments[onChute[q - 1]].route].leftAt <= res.sortedAt[i]) }
            #expect(res.sortedAt[i] <= res.routes[p.route].leftAt)
            if res.sortedAt[i] < config.loadingStart(routes[p.route]) { perAssignmentBeforeLoading[k] += 1 }
        }
        // A chute never holds more than its capacity before loading empties it.
        #expect(perAssignmentBeforeLoading.allSatisfy { $0 <= plan.capacity })
        // Late vans are exactly those with parcels missing at departure, and they are named.
        for (r, o) in res.routes.enumerated() {
            let missing = parcels.indices.filter { parcels[$0].route == r && res.sortedAt[$0] > routes[r].departure }.map { parcels[$0].id }.sorted()
            #expect(o.missing == missing, "\(o.van)")
            #expect(o.isLate == (o.allSortedAt > o.departure))
        }
    }

    @Test func neverMisSortsOrDropsOverManySeeds() {
        for seed in 1...150 as ClosedRange<UInt64> {
            let n = Self.randomNight(seed: seed)
            let res = Sorter.run(parcels: n.parcels, routes: n.routes, plan: n.plan, config: n.config)
            Self.check(res, routes: n.routes, parcels: n.parcels, plan: n.plan, config: n.config)
        }
    }

    @Test func aFullChuteRecirculatesUntilLoadingEmptiesIt() {
        // One route, one chute of 2; 4 parcels fed at 1 per second; the chute is 50 s down a 100 s
        // loop; loading starts at 500 s (departure 600 s, lead 100 s).
        let routes = [SorterRoute(van: "van-1", wave: 0, departure: 600, parcels: 4)]
        let parcels = (0..<4).map { SorterParcel(id: $0, route: 0, ready: 0) }
        let plan = ChutePlan(chutes: 1, capacity: 2, routes: 1, assignments: [ChuteAssignment(chute: 0, route: 0, wave: 0, from: 0, until: 600)])
        let config = SorterConfig(inducts: 1, inductsPerHour: 3600, loopSeconds: 100, loadingLeadSeconds: 100)
        let res = Sorter.run(parcels: parcels, routes: routes, plan: plan, config: config)
        #expect(res.sortedAt == [50, 51, 552, 553])
        #expect(res.recirculations == [0, 0, 5, 5])
        #expect(res.totalRecirculations == 10)
        #expect(res.lateRoutes.isEmpty && res.routes[0].allSortedAt == 553)
        Self.check(res, routes: routes, parcels: parcels, plan: plan, config: config)
    }

    @Test func aLateVanIsNamedWithItsMissingParcels() {
        // 10 parcels at 10 s each through one induct, for a van leaving at 45 s: parcels 0–4 make it
        // (inducted at 0…40 s, dropped 0.5 s later), 5–9 do not; the van leaves when the last drops.
        let routes = [SorterRoute(van: "van-late", wave: 0, departure: 45, parcels: 10),
                      SorterRoute(van: "van-ok", wave: 0, departure: 10_000, parcels: 1)]
        let parcels = (0..<10).map { SorterParcel(id: 100 + $0, route: 0, ready: 0) } + [SorterParcel(id: 7, route: 1, ready: 0)]
        let plan = try! ChutePlan.assign(routes: routes, chutes: 2, capacity: 50, start: 0)
        let config = SorterConfig(inducts: 1, inductsPerHour: 360, loopSeconds: 2, loadingLeadSeconds: 0)
        let res = Sorter.run(parcels: parcels, routes: routes, plan: plan, config: config)
        let late = res.lateRoutes
        #expect(late.map(\.van) == ["van-late"])
        #expect(late.first?.missing == [105, 106, 107, 108, 109])
        #expect(late.first.map { $0.allSortedAt > 45 && $0.leftAt == $0.allSortedAt } == true)
        #expect(res.routes[1].isLate == false)
        Self.check(res, routes: routes, parcels: parcels, plan: plan, config: config)
    }

    @Test func earlierDeparturesAreInductedFirst() {
        let routes = [SorterRoute(van: "late", wave: 0, departure: 2000, parcels: 5),
                      SorterRoute(van: "early", wave: 0, departure: 1000, parcels: 5)]
        let parcels = (0..<10).map { SorterParcel(id: $0, route: $0 < 5 ? 0 : 1, ready: 0) }
        let plan = try! ChutePlan.assign(routes: routes, chutes: 2, capacity: 10, start: 0)
        let res = Sorter.run(parcels: parcels, routes: routes, plan: plan, config: SorterConfig(inducts: 1, inductsPerHour: 1800, loopSeconds: 60, loadingLeadSeconds: 60))
        let earlyLast = (5..<10).map { res.inductedAt[$0] }.max()!
        let lateFirst = (0..<5).map { res.inductedAt[$0] }.min()!
        #expect(earlyLast < lateFirst)
    }

    @Test func chuteAssignmentFollowsTheRoutes() throws {
        // Three waves; wave 0 needs 7 chutes (one route of 25 parcels at capacity 10 needs 3).
        let routes = [
            SorterRoute(van: "a", wave: 0, departure: 100, parcels: 25), SorterRoute(van: "b", wave: 0, departure: 90, parcels: 10),
            SorterRoute(van: "c", wave: 0, departure: 100, parcels: 0), SorterRoute(van: "d", wave: 0, departure: 110, parcels: 15),
            SorterRoute(van: "e", wave: 1, departure: 200, parcels: 30), SorterRoute(van: "f", wave: 1, departure: 210, parcels: 5),
            SorterRoute(van: "g", wave: 2, departure: 300, parcels: 70),
        ]
        let plan = try ChutePlan.assign(routes: routes, chutes: 8, capacity: 10, start: 0)
        for (r, route) in routes.enumerated() {
            let mine = plan.byRoute[r].map { plan.assignments[$0] }
            #expect(mine.count == ChutePlan.chutesNeeded(parcels: route.parcels, capacity: 10), "\(route.van)")
            #expect(mine.count * plan.capacity >= route.parcels)
            #expect(mine.allSatisfy { $0.wave == route.wave && $0.until == route.departure && $0.from < route.departure })
        }
        // A chute serves at most one route per wave, and is reused only after its previous van left.
        for c in 0..<plan.chutes {
            let list = plan.byChute[c].map { plan.assignments[$0] }
            #expect(Set(list.map(\.wave)).count == list.count)
            for (x, y) in zip(list, list.dropFirst()) { #expect(y.from >= x.until) }
        }
        // Waves 1 and 2 reuse wave 0's chutes.
        #expect((0..<plan.chutes).contains { plan.byChute[$0].count >= 2 })
        // The earliest departure gets the lowest chute; wave 0 starts at the start of sorting.
        #expect(plan.assignments.first.map { $0.route == 1 && $0.chute == 0 && $0.from == 0 } == true)
        // Too few chutes for a wave.
        #expect(throws: ChuteAssignmentError.tooFewChutes(wave: 2, routes: 1, needed: 7, chutes: 6)) {
            try ChutePlan.assign(routes: Array(routes[6...]), chutes: 6, capacity: 10, start: 0)
        }
        // A chute that only frees up at this route's departure is no use.
        #expect(throws: ChuteAssignmentError.self) {
            try ChutePlan.assign(routes: [SorterRoute(van: "x", wave: 0, departure: 100, parcels: 1), SorterRoute(van: "y", wave: 1, departure: 100, parcels: 1)],
                                 chutes: 1, capacity: 10, start: 0)
        }
    }

    @Test func withOneChutePerRouteTheOverflowRecirculatesUntilLoading() throws {
        var rng = SplitMix64(seed: 99)
        let routes = (0..<12).map { SorterRoute(van: "van-\($0)", wave: $0 % 2, departure: Double(3000 + ($0 % 2) * 1200), parcels: Int.random(in: 10...30, using: &rng)) }
        var parcels: [SorterParcel] = []
        for (r, route) in routes.enumerated() { for _ in 0..<route.parcels { parcels.append(SorterParcel(id: parcels.count, route: r, ready: 0)) } }
        let plan = try ChutePlan.assign(routes: routes, chutes: 8, capacity: 8, start: 0, maxChutesPerRoute: 1)
        #expect(plan.byRoute.allSatisfy { $0.count == 1 })
        let config = SorterConfig(inducts: 2, inductsPerHour: 1800, loopSeconds: 90, loadingLeadSeconds: 600)
        let res = Sorter.run(parcels: parcels, routes: routes, plan: plan, config: config)
        Self.check(res, routes: routes, parcels: parcels, plan: plan, config: config)
        #expect(res.totalRecirculations > 0)
        // Per route, the parcels beyond a chute's capacity drop only once loading has begun.
        for (r, route) in routes.enumerated() {
            let before = parcels.indices.filter { parcels[$0].route == r && res.sortedAt[$0] < config.loadingStart(route) }
            #expect(before.count <= plan.capacity)
            #expect(res.routes[r].missing.isEmpty || res.routes[r].isLate)
        }
    }

    @Test func dockSlotsNeverOverlapAndEndByDeparture() {
        var rng = SplitMix64(seed: 5)
        for _ in 0..<50 {
            let departures = (0..<Int.random(in: 1...40, using: &rng)).map { _ in Double(Int.random(in: 0...4, using: &rng) * 1800) }
            let doors = Int.random(in: 1...6, using: &rng), load = Double(Int.random(in: 60...1200, using: &rng))
            let slots = DockSchedule.latest(departures: departures, doors: doors, loadingSeconds: load)
            for (v, s) in slots.enumerated() {
                #expect(s.end <= departures[v] && s.end - s.start == load && s.door >= 0 && s.door < doors)
            }
            for d in 0..<doors {
                let mine = slots.filter { $0.door == d }.sorted { $0.start < $1.start }
                for (a, b) in zip(mine, mine.dropFirst()) { #expect(a.end <= b.start) }
            }
            // With a door per van, every van loads right up to its departure.
            let plenty = DockSchedule.latest(departures: departures, doors: departures.count, loadingSeconds: load)
            #expect(zip(plenty, departures).allSatisfy { $0.end == $1 })
        }
    }

    @Test func fillSamplesStayWithinTheWavesCapacity() {
        let n = Self.randomNight(seed: 42)
        let res = Sorter.run(parcels: n.parcels, routes: n.routes, plan: n.plan, config: n.config)
        #expect(res.waveFill.count == res.waves.count)
        for (w, series) in res.waveFill.enumerated() {
            #expect(series.count == res.sampleTimes.count)
            #expect(series.allSatisfy { $0 >= 0 && $0 <= res.waveCapacity[w] })
        }
        #expect(n.parcels.isEmpty || res.parcelsPerHour > 0)
    }
}
