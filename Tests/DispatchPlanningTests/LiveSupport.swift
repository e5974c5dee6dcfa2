@testable import DispatchPlanning
import Fleet
import Foundation
import Geo
import Testing

/// A tiny hand-built region: a square district east of a hub outside it, two stores inside.
enum Live {
    static let day = LocalDay(index: 20_500)
    static let off = UTCOffset.seoul
    /// Local time on the service day.
    static func at(_ h: Int64, _ m: Int64 = 0) -> Instant { .local(day, h * 3600 + m * 60, off) }
    /// Local time on the evening before.
    static func eve(_ h: Int64, _ m: Int64 = 0) -> Instant { .local(day + (-1), h * 3600 + m * 60, off) }

    static let region = RegionID("square")
    static let shape = Region(id: "square", name: "Square", polygons: [try! Polygon(id: "square", outer: [
        Coordinate(lat: 37.50, lon: 127.00), Coordinate(lat: 37.50, lon: 127.10),
        Coordinate(lat: 37.60, lon: 127.10), Coordinate(lat: 37.60, lon: 127.00),
    ])])
    static let hub = SiteID("hub")
    static let storeA = SiteID("store-a")
    static let storeB = SiteID("store-b")
    static let apple = SKU("apple")
    static let big = Capacity(weightGrams: 1_000_000, volumeMillilitres: 5_000_000, chilledMillilitres: 3_000_000, frozenMillilitres: 1_000_000)
    static let bike = Capacity(weightGrams: 30_000, volumeMillilitres: 100_000, chilledMillilitres: 40_000, frozenMillilitres: 20_000)

    static func van(_ id: String, _ from: Instant, _ to: Instant, kind: VehicleKind = .van, capacity: Capacity = big) -> RegionDispatchConfig.Courier {
        .init(ref: .vehicle(VehicleID(id)), kind: kind, capacity: capacity, home: hub, shiftStart: from, shiftEnd: to)
    }
    static func rider(_ id: String, _ store: SiteID, max: Int = 2) -> RegionDispatchConfig.Courier {
        .init(ref: .rider(RiderID(id)), kind: .motorbike, capacity: bike, home: store, shiftStart: at(9), shiftEnd: at(23, 59), maxOrdersPerRun: max)
    }
    static let dayVans = [van("day-1", at(13), at(22, 30)), van("day-2", at(13), at(22, 30)), van("am-1", at(7), at(15, 30), kind: .evVan)]
    static let dawnVans = [van("dawn-1", at(1), at(8)), van("dawn-2", at(1), at(8))]
    static let riders = [rider("a-1", storeA), rider("a-2", storeA), rider("b-1", storeB)]

    static func config(policy: DispatchPolicy = .optimised, couriers: [RegionDispatchConfig.Courier]? = nil, stock: Int = 100,
                       reoptimiseIterations: Int = 20) -> RegionDispatchConfig {
        let sites = [
            RegionDispatchConfig.Site(id: hub, kind: .hub, location: Coordinate(lat: 37.55, lon: 126.96), pickLinesPerHour: 6000),
            RegionDispatchConfig.Site(id: storeA, kind: .store, location: Coordinate(lat: 37.55, lon: 127.03), pickLinesPerHour: 120),
            RegionDispatchConfig.Site(id: storeB, kind: .store, location: Coordinate(lat: 37.58, lon: 127.08), pickLinesPerHour: 120),
        ]
        let catalogue = NightOrders.catalogue.items.values.sorted { $0.sku < $1.sku }
            + [CatalogueItem(sku: apple, name: "apple", unitWeightGrams: 300, unitVolumeMillilitres: 500, zone: .ambient)]
        var stockMap: [SiteID: [SKU: Int]] = [:]
        for s in sites { stockMap[s.id] = Dictionary(uniqueKeysWithValues: catalogue.map { ($0.sku, stock) }) }
        let products = ProductConfig(region: region, offset: off, dawn: DawnConfig(waves: [TimeOfDay(1, 30)]), sameDay: SameDayConfig(),
                                     quick: QuickConfig(storeHours: OpeningHours(open: TimeOfDay(9), close: TimeOfDay(24)), maxRadiusMetres: 3_000),
                                     scheduled: ScheduledConfig(), bopis: BopisConfig(storeHours: OpeningHours(open: TimeOfDay(9), close: TimeOfDay(22))))
        var speeds: [VehicleKind: SpeedProfile] = [:]
        for k in VehicleKind.allCases { speeds[k] = .constant(k.isRider ? 25 : 30) }
        return RegionDispatchConfig(region: region, policy: policy, offset: off, serviceDay: day, shape: shape, sites: sites,
                                    couriers: couriers ?? (dayVans + dawnVans + riders), products: products, catalogue: catalogue,
                                    stock: stockMap, travel: .init(circuity: 1.3, defaultCircuity: 1.35, speeds: speeds),
                                    budgets: .init(dawnWaveIterations: 300, reoptimiseIterations: reoptimiseIterations), seed: 7)
    }

    static func draft(_ id: String, _ product: Product, _ lat: Double, _ lon: Double, sku: SKU = apple, quantity: Int = 1,
                      weight: Int64? = nil) -> OrderDraft {
        OrderDraft(id: OrderID(id), lines: [OrderLine(sku: sku, quantity: quantity)], weightGrams: weight,
                   destination: Coordinate(lat: lat, lon: lon), product: product)
    }

    /// Deterministic points inside the square (an LCG, so tests never depend on global randomness).
    struct Points {
        var s: UInt64
        mutating func next() -> Coordinate {
            s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let a = Double((s >> 33) % 10_000) / 10_000
            s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let b = Double((s >> 33) % 10_000) / 10_000
            return Coordinate(lat: 37.505 + 0.09 * a, lon: 127.005 + 0.09 * b)
        }
    }
}

/// Drives a state as a shell would (decide → apply), keeping the journal, and checks on every
/// event that it survives a JSON round trip.
struct Harness {
    var state: RegionDispatchState
    var events: [DispatchEvent] = []
    var refusals = 0
    init(_ config: RegionDispatchConfig) { state = RegionDispatchState(config: config) }

    @discardableResult
    mutating func send(_ r: DispatchRequest) -> DispatchResponse {
        let before = state
        let d = state.decide(r)
        #expect(state == before, "decide must not mutate")
        if let e = d.event {
            let data = try! JSONEncoder().encode(e)
            let back = try! JSONDecoder().decode(DispatchEvent.self, from: data)
            #expect(back == e, "event must survive JSON")
            state.apply(back)
            events.append(back)
        } else {
            refusals += 1
        }
        return d.response
    }

    mutating func place(_ d: OrderDraft, at: Instant, slot: Instant? = nil) -> PlaceOrderOutcome {
        guard case .placed(let o) = send(.placeOrder(d, slot: slot, at: at)) else { Issue.record("no placement"); return .rejected(.init(order: d.id, problem: .invalidOrder, message: "")) }
        return o
    }

    mutating func handheld(_ r: HandheldReport) -> Manifest? {
        switch send(.report(r)) {
        case .manifest(let m): return m
        case let other: Issue.record("report \(r) refused: \(other)"); return nil
        }
    }

    var notifications: [CustomerNotification] {
        events.flatMap { $0.effects.compactMap { if case .notify(let n) = $0 { return n } else { return nil } } }
    }
    func notifications(_ id: OrderID) -> [CustomerNotification] { notifications.filter { $0.order == id } }

    /// Every order's lifecycle effects, replayed through Fleet's `Order.apply`, are legal.
    func checkLifecycle() {
        var live: [OrderID: Order] = [:]
        for e in events {
            for effect in e.effects {
                guard case .order(let id, let step) = effect else { continue }
                if case .create(let o) = step { #expect(live[id] == nil, "order \(id) created twice"); live[id] = o; continue }
                guard var o = live[id] else { Issue.record("order \(id): \(step) before create"); continue }
                guard let cmd = step.fleetCommand else { continue }
                do { _ = try o.apply(cmd, at: Instant(epochSeconds: 0)) } catch { Issue.record("illegal lifecycle step: \(error)") }
                live[id] = o
            }
        }
        for r in state.records() { #expect(live[r.order]?.state == r.state, "order \(r.order): effects end in \(String(describing: live[r.order]?.state)), record says \(r.state)") }
    }

    /// Rebuilding from `init(config:)` and the journal gives the same state.
    func checkReplay() {
        var rebuilt = RegionDispatchState(config: state.config)
        for e in events {
            #expect(!rebuilt.replayDiverges(e), "deciding \(e.request) again gives another event")
            rebuilt.apply(e)
        }
        #expect(rebuilt == state, "replayed state differs")
        let snapshot = try! JSONDecoder().decode(RegionDispatchState.self, from: try! JSONEncoder().encode(state))
        #expect(snapshot == state, "snapshot round trip differs")
    }

    /// Every order of the plan is in exactly one courier's route, or in none when unplanned.
    func checkNoOrderTwice() {
        var seen: [OrderID: Int] = [:]
        for c in state.couriers { for t in c.trips { for o in t.orders { seen[o, default: 0] += 1 } } }
        for (o, n) in seen { #expect(n == 1, "order \(o) is on \(n) routes") }
    }
}
