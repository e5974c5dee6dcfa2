import Base
import DispatchPlanning
import Fleet
import Foundation
import Geo
@testable import Simulation
import Testing

/// The repository's Regions/ files, loaded once.
enum SimFixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func data(_ name: String) -> Data { try! Data(contentsOf: root.appendingPathComponent("Regions").appendingPathComponent(name)) }
    static let regionsData = data("seoul.json")
    static let city = try! CityRegionsFile.load(regionsData)
    static let operations = try! OperationsConfig.load(data("seoul-operations.json"))
    static let demand = try! DemandModel.load(regionsFile: regionsData, demandFile: data("seoul-demand.json"))
    static var products: [RegionID: ProductConfig] {
        var c: [RegionID: ProductConfig] = [:]
        for r in operations.regions { c[r.id] = operations.productConfig(for: r.id) }
        return c
    }
    static func scenario(_ n: Int, seed: UInt64, killNode: Bool = false, wrongCodeRate: Double = 0.03) -> DayScenario {
        try! DayScenario.generate(.init(orders: n, seed: seed, wrongCodeRate: wrongCodeRate, killNode: killNode), demand: demand, regions: city.regions,
                                  stores: city.stores, products: products, offset: operations.offset)
    }
    static let setup = try! WorldSetup.make(operations: operations, city: city)
}

@Suite struct ScenarioTests {
    @Test func sameSeedSameDayOtherSeedOtherDay() {
        let a = SimFixture.scenario(400, seed: 7), b = SimFixture.scenario(400, seed: 7), c = SimFixture.scenario(400, seed: 8)
        #expect(a.orders == b.orders)
        #expect(a.jams == b.jams && a.breakdowns == b.breakdowns && a.commands == b.commands)
        #expect(a.orders.map(\.draft.destination) != c.orders.map(\.draft.destination))
    }

    @Test func mixCountsSumAndFollowShares() {
        let c = ProductMix.standard.counts(total: 5000)
        #expect(c.values.reduce(0, +) == 5000)
        #expect(c[.dawn] == 2250 && c[.sameDay] == 1000 && c[.quick] == 1000 && c[.scheduled] == 500 && c[.bopis] == 250)
        let odd = ProductMix.standard.counts(total: 7)
        #expect(odd.values.reduce(0, +) == 7)
        let s = SimFixture.scenario(1000, seed: 3)
        #expect(s.countsByProduct == ProductMix.standard.counts(total: 1000))
    }

    @Test func curvesPutOrdersWhereTheProductsSell() {
        let s = SimFixture.scenario(3000, seed: 11)
        let off = s.offset
        let dawn = s.orders.filter { $0.product == .dawn }
        // All dawn orders on D-1 between 10:00 and 22:59, more than half after 18:00 (evening peak).
        #expect(dawn.allSatisfy { $0.placedAt.localDay(off) == s.serviceDay + (-1) })
        #expect(dawn.allSatisfy { (Time.hm(10)..<Time.hm(23)).contains($0.placedAt.secondsOfLocalDay(off)) })
        let evening = Double(dawn.filter { $0.placedAt.secondsOfLocalDay(off) >= Time.hm(18) }.count) / Double(dawn.count)
        let expected = ArrivalCurve.dawn.share(from: Time.hm(18), to: Time.hm(23))
        #expect(expected > 0.5)
        #expect(abs(evening - expected) < 0.05)
        // Same-day before the noon cutoff; quick within 1.8 km of a store; scheduled slots at least the lead time ahead.
        #expect(s.orders.filter { $0.product == .sameDay && $0.bad == nil }.allSatisfy {
            $0.placedAt.localDay(off) == s.serviceDay && (Time.hm(7)..<Time.hm(12)).contains($0.placedAt.secondsOfLocalDay(off))
        })
        for q in s.orders where q.product == .quick {
            let d = SimFixture.city.stores.map { GreatCircle.distanceMetres($0.location, q.draft.destination) }.min()!
            #expect(d <= 1_800.5, "\(q.draft.id) is \(d) m from the nearest store")
        }
        for x in s.orders where x.product == .scheduled {
            guard let slot = x.slot else { Issue.record("\(x.draft.id) has no slot"); continue }
            #expect(slot - x.placedAt >= 120 * 60)
        }
        // Lunch and dinner peaks for quick: 18:00–20:00 busier per hour than 14:00–16:00.
        let q = ArrivalCurve.quick
        #expect(q.share(from: Time.hm(18), to: Time.hm(20)) > q.share(from: Time.hm(14), to: Time.hm(16)) * 1.5)
    }

    @Test func badOrdersAndFatesAreInTheDay() {
        let s = SimFixture.scenario(2000, seed: 5)
        #expect(Set(s.orders.compactMap(\.bad)) == Set(BadInput.allCases))
        let good = s.orders.filter { $0.bad == nil }
        let cancels = good.filter { $0.fate.cancelAfterSeconds != nil }.count
        let notHome = good.filter(\.fate.notHome).count
        #expect((5...45).contains(cancels))
        #expect((15...70).contains(notHome))
        #expect(s.commands.contains { $0.action == .holdUnknownOrder })
        #expect(s.breakdowns.count == 2 && s.jams.count == 1)
        #expect(s.killNodeAt == nil)
        #expect(SimFixture.scenario(10, seed: 5, killNode: true).killNodeAt != nil)
        // Every good order is filed under the region the gateways route it to: the shape containing
        // it, or (quick, BOPIS) the region of the nearest store in reach.
        let routing = OrderRouting(map: SimFixture.city.regions,
                                   stores: SimFixture.city.stores.compactMap { s in
                                       s.regionID.map { OrderRouting.Store(region: RegionID($0), site: SiteID(s.id), location: s.location) } },
                                   quickRadius: SimFixture.products.compactMapValues { $0.quick?.maxRadiusMetres })
        for o in good {
            #expect(routing.region(for: o.draft.destination, product: o.product) == o.region, "\(o.draft.id)")
            if [.dawn, .sameDay, .scheduled].contains(o.product) {
                #expect(SimFixture.city.regions.containing(o.draft.destination)?.id == o.region.rawValue)
            }
        }
    }

    @Test func percentilesAreNearestRank() {
        let xs = (1...10).map(Double.init)
        #expect(DayKPIs.percentile(xs, 0.5) == 5)
        #expect(DayKPIs.percentile(xs, 0.95) == 10)
        #expect(DayKPIs.percentile(xs, 0.99) == 10)
        #expect(DayKPIs.percentile(xs, 0.1) == 1)
        #expect(DayKPIs.percentile([3, 1, 2], 0.5) == 2)
        #expect(DayKPIs.percentile([], 0.99) == 0)
        let hundred = (1...100).map(Double.init).reversed()
        #expect(DayKPIs.percentile(Array(hundred), 0.99) == 99)
    }

    @Test func eventHeapPopsInTimeThenInsertionOrder() {
        var h = EventHeap()
        let times: [Int64] = [50, 10, 30, 10, 40, 20]
        for (i, t) in times.enumerated() { h.push(.init(at: Instant(epochSeconds: t), seq: i, event: .shiftStart(i))) }
        var out: [(Int64, Int)] = []
        while let e = h.pop() { out.append((e.at.epochSeconds, e.seq)) }
        #expect(out.map(\.0) == [10, 10, 20, 30, 40, 50])
        #expect(out.map(\.1) == [1, 3, 5, 2, 4, 0])
    }
}

@Suite struct KPITests {
    /// A hand-made day: four orders, one courier, known outcomes.
    func outcome() -> (DayOutcome, DayScenario) {
        let s = SimFixture.scenario(0, seed: 1)
        let off = s.offset, d = s.serviceDay
        func t(_ h: Int64, _ m: Int64 = 0) -> Instant { .local(d, Time.hm(h, m), off) }
        let w = PromiseWindow(product: .sameDay, earliest: t(14), latest: t(22))
        var a = OrderTruth(id: "a", product: .sameDay, region: "gangnam", placedAt: t(8), parcels: 1)
        a.accepted = true; a.promise = w; a.firstAttemptAt = t(15); a.deliveredAt = t(15); a.placeNanos = 2_000_000
        var b = OrderTruth(id: "b", product: .sameDay, region: "gangnam", placedAt: t(8), parcels: 2)
        b.accepted = true; b.promise = w; b.firstAttemptAt = t(22, 30); b.deliveredAt = t(22, 30); b.placeNanos = 4_000_000
        var c = OrderTruth(id: "c", product: .sameDay, region: "gangnam", placedAt: t(8), parcels: 1)
        c.accepted = true; c.promise = w; c.cancelledAt = t(9); c.placeNanos = 6_000_000
        var e = OrderTruth(id: "e", product: .sameDay, region: "gangnam", placedAt: t(8), parcels: 1)
        e.accepted = true; e.promise = w; e.firstAttemptAt = t(16); e.failedAt = t(16); e.failure = .nobodyHome; e.returned = true
        e.placeNanos = 8_000_000
        var bad = OrderTruth(id: "bad-unknown-sku", product: .sameDay, region: "gangnam", placedAt: t(8), parcels: 1, bad: .unknownSKU)
        bad.rejection = "order bad-unknown-sku: invalidOrder: unknownSKU(caviar)"
        var van = CourierTruth(ref: .vehicle("v-1"), kind: .van, region: "gangnam", shiftStart: t(13), shiftEnd: t(23))
        van.metres = 30_000; van.busySeconds = 18_000; van.stopsServed = 3
        let idle = CourierTruth(ref: .vehicle("v-2"), kind: .van, region: "gangnam", shiftStart: t(13), shiftEnd: t(23))
        let out = DayOutcome(label: "test", backend: "none", orders: [a, b, c, e, bad], couriers: [van, idle], notes: [], records: [:],
                             notifications: [.assigned: 3, .delivered: 2], lost: [], calls: 100, transportErrors: 0, anomalies: 0,
                             wallSeconds: 2, killedNode: nil)
        return (out, s)
    }

    @Test func handComputedDay() {
        let (o, s) = outcome()
        let k = DayKPIs(o, scenario: s, setup: SimFixture.setup)
        #expect(k.orders == 4 && k.submitted == 5 && k.accepted == 4)
        #expect(k.delivered == 2 && k.failed == 1 && k.returned == 1 && k.cancelled == 1 && k.unfinished == 0)
        #expect(k.badInputErrors == ["order bad-unknown-sku: invalidOrder: unknownSKU(caviar)"])
        // Eligible 3 (a, b, e); on time a and e (attempt inside the window); delivered on time only a.
        #expect(k.products[.sameDay]?.eligible == 3)
        #expect(abs(k.onTime(.sameDay) - 2.0 / 3) < 1e-9)
        #expect(abs((k.products[.sameDay]?.attainment ?? 0) - 1.0 / 3) < 1e-9)
        // Lateness 0, 30, 0 min → p95 30.
        #expect(k.latenessP95Minutes == 30)
        // 30 km over 3 delivered parcels; a diesel van at the operations file's factor.
        #expect(abs(k.kmPerParcel - 10) < 1e-9)
        #expect(abs(k.gramsPerParcel - SimFixture.operations.emissionFactors.grams(.van, metres: 30_000) / 3) < 1e-6)
        // Only the van that worked counts: 5 h busy of a 10 h shift.
        #expect(k.couriersWorked == 1 && abs(k.utilisation - 0.5) < 1e-9)
        // Latencies 2, 4, 6, 8 ms → p50 4, p99 8.
        #expect(k.latencyP50Ms == 4 && k.latencyP99Ms == 8)
        #expect(k.notifications == 5)
        #expect(k.eventsPerSecond == 50)
    }

    @Test func jsonLineHasEveryRequiredKey() throws {
        let (o, s) = outcome()
        let k = DayKPIs(o, scenario: s, setup: SimFixture.setup)
        let r = SimulationResult(scenario: s, optimised: o, baseline: o, optimisedKPIs: k, baselineKPIs: k)
        let line = r.json.rendered()
        #expect(!line.contains("\n"))
        let v = try JSONValue.parse(line)
        for key in ["orders", "delivered", "failed", "cancelled", "lost", "on_time", "km_per_parcel", "co2e_g_per_parcel", "utilisation",
                    "dispatch_latency_ms", "notifications", "baseline"] {
            #expect(v[key] != nil, "missing \(key)")
        }
        for p in ["dawn", "same_day", "quick", "scheduled", "bopis"] { #expect(v["on_time"]?[p]?.doubleValue != nil, "on_time.\(p)") }
        #expect(v["dispatch_latency_ms"]?["p50"]?.doubleValue == 4)
        #expect(v["dispatch_latency_ms"]?["p99"]?.doubleValue == 8)
        for key in ["on_time", "km_per_parcel", "co2e_g_per_parcel"] { #expect(v["baseline"]?[key] != nil, "baseline.\(key)") }
        #expect(v["baseline"]?["on_time"]?["same_day"]?.doubleValue == 0.6667)
    }

    @Test func reportIsOneOfflineFile() {
        let (o, s) = outcome()
        let k = DayKPIs(o, scenario: s, setup: SimFixture.setup)
        let r = SimulationResult(scenario: s, optimised: o, baseline: o, optimisedKPIs: k, baselineKPIs: k)
        let html = SimulationReport.render(r, city: SimFixture.city, setup: SimFixture.setup)
        #expect(html.contains("<svg"))
        #expect(html.contains("Optimised vs baseline"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("<link") && !html.contains("src=\"http"))
    }
}

@Suite struct WorldSetupTests {
    /// The simulated couriers are exactly the ones the system is configured with (same ids, kinds,
    /// homes and shifts), so every handheld report names a courier the region knows.
    @Test func couriersMatchTheDispatchConfigs() throws {
        let setup = SimFixture.setup
        let day = DayScenario.defaultServiceDay(seed: 1)
        var configured: [CourierRef: RegionDispatchConfig.Courier] = [:]
        var regionOf: [CourierRef: RegionID] = [:]
        for r in SimFixture.operations.regions {
            let c = try RegionDispatchConfig.make(operations: SimFixture.operations, city: SimFixture.city, region: r.id, day: day, policy: .optimised)
            for k in c.couriers { configured[k.ref] = k; regionOf[k.ref] = r.id }
        }
        #expect(setup.couriers.count == configured.count)
        for c in setup.couriers {
            guard let k = configured[c.ref] else { Issue.record("\(c.ref.id) is not configured"); continue }
            #expect(k.kind == c.kind && k.home == c.home && regionOf[c.ref] == c.region, "\(c.ref.id)")
            let (s, e) = c.shift.on(day, SimFixture.operations.offset)
            #expect(k.shiftStart == s && k.shiftEnd == e, "\(c.ref.id)")
        }
        #expect(Set(setup.couriers.map(\.ref.id)) == Set(SimFixture.operations.vehicles().map(\.id.rawValue) + SimFixture.operations.riders().map(\.id.rawValue)))
    }
}
