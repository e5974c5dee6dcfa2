import DispatchPlanning
import Fleet
import Foundation
import Geo

// What the simulated world knows and records: the city's fixed facts, and the ground truth of
// every order and courier that the day's KPIs are computed from.

/// The fixed facts of the city the world is built from: couriers, sites, travel.
public struct WorldSetup: Sendable {
    public struct CourierSpec: Sendable, Hashable {
        public var ref: CourierRef
        public var kind: VehicleKind
        public var region: RegionID
        public var home: SiteID
        public var homeLocation: Coordinate
        public var shift: ShiftPattern
    }
    public var regions: [RegionID]
    public var couriers: [CourierSpec]
    public var sites: [SiteID: Coordinate]
    public var travel: GreatCircleTravelModel
    public var emissions: EmissionFactors
    public var regionMap: RegionMap
    /// Sites that are hubs (the rest are stores): hubs pick with the hub's crew.
    public var hubs: Set<SiteID>

    public init(regions: [RegionID], couriers: [CourierSpec], sites: [SiteID: Coordinate], travel: GreatCircleTravelModel,
                emissions: EmissionFactors, regionMap: RegionMap, hubs: Set<SiteID> = []) {
        self.regions = regions; self.couriers = couriers; self.sites = sites; self.travel = travel
        self.emissions = emissions; self.regionMap = regionMap; self.hubs = hubs
    }

    /// Couriers expanded from the operations file (ids as `OperationsConfig.vehicles()`/`riders()`
    /// spell them: prefix-001…), homes from the city file.
    public static func make(operations: OperationsConfig, city: CityRegionsFile) throws(ScenarioError) -> WorldSetup {
        var sites: [SiteID: Coordinate] = [:]
        for p in city.hubs + city.stores { sites[SiteID(p.id)] = p.location }
        var couriers: [CourierSpec] = []
        for r in operations.regions {
            for (fi, f) in r.fleets.enumerated() {
                guard let home = sites[f.site] else {
                    throw ScenarioError(item: "regions[\(r.id)].fleets[\(fi)].site", message: "\(f.site) is not a hub or store of the city file")
                }
                guard f.count > 0 else { continue }
                for n in 1...f.count {
                    let s = String(n)
                    let id = f.idPrefix + "-" + String(repeating: "0", count: max(0, 3 - s.count)) + s
                    couriers.append(CourierSpec(ref: f.kind.isRider ? .rider(RiderID(id)) : .vehicle(VehicleID(id)), kind: f.kind,
                                                region: r.id, home: f.site, homeLocation: home, shift: f.shift))
                }
            }
        }
        let travel: GreatCircleTravelModel
        do { travel = try operations.travelModel(regions: city.regions) }
        catch { throw ScenarioError(item: "travel model", message: "\(error)") }
        return WorldSetup(regions: operations.regions.map(\.id), couriers: couriers, sites: sites, travel: travel,
                          emissions: operations.emissionFactors, regionMap: city.regions, hubs: Set(city.hubs.map { SiteID($0.id) }))
    }
}

/// Wall time for measurements (injected so nothing pure reads a clock).
public struct WallClock: Sendable {
    public var now: @Sendable () -> ContinuousClock.Instant
    public init(now: @escaping @Sendable () -> ContinuousClock.Instant) { self.now = now }
    public static let continuous = WallClock { ContinuousClock().now }
}

/// What really happened to one order.
public struct OrderTruth: Sendable, Hashable {
    public var id: OrderID
    public var product: Product
    public var region: RegionID
    public var placedAt: Instant
    public var parcels: Int
    public var bad: BadInput?
    /// The system's answer: nil if the call failed (transport), then `rejection` says why.
    public var accepted = false
    public var rejection: String?
    /// Scheduled: the chosen slot was full at checkout and the customer took the next free one offered.
    public var slotRebooked = false
    public var promise: PromiseWindow?
    public var site: SiteID?
    public var packedAt: Instant?
    public var pickupCode: String?
    /// The first attempt at the door (delivered or failed).
    public var firstAttemptAt: Instant?
    public var deliveredAt: Instant?
    public var failedAt: Instant?
    public var failure: FailureReason?
    public var returned = false
    public var cancelledAt: Instant?
    public var cancelRefused: String?
    public var handedOverAt: Instant?
    public var wrongCodeAnswered = false
    public var noShow = false
    public var courier: String?
    /// When a courier loaded it at its site (the hub's van departure, for the warehouse layer).
    public var loadedAt: Instant?
    /// The last state the system confirmed to the simulation (an `OrderState` raw value).
    public var acknowledgedState: OrderState?
    /// Wall-clock nanoseconds of `placeOrder` (new order → assigned with an ETA).
    public var placeNanos: Int64 = 0
}

/// What really happened to one courier.
public struct CourierTruth: Sendable, Hashable {
    public var ref: CourierRef
    public var kind: VehicleKind
    public var region: RegionID
    public var shiftStart: Instant
    public var shiftEnd: Instant
    public var metres: Int64 = 0
    public var busySeconds: Int64 = 0
    public var stopsServed = 0
    public var deliveries = 0
    public var startedAt: Instant?
    public var endedAt: Instant?
    public var brokeDownAt: Instant?
    /// Positions with their times, as driven (for the map).
    public var trace: [TracePoint] = []
}

public struct TracePoint: Sendable, Hashable {
    public var at: Instant
    public var position: Coordinate
}

/// A notable thing that happened (errors the system returned, disruptions), for the report.
public struct DayNote: Sendable, Hashable {
    public var at: Instant
    public var region: RegionID
    public var text: String
}

/// One region's agents and ground truth.
