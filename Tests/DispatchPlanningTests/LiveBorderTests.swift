@testable import DispatchPlanning
import Fleet
import Foundation
import Geo
import Testing

/// Orders near a border: two squares side by side ("west" | "east" at lon 127.00), east's store
/// 265 m east of the border near the south edge, west's store 6 km from it.
@Suite struct LiveBorderTests {
    static let west = RegionID("west"), east = RegionID("east")
    static let eastStore = Coordinate(lat: 37.503, lon: 127.003)
    /// 300 m west of east's store: inside west's shape, 6 km from west's store.
    static let acrossBorder = Coordinate(lat: 37.503, lon: 127.003 - 300 / (111_195 * cos(37.503 * Double.pi / 180)))
    /// South of both shapes, 500 m from east's store.
    static let southOfEastStore = Coordinate(lat: 37.503 - 500 / 111_195.0, lon: 127.003)
    /// South of both shapes, 5 km from east's store (beyond the quick radius, within BOPIS reach).
    static let fiveKmSouth = Coordinate(lat: 37.503 - 5_000 / 111_195.0, lon: 127.003)
    static let far = Coordinate(lat: 35.1, lon: 129.0)

    static func square(_ id: String, lon: Double) -> Region {
        Region(id: id, name: id, polygons: [try! Polygon(id: id, outer: [
            Coordinate(lat: 37.50, lon: lon), Coordinate(lat: 37.50, lon: lon + 0.10),
            Coordinate(lat: 37.60, lon: lon + 0.10), Coordinate(lat: 37.60, lon: lon),
        ])])
    }

    /// One region from `Live.config`'s terms with its own shape, hub, store and couriers.
    static func config(_ region: RegionID, lon: Double, hub: Coordinate, store: Coordinate) -> RegionDispatchConfig {
        var c = Live.config()
        let p = region.rawValue
        let hubID = SiteID("\(p)-hub"), storeID = SiteID("\(p)-store")
        c.region = region
        c.shape = square(p, lon: lon)
        c.products.region = region
        c.sites = [
            .init(id: hubID, kind: .hub, location: hub, pickLinesPerHour: 6000),
            .init(id: storeID, kind: .store, location: store, pickLinesPerHour: 120),
        ]
        let stock = c.stock[Live.hub]!
        c.stock = [hubID: stock, storeID: stock]
        func van(_ id: String, _ from: Instant, _ to: Instant) -> RegionDispatchConfig.Courier {
            .init(ref: .vehicle(VehicleID("\(p)-\(id)")), kind: .van, capacity: Live.big, home: hubID, shiftStart: from, shiftEnd: to)
        }
        c.couriers = [van("dawn", Live.at(1), Live.at(8)), van("day", Live.at(9), Live.at(22, 30)),
                      .init(ref: .rider(RiderID("\(p)-rider")), kind: .motorbike, capacity: Live.bike, home: storeID,
                            shiftStart: Live.at(9), shiftEnd: Live.at(23, 59), maxOrdersPerRun: 2)]
        return c
    }

    static var westConfig: RegionDispatchConfig {
        config(west, lon: 126.90, hub: Coordinate(lat: 37.55, lon: 126.92), store: Coordinate(lat: 37.503, lon: 126.93))
    }
    static var eastConfig: RegionDispatchConfig {
        config(east, lon: 127.00, hub: Coordinate(lat: 37.55, lon: 127.08), store: eastStore)
    }
    static var configs: [RegionDispatchConfig] { [westConfig, eastConfig] }
    static let eastRider = CourierRef.rider(RiderID("east-rider"))

    @Test func fixtureGeometry() {
        #expect(abs(GreatCircle.distanceMetres(Self.acrossBorder, Self.eastStore) - 300) < 2)
        #expect(Self.westConfig.shape.contains(Self.acrossBorder) && !Self.eastConfig.shape.contains(Self.acrossBorder))
        #expect(GreatCircle.distanceMetres(Self.acrossBorder, Self.westConfig.sites[1].location) > 5_000)
        #expect(!Self.configs.contains { $0.shape.contains(Self.southOfEastStore) || $0.shape.contains(Self.fiveKmSouth) })
    }

    @Test func quickAndBopisGoToTheNearestStoresRegionOthersToTheShape() throws {
        let routing = try OrderRouting(configs: Self.configs)
        #expect(routing.region(for: Self.acrossBorder, product: .quick) == Self.east)
        #expect(routing.region(for: Self.acrossBorder, product: .bopis) == Self.east)
        for p in [Product.dawn, .sameDay, .scheduled] { #expect(routing.region(for: Self.acrossBorder, product: p) == Self.west, "\(p)") }
        // Outside both shapes but within a store's reach.
        #expect(routing.region(for: Self.southOfEastStore, product: .quick) == Self.east)
        #expect(routing.region(for: Self.southOfEastStore, product: .sameDay) == nil)
        #expect(routing.region(for: Self.fiveKmSouth, product: .quick) == nil)
        #expect(routing.region(for: Self.fiveKmSouth, product: .bopis) == Self.east)
        // Near west's own store: west.
        #expect(routing.region(for: Coordinate(lat: 37.51, lon: 126.93), product: .quick) == Self.west)
        // Out of every store's reach and outside every shape: rejected, naming the order.
        guard case .failure(let r) = routing.route(Live.draft("far-quick", .quick, Self.far.lat, Self.far.lon)) else {
            Issue.record("routed"); return
        }
        #expect(r.order == "far-quick" && r.problem == .outsideEveryRegion)
    }

    @Test func aTieGoesToTheShapesRegion() throws {
        // A point inside west exactly halfway (binary fractions: the distances are equal to the
        // bit) between west's store and east's: west wins, whatever the config order (by region id
        // east would).
        var w = Self.westConfig, e = Self.eastConfig
        w.sites[1].location = Coordinate(lat: 37.503, lon: 126.9921875)
        e.sites[1].location = Coordinate(lat: 37.503, lon: 127.0)
        let point = Coordinate(lat: 37.503, lon: 126.99609375)
        #expect(GreatCircle.distanceMetres(point, w.sites[1].location) == GreatCircle.distanceMetres(point, e.sites[1].location))
        #expect(try OrderRouting(configs: [e, w]).region(for: point, product: .quick) == Self.west)
        #expect(try OrderRouting(configs: [w, e]).region(for: point, product: .quick) == Self.west)
        #expect(try OrderRouting(configs: [e, w]).region(for: point, product: .bopis) == Self.west)
    }

    @Test func theStoresDispatcherAcceptsAQuickOrderAcrossTheBorder() {
        var east = Harness(Self.eastConfig)
        let q = east.place(Live.draft("q1", .quick, Self.acrossBorder.lat, Self.acrossBorder.lon), at: Live.at(12))
        guard case .assigned(let courier, let site, _, _) = q else { Issue.record("q1: \(q)"); return }
        #expect(courier == Self.eastRider && site == "east-store")
        #expect(east.state.records().first { $0.order == "q1" }?.region == Self.east)
        // Outside both shapes, 500 m from the store: also this region's.
        guard case .assigned = east.place(Live.draft("q2", .quick, Self.southOfEastStore.lat, Self.southOfEastStore.lon), at: Live.at(12)) else {
            Issue.record("q2 refused"); return
        }
        // BOPIS 5 km outside: collected at the store.
        guard case .awaitingCollection(let s3, _) = east.place(Live.draft("b3", .bopis, Self.fiveKmSouth.lat, Self.fiveKmSouth.lon), at: Live.at(12)),
              s3 == "east-store" else { Issue.record("b3 refused"); return }
        // A same-day order is delivered from the hub only inside the shape: refused here.
        guard case .rejected(let r) = east.place(Live.draft("s4", .sameDay, Self.acrossBorder.lat, Self.acrossBorder.lon), at: Live.at(12)) else {
            Issue.record("s4 accepted outside the shape"); return
        }
        #expect(r.problem == .outsideEveryRegion && r.order == "s4")
        // Quick beyond the radius of every store of the region: refused.
        guard case .rejected(let r5) = east.place(Live.draft("q5", .quick, Self.fiveKmSouth.lat, Self.fiveKmSouth.lon), at: Live.at(12)) else {
            Issue.record("q5 accepted"); return
        }
        #expect(r5.problem == .outsideEveryRegion)
        east.checkLifecycle()
        east.checkReplay()
    }

    @Test func localGatewayRoutesBothRegionsEndToEnd() async throws {
        let gw = try LocalGateway(configs: Self.configs)
        let p = Self.acrossBorder
        // Dawn and same-day at the point: west (its shape).
        guard case .awaitingWave = try await gw.placeOrder(Live.draft("dawn", .dawn, p.lat, p.lon), slot: nil, at: Live.eve(18)) else {
            Issue.record("dawn not accepted"); return
        }
        let same = try await gw.placeOrder(Live.draft("same", .sameDay, p.lat, p.lon), slot: nil, at: Live.at(10))
        guard case .assigned(let sameCourier, _, _, _) = same else { Issue.record("same: \(same)"); return }
        #expect(sameCourier.id.hasPrefix("west-"))
        // Quick at the same point: east's store, east's rider.
        let quick = try await gw.placeOrder(Live.draft("quick", .quick, p.lat, p.lon), slot: nil, at: Live.at(12))
        guard case .assigned(let quickCourier, let site, _, _) = quick else { Issue.record("quick: \(quick)"); return }
        #expect(quickCourier == Self.eastRider && site == "east-store")
        // Out of every store's reach and outside every shape: rejected, naming the order.
        guard case .rejected(let r) = try await gw.placeOrder(Live.draft("far", .quick, Self.far.lat, Self.far.lon), slot: nil, at: Live.at(12)) else {
            Issue.record("far accepted"); return
        }
        #expect(r.problem == .outsideEveryRegion && r.order == "far")

        let westRecords = try await gw.records(region: Self.west).map(\.order)
        let eastRecords = try await gw.records(region: Self.east).map(\.order)
        #expect(Set(westRecords) == ["dawn", "same"])
        #expect(eastRecords == ["quick"])

        // East's rider delivers it; the order's later reports reach east through the gateway.
        let rider = Self.eastConfig.couriers.first { $0.ref == Self.eastRider }!
        _ = try await LiveGatewayTests.drive(gw, rider, from: Live.at(12))
        #expect(try await gw.records(region: Self.east).first { $0.order == "quick" }?.state == .delivered)
        guard case .success = try await gw.cancelOrder("same", reason: .customerRequest, at: Live.at(12, 30)) else {
            Issue.record("west's order not found through the gateway"); return
        }
    }
}
