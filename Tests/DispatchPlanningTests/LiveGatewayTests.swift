@testable import DispatchPlanning
import Fleet
import Foundation
import Geo
import Testing

@Suite struct LiveGatewayTests {
    static let day = Fixture.day
    static func at(_ h: Int64, _ m: Int64 = 0) -> Instant { .local(day, h * 3600 + m * 60, .seoul) }
    static func eve(_ h: Int64, _ m: Int64 = 0) -> Instant { .local(day + (-1), h * 3600 + m * 60, .seoul) }

    static func configs(_ policy: DispatchPolicy) throws -> [RegionDispatchConfig] {
        try Fixture.operations.regions.map { r in
            var c = try RegionDispatchConfig.make(operations: Fixture.operations, city: Fixture.city, region: r.id, day: day, policy: policy)
            c.budgets.dawnWaveIterations = 300
            return c
        }
    }

    @Test func configFromTheSeoulFilesIsSelfContained() throws {
        let c = try RegionDispatchConfig.make(operations: Fixture.operations, city: Fixture.city, region: "gangnam", day: Self.day, policy: .optimised)
        #expect(c.hub == "hub-dawn")
        #expect(c.sites.contains { $0.kind == RegionDispatchConfig.Site.Kind.store })
        #expect(c.couriers.contains { $0.kind.isRider } && c.couriers.contains { $0.kind == VehicleKind.evVan })
        #expect(c.couriers.filter { $0.ref.id.contains("day-van") }.allSatisfy { $0.shiftStart == Self.at(13) && $0.shiftEnd == Self.at(22, 30) })
        let back = try JSONDecoder().decode(RegionDispatchConfig.self, from: try JSONEncoder().encode(c))
        #expect(back == c)
        do {
            _ = try RegionDispatchConfig.make(operations: Fixture.operations, city: Fixture.city, region: "atlantis", day: Self.day, policy: .optimised)
            Issue.record("an unknown region was accepted")
        } catch { #expect(error.item.contains("atlantis")) }
    }

    /// Drives one courier's manifest to the end as its handheld would, packing at the site first.
    static func drive(_ gw: LocalGateway, _ c: RegionDispatchConfig.Courier, from start: Instant) async throws -> Int {
        var t = max(start, c.shiftStart)
        guard case .success(let first) = try await gw.manifest(of: c.ref, at: t), !first.stops.isEmpty else { return 0 }
        let home = Fixture.city.hubs.first { $0.id == c.home.rawValue }?.location ?? Fixture.city.stores.first { $0.id == c.home.rawValue }?.location
        _ = try await gw.report(.shiftStarted(c.ref, at: t, position: home ?? Coordinate(lat: 37.6, lon: 126.7)))
        var steps = 0
        while steps < 200 {
            let current = try await gw.manifest(of: c.ref, at: t)
            guard case .success(let m) = current, let stop = m.stops.first else { break }
            steps += 1
            t = max(t, stop.eta) + 30
            switch stop.kind {
            case .pickup:
                if let site = stop.site { for o in stop.orders { _ = try await gw.siteReport(.packed(site: site, order: o, at: t)) } }
                let r = try await gw.report(.pickedUp(c.ref, orders: stop.orders, at: t))
                if case .failure(let e) = r { Issue.record("pickup: \(e)"); return steps }
            case .delivery:
                _ = try await gw.report(.arrived(c.ref, stop: .delivery, orders: stop.orders, at: t))
                let r = try await gw.report(.delivered(c.ref, order: stop.orders[0], proof: .init(kind: .photo, reference: "p"), at: t + 60))
                if case .failure(let e) = r { Issue.record("delivery: \(e)"); return steps }
            case .returnToBase:
                _ = try await gw.report(.returned(c.ref, at: t))
            }
        }
        _ = try await gw.report(.shiftEnded(c.ref, at: t))
        return steps
    }

    @Test func miniDayThroughTheGatewayEndsWithEveryOrderFinal() async throws {
        let configs = try Self.configs(.optimised)
        let gw = try LocalGateway(configs: configs)
        let region = RegionID("gangnam")
        let cfg = configs.first { $0.region == region }!
        let districts = Fixture.city.map.regions.first { $0.id == region.rawValue }!.districts.map { Coordinate(lat: $0.centroid.lat, lon: $0.centroid.lon) }
        let store = cfg.sites.first { $0.kind == .store }!
        func near(_ k: Int) -> Coordinate { Coordinate(lat: store.location.lat + 0.002 * Double(k), lon: store.location.lon + 0.001) }
        func draft(_ id: String, _ p: Product, _ c: Coordinate) -> OrderDraft {
            OrderDraft(id: OrderID(id), lines: [OrderLine(sku: "grocery-ambient", quantity: 1)], weightGrams: 4_000, volumeMillilitres: 12_000,
                       destination: c, product: p)
        }
        // Outside every region: refused by the gateway, naming the order.
        guard case .rejected(let outside) = try await gw.placeOrder(draft("far", .sameDay, Coordinate(lat: 35.1, lon: 129.0)), slot: nil, at: Self.eve(12)) else {
            Issue.record("accepted"); return
        }
        #expect(outside.problem == .outsideEveryRegion && outside.order == "far")

        for k in 0..<3 {
            let o = try await gw.placeOrder(draft("dawn-\(k)", .dawn, districts[k % districts.count]), slot: nil, at: Self.eve(18, Int64(k)))
            guard case .awaitingWave = o else { Issue.record("dawn-\(k): \(o)"); return }
        }
        try await gw.advance(region: region, to: Self.eve(23))
        #expect(try await gw.records(region: region).allSatisfy { $0.courier != nil }, "the wave planned every dawn order")
        #expect(await gw.statistics().workRuns >= 1, "the wave ran as a job on its own thread")
        for c in cfg.couriers where c.shiftStart < Self.at(8) { _ = try await Self.drive(gw, c, from: Self.at(0, 30)) }

        for k in 0..<2 {
            let o = try await gw.placeOrder(draft("same-\(k)", .sameDay, districts[(k + 1) % districts.count]), slot: nil, at: Self.at(10))
            guard case .assigned = o else { Issue.record("same-\(k): \(o)"); return }
        }
        let sched = try await gw.placeOrder(draft("slot-0", .scheduled, districts[0]), slot: Self.at(16), at: Self.at(10))
        guard case .assigned = sched else { Issue.record("slot-0: \(sched)"); return }
        for k in 0..<2 {
            let o = try await gw.placeOrder(draft("quick-\(k)", .quick, near(k)), slot: nil, at: Self.at(12))
            guard case .assigned(_, let site, _, _) = o, site == store.id else { Issue.record("quick-\(k): \(o)"); return }
        }
        guard case .awaitingCollection(let bopisSite, _) = try await gw.placeOrder(draft("pickup-0", .bopis, near(0)), slot: nil, at: Self.at(12)) else {
            Issue.record("bopis"); return
        }
        guard case .success(.readyForCollection(let code, _)) = try await gw.siteReport(.packed(site: bopisSite, order: "pickup-0", at: Self.at(12, 30))) else {
            Issue.record("bopis not ready"); return
        }
        #expect(try await gw.collect("pickup-0", code: code, at: Self.at(13)) == .handedOver)
        for c in cfg.couriers where c.shiftStart >= Self.at(7) { _ = try await Self.drive(gw, c, from: Self.at(12)) }
        try await gw.advance(region: region, to: Self.at(23))

        let records = try await gw.records(region: region)
        #expect(records.count == 9)
        let final: Set<OrderState> = [.delivered, .returned, .cancelled, .pickedUp]
        for r in records { #expect(final.contains(r.state), "\(r.order) ended \(r.state)") }
        let notes = try await gw.drainNotifications()
        #expect(notes.filter { $0.kind == .delivered }.count == 8)
        #expect(notes.contains { $0.kind == .readyForPickup && $0.code == code })
        #expect(try await gw.drainNotifications().isEmpty, "each notification once")
        // Refusals through the gateway name the item.
        guard case .failure(let late) = try await gw.cancelOrder("same-0", reason: .customerRequest, at: Self.at(23)) else { Issue.record(); return }
        #expect(late.problem == .invalidState && late.item.contains("same-0"))
        guard case .failure(let ghost) = try await gw.report(.position(.vehicle("ghost"), districts[0], at: Self.at(23))) else { Issue.record(); return }
        #expect(ghost.problem == .unknownCourier)
    }
}
