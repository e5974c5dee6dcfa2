/// A point in time as nanoseconds since the Unix epoch (finer than `Geo.Instant`'s seconds:
/// leases, heartbeats and deadlines need milliseconds). State machines take it as a value
/// (from PostgreSQL's `now()` or a clock read in the shell) and never read a clock themselves.
/// Wall time rather than a monotonic clock because leases and heartbeats are compared
/// against database timestamps shared by all nodes.
public struct Timestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var nanosecondsSinceEpoch: Int64

    public init(nanosecondsSinceEpoch: Int64) { self.nanosecondsSinceEpoch = nanosecondsSinceEpoch }

    public static func seconds(_ s: Int64) -> Timestamp { Timestamp(nanosecondsSinceEpoch: s * 1_000_000_000) }
    public static func milliseconds(_ ms: Int64) -> Timestamp { Timestamp(nanosecondsSinceEpoch: ms * 1_000_000) }

    /// PostgreSQL `timestamptz` travels as microseconds since the epoch (`extract(epoch …)` × 1e6, or binary format).
    public init(microsecondsSinceEpoch us: Int64) { nanosecondsSinceEpoch = us * 1_000 }
    public var microsecondsSinceEpoch: Int64 { nanosecondsSinceEpoch / 1_000 }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.nanosecondsSinceEpoch < b.nanosecondsSinceEpoch }

    public static func + (a: Timestamp, d: Duration) -> Timestamp {
        Timestamp(nanosecondsSinceEpoch: a.nanosecondsSinceEpoch &+ d.nanoseconds)
    }
    public static func - (a: Timestamp, d: Duration) -> Timestamp {
        Timestamp(nanosecondsSinceEpoch: a.nanosecondsSinceEpoch &- d.nanoseconds)
    }
    public static func - (a: Timestamp, b: Timestamp) -> Duration {
        .nanoseconds(a.nanosecondsSinceEpoch &- b.nanosecondsSinceEpoch)
    }

    public var description: String { "t=\(nanosecondsSinceEpoch)ns" }
}

extension Duration {
    /// Whole nanoseconds, saturating at Int64 bounds (far beyond any lease or TTL).
    var nanoseconds: Int64 {
        let (s, atto) = components
        let (ns, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return s < 0 ? .min : .max }
        return ns &+ atto / 1_000_000_000
    }

    /// Whole milliseconds, for SQL intervals and wire deadlines.
    public var wholeMilliseconds: Int64 { nanoseconds / 1_000_000 }
}
