import Geo

/// The delivery products Daybreak sells.
public enum Product: String, Sendable, Hashable, Codable, CaseIterable {
    /// Order by the evening cutoff, at the door before morning (Seoul-style 새벽배송).
    case dawn
    /// Order by the midday cutoff, delivered in the afternoon and evening.
    case sameDay
    /// 30–60 minutes from the nearest micro-fulfillment store, by riders.
    case quick
    /// A slot the customer picks at checkout.
    case scheduled
    /// Buy online, pick up in store.
    case bopis
}

/// Daily opening hours in local time. `close` may exceed 24:00 (open past midnight).
public struct OpeningHours: Sendable, Hashable, Codable {
    public var open: TimeOfDay
    public var close: TimeOfDay
    public init(open: TimeOfDay, close: TimeOfDay) { self.open = open; self.close = close }

    /// The opening interval that contains `t`, if any (today's, or yesterday's running past midnight).
    public func interval(containing t: Instant, _ offset: UTCOffset) -> (open: Instant, close: Instant)? {
        let day = t.localDay(offset)
        for d in [day + (-1), day] {
            let o = Instant.local(d, open.seconds, offset), c = Instant.local(d, close.seconds, offset)
            if o <= t && t < c { return (o, c) }
        }
        return nil
    }

    /// The first opening at or after `t` (O(1)).
    public func nextOpening(atOrAfter t: Instant, _ offset: UTCOffset) -> Instant {
        let today = Instant.local(t.localDay(offset), open.seconds, offset)
        return today >= t ? today : today + Time.secondsPerDay
    }
}

public struct DawnConfig: Sendable, Hashable, Codable {
    /// Orders strictly before this local time go out the coming night.
    public var cutoff: TimeOfDay
    /// The door window on the delivery morning, relative to its midnight.
    public var windowStart: TimeOfDay
    public var windowEnd: TimeOfDay
    /// Hub departure times of the vans' waves on the delivery morning (e.g. 01:30, 02:00, 02:30),
    /// relative to its midnight. Optional; the wave planner uses them as vehicle start times.
    public var waves: [TimeOfDay]?
    public init(cutoff: TimeOfDay = TimeOfDay(23), windowStart: TimeOfDay = TimeOfDay(0), windowEnd: TimeOfDay = TimeOfDay(7),
                waves: [TimeOfDay]? = nil) {
        self.cutoff = cutoff; self.windowStart = windowStart; self.windowEnd = windowEnd; self.waves = waves
    }

    /// Departure instants of the waves serving `deliveryDay`'s window, ascending.
    public func waveDepartures(for deliveryDay: LocalDay, _ offset: UTCOffset) -> [Instant] {
        (waves ?? []).sorted().map { Instant.local(deliveryDay, $0.seconds, offset) }
    }
}

public struct SameDayConfig: Sendable, Hashable, Codable {
    public var cutoff: TimeOfDay
    public var windowStart: TimeOfDay
    public var windowEnd: TimeOfDay
    public init(cutoff: TimeOfDay = TimeOfDay(12), windowStart: TimeOfDay = TimeOfDay(14), windowEnd: TimeOfDay = TimeOfDay(22)) {
        self.cutoff = cutoff; self.windowStart = windowStart; self.windowEnd = windowEnd
    }
}

public struct QuickConfig: Sendable, Hashable, Codable {
    public var minMinutes: Int64
    public var maxMinutes: Int64
    /// Default store hours for quick orders (a store may override them).
    public var storeHours: OpeningHours
    /// Riders serve only this far (crow-fly metres) from the store.
    public var maxRadiusMetres: Double
    public init(minMinutes: Int64 = 30, maxMinutes: Int64 = 60,
                storeHours: OpeningHours = OpeningHours(open: TimeOfDay(10), close: TimeOfDay(23)),
                maxRadiusMetres: Double = 3_000) {
        self.minMinutes = minMinutes; self.maxMinutes = maxMinutes; self.storeHours = storeHours; self.maxRadiusMetres = maxRadiusMetres
    }
}

public struct ScheduledConfig: Sendable, Hashable, Codable {
    public var slotMinutes: Int64
    /// Local start times of the offered slots each day.
    public var slotStarts: [TimeOfDay]
    /// The slot must start at least this long after the order.
    public var leadMinutes: Int64
    /// How many days ahead (counting today as 0) a slot may be booked.
    public var horizonDays: Int64
    /// How many scheduled orders one slot of the region takes (nil: as many as the couriers can
    /// deliver). Checkout refuses a full slot and offers the next free ones (`SlotBook`).
    public var slotCapacity: Int?
    public init(slotMinutes: Int64 = 120, slotStarts: [TimeOfDay] = stride(from: 8, through: 20, by: 2).map { TimeOfDay(Int64($0)) },
                leadMinutes: Int64 = 120, horizonDays: Int64 = 7, slotCapacity: Int? = nil) {
        self.slotMinutes = slotMinutes; self.slotStarts = slotStarts; self.leadMinutes = leadMinutes; self.horizonDays = horizonDays
        self.slotCapacity = slotCapacity
    }
}

public struct BopisConfig: Sendable, Hashable, Codable {
    public var readyWithinMinutes: Int64
    public var holdHours: Int64
    public var storeHours: OpeningHours
    public init(readyWithinMinutes: Int64 = 120, holdHours: Int64 = 48,
                storeHours: OpeningHours = OpeningHours(open: TimeOfDay(10), close: TimeOfDay(22))) {
        self.readyWithinMinutes = readyWithinMinutes; self.holdHours = holdHours; self.storeHours = storeHours
    }
}

/// What a region offers and on which terms. A nil product is not offered there.
public struct ProductConfig: Sendable, Hashable, Codable {
    public var region: RegionID
    public var offset: UTCOffset
    public var dawn: DawnConfig?
    public var sameDay: SameDayConfig?
    public var quick: QuickConfig?
    public var scheduled: ScheduledConfig?
    public var bopis: BopisConfig?
    public init(region: RegionID, offset: UTCOffset = .seoul, dawn: DawnConfig? = DawnConfig(), sameDay: SameDayConfig? = SameDayConfig(),
                quick: QuickConfig? = QuickConfig(), scheduled: ScheduledConfig? = ScheduledConfig(), bopis: BopisConfig? = BopisConfig()) {
        self.region = region; self.offset = offset; self.dawn = dawn; self.sameDay = sameDay
        self.quick = quick; self.scheduled = scheduled; self.bopis = bopis
    }
}

/// What was promised: the window in which the order reaches the customer (for BOPIS: from
/// order to "ready for pickup" deadline, then held until `holdUntil`).
public struct PromiseWindow: Sendable, Hashable, Codable {
    public var product: Product
    public var earliest: Instant
    public var latest: Instant
    /// True when the order missed a cutoff or closing time and was promised the next opportunity.
    public var rolledOver: Bool
    /// BOPIS only: the order is returned to stock if not collected by then.
    public var holdUntil: Instant?
    public init(product: Product, earliest: Instant, latest: Instant, rolledOver: Bool = false, holdUntil: Instant? = nil) {
        self.product = product; self.earliest = earliest; self.latest = latest; self.rolledOver = rolledOver; self.holdUntil = holdUntil
    }
    public func contains(_ t: Instant) -> Bool { earliest <= t && t <= latest }
}

/// Why a product can't be promised. Names the region and the instants involved.
public struct PromiseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        case notOffered
        /// Quick: the store is closed or would close before the latest delivery; opens again then.
        case storeClosed(nextOpening: Instant)
        case slotRequired
        case slotNotForThisProduct
        case slotNotOffered(start: Instant)
        case slotTooSoon(start: Instant, earliestAllowed: Instant)
        case slotBeyondHorizon(start: Instant, lastDay: LocalDay)
        case slotInThePast(start: Instant)
    }
    public var region: RegionID
    public var product: Product
    public var reason: Reason
    public var description: String { "region \(region): cannot promise \(product.rawValue): \(reason)" }
}

/// The promise for `product` ordered at `orderedAt` under `config`. Pure, O(slots).
///
/// Cutoffs are exclusive: an order at 22:59:59 makes tonight's dawn wave, one at 23:00:00 the
/// next. Dawn and same-day roll over to the next opportunity (flagged `rolledOver`); quick does
/// not (quick means now) and reports when the store opens; scheduled never moves the customer's
/// chosen slot, it rejects it.
public func promise(for product: Product, orderedAt: Instant, slot: Instant? = nil, config: ProductConfig,
                    storeHours: OpeningHours? = nil) throws(PromiseError) -> PromiseWindow {
    let off = config.offset
    func fail(_ r: PromiseError.Reason) -> PromiseError { PromiseError(region: config.region, product: product, reason: r) }
    if slot != nil && product != .scheduled { throw fail(.slotNotForThisProduct) }
    let day = orderedAt.localDay(off), sod = orderedAt.secondsOfLocalDay(off)
    switch product {
    case .dawn:
        guard let c = config.dawn else { throw fail(.notOffered) }
        let late = sod >= c.cutoff.seconds
        // The cutoff is in the evening: the coming night is the next calendar day's early morning.
        // An order at 00:30 is before today's cutoff, so it goes out tonight, i.e. tomorrow morning.
        let deliveryDay = day + (late ? 2 : 1)
        return PromiseWindow(product: .dawn, earliest: .local(deliveryDay, c.windowStart.seconds, off),
                             latest: .local(deliveryDay, c.windowEnd.seconds, off), rolledOver: late)
    case .sameDay:
        guard let c = config.sameDay else { throw fail(.notOffered) }
        let late = sod >= c.cutoff.seconds
        let d = day + (late ? 1 : 0)
        return PromiseWindow(product: .sameDay, earliest: .local(d, c.windowStart.seconds, off),
                             latest: .local(d, c.windowEnd.seconds, off), rolledOver: late)
    case .quick:
        guard let c = config.quick else { throw fail(.notOffered) }
        let hours = storeHours ?? c.storeHours
        let latest = orderedAt + c.maxMinutes * 60
        guard let open = hours.interval(containing: orderedAt, off), latest <= open.close else {
            throw fail(.storeClosed(nextOpening: hours.nextOpening(atOrAfter: orderedAt + 1, off)))
        }
        return PromiseWindow(product: .quick, earliest: orderedAt + c.minMinutes * 60, latest: latest)
    case .scheduled:
        guard let c = config.scheduled else { throw fail(.notOffered) }
        guard let start = slot else { throw fail(.slotRequired) }
        guard start > orderedAt else { throw fail(.slotInThePast(start: start)) }
        guard c.slotStarts.contains(where: { $0.seconds == start.secondsOfLocalDay(off) }) else { throw fail(.slotNotOffered(start: start)) }
        let earliestAllowed = orderedAt + c.leadMinutes * 60
        guard start >= earliestAllowed else { throw fail(.slotTooSoon(start: start, earliestAllowed: earliestAllowed)) }
        let lastDay = day + c.horizonDays
        guard start.localDay(off) <= lastDay else { throw fail(.slotBeyondHorizon(start: start, lastDay: lastDay)) }
        return PromiseWindow(product: .scheduled, earliest: start, latest: start + c.slotMinutes * 60)
    case .bopis:
        guard let c = config.bopis else { throw fail(.notOffered) }
        let hours = storeHours ?? c.storeHours
        let work = c.readyWithinMinutes * 60
        // Staff pick only while open; if the promise would run past closing, it starts at the next opening.
        var start = orderedAt, rolled = false
        if let open = hours.interval(containing: orderedAt, off), orderedAt + work <= open.close {
            start = orderedAt
        } else {
            start = hours.nextOpening(atOrAfter: orderedAt, off); rolled = true
        }
        let ready = start + work
        return PromiseWindow(product: .bopis, earliest: orderedAt, latest: ready, rolledOver: rolled,
                             holdUntil: ready + c.holdHours * 3600)
    }
}
