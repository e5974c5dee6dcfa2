import Fleet
import Geo

/// Which region's dispatcher a new order goes to: the one rule both gateways (and the simulated
/// day's scenario) use. Pure; built once from the regions' shapes and stores.
///
/// - dawn, same-day, scheduled: the region whose shape contains the destination.
/// - quick: the region owning the nearest store (great circle, over every region's stores) within
///   that region's quick radius (`products.quick.maxRadiusMetres`) of the destination; a tie goes
///   to the shape's region; no store in range → the shape's region.
/// - BOPIS: the region owning the nearest store within `bopisReachMetres` (the customer collects
///   there); none → the shape's region.
/// - Neither → nil (`route` rejects it as `.outsideEveryRegion`, naming the order).
///
/// Stock stays owned by the store's own region (its dispatcher is the only writer): that is why
/// the order goes to the store's region rather than the store being shared.
public struct OrderRouting: Sendable {
    /// A store some region owns.
    public struct Store: Sendable, Hashable {
        public var region: RegionID
        public var site: SiteID
        public var location: Coordinate
        public init(region: RegionID, site: SiteID, location: Coordinate) {
            self.region = region; self.site = site; self.location = location
        }
    }

    /// How far a BOPIS customer may live from the store they collect at (great circle): the cap
    /// both the routing and the dispatcher's acceptance use.
    public static let bopisReachMetres: Double = 10_000

    let map: RegionMap
    let stores: [Store]
    /// Quick radius per region (regions without quick are absent: their stores serve no quick order).
    let quickRadius: [RegionID: Double]

    public init(map: RegionMap, stores: [Store], quickRadius: [RegionID: Double]) {
        self.map = map; self.stores = stores; self.quickRadius = quickRadius
    }

    /// From the regions' dispatch configs (their shapes, stores and quick terms).
    public init(configs: [RegionDispatchConfig]) throws(RegionMapError) {
        var stores: [Store] = []
        var radius: [RegionID: Double] = [:]
        for c in configs {
            for s in c.sites where s.kind == .store { stores.append(Store(region: c.region, site: s.id, location: s.location)) }
            if let q = c.products.quick { radius[c.region] = q.maxRadiusMetres }
        }
        // The shapes under the configs' region ids (what the dispatchers answer to).
        let shapes = configs.map { c -> Region in var r = c.shape; r.id = c.region.rawValue; return r }
        self.init(map: try RegionMap(shapes), stores: stores, quickRadius: radius)
    }

    /// The region for an order of `product` to `destination`, or nil when no region takes it.
    /// O(regions' polygon vertices + stores).
    public func region(for destination: Coordinate, product: Product) -> RegionID? {
        let inside = map.containing(destination).map { RegionID($0.id) }
        let reach: (Store) -> Double?
        switch product {
        case .dawn, .sameDay, .scheduled: return inside
        case .quick: reach = { quickRadius[$0.region] }
        case .bopis: reach = { _ in Self.bopisReachMetres }
        }
        var best: (store: Store, metres: Double)?
        for s in stores {
            guard let r = reach(s) else { continue }
            let m = GreatCircle.distanceMetres(s.location, destination)
            guard m <= r else { continue }
            if let b = best {
                // Nearer wins; on a tie the shape's region, then the smaller region and site id (deterministic).
                if m > b.metres { continue }
                if m == b.metres {
                    let mine = s.region == inside, theirs = b.store.region == inside
                    if theirs && !mine { continue }
                    if mine == theirs, (s.region.rawValue, s.site.rawValue) >= (b.store.region.rawValue, b.store.site.rawValue) { continue }
                }
            }
            best = (s, m)
        }
        return best?.store.region ?? inside
    }

    /// `region(for:product:)` for a draft, with the rejection the gateways return.
    public func route(_ draft: OrderDraft) -> Result<RegionID, PlaceOrderRejection> {
        if let r = region(for: draft.destination, product: draft.product) { return .success(r) }
        let c = draft.destination
        return .failure(PlaceOrderRejection(order: draft.id, problem: .outsideEveryRegion,
                                            message: "destination (\(c.lat), \(c.lon)) is outside every region and every store's reach"))
    }
}
