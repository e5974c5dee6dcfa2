import Testing
import Geo
@testable import Fleet

@Suite struct DispatchInstanceTests {
    let model = try! GreatCircleTravelModel(regions: nil, circuity: [:], speeds: [.van: .constant(30), .eBike: .constant(15)])
    let hub = Coordinate(lat: 37.615, lon: 126.716)
    let shift = ShiftPattern(start: TimeOfDay(1), end: TimeOfDay(8))

    func order(_ id: OrderID, _ lat: Double, _ zone: TemperatureZone = .chilled, latest: Instant? = nil) -> Order {
        Order(id: id, lines: [OrderLine(sku: "x", quantity: 1)], weightGrams: 2_000, volumeMillilitres: 3_000, zone: zone,
              destination: Coordinate(lat: lat, lon: 127.0), region: gangnam, product: .dawn,
              promise: PromiseWindow(product: .dawn, earliest: seoul(monday + 1, 0), latest: latest ?? seoul(monday + 1, 7)),
              createdAt: seoul(monday, 20), state: .packed, site: "hub", courier: nil, failure: nil, attempts: 0, version: 0)
    }

    @Test func depotsFirstThenOrdersWithRelativeWindowsAndDemands() throws {
        let origin = seoul(monday + 1, 1)
        let vans = try [Vehicle(id: "v1", kind: .van, capacity: Capacity(weightGrams: 1_000_000, volumeMillilitres: 5_000_000, chilledMillilitres: 3_000_000), home: "hub", shift: shift),
                        Vehicle(id: "v2", kind: .van, capacity: .zero, home: "hub", shift: shift)]
        let riders = try [Rider(id: "r1", kind: .eBike, capacity: .zero, store: "store", shift: ShiftPattern(start: TimeOfDay(10), end: TimeOfDay(22)))]
        let inst = try DispatchInstance.build(orders: [order("a", 37.50), order("b", 37.52, .frozen, latest: seoul(monday + 1, 0, 30))],
                                              vehicles: vans, riders: riders, sites: ["hub": hub, "store": Coordinate(lat: 37.5, lon: 127.03)],
                                              origin: origin, shiftDay: monday + 1, offset: .seoul,
                                              slots: .every(3600, from: origin, count: 6), serviceSeconds: { _ in 120 }, model: model)
        #expect(inst.nodes.map(\.kind) == [.depot("hub"), .depot("store"), .order("a"), .order("b")])
        #expect(inst.vehicles.map(\.startNode) == [0, 0, 1])
        #expect(inst.vehicles[0].shiftStart == 0 && inst.vehicles[0].shiftEnd == 7 * 3600)
        #expect(inst.nodes[2].ready == 0 && inst.nodes[2].due == 6 * 3600 && inst.nodes[2].service == 120)
        // Already late at the origin: due clamps to ready.
        #expect(inst.nodes[3].ready == 0 && inst.nodes[3].due == 0)
        #expect(inst.nodes[2].demand == SIMD4(2_000, 3_000, 3_000, 0) && inst.nodes[3].demand == SIMD4(2_000, 3_000, 0, 3_000))
        #expect(Set(inst.durations.keys) == [.van, .eBike] && inst.durations[.van]!.matrices.count == 6)
        #expect(inst.distances.count == 4 && inst.distances[0, 2] > 0 && inst.distances[2, 2] == 0)
        #expect(inst.durations[.eBike]!.matrices[0][0, 2] > inst.durations[.van]!.matrices[0][0, 2])
    }

    @Test func errorsNameTheUnitOrOrder() throws {
        let v = try Vehicle(id: "v1", kind: .truck, capacity: .zero, home: "hub", shift: shift)
        let origin = seoul(monday + 1, 1)
        #expect(throws: DispatchInstanceError.unsupportedKind(.truck, unit: "v1")) {
            try DispatchInstance.build(orders: [], vehicles: [v], sites: ["hub": hub], origin: origin, shiftDay: monday + 1, offset: .seoul,
                                       slots: .every(3600, from: origin, count: 1), serviceSeconds: { _ in 0 }, model: model)
        }
        let w = try Vehicle(id: "v2", kind: .van, capacity: .zero, home: "nowhere", shift: shift)
        #expect(throws: DispatchInstanceError.unknownSite("nowhere", unit: "v2")) {
            try DispatchInstance.build(orders: [], vehicles: [w], sites: ["hub": hub], origin: origin, shiftDay: monday + 1, offset: .seoul,
                                       slots: .every(3600, from: origin, count: 1), serviceSeconds: { _ in 0 }, model: model)
        }
        #expect(throws: DispatchInstanceError.duplicateOrder("a")) {
            try DispatchInstance.build(orders: [order("a", 37.5), order("a", 37.5)], vehicles: [], sites: [:], origin: origin, shiftDay: monday + 1,
                                       offset: .seoul, slots: .every(3600, from: origin, count: 1), serviceSeconds: { _ in 0 }, model: model)
        }
    }
}
