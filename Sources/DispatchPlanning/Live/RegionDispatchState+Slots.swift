import Fleet
import Geo

/// A scheduled slot a customer may choose at checkout.
public struct SlotOffer: Sendable, Hashable, Codable {
    public var start: Instant
    public var end: Instant
    /// How many more orders the slot takes; nil when the region sets no slot capacity.
    public var remaining: Int?
    public init(start: Instant, end: Instant, remaining: Int?) { self.start = start; self.end = end; self.remaining = remaining }
}

/// Scheduled slots with a capacity (`ScheduledConfig.slotCapacity`): checkout books a slot only
/// while it has room, and a full slot is refused with the next free ones offered.
///
/// The bookings are not a record of their own: a slot's count is the number of this state's
/// scheduled orders promised in it and not cancelled, so it can never drift from the orders (a
/// journal replay, a snapshot and a failover all agree by construction). Counting costs one pass
/// over the state's orders, only when a scheduled order is placed.
extension RegionDispatchState {
    /// Scheduled orders per slot start that hold their slot (every state but cancelled).
    public func slotBookings() -> [Instant: Int] {
        var counts: [Instant: Int] = [:]
        for e in orders.values where e.order.product == .scheduled && e.order.state != .cancelled {
            counts[e.order.promise.earliest, default: 0] += 1
        }
        return counts
    }

    /// The book of this state's slots: the configured capacity and the bookings above, plus
    /// `others` (bookings other service days of the region hold, for an offer across days).
    public func slotBook(adding others: [Instant: Int] = [:]) -> SlotBook? {
        guard let capacity = config.products.scheduled?.slotCapacity else { return nil }
        var book = SlotBook(region: config.region, defaultCapacity: capacity)
        var n = 0
        for (slot, count) in slotBookings().merging(others, uniquingKeysWith: +) {
            for _ in 0..<count {
                // Over capacity only when the capacity was lowered after booking: the booking stands.
                if book.remaining(slot) == 0 { try? book.setCapacity(slot, book.capacity(slot) + 1) }
                try? book.book(OrderID("booked-\(n)"), slot); n += 1
            }
        }
        return book
    }

    /// The free slots a customer ordering at `orderedAt` may take instead of `full`: those after it
    /// that are promisable and have room, earliest first, at most `limit`.
    public func nextFreeSlots(after full: Instant, orderedAt: Instant, others: [Instant: Int] = [:], limit: Int = 3) -> [Instant] {
        guard let book = slotBook(adding: others) else { return [] }
        return Array(book.offer(orderedAt: orderedAt, config: config.products).filter { $0 > full }.prefix(limit))
    }

    /// What checkout shows a customer ordering at `orderedAt`: every slot of the horizon that can
    /// still be promised and has room, earliest first, with the room left. `others`: bookings the
    /// region's other service days hold.
    public func slotOffers(orderedAt: Instant, others: [Instant: Int] = [:]) -> [SlotOffer] {
        guard let s = config.products.scheduled else { return [] }
        let length = s.slotMinutes * 60
        if let book = slotBook(adding: others) {
            return book.offer(orderedAt: orderedAt, config: config.products).map { SlotOffer(start: $0, end: $0 + length, remaining: book.remaining($0)) }
        }
        let open = SlotBook(region: config.region, defaultCapacity: .max)
        return open.offer(orderedAt: orderedAt, config: config.products).map { SlotOffer(start: $0, end: $0 + length, remaining: nil) }
    }

    /// Nil when `order` (scheduled, already validated) fits its slot; else the refusal, offering
    /// the next free slots this state knows of.
    func slotRefusal(_ order: Order, at: Instant) -> PlaceOrderRejection? {
        guard order.product == .scheduled, let book = slotBook() else { return nil }
        let slot = order.promise.earliest
        guard book.remaining(slot) <= 0 else { return nil }
        let offered = nextFreeSlots(after: slot, orderedAt: at)
        return PlaceOrderRejection(order: order.id, problem: .slotFull,
                                   message: "the slot starting \(Self.slotText(slot, config.offset)) is full (\(book.capacity(slot)) orders)"
                                       + (offered.isEmpty ? "; no later slot is free" : ""),
                                   offeredSlots: offered)
    }

    /// "2026-12-08 14:00" in the region's local time.
    static func slotText(_ slot: Instant, _ offset: UTCOffset) -> String {
        let s = slot.secondsOfLocalDay(offset)
        let hh = s / Time.secondsPerHour, mm = (s % Time.secondsPerHour) / Time.secondsPerMinute
        return "\(slot.localDay(offset).isoDate) \(hh < 10 ? "0" : "")\(hh):\(mm < 10 ? "0" : "")\(mm)"
    }
}
