import Foundation

/// One statement parameter as libpq receives it: a type OID (0 lets the server infer it), a wire
/// format and the bytes, or NULL. Values are never spliced into SQL text.
public struct PostgresBind: Sendable, Equatable {
    public enum Format: Int32, Sendable { case text = 0, binary = 1 }
    public var typeOID: UInt32
    public var format: Format
    /// nil is SQL NULL.
    public var bytes: [UInt8]?

    public init(typeOID: UInt32, format: Format, bytes: [UInt8]?) {
        self.typeOID = typeOID
        self.format = format
        self.bytes = bytes
    }

    public static let null = PostgresBind(typeOID: 0, format: .text, bytes: nil)
    /// Text in the server's input syntax; `typeOID` 0 lets the server infer the type from context.
    public static func text(_ s: String, typeOID: UInt32 = 0) -> PostgresBind {
        PostgresBind(typeOID: typeOID, format: .text, bytes: Array(s.utf8))
    }
    /// A `jsonb` parameter from JSON text.
    public static func jsonb(_ json: String) -> PostgresBind { .text(json, typeOID: PostgresType.jsonb) }
}

/// Well-known type OIDs (pg_type.oid), enough for the types Storage encodes and decodes.
public enum PostgresType {
    public static let bool: UInt32 = 16
    public static let bytea: UInt32 = 17
    public static let int8: UInt32 = 20
    public static let int2: UInt32 = 21
    public static let int4: UInt32 = 23
    public static let text: UInt32 = 25
    public static let json: UInt32 = 114
    public static let float4: UInt32 = 700
    public static let float8: UInt32 = 701
    public static let varchar: UInt32 = 1043
    public static let date: UInt32 = 1082
    public static let timestamp: UInt32 = 1114
    public static let timestamptz: UInt32 = 1184
    public static let numeric: UInt32 = 1700
    public static let uuid: UInt32 = 2950
    public static let jsonb: UInt32 = 3802
}

/// A Swift value that can be a statement parameter or a COPY field.
public protocol PostgresEncodable: Sendable {
    /// The value as a statement parameter.
    var postgresBind: PostgresBind { get }
    /// The value as one escaped field of a text-format COPY (`\N` for NULL). A default built on
    /// `postgresBind` exists; hot types write their bytes directly.
    func encodeCopyText(into out: inout [UInt8]) throws(PostgresError)
}

extension PostgresBind: PostgresEncodable {
    public var postgresBind: PostgresBind { self }
}

extension Int: PostgresEncodable {
    public var postgresBind: PostgresBind { .text(String(self), typeOID: PostgresType.int8) }
}
extension Int64: PostgresEncodable {
    public var postgresBind: PostgresBind { .text(String(self), typeOID: PostgresType.int8) }
}
extension Int32: PostgresEncodable {
    public var postgresBind: PostgresBind { .text(String(self), typeOID: PostgresType.int4) }
}
extension Int16: PostgresEncodable {
    public var postgresBind: PostgresBind { .text(String(self), typeOID: PostgresType.int2) }
}
extension Double: PostgresEncodable {
    /// Non-finite values use PostgreSQL's spellings (`NaN`, `Infinity`, `-Infinity`).
    public var postgresBind: PostgresBind {
        let s: String = isNaN ? "NaN" : (isInfinite ? (self < 0 ? "-Infinity" : "Infinity") : "\(self)")
        return .text(s, typeOID: PostgresType.float8)
    }
}
extension Bool: PostgresEncodable {
    public var postgresBind: PostgresBind { .text(self ? "t" : "f", typeOID: PostgresType.bool) }
}
extension String: PostgresEncodable {
    /// Type left to the server (text, varchar, json, jsonb, uuid… all accept it).
    public var postgresBind: PostgresBind { .text(self) }
}
extension Substring: PostgresEncodable {
    public var postgresBind: PostgresBind { .text(String(self)) }
}
extension Array: PostgresEncodable where Element == UInt8 {
    /// `bytea`, sent in binary (no hex doubling, zero bytes intact).
    public var postgresBind: PostgresBind { PostgresBind(typeOID: PostgresType.bytea, format: .binary, bytes: self) }
}
extension UUID: PostgresEncodable {
    public var postgresBind: PostgresBind { .text(uuidString.lowercased(), typeOID: PostgresType.uuid) }
}
extension Date: PostgresEncodable {
    /// `timestamptz` at microsecond precision, written in UTC.
    public var postgresBind: PostgresBind {
        .text(PostgresTime.format(microsecondsSinceEpoch: PostgresTime.microseconds(self)), typeOID: PostgresType.timestamptz)
    }
}
extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresBind: PostgresBind { self?.postgresBind ?? .null }
}
