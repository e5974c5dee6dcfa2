@testable import DispatchPlanning
import Fleet
import Geo
import Routing
import Testing

/// A small dawn wave through the bench's path (`daybreak bench dawn-wave`): fleet scaled to the
/// requested vans by orders, every region prepared and planned with `planVerified`, the result
/// checked by `WaveCheck`. Iteration-bounded, so deterministic.
@Suite struct DawnWaveTests {
    static func wave(orders n: Int, vans: Int, seed: UInt64 = 1, iterations: Int = 300, sector: Int = 30) -> (WavePlan, [Order], WaveSetup) {
        let orders = Fixture.orders(n, seed: seed)
        let (byRegion, cityUnassigned) = WavePlanner.partition(orders, setup: Fixture.setup)
        let setup = Fixture.setup.scaled(toVans: vans, orders: byRegion.mapValues(\.count))
        let plans = setup.regions.map { fleet in
            let parts = fleet.sectors(orders: byRegion[fleet.regionID] ?? [], maxOrders: sector, sites: setup.sites).enumerated().map { i, s in
                let rp = try! WavePlanner.prepare(region: s.fleet, orders: s.orders, setup: setup, times: .standard)
                return WavePlanner.planVerified(rp) { attempt in Fixture.options(seed: seed &+ UInt64(i) &+ UInt64(attempt), iterations: iterations) }
            }
            return RegionPlan.merged(parts)
        }
        return (WavePlan(name: "dawn-wave", regions: plans, unassigned: cityUnassigned), orders, setup)
    }

    @Test func smallDawnWavePlansOrListsEveryOrderExactlyOnceAndTotalsAddUp() {
        let (plan, orders, setup) = Self.wave(orders: 300, vans: 10)
        #expect(setup.regions.reduce(0) { $0 + $1.vans.count } == 10)
        #expect(WaveCheck.problems(plan, orders: orders, setup: setup).isEmpty)
        WavePlannerTests.checkAccounting(plan.regions, cityUnassigned: plan.unassigned, orders: orders)
        WavePlannerTests.checkRoutes(plan.regions, orders: orders, setup: setup)
        let total = PlanKPIs(wave: plan)
        let parts = plan.regions.map(PlanKPIs.init(region:))
        #expect(total.orders == 300)
        #expect(total.planned + total.unassigned == total.orders)
        #expect(parts.reduce(0) { $0 + $1.planned } == total.planned)
        #expect(parts.reduce(0) { $0 + $1.unassigned } + plan.unassigned.count == total.unassigned)
        #expect(parts.reduce(Int64(0)) { $0 + $1.metres } == total.metres)
        #expect(parts.reduce(0) { $0 + $1.vansUsed } == total.vansUsed)
        #expect(total.vansUsed <= 10)
        #expect(total.violations == 0)
        #expect(total.onTimeStops == total.planned)
        for r in plan.regions where !r.routes.isEmpty {
            #expect((r.constructionMetres ?? 0) > 0, "\(r.region): construction distance recorded")
        }
    }

    @Test func scalingSpreadsVansByOrdersAndCopiesKeepTheirHubAndShift() {
        let counts: [RegionID: Int] = Dictionary(uniqueKeysWithValues: Fixture.setup.regions.enumerated().map { ($1.regionID, ($0 + 1) * 100) })
        let scaled = Fixture.setup.scaled(toVans: 500, orders: counts)
        #expect(scaled.regions.reduce(0) { $0 + $1.vans.count } == 500)
        let total = counts.values.reduce(0, +)
        for r in scaled.regions {
            let share = 500.0 * Double(counts[r.regionID]!) / Double(total)
            #expect(abs(Double(r.vans.count) - share) < 1, "\(r.regionID): \(r.vans.count) vans for a share of \(share)")
            #expect(Set(r.vans.map(\.id)).count == r.vans.count, "van ids stay unique")
            #expect(r.departures.count == r.vans.count)
            let original = Fixture.setup.regions.first { $0.regionID == r.regionID }!
            for (i, v) in r.vans.enumerated() {
                let base = original.vans[i % original.vans.count]
                #expect(v.home == base.home && v.kind == base.kind && v.capacity == base.capacity && v.shift == base.shift)
            }
        }
        // A region without orders gets no vans.
        var some = counts
        some[scaled.regions[0].regionID] = 0
        #expect(Fixture.setup.scaled(toVans: 50, orders: some).regions[0].vans.isEmpty)
    }

    @Test func sectorsHoldEveryOrderAndVanOnce() {
        let orders = Fixture.orders(400, seed: 3)
        let (byRegion, _) = WavePlanner.partition(orders, setup: Fixture.setup)
        let setup = Fixture.setup.scaled(toVans: 60, orders: byRegion.mapValues(\.count))
        for r in setup.regions {
            let mine = byRegion[r.regionID] ?? []
            let parts = r.sectors(orders: mine, maxOrders: 25, sites: setup.sites)
            #expect(parts.count == min(r.vans.count, (mine.count + 24) / 25) || parts.count == 1)
            #expect(parts.flatMap(\.orders).map(\.id).sorted() == mine.map(\.id).sorted())
            #expect(parts.flatMap(\.fleet.vans).map(\.id).sorted() == r.vans.map(\.id).sorted())
            for p in parts {
                #expect(p.orders.count <= 25 || parts.count == 1)
                #expect(p.fleet.vans.count == p.fleet.departures.count && !p.fleet.vans.isEmpty)
            }
        }
    }

    @Test func budgetGivesTheRunningRegionItsShareOfItsThread() {
        #expect(WaveBudget.seconds(orders: 100, remaining: 300, waiting: 0, cores: 2) == 300)
        // Two equal regions waiting for two threads: this one gets half of what is left.
        #expect(WaveBudget.seconds(orders: 100, remaining: 300, waiting: 200, cores: 2) == 150)
        #expect(WaveBudget.seconds(orders: 100, remaining: -1, waiting: 0, cores: 2) == 0)
    }

    @Test func checkCatchesALostOrder() {
        let (plan, orders, setup) = Self.wave(orders: 60, vans: 6, iterations: 50)
        var broken = plan
        if let r = broken.regions.firstIndex(where: { !$0.routes.isEmpty }) {
            broken.regions[r].routes[0].stops.removeFirst()
        }
        #expect(!WaveCheck.problems(broken, orders: orders, setup: setup).isEmpty)
    }
}
