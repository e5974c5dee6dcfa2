@testable import DispatchPlanning
import Fleet
import Geo
import Routing
import Testing

/// Plans the regions of a small generated night and checks the plans against the orders and the
/// travel model, recomputed here without the planner's node indices or matrices.
@Suite struct WavePlannerTests {
    struct Planned { var optimised: [RegionPlan]; var baseline: [RegionPlan]; var orders: [Order]; var cityUnassigned: [UnassignedOrder] }

    static func plan(orders: [Order], setup: WaveSetup = Fixture.setup, iterations: Int = 400,
                     times: PlanningTimes = .standard) throws -> Planned {
        let (by, un) = WavePlanner.partition(orders, setup: setup)
        var a: [RegionPlan] = [], b: [RegionPlan] = []
        for fleet in setup.regions {
            let rp = try WavePlanner.prepare(region: fleet, orders: by[fleet.regionID] ?? [], setup: setup, times: times)
            a.append(WavePlanner.planVerified(rp) { Fixture.options(seed: UInt64($0 + 1), iterations: iterations) })
            b.append(WavePlanner.baseline(rp))
        }
        return Planned(optimised: a, baseline: b, orders: orders, cityUnassigned: un)
    }

    static let small = try! plan(orders: Fixture.orders(180, seed: 11))

    /// Every order is on exactly one route or listed unassigned exactly once — never both, never lost.
    static func checkAccounting(_ regions: [RegionPlan], cityUnassigned: [UnassignedOrder], orders: [Order]) {
        var seen: [OrderID: Int] = [:]
        for r in regions {
            for route in r.routes { for s in route.stops { seen[s.order, default: 0] += 1 } }
            for u in r.unassigned { seen[u.order, default: 0] += 1 }
        }
        for u in cityUnassigned { seen[u.order, default: 0] += 1 }
        #expect(seen.count == orders.count, "every order accounted for")
        for o in orders { #expect(seen[o.id] == 1, "order \(o.id) appears \(seen[o.id] ?? 0) times") }
    }

    /// Re-drives every route over the travel model and checks windows, capacity, shift, distances.
    static func checkRoutes(_ regions: [RegionPlan], orders: [Order], setup: WaveSetup = Fixture.setup) {
        let byID = Dictionary(uniqueKeysWithValues: orders.map { ($0.id, $0) })
        let model = setup.model
        for r in regions {
            let fleet = setup.regions.first { $0.regionID == r.region }!
            for route in r.routes {
                let vi = fleet.vans.firstIndex { $0.id == route.vehicle }
                #expect(vi != nil, "route van \(route.vehicle) belongs to region \(r.region)")
                guard let vi else { continue }
                let van = fleet.vans[vi]
                #expect(route.departure >= fleet.departures[vi], "\(route.vehicle) leaves no earlier than its wave")
                let hub = setup.sites[van.home]!
                // Slot matrices over the two endpoints of each leg, the same slots the planner uses.
                let firstHour = setup.waves.min()!.secondsOfLocalDay(setup.offset) / 3600
                let slots = TimeSlots(starts: (firstHour...7).map { setup.origin + $0 * 3600 })
                var t = route.departure, at = hub, metres: Int64 = 0, load = Capacity.zero
                for s in route.stops {
                    let o = byID[s.order]!
                    #expect(o.region == r.region, "\(o.id) is planned in its own region")
                    let leg = model.distanceMetres(from: at, to: o.destination)
                    #expect(s.legMetres == leg, "\(o.id): leg length")
                    let td = model.durationMatrices([at, o.destination], kind: van.kind, slots: slots)
                    let arrival = t + td.duration(from: 0, to: 1, departingAt: t)
                    #expect(s.arrival == arrival, "\(o.id): arrival recomputed")
                    #expect(s.serviceStart >= s.arrival && s.serviceStart >= o.promise.earliest, "\(o.id): no service before arrival or window")
                    #expect(s.serviceStart <= o.promise.latest, "\(o.id) served at \(s.serviceStart) after its promise \(o.promise.latest)")
                    #expect(s.departure == s.serviceStart + WavePlanner.serviceSeconds(o))
                    metres += leg; load = load + o.load; t = s.departure; at = o.destination
                }
                metres += model.distanceMetres(from: at, to: hub)
                let back = t + model.durationMatrices([at, hub], kind: van.kind, slots: slots).duration(from: 0, to: 1, departingAt: t)
                #expect(route.metres == metres, "\(route.vehicle): total metres")
                #expect(route.returnAt == back, "\(route.vehicle): return time")
                #expect(back <= van.shift.on(setup.deliveryDay, setup.offset).end, "\(route.vehicle) back before its shift ends")
                #expect(van.capacity.fits(load), "\(route.vehicle) carries \(load) over capacity \(van.capacity)")
                #expect(route.load == load)
            }
        }
    }

    @Test func optimisedPlanLosesNoOrderAndKeepsWindowsCapacityAndShifts() {
        let p = Self.small
        Self.checkAccounting(p.optimised, cityUnassigned: p.cityUnassigned, orders: p.orders)
        Self.checkRoutes(p.optimised, orders: p.orders)
        #expect(p.optimised.allSatisfy { $0.unassigned.isEmpty }, "a small night fits the fleet")
    }

    @Test func planningOnTheSlowestSlotAlwaysKeepsPromises() throws {
        let orders = Fixture.orders(150, seed: 23)
        let p = try Self.plan(orders: orders, iterations: 150, times: .slowestSlot)
        Self.checkAccounting(p.optimised, cityUnassigned: p.cityUnassigned, orders: orders)
        Self.checkRoutes(p.optimised, orders: orders)
        #expect(p.optimised.allSatisfy { $0.planningTimes == .slowestSlot && !$0.fellBack })
    }

    @Test func aPlanThatWouldMissPromisesIsReplannedOnTheSlowestSlot() throws {
        // One van per region and a margin of minus one hour: the solver believes promises end at
        // 08:00 and shifts at 09:00, so its first plan is late and must be replaced.
        var setup = Fixture.setup
        setup.regions = setup.regions.map { var f = $0; f.vans = [f.vans[0]]; f.departures = [f.departures[0]]; return f }
        let orders = Fixture.orders(600, seed: 8)
        let (by, _) = WavePlanner.partition(orders, setup: setup)
        let fleet = setup.regions.max { (by[$0.regionID]?.count ?? 0) < (by[$1.regionID]?.count ?? 0) }!
        let rp = try WavePlanner.prepare(region: fleet, orders: by[fleet.regionID]!, setup: setup, times: .night(marginSeconds: -3600))
        let first = WavePlanner.optimise(rp, options: Fixture.options(iterations: 50))
        #expect(!first.keepsEveryPromise, "the over-optimistic plan is late (else this test proves nothing)")
        let plan = WavePlanner.planVerified(rp) { Fixture.options(seed: UInt64($0 + 1), iterations: 50) }
        #expect(plan.fellBack && plan.planningTimes == .slowestSlot)
        #expect(plan.keepsEveryPromise)
        Self.checkRoutes([plan], orders: orders, setup: setup)
        Self.checkAccounting([plan], cityUnassigned: [], orders: by[fleet.regionID]!)
    }

    @Test func baselinePlanKeepsTheSameRules() {
        let p = Self.small
        Self.checkAccounting(p.baseline, cityUnassigned: p.cityUnassigned, orders: p.orders)
        Self.checkRoutes(p.baseline, orders: p.orders)
    }

    @Test func optimisedDrivesNoMoreThanTheBaselinePerRegion() {
        let p = Self.small
        for (a, b) in zip(p.optimised, p.baseline) {
            let ka = PlanKPIs(region: a), kb = PlanKPIs(region: b)
            #expect(ka.planned >= kb.planned, "\(a.region): optimised plans at least as many orders")
            #expect(ka.metres <= kb.metres, "\(a.region): optimised \(ka.metres) m vs baseline \(kb.metres) m")
        }
    }

    @Test func kpisAddUpFromTheRoutes() {
        let p = Self.small
        let wave = WavePlan(name: "optimised", regions: p.optimised, unassigned: p.cityUnassigned)
        let k = PlanKPIs(wave: wave)
        let routes = wave.allRoutes
        #expect(k.orders == p.orders.count)
        #expect(k.planned + k.unassigned == k.orders)
        #expect(k.metres == routes.reduce(0) { $0 + $1.metres })
        #expect(k.parcels == routes.flatMap(\.stops).reduce(0) { $0 + $1.parcels })
        #expect(k.allOnTime && k.violations == 0)
        let grams = routes.reduce(0.0) { $0 + Fixture.operations.emissionFactors.grams($1.kind, metres: $1.metres) }
        #expect(abs(k.gramsCO2e - grams) < 1e-6)
        #expect(abs(k.kmPerParcel - Double(k.metres) / 1000 / Double(k.parcels)) < 1e-12)
        #expect(k.meanLoadUtilisation > 0 && k.meanLoadUtilisation <= 1)
        #expect(k.meanTimeUtilisation > 0 && k.meanTimeUtilisation <= 1)
    }

    @Test func aFleetTooSmallLeavesOrdersUnassignedButNeverLosesThem() throws {
        var setup = Fixture.setup
        // One van per region.
        setup.regions = setup.regions.map { var f = $0; f.vans = [f.vans[0]]; f.departures = [f.departures[0]]; return f }
        let orders = Fixture.orders(900, seed: 5)
        let p = try Self.plan(orders: orders, setup: setup, iterations: 50)
        Self.checkAccounting(p.optimised, cityUnassigned: p.cityUnassigned, orders: orders)
        Self.checkAccounting(p.baseline, cityUnassigned: p.cityUnassigned, orders: orders)
        Self.checkRoutes(p.optimised, orders: orders, setup: setup)
        Self.checkRoutes(p.baseline, orders: orders, setup: setup)
        #expect(p.optimised.contains { !$0.unassigned.isEmpty }, "one van cannot serve a region's whole night")
        #expect(p.optimised.flatMap(\.unassigned).allSatisfy { $0.reason == .noFeasibleVan })
    }

    @Test func tightPromisesAreKeptOrTheOrderIsUnassigned() throws {
        // Every third order must be at the door by 03:00: some cannot make it from a hub 30+ km away.
        let off = Fixture.operations.offset
        let orders = Fixture.orders(240, seed: 17).enumerated().map { i, o in
            var o = o
            if i % 3 == 0 { o.promise.latest = Instant.local(Fixture.day, 3 * 3600, off) }
            return o
        }
        let p = try Self.plan(orders: orders, iterations: 200)
        for plan in [p.optimised, p.baseline] {
            Self.checkAccounting(plan, cityUnassigned: p.cityUnassigned, orders: orders)
            Self.checkRoutes(plan, orders: orders)
        }
        let early = Set(orders.enumerated().filter { $0.offset % 3 == 0 }.map(\.element.id))
        let servedEarly = p.baseline.flatMap(\.routes).flatMap(\.stops).filter { early.contains($0.order) }
        #expect(!servedEarly.isEmpty, "the greedy plan still serves some 03:00 promises")
    }

    @Test func ordersOfRegionsWithoutVansOrUnknownRegionsAreReportedWithTheReason() {
        var setup = Fixture.setup
        let emptied = setup.regions[0].regionID
        setup.regions[0].vans = []; setup.regions[0].departures = []
        let dropped = setup.regions.removeLast().regionID
        let orders = Fixture.orders(200, seed: 3)
        let (by, un) = WavePlanner.partition(orders, setup: setup)
        for o in orders where o.region == emptied { #expect(un.contains { $0.order == o.id && $0.reason == .noFleetInRegion }) }
        for o in orders where o.region == dropped { #expect(un.contains { $0.order == o.id && $0.reason == .unknownRegion }) }
        #expect(by.values.reduce(0) { $0 + $1.count } + un.count == orders.count)
        #expect(by[emptied] == nil && by[dropped] == nil)
    }

    @Test func vansLeaveInTheFirstTripWavesAndOnlyDawnVansArePlanned() {
        let s = Fixture.setup
        #expect(!s.waves.isEmpty)
        for w in s.waves { #expect(s.windowEnd - w >= WaveSetup.minimumFirstTripHours * 3600) }
        for f in s.regions {
            #expect(!f.vans.isEmpty, "\(f.regionID) has dawn vans")
            for (v, d) in zip(f.vans, f.departures) {
                #expect(v.kind == .van || v.kind == .evVan, "\(v.id) is a van")
                #expect(s.waves.contains(d) || d == v.shift.on(s.deliveryDay, s.offset).start)
                #expect(v.shift.on(s.deliveryDay, s.offset).start < s.windowEnd, "\(v.id) works the dawn shift")
            }
        }
    }

    @Test func sameInputsAndSeedGiveTheSamePlan() throws {
        let orders = Fixture.orders(80, seed: 21)
        let a = try Self.plan(orders: orders, iterations: 100), b = try Self.plan(orders: orders, iterations: 100)
        #expect(a.optimised.map { $0.routes.map { $0.stops.map(\.order) } } == b.optimised.map { $0.routes.map { $0.stops.map(\.order) } })
    }
}
