import Foundation

/// A Swift type that can be read from a result cell (text format).
/// Non-optional conformances throw `cell.mismatch(…)` for NULL; `Optional` maps NULL to nil.
public protocol PostgresDecodable: Sendable {
    static func decode(_ cell: PostgresCell) throws(PostgresError) -> Self
}

extension PostgresCell {
    /// The non-NULL bytes, or a mismatch error naming `expected`.
    @inline(__always)
    func required(_ expected: String) throws(PostgresError) -> UnsafeRawBufferPointer {
        guard let b = bytes else { throw mismatch(expected) }
        return b
    }

    /// Parses an optionally signed decimal integer; nil on junk or overflow.
    func integer(_ b: UnsafeRawBufferPointer) -> Int64? {
        var i = 0
        var negative = false
        if b.count > 0, b[0] == 45 || b[0] == 43 { negative = b[0] == 45; i = 1 }
        guard i < b.count else { return nil }
        var v: Int64 = 0
        while i < b.count {
            let c = b[i]
            guard c >= 48, c <= 57 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = negative ? m.subtractingReportingOverflow(Int64(c - 48)) : m.addingReportingOverflow(Int64(c - 48))
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        return v
    }
}

extension Int64: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws(PostgresError) -> Int64 {
        let b = try cell.required("Int64")
        guard let v = cell.integer(b) else { throw cell.mismatch("Int64") }
        return v
    }
}
extension Int: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws(PostgresError) -> Int {
        let b = try cell.required("Int")
        guard let v = cell.integer(b), let i = Int(exactly: v) else { throw cell.mismatch("Int") }
        return i
    }
}
extension Int32: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws(PostgresError) -> Int32 {
        let b = try cell.required("Int32")
        guard let v = cell.integer(b), let i = Int32(exactly: v) else { throw cell.mismatch("Int32") }
        return i
    }
}
extension Int16: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws(PostgresError) -> Int16 {
        let b = try cell.required("Int16")
        guard let v = cell.integer(b), let i = Int16(exactly: v) else { throw cell.mismatch("Int16") }
        return i
    }
}
extension Double: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws(PostgresError) -> Double {
        let b = try cell.required("Double")
        let s = String(decoding: b, as: UTF8.self)
        switch s {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default:
            guard let v = Double(s) else { throw cell.mismatch("Double") }
            return v
        }
    }
}
extension Bool: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws(PostgresError) -> Bool {
        let b = try cell.required("Bool")
        guard b.count == 1, b[0] == 116 || b[0] == 102 else { throw cell.mismatch("Bool") }
        return b[0] == 116
    }
}
extension String: PostgresDecodable {
    /// Any column's text form (uuid, json, numeric… included).
    public static func decode(_ cell: PostgresCell) throws(PostgresError) -> String {
        String(decoding: try cell.required("String"), as: UTF8.self)
    }
}
extension Array: PostgresDecodable where Element == UInt8 {
    /// A `bytea` column (hex output format `\x…`).
    public static func decode(_ cell: PostgresCell) throws(PostgresError) -> [UInt8] {
        let b = try cell.required("[UInt8] (bytea)")
        guard cell.typeOID == PostgresType.bytea, b.count >= 2, b[0] == 92, b[1] == 120, b.count % 2 == 0 else {
            throw cell.mismatch("[UInt8] (bytea)")
        }
        var out = [UInt8](repeating: 0, count: (b.count - 2) / 2)
        var ok = true
        out.withUnsafeMutableBufferPointer { o in
            var j = 2
            for k in 0 ..< o.count {
                guard let hi = hexNibble(b[j]), let lo = hexNibble(b[j + 1]) else { ok = false; return }
                o[k] = hi << 4 | lo
                j += 2
            }
        }
        guard ok else { throw cell.mismatch("[UInt8] (bytea)") }
        return out
    }
}

@inline(__always)
func hexNibble(_ c: UInt8) -> UInt8? {
    switch c {
    case 48...57: c - 48
    case 97...102: c - 87
    case 65...70: c - 55
    default: nil
    }
}

extension Date: PostgresDecodable {
    /// `timestamptz`, `timestamp` (read as UTC) or `date` columns; integer or floating columns
    /// are read as seconds since the Unix epoch (`extract(epoch from …)`).
    public static func decode(_ cell: PostgresCell) throws(PostgresError) -> Date {
        let b = try cell.required("Date")
        switch cell.typeOID {
        case PostgresType.timestamptz, PostgresType.timestamp, PostgresType.date:
            guard let us = PostgresTime.parse(b) else { throw cell.mismatch("Date") }
            return PostgresTime.date(microsecondsSinceEpoch: us)
        case PostgresType.int8, PostgresType.int4, PostgresType.int2:
            guard let s = cell.integer(b) else { throw cell.mismatch("Date") }
            return Date(timeIntervalSince1970: Double(s))
        case PostgresType.float8, PostgresType.float4, PostgresType.numeric:
            guard let s = Double(String(decoding: b, as: UTF8.self)), s.isFinite else { throw cell.mismatch("Date") }
            return Date(timeIntervalSince1970: s)
        default:
            throw cell.mismatch("Date")
        }
    }
}
extension UUID: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws(PostgresError) -> UUID {
        let b = try cell.required("UUID")
        guard let u = UUID(uuidString: String(decoding: b, as: UTF8.self)) else { throw cell.mismatch("UUID") }
        return u
    }
}
extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws(PostgresError) -> Wrapped? {
        if cell.bytes == nil { return nil }
        return try Wrapped.decode(cell)
    }
}
