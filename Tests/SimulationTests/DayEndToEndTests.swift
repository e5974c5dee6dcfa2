import Base
import DispatchPlanning
import Fleet
import Foundation
import Geo
@testable import Simulation
import Testing

/// A short day against the real `LocalGateway` (both policies): the KPI invariants.
@Suite struct DayEndToEndTests {
    static func configs(_ policy: DispatchPolicy, day: LocalDay) throws -> [RegionDispatchConfig] {
        try SimFixture.operations.regions.map { r in
            var c = try RegionDispatchConfig.make(operations: SimFixture.operations, city: SimFixture.city, region: r.id, day: day,
                                                  policy: policy, seed: 2)
            // Deterministic, small search budgets: the test must not depend on the machine's speed.
            c.budgets.dawnWaveIterations = 150
            c.budgets.dawnWaveTimeLimitSeconds = 60
            c.budgets.reoptimiseIterations = 10
            return c
        }
    }

    @Test func shortDayKeepsEveryOrderAndBeatsTheBaseline() async throws {
        // Every BOPIS customer types a wrong code first: the counter must refuse it and still hand over.
        let scenario = SimFixture.scenario(240, seed: 2, wrongCodeRate: 1)
        let setup = SimFixture.setup
        let optimised = InProcessBackend(gateway: try LocalGateway(configs: try Self.configs(.optimised, day: scenario.serviceDay)),
                                         description: "LocalGateway optimised")
        let baseline = InProcessBackend(gateway: try LocalGateway(configs: try Self.configs(.baseline, day: scenario.serviceDay)),
                                        description: "LocalGateway baseline")
        let r = try await Simulation.run(scenario: scenario, setup: setup, backend: optimised, baselineBackend: baseline)
        for (name, k, day) in [("optimised", r.optimisedKPIs, r.optimised), ("baseline", r.baselineKPIs, r.baseline)] {
            #expect(k.lost == 0, "\(name): lost \(day.lost.prefix(10))")
            #expect(k.submitted == scenario.orders.count, "\(name)")
            #expect(k.accepted + k.rejected == k.orders, "\(name)")
            #expect(k.accepted > k.orders * 9 / 10, "\(name): only \(k.accepted) of \(k.orders) accepted")
            // Every accepted order reached an end: delivered, failed/returned, cancelled, picked up or no-show.
            #expect(k.delivered + k.failed + k.cancelled + k.pickedUp + k.noShow + k.unfinished == k.accepted, "\(name)")
            #expect(k.unfinished == 0, "\(name): unfinished \(k.unfinishedSample)")
            #expect(k.delivered > 0 && k.notifications > 0, "\(name)")
            #expect(k.pickedUp > 0 && k.wrongCodesRefused == k.pickedUp, "\(name): \(k.wrongCodesRefused) wrong codes refused, \(k.pickedUp) handed over")
            // The bad orders and the command for an unknown order were refused, each naming its item.
            #expect(k.badInputAccepted.isEmpty, "\(name): accepted \(k.badInputAccepted)")
            for id in ["bad-unknown-sku", "bad-negative-weight", "bad-outside-every-region", "no-such-order-42"] {
                #expect(k.badInputErrors.contains { $0.contains(id) }, "\(name): no error names \(id): \(k.badInputErrors)")
            }
            for p in Product.allCases {
                #expect((0...1).contains(k.onTime(p)), "\(name) \(p)")
                #expect((0...1).contains(k.products[p]?.attainment ?? 1), "\(name) \(p)")
            }
            #expect((0...1).contains(k.utilisation), "\(name)")
            // The system's records agree with what the customers saw.
            for o in day.orders where o.deliveredAt != nil {
                #expect(day.records[o.id]?.state == .delivered, "\(name): \(o.id) delivered but recorded \(String(describing: day.records[o.id]?.state))")
            }
            for o in day.orders where o.handedOverAt != nil { #expect(day.records[o.id]?.state == .pickedUp, "\(name): \(o.id)") }
        }
        #expect(r.optimisedKPIs.kmPerParcel <= r.baselineKPIs.kmPerParcel,
                "optimised \(r.optimisedKPIs.kmPerParcel) km/parcel, baseline \(r.baselineKPIs.kmPerParcel)")
        let v = try JSONValue.parse(r.json.rendered())
        for key in ["orders", "delivered", "failed", "cancelled", "lost", "on_time", "km_per_parcel", "co2e_g_per_parcel", "utilisation",
                    "dispatch_latency_ms", "notifications", "baseline"] {
            #expect(v[key] != nil, "missing \(key)")
        }
    }
}
