import Geo

/// Stock of one site with reservations. `available = onHand − reserved` never goes below zero:
/// every operation checks first and changes nothing when it throws (all-or-nothing per order).
///
/// Lifecycle of stock for an order: `reserve` at acceptance, `commit` when picked (the goods
/// leave the shelf), or `release` when cancelled before picking; `restock` puts picked goods
/// back (cancellation after picking, BOPIS no-show, returned parcel). O(lines) each.
public struct Inventory: Sendable, Hashable, Codable {
    public let site: SiteID
    public private(set) var onHand: [SKU: Int]
    public private(set) var reservations: [OrderID: [SKU: Int]]
    private var reservedTotal: [SKU: Int]

    public init(site: SiteID, onHand: [SKU: Int]) throws(InventoryError) {
        for (sku, q) in onHand where q < 0 { throw InventoryError(site: site, order: nil, problem: .negativeStock(sku, q)) }
        self.site = site; self.onHand = onHand; self.reservations = [:]; self.reservedTotal = [:]
    }

    public func reserved(_ sku: SKU) -> Int { reservedTotal[sku] ?? 0 }
    public func available(_ sku: SKU) -> Int { (onHand[sku] ?? 0) - reserved(sku) }

    /// Merges repeated SKUs and checks quantities.
    private func tally(_ lines: [OrderLine], order: OrderID) throws(InventoryError) -> [SKU: Int] {
        var want: [SKU: Int] = [:]
        for l in lines {
            guard l.quantity > 0 else { throw InventoryError(site: site, order: order, problem: .nonPositiveQuantity(l.sku, l.quantity)) }
            want[l.sku, default: 0] += l.quantity
        }
        return want
    }

    public mutating func reserve(_ order: OrderID, _ lines: [OrderLine]) throws(InventoryError) {
        guard reservations[order] == nil else { throw InventoryError(site: site, order: order, problem: .alreadyReserved) }
        let want = try tally(lines, order: order)
        for sku in want.keys.sorted() where available(sku) < want[sku]! {
            throw InventoryError(site: site, order: order, problem: .insufficient(sku, requested: want[sku]!, available: max(0, available(sku))))
        }
        reservations[order] = want
        for (sku, q) in want { reservedTotal[sku, default: 0] += q }
    }

    /// Drops a reservation (the goods stay on the shelf).
    public mutating func release(_ order: OrderID) throws(InventoryError) {
        guard let r = reservations.removeValue(forKey: order) else { throw InventoryError(site: site, order: order, problem: .noReservation) }
        for (sku, q) in r { reservedTotal[sku]! -= q }
    }

    /// The reserved goods are picked: they leave stock.
    public mutating func commit(_ order: OrderID) throws(InventoryError) {
        guard let r = reservations.removeValue(forKey: order) else { throw InventoryError(site: site, order: order, problem: .noReservation) }
        for (sku, q) in r { reservedTotal[sku]! -= q; onHand[sku]! -= q }
    }

    /// Goods come back to the shelf (no-show, cancellation after picking, returned parcel).
    public mutating func restock(_ lines: [OrderLine], order: OrderID? = nil) throws(InventoryError) {
        let add = try tally(lines, order: order ?? "-")
        for (sku, q) in add { onHand[sku, default: 0] += q }
    }

    /// A stock count sets on-hand; it may not fall below what is already promised.
    public mutating func setCount(_ sku: SKU, _ count: Int) throws(InventoryError) {
        guard count >= reserved(sku) else {
            throw InventoryError(site: site, order: nil, problem: .countBelowReserved(sku, count: count, reserved: reserved(sku)))
        }
        onHand[sku] = count
    }

    private enum CodingKeys: String, CodingKey { case site, onHand, reservations }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(site: c.decode(SiteID.self, forKey: .site), onHand: c.decode([SKU: Int].self, forKey: .onHand))
        for (order, r) in try c.decode([OrderID: [SKU: Int]].self, forKey: .reservations) {
            try reserve(order, r.map { OrderLine(sku: $0.key, quantity: $0.value) })
        }
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(site, forKey: .site); try c.encode(onHand, forKey: .onHand); try c.encode(reservations, forKey: .reservations)
    }
}

public struct InventoryError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        case insufficient(SKU, requested: Int, available: Int)
        case nonPositiveQuantity(SKU, Int)
        case negativeStock(SKU, Int)
        case alreadyReserved
        case noReservation
        case countBelowReserved(SKU, count: Int, reserved: Int)
    }
    public var site: SiteID
    public var order: OrderID?
    public var problem: Problem
    public var description: String { "site \(site)\(order.map { " order \($0)" } ?? ""): \(problem)" }
}
