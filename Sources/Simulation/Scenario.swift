import DispatchPlanning
import Fleet
import Foundation
import Geo
import Routing

// The simulated day as data: every order with its arrival time, destination, lines and the fate
// its customer has in store (cancels, is not home, does not collect, types a wrong code), and the
// disruptions of the day. Pure and seeded: the same inputs and seed give the same day, so the
// optimised and the baseline dispatcher face exactly the same world.

/// How the day's orders split over the products. Shares are normalised (they need not sum to 1).
public struct ProductMix: Sendable, Hashable {
    public var shares: [Product: Double]
    public init(_ shares: [Product: Double]) { self.shares = shares }
    /// Dawn 45 %, same-day 20 %, quick 20 %, scheduled 10 %, BOPIS 5 %.
    public static let standard = ProductMix([.dawn: 0.45, .sameDay: 0.20, .quick: 0.20, .scheduled: 0.10, .bopis: 0.05])

    /// Whole-order counts per product summing to `total` (largest remainder; ties by `Product` order).
    public func counts(total: Int) -> [Product: Int] {
        let ps = Product.allCases.filter { (shares[$0] ?? 0) > 0 }
        let sum = ps.reduce(0) { $0 + (shares[$1] ?? 0) }
        guard sum > 0, total > 0 else { return [:] }
        var out: [Product: Int] = [:]
        var rema: [(Product, Double)] = []
        var used = 0
        for p in ps {
            let exact = Double(total) * (shares[p] ?? 0) / sum
            let n = Int(exact.rounded(.down))
            out[p] = n; used += n
            rema.append((p, exact - Double(n)))
        }
        rema.sort { $0.1 != $1.1 ? $0.1 > $1.1 : Product.allCases.firstIndex(of: $0.0)! < Product.allCases.firstIndex(of: $1.0)! }
        for i in 0..<(total - used) { out[rema[i % rema.count].0, default: 0] += 1 }
        return out
    }
}

/// A daily arrival density: piecewise linear between (seconds after local midnight of the
/// order day, relative weight) points; zero outside. Sampled by inverse CDF on a one-minute grid.
public struct ArrivalCurve: Sendable, Hashable {
    public var points: [ArrivalPoint]
    public init(_ points: [ArrivalPoint]) { self.points = points.sorted { $0.seconds < $1.seconds } }

    /// Density at `t` seconds after midnight (linear interpolation, 0 outside the points).
    public func density(at t: Int64) -> Double {
        guard let first = points.first, let last = points.last, t >= first.seconds, t <= last.seconds else { return 0 }
        for i in 1..<points.count where t <= points[i].seconds {
            let a = points[i - 1], b = points[i]
            let span = Double(b.seconds - a.seconds)
            return span > 0 ? a.weight + (b.weight - a.weight) * Double(t - a.seconds) / span : b.weight
        }
        return last.weight
    }

    /// The share of arrivals in [from, to) (seconds after midnight), summed on the minute grid.
    public func share(from: Int64, to: Int64) -> Double {
        let (mins, cum) = grid()
        guard let total = cum.last, total > 0 else { return 0 }
        var s = 0.0
        for (i, m) in mins.enumerated() where m >= from && m < to { s += cum[i] - (i > 0 ? cum[i - 1] : 0) }
        return s / total
    }

    func grid() -> (minutes: [Int64], cumulative: [Double]) {
        guard let first = points.first, let last = points.last else { return ([], []) }
        var mins: [Int64] = [], cum: [Double] = []
        var acc = 0.0
        var t = first.seconds
        while t < last.seconds {
            acc += max(0, density(at: t + 30))
            mins.append(t); cum.append(acc)
            t += 60
        }
        return (mins, cum)
    }

    /// Seconds after midnight for `u` in [0, 1): the minute whose cumulative weight passes u,
    /// plus a uniform second inside it (`v` in [0, 1)).
    func sample(_ u: Double, _ v: Double, grid g: (minutes: [Int64], cumulative: [Double])) -> Int64 {
        guard let total = g.cumulative.last, total > 0 else { return points.first?.seconds ?? 0 }
        let target = u * total
        var lo = 0, hi = g.cumulative.count - 1
        while lo < hi { let mid = (lo + hi) / 2; if g.cumulative[mid] > target { hi = mid } else { lo = mid + 1 } }
        return g.minutes[lo] + Int64(v * 60)
    }
}

public struct ArrivalPoint: Sendable, Hashable {
    public var seconds: Int64
    public var weight: Double
    public init(_ h: Int64, _ m: Int64 = 0, _ weight: Double) { seconds = Time.hm(h, m); self.weight = weight }
}

extension ArrivalCurve {
    /// Dawn orders on the day before: 10:00–22:59, rising to an evening peak around 21:00.
    public static let dawn = ArrivalCurve([.init(10, 0, 0.3), .init(12, 0, 0.6), .init(15, 0, 0.7), .init(18, 0, 1.2),
                                           .init(21, 0, 2.0), .init(22, 30, 1.6), .init(22, 59, 1.0)])
    /// Same-day: 07:00–11:59, climbing through the morning.
    public static let sameDay = ArrivalCurve([.init(7, 0, 0.4), .init(9, 0, 1.0), .init(11, 0, 1.3), .init(11, 59, 0.9)])
    /// Quick: 09:30–22:30 with a lunch peak (12:00) and a larger dinner peak (19:00).
    public static let quick = ArrivalCurve([.init(9, 30, 0.2), .init(11, 0, 0.6), .init(12, 0, 1.4), .init(13, 30, 0.6),
                                            .init(16, 0, 0.6), .init(19, 0, 2.0), .init(21, 0, 0.8), .init(22, 30, 0.2)])
    /// Scheduled: 06:00–17:00, flat with a morning bump.
    public static let scheduled = ArrivalCurve([.init(6, 0, 0.5), .init(9, 0, 1.2), .init(12, 0, 1.0), .init(17, 0, 0.6)])
    /// BOPIS: 09:00–19:00, lunch-heavy.
    public static let bopis = ArrivalCurve([.init(9, 0, 0.4), .init(12, 0, 1.4), .init(15, 0, 0.8), .init(19, 0, 0.6)])

    public static func standard(_ p: Product) -> ArrivalCurve {
        switch p { case .dawn: .dawn; case .sameDay: .sameDay; case .quick: .quick; case .scheduled: .scheduled; case .bopis: .bopis }
    }
}

/// What a customer will do, decided when the day is generated.
public struct CustomerFate: Sendable, Hashable {
    /// Cancels this long after placing (before dispatch), if set.
    public var cancelAfterSeconds: Int64?
    /// Not home at the first attempt.
    public var notHome: Bool
    /// BOPIS: never comes.
    public var noShow: Bool
    /// BOPIS: types a wrong code first.
    public var wrongCodeFirst: Bool
    /// BOPIS: comes this long after the pickup code arrives.
    public var collectDelaySeconds: Int64
    public init(cancelAfterSeconds: Int64? = nil, notHome: Bool = false, noShow: Bool = false, wrongCodeFirst: Bool = false,
                collectDelaySeconds: Int64 = 3600) {
        self.cancelAfterSeconds = cancelAfterSeconds; self.notHome = notHome; self.noShow = noShow
        self.wrongCodeFirst = wrongCodeFirst; self.collectDelaySeconds = collectDelaySeconds
    }
}

/// A deliberately malformed order: the system must refuse it and name it.
public enum BadInput: String, Sendable, Hashable, CaseIterable {
    case unknownSKU, negativeWeight, outsideEveryRegion
}

/// One order of the day as the customer places it.
public struct ScenarioOrder: Sendable, Hashable {
    public var draft: OrderDraft
    public var placedAt: Instant
    /// Scheduled: the slot the customer picks.
    public var slot: Instant?
    /// The region the simulator files it under (the region containing the destination; the
    /// first region for an order outside every region).
    public var region: RegionID
    public var fate: CustomerFate
    public var bad: BadInput?
    public var product: Product { draft.product }
    /// Boxes handed over at the door: one per started 30 L, at least one (as `Order.parcels`).
    public var parcels: Int { max(1, Int(((draft.volumeMillilitres ?? 0) + 29_999) / 30_000)) }
}

/// A dispatcher's intervention at a time, aimed at an order chosen when the day is generated.
public struct ScheduledCommand: Sendable, Hashable {
    public enum Action: String, Sendable, Hashable { case hold, release, reassign, holdUnknownOrder }
    public var at: Instant
    public var region: RegionID
    public var action: Action
    public var order: OrderID
}

/// Something that goes wrong on the road.
public struct Jam: Sendable, Hashable {
    public var region: RegionID
    public var from: Instant
    public var to: Instant
    /// Travel time multiplier on legs that start inside [from, to) in the region.
    public var factor: Double
}

public struct Breakdown: Sendable, Hashable {
    public var region: RegionID
    public var at: Instant
    /// Which fleet: vans whose shift starts at this local time (01:00 dawn, 13:00 day).
    public var shiftStart: TimeOfDay
}

/// The whole day: orders in arrival order, disruptions, the clock's bounds.
public struct DayScenario: Sendable {
    public var seed: UInt64
    public var serviceDay: LocalDay
    public var offset: UTCOffset
    public var start: Instant
    public var end: Instant
    public var orders: [ScenarioOrder]
    public var jams: [Jam]
    public var breakdowns: [Breakdown]
    public var commands: [ScheduledCommand]
    /// When the backend kills a node (only when it has nodes).
    public var killNodeAt: Instant?
    public var catalogue: Catalogue
    /// Seconds of picking per order at a hub lane (per region) and at a store.
    public var hubPickSeconds: Int64
    public var storePickSeconds: Int64
    public var hubPickers: Int
    public var storePickers: Int

    public struct Options: Sendable {
        public var orders: Int
        public var seed: UInt64
        public var serviceDay: LocalDay?
        public var mix: ProductMix
        public var curves: [Product: ArrivalCurve]
        public var cancelRate: Double
        public var notHomeRate: Double
        public var noShowRate: Double
        public var wrongCodeRate: Double
        public var badOrders: Bool
        public var jamFactor: Double
        public var killNode: Bool
        public init(orders: Int = 5000, seed: UInt64 = 1, serviceDay: LocalDay? = nil, mix: ProductMix = .standard,
                    curves: [Product: ArrivalCurve] = [:], cancelRate: Double = 0.01, notHomeRate: Double = 0.02,
                    noShowRate: Double = 0.05, wrongCodeRate: Double = 0.03, badOrders: Bool = true, jamFactor: Double = 1.8,
                    killNode: Bool = true) {
            self.orders = orders; self.seed = seed; self.serviceDay = serviceDay; self.mix = mix; self.curves = curves
            self.cancelRate = cancelRate; self.notHomeRate = notHomeRate; self.noShowRate = noShowRate
            self.wrongCodeRate = wrongCodeRate; self.badOrders = badOrders; self.jamFactor = jamFactor; self.killNode = killNode
        }
    }

    /// 2026-12-01 plus `seed mod 28` days: a fixed date per seed.
    public static func defaultServiceDay(seed: UInt64) -> LocalDay { LocalDay(index: 20_788 + Int64(seed % 28)) }

    /// Generates the day. `products` gives the terms per region (the scheduled slots and lead
    /// time, the quick radius); `stores` are the city's micro-fulfillment stores.
    public static func generate(_ o: Options, demand: DemandModel, regions: RegionMap, stores: [Place],
                                products: [RegionID: ProductConfig], offset: UTCOffset) throws(ScenarioError) -> DayScenario {
        guard o.orders >= 0 else { throw ScenarioError(item: "orders", message: "\(o.orders) is negative") }
        guard !regions.regions.isEmpty else { throw ScenarioError(item: "regions", message: "no regions") }
        let day = o.serviceDay ?? defaultServiceDay(seed: o.seed)
        var rng = SeededGenerator(seed: o.seed ^ 0x7369_6D75_6C61_7465)   // "simulate"
        let counts = o.mix.counts(total: o.orders)
        let total = demand.districts.reduce(0) { $0 + $1.population }
        var cumulative: [Int] = []
        var acc = 0
        for d in demand.districts { acc += d.population; cumulative.append(acc) }
        let storeList = stores.filter { $0.regionID != nil }
        // Orders are filed under the region the gateways route them to (a quick order near a border
        // may go to the neighbour's nearer store).
        let routing = OrderRouting(map: regions,
                                   stores: storeList.map { OrderRouting.Store(region: RegionID($0.regionID!), site: SiteID($0.id), location: $0.location) },
                                   quickRadius: products.compactMapValues { $0.quick?.maxRadiusMetres })

        struct Raw { var product: Product; var at: Instant; var point: Coordinate; var slot: Instant?; var region: RegionID
                     var grams: Int64; var ml: Int64; var zone: TemperatureZone }
        var raws: [Raw] = []
        for p in Product.allCases {
            let n = counts[p] ?? 0
            guard n > 0 else { continue }
            let curve = o.curves[p] ?? ArrivalCurve.standard(p)
            let g = curve.grid()
            let orderDay = p == .dawn ? day + (-1) : day
            for _ in 0..<n {
                var sod = curve.sample(rng.unit(), rng.unit(), grid: g)
                var point: Coordinate
                var region: RegionID
                if p == .quick || p == .bopis, !storeList.isEmpty {
                    let s = storeList[Int(rng.next() % UInt64(storeList.count))]
                    region = RegionID(s.regionID!)
                    point = p == .quick ? near(s.location, maxMetres: 1_800, region: s.regionID!, regions: regions, rng: &rng) : s.location
                    if p == .bopis { point = s.location }
                    region = routing.region(for: point, product: p) ?? region
                } else {
                    let pick = Int(rng.next() % UInt64(max(total, 1)))
                    let d = demand.districts[cumulative.firstIndex { pick < $0 } ?? 0]
                    point = NightOrdersScatter.scatter(around: d, regions: regions, rng: &rng)
                    region = RegionID(regions.containing(point)?.id ?? d.regionID)
                }
                var slot: Instant? = nil
                if p == .scheduled {
                    let cfg = products[region]?.scheduled ?? ScheduledConfig()
                    let lead = cfg.leadMinutes * 60 + 600
                    var choices = cfg.slotStarts.map(\.seconds).filter { $0 >= sod + lead }
                    if choices.isEmpty, let lastSlot = cfg.slotStarts.map(\.seconds).max() {
                        // Ordered too late for any slot today: move the order earlier so the last slot still fits.
                        sod = max(Time.hm(6), lastSlot - lead - 600)
                        choices = cfg.slotStarts.map(\.seconds).filter { $0 >= sod + lead }
                    }
                    if let c = choices.isEmpty ? nil : choices[Int(rng.next() % UInt64(choices.count))] {
                        slot = .local(day, c, offset)
                    }
                }
                // Grocery sizes: dawn and same-day/scheduled boxes 3–12 kg; quick and BOPIS baskets 1–5 kg.
                let small = p == .quick || p == .bopis
                let kg = small ? 1 + 4 * pow(rng.unit(), 1.5) : 3 + 9 * pow(rng.unit(), 1.6)
                let litresPerKg = 2.2 + 1.6 * rng.unit()
                let z = rng.unit()
                let zone: TemperatureZone = small ? (z < 0.1 ? .frozen : (z < 0.5 ? .chilled : .ambient))
                                                  : (z < 0.25 ? .frozen : (z < 0.70 ? .chilled : .ambient))
                var ml = Int64((kg * litresPerKg * 1000).rounded())
                if small { ml = min(ml, zone == .frozen ? 6_000 : 12_000) }
                raws.append(Raw(product: p, at: .local(orderDay, sod, offset), point: point, slot: slot, region: region,
                                grams: Int64((kg * 1000).rounded()), ml: ml, zone: zone))
            }
        }
        raws.sort { $0.at != $1.at ? $0.at < $1.at : Product.allCases.firstIndex(of: $0.product)! < Product.allCases.firstIndex(of: $1.product)! }
        let width = max(5, String(o.orders).count)
        func prefix(_ p: Product) -> String {
            switch p { case .dawn: "dawn"; case .sameDay: "sd"; case .quick: "q"; case .scheduled: "sch"; case .bopis: "bopis" }
        }
        var orders: [ScenarioOrder] = []
        orders.reserveCapacity(raws.count + 3)
        for (i, r) in raws.enumerated() {
            let n = String(i + 1)
            let id = OrderID(prefix(r.product) + "-" + String(repeating: "0", count: max(0, width - n.count)) + n)
            var fate = CustomerFate()
            if r.product != .quick && r.product != .bopis && rng.unit() < o.cancelRate {
                fate.cancelAfterSeconds = 600 + Int64(rng.unit() * 2400)
            }
            if r.product != .bopis && rng.unit() < o.notHomeRate { fate.notHome = true }
            if r.product == .bopis {
                fate.noShow = rng.unit() < o.noShowRate
                fate.wrongCodeFirst = rng.unit() < o.wrongCodeRate
                fate.collectDelaySeconds = 900 + Int64(rng.unit() * 3 * 3600)
            }
            let draft = OrderDraft(id: id, lines: [OrderLine(sku: SKU("grocery-\(r.zone.rawValue)"), quantity: 1)],
                                   weightGrams: r.grams, volumeMillilitres: r.ml, zone: r.zone, destination: r.point, product: r.product)
            orders.append(ScenarioOrder(draft: draft, placedAt: r.at, slot: r.slot, region: r.region, fate: fate, bad: nil))
        }

        // Three bad orders on the service morning, each refused and named.
        let firstRegion = RegionID(regions.regions[0].id)
        let anchor = orders.first { $0.product == .sameDay } ?? orders.first
        if o.badOrders {
            let at = Instant.local(day, Time.hm(8, 15), offset)
            let dest = anchor?.draft.destination ?? regions.regions[0].centroid
            let reg = anchor?.region ?? firstRegion
            orders.append(ScenarioOrder(draft: OrderDraft(id: "bad-unknown-sku", lines: [OrderLine(sku: "caviar-royal-50g", quantity: 1)],
                                                          destination: dest, product: .sameDay),
                                        placedAt: at, slot: nil, region: reg, fate: CustomerFate(), bad: .unknownSKU))
            orders.append(ScenarioOrder(draft: OrderDraft(id: "bad-negative-weight", lines: [OrderLine(sku: "grocery-ambient", quantity: 1)],
                                                          weightGrams: -2_000, destination: dest, product: .sameDay),
                                        placedAt: at + 60, slot: nil, region: reg, fate: CustomerFate(), bad: .negativeWeight))
            // The Yellow Sea, west of Incheon: outside every region.
            orders.append(ScenarioOrder(draft: OrderDraft(id: "bad-outside-every-region", lines: [OrderLine(sku: "grocery-ambient", quantity: 1)],
                                                          destination: Coordinate(lat: 37.45, lon: 126.20), product: .sameDay),
                                        placedAt: at + 120, slot: nil, region: firstRegion, fate: CustomerFate(), bad: .outsideEveryRegion))
            orders.sort { $0.placedAt < $1.placedAt }
        }

        // Disruptions: the busiest region (by orders) gets the jam; breakdowns in the two busiest.
        var perRegion: [RegionID: Int] = [:]
        for x in orders where x.bad == nil { perRegion[x.region, default: 0] += 1 }
        let busiest = perRegion.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
        let r0 = busiest.first ?? firstRegion, r1 = busiest.count > 1 ? busiest[1] : r0
        let jams = [Jam(region: r0, from: .local(day, Time.hm(17), offset), to: .local(day, Time.hm(19), offset), factor: o.jamFactor)]
        let breakdowns = [Breakdown(region: r1, at: .local(day, Time.hm(3, 10), offset), shiftStart: TimeOfDay(1)),
                          Breakdown(region: r0, at: .local(day, Time.hm(16, 40), offset), shiftStart: TimeOfDay(13))]
        var commands: [ScheduledCommand] = []
        let sameDay = orders.filter { $0.product == .sameDay && $0.bad == nil && $0.fate.cancelAfterSeconds == nil }
        if sameDay.count >= 2 {
            let h = sameDay[sameDay.count / 3]
            commands.append(ScheduledCommand(at: h.placedAt + 300, region: h.region, action: .hold, order: h.draft.id))
            commands.append(ScheduledCommand(at: h.placedAt + 2_700, region: h.region, action: .release, order: h.draft.id))
            let r = sameDay[sameDay.count / 2]
            commands.append(ScheduledCommand(at: .local(day, Time.hm(12, 40), offset), region: r.region, action: .reassign, order: r.draft.id))
        }
        commands.append(ScheduledCommand(at: .local(day, Time.hm(9, 0), offset), region: firstRegion, action: .holdUnknownOrder,
                                         order: "no-such-order-42"))
        commands.sort { $0.at < $1.at }

        return DayScenario(seed: o.seed, serviceDay: day, offset: offset,
                           start: .local(day + (-1), Time.hm(10), offset), end: .local(day + 1, Time.hm(0, 30), offset),
                           orders: orders, jams: jams, breakdowns: breakdowns, commands: commands,
                           killNodeAt: o.killNode ? .local(day, Time.hm(12, 30), offset) : nil,
                           catalogue: NightOrders.catalogue, hubPickSeconds: 60, storePickSeconds: 150, hubPickers: 2, storePickers: 3)
    }

    /// A point within `maxMetres` (great circle) of `c` inside `region`; `c` after 64 misses.
    static func near(_ c: Coordinate, maxMetres: Double, region: String, regions: RegionMap, rng: inout SeededGenerator) -> Coordinate {
        let mLat = 111_195.0, mLon = mLat * cos(c.lat * .pi / 180)
        for _ in 0..<64 {
            let r = maxMetres * rng.unit().squareRoot(), a = 2 * .pi * rng.unit()
            let p = Coordinate(lat: c.lat + r * sin(a) / mLat, lon: c.lon + r * cos(a) / mLon)
            if GreatCircle.distanceMetres(c, p) <= maxMetres, regions.containing(p)?.id == region { return p }
        }
        return c
    }

    /// Orders per product (good ones only).
    public var countsByProduct: [Product: Int] {
        var m: [Product: Int] = [:]
        for o in orders where o.bad == nil { m[o.product, default: 0] += 1 }
        return m
    }
}

/// The scatter NightOrders uses (same rule: around the centroid, redrawn until inside the region).
enum NightOrdersScatter {
    static func scatter(around d: DemandModel.District, regions: RegionMap, rng: inout SeededGenerator) -> Coordinate {
        let metresPerDegLat = 111_195.0
        let metresPerDegLon = metresPerDegLat * cos(d.centroid.lat * .pi / 180)
        for _ in 0..<64 {
            let u1 = max(rng.unit(), 1e-12), u2 = rng.unit()
            let r = (-2 * log(u1)).squareRoot() * d.spreadMetres
            let p = Coordinate(lat: d.centroid.lat + r * sin(2 * .pi * u2) / metresPerDegLat,
                               lon: d.centroid.lon + r * cos(2 * .pi * u2) / metresPerDegLon)
            if regions.containing(p)?.id == d.regionID { return p }
        }
        return d.centroid
    }
}

public struct ScenarioError: Error, Sendable, Equatable, CustomStringConvertible {
    public var item: String
    public var message: String
    public var description: String { "scenario: \(item): \(message)" }
}
