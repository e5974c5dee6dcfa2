@testable import DispatchPlanning
import Fleet
import Foundation
import Geo
import Testing

/// Cold chain: an order travels in the coldest zone of its lines, and a vehicle carries chilled or
/// frozen parcels only in its chilled or frozen compartment (`Capacity.chilled`/`frozen`, from the
/// operations file's `chilledL`/`frozenL`). An ambient van (no compartments) never carries one,
/// whether the live dispatcher places the order or the dawn wave plans it; ambient parcels may ride
/// any van.
@Suite struct LiveColdChainTests {
    typealias L = Live
    static let ambient = Capacity(weightGrams: 1_000_000, volumeMillilitres: 5_000_000)
    static let zones: [SKU] = ["grocery-ambient", "grocery-chilled", "grocery-frozen"]

    static func ride(_ h: Harness) -> [(order: OrderID, zone: TemperatureZone, courier: String)] {
        h.state.records().compactMap { r in
            guard let c = r.courier, let zone = h.state.orders[r.order]?.order.zone else { return nil }
            return (r.order, zone, c.id)
        }
    }

    @Test func sameDayColdOrdersNeverRideAnAmbientVan() {
        // Two ambient vans and one refrigerated van, all on the day shift.
        let vans = [L.van("amb-1", L.at(13), L.at(22, 30), capacity: Self.ambient), L.van("amb-2", L.at(13), L.at(22, 30), capacity: Self.ambient),
                    L.van("cold-1", L.at(13), L.at(22, 30))]
        var h = Harness(L.config(couriers: vans))
        var pts = L.Points(s: 41)
        for n in 0..<24 {
            let p = pts.next()
            let sku = Self.zones[n % 3]
            let o = h.place(L.draft("sd\(n)", .sameDay, p.lat, p.lon, sku: sku, weight: 4_000), at: L.at(9, Int64(n)))
            if case .rejected(let r) = o { Issue.record("sd\(n) (\(sku)): \(r)") }
        }
        let rides = Self.ride(h)
        #expect(rides.count == 24)
        for r in rides where r.zone != .ambient { #expect(r.courier == "cold-1", "\(r.order) (\(r.zone)) rides \(r.courier)") }
        #expect(rides.contains { $0.zone == .ambient && $0.courier.hasPrefix("amb") }, "the ambient vans carry ambient parcels")
        h.checkReplay()
    }

    @Test func aColdOrderWithOnlyAmbientVansIsRefusedNotMisloaded() {
        var h = Harness(L.config(couriers: [L.van("amb-1", L.at(13), L.at(22, 30), capacity: Self.ambient)]))
        guard case .rejected(let r) = h.place(L.draft("f1", .sameDay, 37.55, 127.0, sku: "grocery-frozen"), at: L.at(9)) else {
            Issue.record("a frozen order was given to an ambient van"); return
        }
        #expect(r.problem == .noCapacity)
        guard case .assigned = h.place(L.draft("a1", .sameDay, 37.55, 127.0, sku: "grocery-ambient"), at: L.at(9)) else {
            Issue.record("an ambient order was refused"); return
        }
    }

    @Test func theDawnWaveLoadsColdParcelsOnlyOnRefrigeratedVans() {
        let vans = [L.van("amb-1", L.at(1), L.at(8), capacity: Self.ambient), L.van("amb-2", L.at(1), L.at(8), capacity: Self.ambient),
                    L.van("cold-1", L.at(1), L.at(8)), L.van("cold-2", L.at(1), L.at(8))]
        var h = Harness(L.config(couriers: vans))
        var pts = L.Points(s: 43)
        for n in 0..<30 {
            let p = pts.next()
            _ = h.place(L.draft("d\(n)", .dawn, p.lat, p.lon, sku: Self.zones[n % 3], weight: 5_000), at: L.eve(18, Int64(n)))
        }
        guard let wave = h.state.pendingWork(at: L.eve(23)).first(where: { $0.kind == .dawnWave }) else { Issue.record("no wave"); return }
        #expect(h.send(.workDone(wave.run({ false }))) == .done)
        let rides = Self.ride(h)
        #expect(rides.count == 30)
        for r in rides where r.zone != .ambient { #expect(r.courier.hasPrefix("cold"), "\(r.order) (\(r.zone)) rides \(r.courier)") }
        h.checkReplay()
    }
}
