import Geo

/// Strong string identifiers. Each is its own type so an order ID can't be passed as a SKU.
/// Encoded as a plain JSON string.
public protocol StringID: Sendable, Hashable, Codable, Comparable, ExpressibleByStringLiteral, CustomStringConvertible {
    var rawValue: String { get }
    init(_ rawValue: String)
}

extension StringID {
    public init(stringLiteral value: String) { self.init(value) }
    public init(from decoder: any Decoder) throws { self.init(try decoder.singleValueContainer().decode(String.self)) }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(rawValue) }
    public var description: String { rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

public struct OrderID: StringID { public let rawValue: String; public init(_ rawValue: String) { self.rawValue = rawValue } }
public struct SKU: StringID { public let rawValue: String; public init(_ rawValue: String) { self.rawValue = rawValue } }
/// A hub or a micro-fulfillment store.
public struct SiteID: StringID { public let rawValue: String; public init(_ rawValue: String) { self.rawValue = rawValue } }
public struct VehicleID: StringID { public let rawValue: String; public init(_ rawValue: String) { self.rawValue = rawValue } }
public struct RiderID: StringID { public let rawValue: String; public init(_ rawValue: String) { self.rawValue = rawValue } }
public struct RegionID: StringID { public let rawValue: String; public init(_ rawValue: String) { self.rawValue = rawValue } }

/// A time of local day in seconds since midnight. Values from 24:00 up to 48:00 mean "after
/// midnight of the next day" (a store open 10:00–26:00 closes at 02:00). Encoded as "HH:MM"
/// or "HH:MM:SS".
public struct TimeOfDay: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var seconds: Int64
    public init(seconds: Int64) { self.seconds = seconds }
    public init(_ h: Int64, _ m: Int64 = 0) { self.seconds = Time.hm(h, m) }
    public static func < (a: TimeOfDay, b: TimeOfDay) -> Bool { a.seconds < b.seconds }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        let parts = s.split(separator: ":", omittingEmptySubsequences: false).map { Int64($0) }
        guard (2...3).contains(parts.count), parts.allSatisfy({ $0 != nil }),
              let h = parts[0], let m = parts[1], (0...48).contains(h), (0..<60).contains(m) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "time of day \"\(s)\" is not HH:MM[:SS] with HH ≤ 48")
        }
        let sec = parts.count == 3 ? parts[2]! : 0
        guard (0..<60).contains(sec) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "time of day \"\(s)\": seconds out of range")
        }
        self.seconds = h * 3600 + m * 60 + sec
    }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(description) }
    public var description: String {
        let h = seconds / 3600, m = (seconds % 3600) / 60, s = seconds % 60
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return s == 0 ? "\(two(h)):\(two(m))" : "\(two(h)):\(two(m)):\(two(s))"
    }
}
