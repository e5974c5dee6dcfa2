/// A point in time: whole seconds since the Unix epoch (UTC). Pure value; the wall clock is read
/// only by the runtime, which passes instants in.
public struct Instant: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var epochSeconds: Int64
    public init(epochSeconds: Int64) { self.epochSeconds = epochSeconds }

    public static func < (a: Instant, b: Instant) -> Bool { a.epochSeconds < b.epochSeconds }
    public static func + (a: Instant, seconds: Int64) -> Instant { Instant(epochSeconds: a.epochSeconds + seconds) }
    public static func - (a: Instant, seconds: Int64) -> Instant { Instant(epochSeconds: a.epochSeconds - seconds) }
    /// Seconds from `b` to `a`.
    public static func - (a: Instant, b: Instant) -> Int64 { a.epochSeconds - b.epochSeconds }

    public init(from decoder: any Decoder) throws {
        epochSeconds = try decoder.singleValueContainer().decode(Int64.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer(); try c.encode(epochSeconds)
    }
    public var description: String { "@\(epochSeconds)" }
}

/// A fixed offset from UTC. Korea has observed no daylight saving since 1988, so Asia/Seoul is a
/// fixed +09:00 and a service day is always 86,400 s long.
public struct UTCOffset: Sendable, Hashable, Codable {
    public var seconds: Int64
    public init(seconds: Int64) { self.seconds = seconds }
    /// Asia/Seoul, +09:00.
    public static let seoul = UTCOffset(seconds: 9 * 3600)
    public static let utc = UTCOffset(seconds: 0)
}

/// A local calendar day, counted in days since 1970-01-01 in the local offset.
public struct LocalDay: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var index: Int64
    public init(index: Int64) { self.index = index }
    public static func < (a: LocalDay, b: LocalDay) -> Bool { a.index < b.index }
    public static func + (a: LocalDay, days: Int64) -> LocalDay { LocalDay(index: a.index + days) }
    public var description: String { "day\(index)" }
}

public enum Time {
    public static let secondsPerDay: Int64 = 86_400
    public static let secondsPerHour: Int64 = 3_600
    public static let secondsPerMinute: Int64 = 60

    /// Seconds for `h` hours and `m` minutes (a convenience for local times of day).
    public static func hm(_ h: Int64, _ m: Int64 = 0) -> Int64 { h * secondsPerHour + m * secondsPerMinute }

    /// Floor division, so instants before the epoch still map to the right day.
    @inlinable static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}

extension Instant {
    /// The local calendar day containing this instant.
    public func localDay(_ offset: UTCOffset) -> LocalDay {
        LocalDay(index: Time.floorDiv(epochSeconds + offset.seconds, Time.secondsPerDay))
    }
    /// Seconds since local midnight, in `0..<86400`.
    public func secondsOfLocalDay(_ offset: UTCOffset) -> Int64 {
        let local = epochSeconds + offset.seconds
        return local - Time.floorDiv(local, Time.secondsPerDay) * Time.secondsPerDay
    }
    /// Local hour of day, `0..<24`.
    public func localHour(_ offset: UTCOffset) -> Int { Int(secondsOfLocalDay(offset) / Time.secondsPerHour) }

    /// The instant at `seconds` after local midnight of `day`. `seconds` may exceed a day
    /// (26:00 is 02:00 the next day) or be negative.
    public static func local(_ day: LocalDay, _ seconds: Int64, _ offset: UTCOffset) -> Instant {
        Instant(epochSeconds: day.index * Time.secondsPerDay + seconds - offset.seconds)
    }
}
