import Base
import Fleet
import Geo

/// Which service day a request belongs to, and which days a region keeps open. Pure.
///
/// A region runs one dispatcher per **service day** D (`RegionDispatchConfig.serviceDay`): dawn
/// deliveries on D's early morning (ordered the evening before, up to the dawn cutoff), and the
/// daytime products of D. Two days are open at once most of the time: D runs its deliveries while
/// D+1 takes tonight's dawn orders and scheduled slots. The rule (Docs/DISPATCH.md, "Service days"):
///
/// - the **operating day** at instant t is the local date of t − `rollover` (default 00:00): the
///   day whose daytime operations run at t. At the rollover the operating day becomes D+1;
/// - an order belongs to the day of its promise: dawn → the delivery morning (before the cutoff:
///   the coming night; at or after it: the night after, as `promise(for:)` says); same-day → the
///   delivery date (after the cutoff: tomorrow); scheduled → the slot's date; quick and BOPIS → the
///   operating day when ordered;
/// - the region keeps the operating day and the next one open (`daysToOpen(at:)`); a later day is
///   opened when an order for it arrives (a scheduled slot days ahead waits there for its day);
/// - a day that is no longer the operating day stops taking new orders of its own accord (the rule
///   above sends none to it) but keeps serving everything on it — couriers' reports, cancellations,
///   BOPIS collections, its jobs — until it is settled (`RegionDispatchState.isSettled(at:)`):
///   every order final, every courier home and off shift. So an order on the road at the rollover
///   finishes in its own day, and no order is in two days.
public struct ServiceCalendar: Sendable, Hashable, Codable {
    public var offset: UTCOffset
    /// Local time at which the operating day changes.
    public var rollover: TimeOfDay
    public var products: ProductConfig

    public init(offset: UTCOffset, rollover: TimeOfDay = TimeOfDay(0), products: ProductConfig) {
        self.offset = offset; self.rollover = rollover; self.products = products
    }

    public init(config: RegionDispatchConfig, rollover: TimeOfDay = TimeOfDay(0)) {
        self.init(offset: config.offset, rollover: rollover, products: config.products)
    }

    /// The day whose daytime operations run at `t`.
    public func operatingDay(at t: Instant) -> LocalDay { (t - rollover.seconds).localDay(offset) }

    /// The first rollover after `t` (when the next day must be opened).
    public func nextRollover(after t: Instant) -> Instant {
        Instant.local(operatingDay(at: t) + 1, rollover.seconds, offset)
    }

    /// The days a region keeps open at `t`: the operating day and the next one (tonight's dawn orders).
    public func daysToOpen(at t: Instant) -> [LocalDay] {
        let d = operatingDay(at: t)
        return [d, d + 1]
    }

    /// The service day an order of `product` placed at `at` (with `slot` for scheduled) belongs to.
    /// A product the region does not offer goes to the operating day, whose dispatcher refuses it.
    public func serviceDay(product: Product, at: Instant, slot: Instant?) -> LocalDay {
        let day = at.localDay(offset), sod = at.secondsOfLocalDay(offset)
        switch product {
        case .dawn:
            guard let c = products.dawn else { return operatingDay(at: at) }
            return day + (sod >= c.cutoff.seconds ? 2 : 1)
        case .sameDay:
            guard let c = products.sameDay else { return operatingDay(at: at) }
            return day + (sod >= c.cutoff.seconds ? 1 : 0)
        case .scheduled:
            return slot.map { $0.localDay(offset) } ?? operatingDay(at: at)
        case .quick, .bopis:
            return operatingDay(at: at)
        }
    }

    /// The service day of a request that names no order or courier: a new order's, or else the
    /// operating day at the request's instant (nil: the request carries no instant).
    public func serviceDay(of request: DispatchRequest) -> LocalDay? {
        if case .placeOrder(let draft, let slot, let at) = request { return serviceDay(product: draft.product, at: at, slot: slot) }
        return request.at.map { operatingDay(at: $0) }
    }
}

extension LocalDay {
    /// `YYYY-MM-DD` (proleptic Gregorian, Howard Hinnant's civil_from_days).
    public var isoDate: String { DemoReport.dateString(self) }

    /// Parses `YYYY-MM-DD`; nil when malformed or not a real date.
    public init?(isoDate s: String) {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int64(parts[0]), let m = Int64(parts[1]), let d = Int64(parts[2]),
              (1...12).contains(m), (1...31).contains(d) else { return nil }
        guard CivilDate.isValid(year: y, month: m, day: d) else { return nil }   // e.g. 2026-02-30
        let index = CivilDate.days(year: y, month: m, day: d)
        self.init(index: index)
    }
}

extension Instant {
    /// `2026-12-02T23:05:00+09:00`: the instant in local time at `offset`, to the second.
    public func iso8601(_ offset: UTCOffset) -> String {
        let day = localDay(offset), s = secondsOfLocalDay(offset)
        let sign = offset.seconds < 0 ? "-" : "+", o = abs(offset.seconds)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(day.isoDate)T\(two(s / 3600)):\(two(s / 60 % 60)):\(two(s % 60))\(sign)\(two(o / 3600)):\(two(o / 60 % 60))"
    }

    /// Parses `YYYY-MM-DDTHH:MM[:SS[.fraction]](Z|±HH:MM)` (fractions are truncated to the second);
    /// nil when malformed.
    public init?(iso8601 text: String) {
        let s = Substring(text)
        guard s.count >= 16, s.count <= 64, let tIndex = s.firstIndex(of: "T") else { return nil }
        guard let day = LocalDay(isoDate: String(s[..<tIndex])) else { return nil }
        var rest = s[s.index(after: tIndex)...]
        var offset: Int64 = 0
        if rest.hasSuffix("Z") { rest = rest.dropLast() } else {
            guard rest.count >= 6 else { return nil }
            let tz = rest.suffix(6)
            guard let sign = tz.first, sign == "+" || sign == "-", tz[tz.index(tz.startIndex, offsetBy: 3)] == ":",
                  let h = Int64(tz.dropFirst().prefix(2)), let m = Int64(tz.suffix(2)), h <= 14, m < 60 else { return nil }
            offset = (h * 3600 + m * 60) * (sign == "-" ? -1 : 1)
            rest = rest.dropLast(6)
        }
        if let dot = rest.firstIndex(of: ".") {
            let fraction = rest[rest.index(after: dot)...]
            guard !fraction.isEmpty, fraction.count <= 9, fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            rest = rest[..<dot]
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count), parts.allSatisfy({ $0.count == 2 && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let h = Int64(parts[0]), let m = Int64(parts[1]), h < 24, m < 60 else { return nil }
        var sec: Int64 = 0
        if parts.count == 3 { guard let x = Int64(parts[2]), x < 60 else { return nil }; sec = x }
        self = Instant.local(day, h * 3600 + m * 60 + sec, UTCOffset(seconds: offset))
    }
}
