import Fleet
import Geo

/// Everything one region's dispatcher needs, self-contained: it is journaled as the dispatcher's
/// first event, so a new owner after failover rebuilds the state from the journal alone (no files).
public struct RegionDispatchConfig: Sendable, Hashable, Codable {
    /// A hub (vans load there) or a micro-fulfillment store (riders, BOPIS counter).
    public struct Site: Sendable, Hashable, Codable {
        public enum Kind: String, Sendable, Hashable, Codable { case hub, store }
        public var id: SiteID
        public var kind: Kind
        public var location: Coordinate
        /// Order lines staff pick per hour (the pick queue's rate).
        public var pickLinesPerHour: Int
        /// nil: always open (hubs); stores take their product terms' hours unless given.
        public var hours: OpeningHours?
        public init(id: SiteID, kind: Kind, location: Coordinate, pickLinesPerHour: Int, hours: OpeningHours? = nil) {
            self.id = id; self.kind = kind; self.location = location; self.pickLinesPerHour = pickLinesPerHour; self.hours = hours
        }
    }

    /// A van, EV van or truck (`CourierRef.vehicle`) or a rider (`CourierRef.rider`) on this service day.
    public struct Courier: Sendable, Hashable, Codable {
        public var ref: CourierRef
        public var kind: VehicleKind
        public var capacity: Capacity
        public var home: SiteID
        public var shiftStart: Instant
        public var shiftEnd: Instant
        /// Riders: orders per run (trip); nil for vehicles (no limit).
        public var maxOrdersPerRun: Int?
        public init(ref: CourierRef, kind: VehicleKind, capacity: Capacity, home: SiteID, shiftStart: Instant, shiftEnd: Instant,
                    maxOrdersPerRun: Int? = nil) {
            self.ref = ref; self.kind = kind; self.capacity = capacity; self.home = home
            self.shiftStart = shiftStart; self.shiftEnd = shiftEnd; self.maxOrdersPerRun = maxOrdersPerRun
        }
    }

    /// The travel model's parameters (rebuilt into a `GreatCircleTravelModel`).
    public struct Travel: Sendable, Hashable, Codable {
        /// Road metres per crow-fly metre inside the region.
        public var circuity: Double
        /// Outside the region (e.g. the hub's surroundings).
        public var defaultCircuity: Double
        public var speeds: [VehicleKind: SpeedProfile]
        public var tripLengthSpeedup: TripLengthSpeedup?
        public var emissions: EmissionFactors
        /// Time at a site to load a trip.
        public var loadingSeconds: Int64
        /// Time at the door: `serviceBaseSeconds + serviceSecondsPerParcel × parcels`.
        public var serviceBaseSeconds: Int64
        public var serviceSecondsPerParcel: Int64
        public init(circuity: Double, defaultCircuity: Double, speeds: [VehicleKind: SpeedProfile], tripLengthSpeedup: TripLengthSpeedup? = nil,
                    emissions: EmissionFactors = .defaults, loadingSeconds: Int64 = 300, serviceBaseSeconds: Int64 = 120,
                    serviceSecondsPerParcel: Int64 = 30) {
            self.circuity = circuity; self.defaultCircuity = defaultCircuity; self.speeds = speeds
            self.tripLengthSpeedup = tripLengthSpeedup; self.emissions = emissions; self.loadingSeconds = loadingSeconds
            self.serviceBaseSeconds = serviceBaseSeconds; self.serviceSecondsPerParcel = serviceSecondsPerParcel
        }
    }

    /// BOPIS counter parameters.
    public struct Bopis: Sendable, Hashable, Codable {
        public var codeDigits: Int
        public var maxAttempts: Int
        public init(codeDigits: Int = 6, maxAttempts: Int = 3) { self.codeDigits = codeDigits; self.maxAttempts = maxAttempts }
    }

    /// Work budgets. Iterations keep decisions deterministic; the time limit applies only inside
    /// `DispatchWork.run` (through `shouldStop`).
    public struct Budgets: Sendable, Hashable, Codable {
        /// Solver iterations for the dawn wave (optimised policy).
        public var dawnWaveIterations: Int
        /// Wall-clock limit for the dawn wave, enforced by the shell's `shouldStop`.
        public var dawnWaveTimeLimitSeconds: Double
        /// Improvement passes of one re-optimisation job.
        public var reoptimiseIterations: Int
        /// Simulated seconds between re-optimisation offers.
        public var reoptimiseEverySeconds: Int64
        /// Wall-clock limit of one re-optimisation job, enforced by the shell's `shouldStop`.
        public var reoptimiseTimeLimitSeconds: Double
        /// Search threads of the dawn wave (`SolveOptions.threads`; the same seed and count give the
        /// same plan). nil (and configs journaled before it existed): 1.
        public var dawnWaveThreads: Int? = nil
        public init(dawnWaveIterations: Int = 2_000, dawnWaveTimeLimitSeconds: Double = 20, reoptimiseIterations: Int = 50,
                    reoptimiseEverySeconds: Int64 = 15 * 60, reoptimiseTimeLimitSeconds: Double = 1) {
            self.dawnWaveIterations = dawnWaveIterations; self.dawnWaveTimeLimitSeconds = dawnWaveTimeLimitSeconds
            self.reoptimiseIterations = reoptimiseIterations; self.reoptimiseEverySeconds = reoptimiseEverySeconds
            self.reoptimiseTimeLimitSeconds = reoptimiseTimeLimitSeconds
        }
    }

    public var region: RegionID
    public var policy: DispatchPolicy
    public var offset: UTCOffset
    /// Dawn deliveries on this day's early morning (ordered the day before), daytime products during it.
    public var serviceDay: LocalDay
    /// The region's shape (validates destinations).
    public var shape: Region
    public var sites: [Site]
    public var couriers: [Courier]
    public var products: ProductConfig
    public var catalogue: [CatalogueItem]
    /// Initial on-hand stock per site and SKU.
    public var stock: [SiteID: [SKU: Int]]
    public var travel: Travel
    public var notifications: NotificationPolicy
    public var bopis: Bopis
    public var budgets: Budgets
    public var seed: UInt64

    public init(region: RegionID, policy: DispatchPolicy, offset: UTCOffset, serviceDay: LocalDay, shape: Region, sites: [Site],
                couriers: [Courier], products: ProductConfig, catalogue: [CatalogueItem], stock: [SiteID: [SKU: Int]], travel: Travel,
                notifications: NotificationPolicy = NotificationPolicy(), bopis: Bopis = Bopis(), budgets: Budgets = Budgets(), seed: UInt64 = 1) {
        self.region = region; self.policy = policy; self.offset = offset; self.serviceDay = serviceDay; self.shape = shape
        self.sites = sites; self.couriers = couriers; self.products = products; self.catalogue = catalogue; self.stock = stock
        self.travel = travel; self.notifications = notifications; self.bopis = bopis; self.budgets = budgets; self.seed = seed
    }

    public func site(_ id: SiteID) -> Site? { sites.first { $0.id == id } }
    /// The hub the region's vans load at (the home of its first vehicle at a hub), if any.
    public var hub: SiteID? {
        couriers.first { !$0.kind.isRider && site($0.home)?.kind == .hub }?.home ?? sites.first { $0.kind == .hub }?.id
    }
}

/// Why a dispatch config could not be built; names the item.
public struct RegionDispatchConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var item: String
    public var message: String
    public init(item: String, message: String) { self.item = item; self.message = message }
    public var description: String { "dispatch config: \(item): \(message)" }
}

extension RegionDispatchConfig {
    /// Pick rate assumed for a hub (hub staff at night) and a store when the files do not say.
    public static let defaultHubPickLinesPerHour = 6_000
    public static let defaultStorePickLinesPerHour = 240

    /// Builds one region's config from the city's files. The catalogue defaults to
    /// `NightOrders.catalogue`; every store and the hub get `stockPerSKU` of every item.
    public static func make(operations: OperationsConfig, city: CityRegionsFile, region: RegionID, day: LocalDay,
                            policy: DispatchPolicy, stockPerSKU: Int = 10_000,
                            catalogue: [CatalogueItem] = NightOrders.catalogue.items.values.sorted { $0.sku < $1.sku },
                            seed: UInt64 = 1) throws(RegionDispatchConfigError) -> RegionDispatchConfig {
        guard let ops = operations.regions.first(where: { $0.id == region }) else {
            throw RegionDispatchConfigError(item: "region \(region)", message: "not in the operations file")
        }
        guard let shape = city.regions.region(id: region.rawValue) else {
            throw RegionDispatchConfigError(item: "region \(region)", message: "not in the region file")
        }
        guard let products = operations.productConfig(for: region) else {
            throw RegionDispatchConfigError(item: "region \(region).products", message: "no product terms")
        }
        guard stockPerSKU >= 0 else { throw RegionDispatchConfigError(item: "stockPerSKU", message: "\(stockPerSKU) is negative") }
        let off = operations.offset
        var sites: [Site] = []
        var seen = Set<SiteID>()
        for f in ops.fleets where !seen.contains(f.site) {
            if let h = city.hubs.first(where: { $0.id == f.site.rawValue }) {
                sites.append(Site(id: f.site, kind: .hub, location: h.location, pickLinesPerHour: defaultHubPickLinesPerHour))
            } else if let s = city.stores.first(where: { $0.id == f.site.rawValue }) {
                guard s.regionID == region.rawValue else {
                    throw RegionDispatchConfigError(item: "fleet \(f.idPrefix)", message: "store \(f.site) belongs to region \(s.regionID ?? "-")")
                }
                sites.append(Site(id: f.site, kind: .store, location: s.location, pickLinesPerHour: defaultStorePickLinesPerHour))
            } else {
                throw RegionDispatchConfigError(item: "fleet \(f.idPrefix)", message: "site \(f.site) is in neither the hubs nor the stores of the region file")
            }
            seen.insert(f.site)
        }
        for s in city.stores where s.regionID == region.rawValue && !seen.contains(SiteID(s.id)) {
            sites.append(Site(id: SiteID(s.id), kind: .store, location: s.location, pickLinesPerHour: defaultStorePickLinesPerHour))
            seen.insert(SiteID(s.id))
        }
        var couriers: [Courier] = []
        for f in ops.fleets {
            guard operations.speedProfiles[f.kind] != nil else {
                throw RegionDispatchConfigError(item: "fleet \(f.idPrefix)", message: "no speed profile for \(f.kind.rawValue)")
            }
            let (start, end) = f.shift.on(day, off)
            for n in 1...max(1, f.count) {
                let digits = String(n)
                let id = f.idPrefix + "-" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
                couriers.append(Courier(ref: CourierRef(kind: f.kind.isRider ? .rider : .vehicle, id: id), kind: f.kind, capacity: f.capacity,
                                        home: f.site, shiftStart: start, shiftEnd: end,
                                        maxOrdersPerRun: f.kind.isRider ? (f.maxOrdersPerRun ?? 3) : nil))
            }
        }
        var items = Set<SKU>()
        for c in catalogue where !items.insert(c.sku).inserted {
            throw RegionDispatchConfigError(item: "catalogue \(c.sku)", message: "listed twice")
        }
        var stock: [SiteID: [SKU: Int]] = [:]
        for s in sites { stock[s.id] = Dictionary(uniqueKeysWithValues: catalogue.map { ($0.sku, stockPerSKU) }) }
        let travel = Travel(circuity: ops.circuity, defaultCircuity: operations.defaultCircuity, speeds: operations.speedProfiles,
                            tripLengthSpeedup: operations.tripLengthSpeedup, emissions: operations.emissionFactors)
        let config = RegionDispatchConfig(region: region, policy: policy, offset: off, serviceDay: day, shape: shape, sites: sites,
                                          couriers: couriers, products: products, catalogue: catalogue, stock: stock, travel: travel,
                                          seed: seed)
        try config.validate()
        return config
    }

    /// Checks references and values; every error names the item.
    public func validate() throws(RegionDispatchConfigError) {
        func bad(_ item: String, _ m: String) -> RegionDispatchConfigError { RegionDispatchConfigError(item: item, message: m) }
        var siteIDs = Set<SiteID>()
        for s in sites {
            guard siteIDs.insert(s.id).inserted else { throw bad("site \(s.id)", "listed twice") }
            guard s.pickLinesPerHour > 0 else { throw bad("site \(s.id).pickLinesPerHour", "\(s.pickLinesPerHour) must be positive") }
            guard s.location.isValid else { throw bad("site \(s.id).location", "not a valid coordinate") }
        }
        var refs = Set<CourierRef>()
        for c in couriers {
            let item = "courier \(c.ref.id)"
            guard refs.insert(c.ref).inserted else { throw bad(item, "listed twice") }
            guard siteIDs.contains(c.home) else { throw bad(item, "home site \(c.home) is not a site of region \(region)") }
            guard c.shiftStart < c.shiftEnd else { throw bad(item, "shift ends before it starts") }
            guard travel.speeds[c.kind] != nil else { throw bad(item, "no speed profile for \(c.kind.rawValue)") }
            guard (c.ref.kind == .rider) == c.kind.isRider else { throw bad(item, "\(c.kind.rawValue) does not match a \(c.ref.kind.rawValue) reference") }
            if let m = c.maxOrdersPerRun, m < 1 { throw bad(item, "maxOrdersPerRun \(m) must be at least 1") }
        }
        for (site, counts) in stock {
            guard siteIDs.contains(site) else { throw bad("stock \(site)", "not a site of region \(region)") }
            for (sku, n) in counts where n < 0 { throw bad("stock \(site).\(sku)", "\(n) is negative") }
        }
        guard (6...9).contains(bopis.codeDigits) else { throw bad("bopis.codeDigits", "\(bopis.codeDigits) is not in 6...9 (a pickup code of fewer digits is guessable)") }
        guard bopis.maxAttempts >= 1 else { throw bad("bopis.maxAttempts", "must be at least 1") }
        guard travel.circuity >= 1, travel.circuity <= 3 else { throw bad("travel.circuity", "\(travel.circuity) is not in 1...3") }
        guard travel.loadingSeconds >= 0, travel.serviceBaseSeconds >= 0, travel.serviceSecondsPerParcel >= 0 else {
            throw bad("travel", "negative loading or service time")
        }
        guard budgets.reoptimiseEverySeconds > 0 else { throw bad("budgets.reoptimiseEverySeconds", "must be positive") }
    }
}
