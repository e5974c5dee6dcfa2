import Geo

/// Temperature zone, ordered from least to most demanding: an order travels in the coldest
/// zone any of its lines needs.
public enum TemperatureZone: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case ambient, chilled, frozen
    var rank: Int { switch self { case .ambient: 0; case .chilled: 1; case .frozen: 2 } }
    public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
}

public struct OrderLine: Sendable, Hashable, Codable {
    public var sku: SKU
    public var quantity: Int
    public init(sku: SKU, quantity: Int) { self.sku = sku; self.quantity = quantity }
}

/// What the catalogue knows about a SKU.
public struct CatalogueItem: Sendable, Hashable, Codable {
    public var sku: SKU
    public var name: String
    public var unitWeightGrams: Int64
    public var unitVolumeMillilitres: Int64
    public var zone: TemperatureZone
    public init(sku: SKU, name: String, unitWeightGrams: Int64, unitVolumeMillilitres: Int64, zone: TemperatureZone) {
        self.sku = sku; self.name = name; self.unitWeightGrams = unitWeightGrams
        self.unitVolumeMillilitres = unitVolumeMillilitres; self.zone = zone
    }
}

public struct Catalogue: Sendable {
    public let items: [SKU: CatalogueItem]
    public init(_ items: [CatalogueItem]) { self.items = Dictionary(items.map { ($0.sku, $0) }, uniquingKeysWith: { a, _ in a }) }
    public subscript(sku: SKU) -> CatalogueItem? { items[sku] }
}

/// A customer order: what, where, which product and promise, and where it is in its lifecycle.
/// Weight in grams and volume in millilitres (integers; totals over lines).
public struct Order: Sendable, Hashable, Codable {
    public var id: OrderID
    public var lines: [OrderLine]
    public var weightGrams: Int64
    public var volumeMillilitres: Int64
    public var zone: TemperatureZone
    public var destination: Coordinate
    public var region: RegionID
    public var product: Product
    public var promise: PromiseWindow
    public var createdAt: Instant
    public internal(set) var state: OrderState
    /// Filled in as the lifecycle proceeds.
    public internal(set) var site: SiteID?
    public internal(set) var courier: CourierRef?
    public internal(set) var failure: FailureReason?
    public internal(set) var attempts: Int
    /// Incremented on every applied command; the journal's optimistic-concurrency check.
    public internal(set) var version: Int
}

/// A draft from checkout, before validation.
public struct OrderDraft: Sendable, Hashable, Codable {
    public var id: OrderID
    public var lines: [OrderLine]
    /// Given by the caller (e.g. measured); nil computes it from the catalogue.
    public var weightGrams: Int64?
    public var volumeMillilitres: Int64?
    /// Given by the caller; nil takes the coldest zone of the lines.
    public var zone: TemperatureZone?
    public var destination: Coordinate
    public var product: Product
    public init(id: OrderID, lines: [OrderLine], weightGrams: Int64? = nil, volumeMillilitres: Int64? = nil,
                zone: TemperatureZone? = nil, destination: Coordinate, product: Product) {
        self.id = id; self.lines = lines; self.weightGrams = weightGrams; self.volumeMillilitres = volumeMillilitres
        self.zone = zone; self.destination = destination; self.product = product
    }
}

/// Why a draft was rejected. Names the order and the offending item.
public struct OrderValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        case noLines
        case nonPositiveQuantity(sku: SKU, quantity: Int)
        case unknownSKU(SKU)
        case duplicateLine(SKU)
        case negativeWeight(Int64)
        case negativeVolume(Int64)
        case zoneTooWarm(sku: SKU, needs: TemperatureZone, given: TemperatureZone)
        case invalidCoordinate(Coordinate)
        case outsideEveryRegion(Coordinate)
        case cannotPromise(PromiseError)
    }
    public var order: OrderID
    public var problem: Problem
    public var description: String { "order \(order): \(problem)" }
}

extension Order {
    /// Validates a draft and makes a `created` order with its promise.
    ///
    /// - `locate` places the destination in a region (e.g. `RegionMap.locate` without fallback);
    ///   it returns nil when the point is outside every region.
    /// - `configs` are the product configurations per region.
    /// Checks, in order: lines present, quantities positive, SKUs known and not repeated, weight
    /// and volume non-negative, zone cold enough for every line, coordinate valid and inside a
    /// region, product promisable there. O(lines).
    public static func create(_ d: OrderDraft, at now: Instant, catalogue: Catalogue,
                              locate: (Coordinate) -> RegionID?, configs: [RegionID: ProductConfig],
                              slot: Instant? = nil, storeHours: OpeningHours? = nil) throws(OrderValidationError) -> Order {
        func fail(_ p: OrderValidationError.Problem) -> OrderValidationError { OrderValidationError(order: d.id, problem: p) }
        guard !d.lines.isEmpty else { throw fail(.noLines) }
        var seen = Set<SKU>()
        var weight: Int64 = 0, volume: Int64 = 0
        var coldest = TemperatureZone.ambient
        for line in d.lines {
            guard line.quantity > 0 else { throw fail(.nonPositiveQuantity(sku: line.sku, quantity: line.quantity)) }
            guard let item = catalogue[line.sku] else { throw fail(.unknownSKU(line.sku)) }
            guard seen.insert(line.sku).inserted else { throw fail(.duplicateLine(line.sku)) }
            weight += item.unitWeightGrams * Int64(line.quantity)
            volume += item.unitVolumeMillilitres * Int64(line.quantity)
            coldest = max(coldest, item.zone)
        }
        if let w = d.weightGrams { guard w >= 0 else { throw fail(.negativeWeight(w)) }; weight = w }
        if let v = d.volumeMillilitres { guard v >= 0 else { throw fail(.negativeVolume(v)) }; volume = v }
        let zone = d.zone ?? coldest
        if let z = d.zone {
            for line in d.lines {
                let need = catalogue[line.sku]!.zone
                if need > z { throw fail(.zoneTooWarm(sku: line.sku, needs: need, given: z)) }
            }
        }
        guard d.destination.isValid else { throw fail(.invalidCoordinate(d.destination)) }
        guard let region = locate(d.destination) else { throw fail(.outsideEveryRegion(d.destination)) }
        let config = configs[region] ?? ProductConfig(region: region, dawn: nil, sameDay: nil, quick: nil, scheduled: nil, bopis: nil)
        let window: PromiseWindow
        do { window = try Fleet.promise(for: d.product, orderedAt: now, slot: slot, config: config, storeHours: storeHours) }
        catch { throw fail(.cannotPromise(error)) }
        return Order(id: d.id, lines: d.lines, weightGrams: weight, volumeMillilitres: volume, zone: zone,
                     destination: d.destination, region: region, product: d.product, promise: window, createdAt: now,
                     state: .created, site: nil, courier: nil, failure: nil, attempts: 0, version: 0)
    }
}
