import Geo

/// How many scheduled orders each delivery slot of a region may still take. Pure value owned by
/// the region's dispatcher; checkout asks `offer` and then `book`s.
public struct SlotBook: Sendable, Hashable, Codable {
    public let region: RegionID
    public let defaultCapacity: Int
    /// Per-slot capacities (keyed by slot start) where the fleet differs from the default.
    public private(set) var capacityOverrides: [Instant: Int]
    public private(set) var bookings: [OrderID: Instant] = [:]
    private var counts: [Instant: Int] = [:]

    public init(region: RegionID, defaultCapacity: Int, capacityOverrides: [Instant: Int] = [:]) {
        precondition(defaultCapacity >= 0 && capacityOverrides.values.allSatisfy { $0 >= 0 })
        self.region = region; self.defaultCapacity = defaultCapacity; self.capacityOverrides = capacityOverrides
    }

    public func capacity(_ slot: Instant) -> Int { capacityOverrides[slot] ?? defaultCapacity }
    public func remaining(_ slot: Instant) -> Int { capacity(slot) - (counts[slot] ?? 0) }

    /// Changes one slot's capacity; it may not drop below what is already booked.
    public mutating func setCapacity(_ slot: Instant, _ n: Int) throws(SlotError) {
        guard n >= (counts[slot] ?? 0) else { throw SlotError(region: region, order: nil, slot: slot, problem: .belowBooked(counts[slot] ?? 0)) }
        capacityOverrides[slot] = n
    }

    public mutating func book(_ order: OrderID, _ slot: Instant) throws(SlotError) {
        guard bookings[order] == nil else { throw SlotError(region: region, order: order, slot: slot, problem: .alreadyBooked) }
        guard remaining(slot) > 0 else { throw SlotError(region: region, order: order, slot: slot, problem: .full) }
        bookings[order] = slot
        counts[slot, default: 0] += 1
    }

    public mutating func release(_ order: OrderID) throws(SlotError) {
        guard let slot = bookings.removeValue(forKey: order) else { throw SlotError(region: region, order: order, slot: nil, problem: .notBooked) }
        counts[slot]! -= 1
    }

    /// The slot starts a customer ordering at `orderedAt` may pick: promisable under `config`
    /// and not full. Ascending. O(horizon × slots per day).
    public func offer(orderedAt: Instant, config: ProductConfig) -> [Instant] {
        guard let c = config.scheduled else { return [] }
        let day = orderedAt.localDay(config.offset)
        var out: [Instant] = []
        for d in 0...max(0, c.horizonDays) {
            for s in c.slotStarts.sorted() {
                let start = Instant.local(day + d, s.seconds, config.offset)
                guard remaining(start) > 0,
                      (try? promise(for: .scheduled, orderedAt: orderedAt, slot: start, config: config)) != nil else { continue }
                out.append(start)
            }
        }
        return out
    }

    private enum CodingKeys: String, CodingKey { case region, defaultCapacity, capacityOverrides, bookings }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(region: try c.decode(RegionID.self, forKey: .region), defaultCapacity: try c.decode(Int.self, forKey: .defaultCapacity),
                  capacityOverrides: Dictionary(try c.decode([SlotCount].self, forKey: .capacityOverrides).map { ($0.slot, $0.count) },
                                                uniquingKeysWith: { a, _ in a }))
        for b in try c.decode([Booking].self, forKey: .bookings) { try book(b.order, b.slot) }
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(region, forKey: .region); try c.encode(defaultCapacity, forKey: .defaultCapacity)
        try c.encode(capacityOverrides.map { SlotCount(slot: $0.key, count: $0.value) }.sorted { $0.slot < $1.slot }, forKey: .capacityOverrides)
        try c.encode(bookings.map { Booking(order: $0.key, slot: $0.value) }.sorted { $0.order < $1.order }, forKey: .bookings)
    }
    private struct SlotCount: Codable { var slot: Instant; var count: Int }
    private struct Booking: Codable { var order: OrderID; var slot: Instant }
}

public struct SlotError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable { case full, alreadyBooked, notBooked, belowBooked(Int) }
    public var region: RegionID
    public var order: OrderID?
    public var slot: Instant?
    public var problem: Problem
    public var description: String {
        "region \(region)\(order.map { " order \($0)" } ?? "")\(slot.map { " slot \($0)" } ?? ""): \(problem)"
    }
}
