import Base
import Cluster
import DaybreakNode
import DispatchPlanning
import Fleet
import Foundation
import Geo
import Storage
import Testing

/// A small hand-built region for the cluster tests: a square with a hub (dawn and day vans) and a
/// store (riders, BOPIS).
enum DispatchFixtures {
    static let day = LocalDay(index: 20_500)
    static func at(_ h: Int64, _ m: Int64 = 0) -> Instant { .local(day, h * 3600 + m * 60, .seoul) }
    static func eve(_ h: Int64, _ m: Int64 = 0) -> Instant { .local(day + (-1), h * 3600 + m * 60, .seoul) }
    static let region = RegionID("square")
    static let hub = SiteID("hub"), store = SiteID("store-a")
    static let inside = Coordinate(lat: 37.55, lon: 127.04)
    static let big = Capacity(weightGrams: 1_000_000, volumeMillilitres: 5_000_000, chilledMillilitres: 3_000_000, frozenMillilitres: 1_000_000)
    static let bike = Capacity(weightGrams: 30_000, volumeMillilitres: 100_000, chilledMillilitres: 40_000, frozenMillilitres: 20_000)

    static func config() throws -> RegionDispatchConfig {
        let shape = Region(id: region.rawValue, name: "Square", polygons: [try Polygon(id: "square", outer: [
            Coordinate(lat: 37.50, lon: 127.00), Coordinate(lat: 37.50, lon: 127.10),
            Coordinate(lat: 37.60, lon: 127.10), Coordinate(lat: 37.60, lon: 127.00),
        ])])
        let sites = [RegionDispatchConfig.Site(id: hub, kind: .hub, location: Coordinate(lat: 37.55, lon: 126.96), pickLinesPerHour: 6000),
                     RegionDispatchConfig.Site(id: store, kind: .store, location: Coordinate(lat: 37.55, lon: 127.03), pickLinesPerHour: 120)]
        let catalogue = NightOrders.catalogue.items.values.sorted { $0.sku < $1.sku }
        var stock: [SiteID: [SKU: Int]] = [:]
        for s in sites { stock[s.id] = Dictionary(uniqueKeysWithValues: catalogue.map { ($0.sku, 100) }) }
        func van(_ id: String, _ from: Instant, _ to: Instant) -> RegionDispatchConfig.Courier {
            .init(ref: .vehicle(VehicleID(id)), kind: .van, capacity: big, home: hub, shiftStart: from, shiftEnd: to)
        }
        let couriers = [van("dawn-1", at(1), at(8)), van("day-1", at(9), at(22, 30)), van("am-1", at(7), at(15, 30)),
                        .init(ref: .rider(RiderID("r-1")), kind: .motorbike, capacity: bike, home: store, shiftStart: at(9), shiftEnd: at(23, 59),
                              maxOrdersPerRun: 2)]
        let products = ProductConfig(region: region, offset: .seoul, dawn: DawnConfig(waves: [TimeOfDay(1, 30)]), sameDay: SameDayConfig(),
                                     quick: QuickConfig(storeHours: OpeningHours(open: TimeOfDay(9), close: TimeOfDay(24)), maxRadiusMetres: 3_000),
                                     scheduled: ScheduledConfig(), bopis: BopisConfig(storeHours: OpeningHours(open: TimeOfDay(9), close: TimeOfDay(22))))
        var speeds: [VehicleKind: SpeedProfile] = [:]
        for k in VehicleKind.allCases { speeds[k] = .constant(k.isRider ? 25 : 30) }
        return RegionDispatchConfig(region: region, policy: .optimised, offset: .seoul, serviceDay: day, shape: shape, sites: sites,
                                    couriers: couriers, products: products, catalogue: catalogue, stock: stock,
                                    travel: .init(circuity: 1.3, defaultCircuity: 1.35, speeds: speeds),
                                    budgets: .init(dawnWaveIterations: 200, dawnWaveTimeLimitSeconds: 5, reoptimiseIterations: 10), seed: 7)
    }

    static var sku: SKU { NightOrders.catalogue.items.keys.sorted()[0] }
    static func draft(_ id: String, _ product: Product, _ p: Coordinate = inside) -> OrderDraft {
        OrderDraft(id: OrderID(id), lines: [OrderLine(sku: sku, quantity: 1)], destination: p, product: product)
    }
}

/// `ClusterGateway` end to end on `NodeService` (what `daybreak node` runs) in process, over ZeroMQ
/// and a real PostgreSQL: a few orders of each product, BOPIS collection, the dawn wave, a courier
/// report, notifications on the event stream.
@Suite(.serialized) struct DispatchClusterTests {
    @Test func theClusterGatewayRunsOrdersOfEveryProductEndToEnd() async throws {
        try await DomainTestDatabase.withSoloNode(region: DispatchFixtures.region.rawValue, prefix: "dispatch") { client, c, schema in
            try await client.connectToNodes()
            let gateway = try await ClusterGateway(client: client, configs: [try DispatchFixtures.config()])
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await gateway.run() }
                defer { group.cancelAll() }
                do { try await Self.day(gateway, c: c, schema: schema) } catch {
                    await client.close()   // idempotent: ends the gateway's pump before the group waits for it
                    throw error
                }
                await client.close()
            }
        }
    }

    static func day(_ gateway: ClusterGateway, c: PostgresConnection, schema: String) async throws {
        typealias F = DispatchFixtures
        try await gateway.openRegions()
        try await gateway.openRegions()   // idempotent

        // Outside every region: refused, nothing sent.
        guard case .rejected(let r) = try await gateway.placeOrder(F.draft("far", .dawn, Coordinate(lat: 36, lon: 128)), slot: nil, at: F.eve(21)) else {
            Issue.record("an order outside every region was placed"); return
        }
        #expect(r.problem == .outsideEveryRegion && r.order == "far")

        // Dawn orders the evening before.
        var placed: [OrderID] = []
        for i in 1...3 {
            let o = try await gateway.placeOrder(F.draft("dawn-\(i)", .dawn), slot: nil, at: F.eve(21, Int64(i)))
            guard case .awaitingWave = o else { Issue.record("dawn-\(i): \(o)"); continue }
            placed.append(OrderID("dawn-\(i)"))
        }
        // The wave at 01:30.
        try await gateway.advance(region: F.region, to: F.at(1, 30))
        let afterWave = try await gateway.records(region: F.region)
        for id in placed {
            let rec = afterWave.first { $0.order == id }
            #expect(rec?.courier == .vehicle("dawn-1"), "\(id): \(String(describing: rec))")
        }
        // The courier's handheld: journaled by its actor, forwarded to the dispatcher.
        guard case .success(let manifest) = try await gateway.report(.shiftStarted(.vehicle("dawn-1"), at: F.at(1, 35), position: Coordinate(lat: 37.55, lon: 126.96))) else {
            Issue.record("shift start refused"); return
        }
        #expect(manifest.courier == .vehicle("dawn-1") && !manifest.stops.isEmpty)
        // A handheld report retried with its key: journaled once by the vehicle, the same answer.
        let vehicle = try VehicleActor.resolve(id: VehicleActor.identity("dawn-1", region: F.region.rawValue), using: gateway.client.system)
        let moved = HandheldReport.position(.vehicle("dawn-1"), Coordinate(lat: 37.551, lon: 126.97), at: F.at(1, 40))
        let first = try await vehicle.report(moved, idempotencyKey: "pos-1")
        let again = try await vehicle.report(moved, idempotencyKey: "pos-1")
        #expect(first == again)
        guard case .manifest = first else { Issue.record("position refused: \(first)"); return }
        let courier = try await vehicle.state()
        #expect(courier.state.status == .idle && courier.state.metres > 500 && courier.seq == 2)
        // One durable write per position: the courier's journal has it; the dispatcher applied it
        // as soft state (no event), and a shift start (a real change) was journaled by both.
        try await c.executeScript("SET search_path TO \(schema)", purpose: "use schema")
        #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE actor_kind = 'vehicle' AND actor_key = 'dawn-1' AND type = 'courier.moved'") == 1)
        #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE actor_kind = 'dispatch-day' AND idempotency_key = 'pos-1'") == 0)
        #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE actor_kind = 'dispatch-day' AND type = 'dispatcher.report'") >= 1)

        // Daytime products.
        for (id, product) in [("sd-1", Product.sameDay), ("sd-2", .sameDay), ("q-1", .quick), ("q-2", .quick), ("b-1", .bopis), ("b-2", .bopis)] {
            let o = try await gateway.placeOrder(F.draft(id, product), slot: nil, at: F.at(10))
            if case .rejected(let why) = o { Issue.record("\(id): \(why)") } else { placed.append(OrderID(id)) }
        }
        let slot = F.at(18)
        if case .rejected(let why) = try await gateway.placeOrder(F.draft("s-1", .scheduled), slot: slot, at: F.at(10)) { Issue.record("s-1: \(why)") }
        else { placed.append("s-1") }

        // BOPIS: picked, packed (a code), a wrong code, the right one.
        _ = try await gateway.siteReport(.pickingStarted(site: F.store, order: "b-1", at: F.at(10, 5)))
        guard case .success(.readyForCollection(let code, _)) = try await gateway.siteReport(.packed(site: F.store, order: "b-1", at: F.at(10, 20))) else {
            Issue.record("b-1 not ready for collection"); return
        }
        let wrong = code == "000000" ? "000001" : "000000"
        #expect(try await gateway.collect("b-1", code: wrong, at: F.at(11)) == .wrongCode(attemptsLeft: 2))
        #expect(try await gateway.collect("b-1", code: code, at: F.at(11, 1)) == .handedOver)

        // A cancel; a command on an unknown order is refused, typed.
        #expect(try await gateway.cancelOrder("sd-2", reason: .customerRequest, at: F.at(10, 30)).isSuccess)
        guard case .failure(let e) = try await gateway.cancelOrder("nope", reason: .customerRequest, at: F.at(10, 30)) else {
            Issue.record("cancel of an unknown order accepted"); return
        }
        #expect(e.problem == .unknownOrder)

        // The system of record: one order journal per placed order, created once; the store's
        // counter shows the handover; the vehicle journaled its shift.
        try await c.executeScript("SET search_path TO \(schema)", purpose: "use schema")
        for id in placed {
            #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE actor_kind = 'order' AND actor_key = $1 AND type = 'order.created'",
                                                       [id.rawValue]) == 1, "\(id)")
        }
        #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE actor_kind = 'store' AND type = 'store.handed_over'") == 1)
        #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE actor_kind = 'vehicle' AND actor_key = 'dawn-1' AND type = 'courier.shift_started'") == 1)
        let records = try await gateway.records(region: F.region)
        #expect(records.first { $0.order == "b-1" }?.state == .pickedUp)
        #expect(records.first { $0.order == "sd-2" }?.state == .cancelled)

        // Notifications arrive through the outbox and the event stream, each once.
        var got: [CustomerNotification] = []
        try await NodeHostingTests.waitUntil("notifications", within: .seconds(20)) {
            got += try await gateway.drainNotifications()
            return got.contains { $0.order == "b-1" && $0.kind == .readyForPickup } && got.contains { $0.order == "dawn-1" }
        }
        #expect(got.first { $0.order == "b-1" && $0.kind == .readyForPickup }?.code == code)
        // Each outbox row at most once (the publisher marks a row sent after publishing it, so count all rows).
        let rows = try await DomainTestDatabase.count(c, "SELECT count(*) FROM outbox")
        #expect(rows >= Int64(got.count) && Set(got).count == got.count)
    }
}

extension DispatchClusterTests {
    /// Two nodes; the region's owner leaves in the middle of the day (drains and hands the region
    /// over). The gateway's calls around the move are retried with their keys (not owner, unknown
    /// actor, timeouts) on the new owner, which restores the dispatcher from the journal: every
    /// acknowledged order is there once, the dawn wave is planned once.
    @Test func theGatewayRidesThroughTheRegionMovingToAnotherNode() async throws {
        typealias F = DispatchFixtures
        try await DomainTestDatabase.withSchema(prefix: "dispmove") { c, schema in
            let services = (1...2).map { DomainTestDatabase.domainNode("m\($0)", region: F.region.rawValue, schema: schema) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for s in services { group.addTask { try await s.run() } }
                defer { group.cancelAll() }
                try await NodeHostingTests.waitUntil("one node to serve the region") { services.contains { $0.servingRegions().count == 1 } }
                let client = try await ClusterClient(database: PostgresConfiguration("").withSearchPath(schema), logger: DomainTestDatabase.logger)
                do {
                    try await client.connectToNodes()
                    let gateway = try await ClusterGateway(client: client, configs: [try F.config()])
                    try await gateway.openRegions()
                    var placed: [OrderID] = []
                    for i in 1...4 {
                        if case .awaitingWave = try await gateway.placeOrder(F.draft("mv-\(i)", .dawn), slot: nil, at: F.eve(21, Int64(i))) {
                            placed.append(OrderID("mv-\(i)"))
                        }
                    }
                    // The owner leaves; the calls go on meanwhile.
                    let owner = try #require(services.first { $0.servingRegions().count == 1 })
                    owner.requestLeave()
                    for i in 5...8 {
                        if case .awaitingWave = try await gateway.placeOrder(F.draft("mv-\(i)", .dawn), slot: nil, at: F.eve(21, Int64(i))) {
                            placed.append(OrderID("mv-\(i)"))
                        }
                    }
                    let other = try #require(services.first { $0 !== owner })
                    try await NodeHostingTests.waitUntil("the other node to serve the region") { other.servingRegions().count == 1 }
                    // On the new owner: the dispatcher restored from the journal (a duplicate id is refused).
                    guard case .rejected(let dup) = try await gateway.placeOrder(F.draft("mv-1", .dawn), slot: nil, at: F.eve(22)) else {
                        Issue.record("a known order was placed again on the new owner"); return
                    }
                    #expect(dup.problem == .duplicateOrder)
                    for i in 9...10 {
                        if case .awaitingWave = try await gateway.placeOrder(F.draft("mv-\(i)", .dawn), slot: nil, at: F.eve(22, Int64(i))) {
                            placed.append(OrderID("mv-\(i)"))
                        }
                    }
                    try await gateway.advance(region: F.region, to: F.at(1, 30))
                    #expect(placed.count == 10)
                    let records = try await gateway.records(region: F.region)
                    try await c.executeScript("SET search_path TO \(schema)", purpose: "use schema")
                    for id in placed {
                        #expect(records.first { $0.order == id }?.courier != nil, "\(id) not planned")
                        #expect(try await DomainTestDatabase.count(
                            c, "SELECT count(*) FROM actor_events WHERE actor_kind = 'order' AND actor_key = $1 AND type = 'order.created'", [id.rawValue]) == 1)
                        #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM outbox WHERE order_id = $1 AND kind = 'assigned'", [id.rawValue]) == 1)
                    }
                } catch {
                    await client.close()
                    throw error
                }
                await client.close()
            }
        }
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
}
