/// A compact, self-describing value: the payload encoding of call arguments, results and events.
///
/// Self-describing (tagged, keyed objects carry field names) so that adding an optional field to
/// a payload type does not break a node running the previous version; compact (varints,
/// no quoting) and hand-written so a call's codec costs microseconds, not the ~300 µs of JSON.
/// Bytes: Docs/PROTOCOL.md, "Payload values".
public indirect enum BinaryValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// Any signed integer type, zigzag varint on the wire.
    case int(Int64)
    /// Any unsigned integer type, varint on the wire.
    case uint(UInt64)
    case double(Double)
    case float(Float)
    case string(String)
    /// `[UInt8]` and `Data`.
    case bytes([UInt8])
    case array([BinaryValue])
    /// Keyed fields in encoding order (order is kept so output is deterministic).
    case object([Field])

    /// One keyed field of an object.
    public struct Field: Equatable, Sendable {
        public var key: String
        public var value: BinaryValue
        public init(_ key: String, _ value: BinaryValue) { self.key = key; self.value = value }
    }

    enum Tag: UInt8 {
        case null = 0, `false` = 1, `true` = 2, int = 3, uint = 4, double = 5, float = 6
        case string = 7, bytes = 8, array = 9, object = 10
    }

    /// Maximum nesting accepted when parsing (bounds recursion on hostile input).
    public static let maxDepth = 64

    // MARK: Serialize

    /// The bytes of this value. O(size), allocates once per growth of the output.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        write(into: &out)
        return out
    }

    func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(Tag.null.rawValue)
        case .bool(let b): out.append(b ? Tag.true.rawValue : Tag.false.rawValue)
        case .int(let v):
            out.append(Tag.int.rawValue)
            Self.varint(UInt64(bitPattern: (v << 1) ^ (v >> 63)), into: &out)
        case .uint(let v): out.append(Tag.uint.rawValue); Self.varint(v, into: &out)
        case .double(let d): out.append(Tag.double.rawValue); Self.fixed(d.bitPattern, into: &out)
        case .float(let f): out.append(Tag.float.rawValue); Self.fixed(f.bitPattern, into: &out)
        case .string(let s):
            out.append(Tag.string.rawValue)
            Self.varint(UInt64(s.utf8.count), into: &out); out.append(contentsOf: s.utf8)
        case .bytes(let b):
            out.append(Tag.bytes.rawValue); Self.varint(UInt64(b.count), into: &out); out.append(contentsOf: b)
        case .array(let items):
            out.append(Tag.array.rawValue); Self.varint(UInt64(items.count), into: &out)
            for item in items { item.write(into: &out) }
        case .object(let fields):
            out.append(Tag.object.rawValue); Self.varint(UInt64(fields.count), into: &out)
            for f in fields {
                Self.varint(UInt64(f.key.utf8.count), into: &out); out.append(contentsOf: f.key.utf8)
                f.value.write(into: &out)
            }
        }
    }

    static func varint(_ v: UInt64, into out: inout [UInt8]) {
        var v = v
        while v >= 0x80 { out.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
        out.append(UInt8(v))
    }

    static func fixed<I: FixedWidthInteger>(_ v: I, into out: inout [UInt8]) {
        var be = v.bigEndian
        withUnsafeBytes(of: &be) { out.append(contentsOf: $0) }
    }

    // MARK: Parse

    /// The value in `bytes`, or a typed error (truncation, bad tag, bad UTF-8, duplicate key,
    /// too deep, trailing bytes). Total: never traps on any input.
    public static func parse(_ bytes: [UInt8]) throws(WireError) -> BinaryValue {
        var p = Parser(bytes: bytes)
        let v = try p.value(depth: 0)
        guard p.offset == bytes.count else { throw .trailingBytes(count: bytes.count - p.offset, offset: p.offset) }
        return v
    }

    private struct Parser {
        let bytes: [UInt8]
        var offset = 0

        var remaining: Int { bytes.count - offset }

        mutating func byte(_ field: String) throws(WireError) -> UInt8 {
            guard offset < bytes.count else { throw .truncated(field: field, offset: offset, needed: 1, available: 0) }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func varint(_ field: String) throws(WireError) -> UInt64 {
            let start = offset
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let b = try byte(field)
                if shift == 63 && b > 1 { throw .malformedPayload(reason: "varint overflows 64 bits", offset: start) }
                result |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return result }
                shift += 7
            }
        }

        /// A length that must fit in what is left (so no allocation larger than the input).
        mutating func length(_ field: String, minimumEach: Int = 1) throws(WireError) -> Int {
            let at = offset
            let n = try varint(field)
            guard n <= UInt64(remaining / minimumEach) else {
                throw .truncated(field: field, offset: at, needed: n > UInt64(Int.max / 2) ? Int.max : Int(n) * minimumEach,
                                 available: remaining)
            }
            return Int(n)
        }

        mutating func text(_ field: String) throws(WireError) -> String {
            let n = try length(field + " length")
            let start = offset
            offset += n
            guard let s = String(validating: bytes[start..<offset], as: UTF8.self) else {
                throw .invalidUTF8(field: field, offset: start)
            }
            return s
        }

        mutating func fixed64(_ field: String) throws(WireError) -> UInt64 {
            guard remaining >= 8 else { throw .truncated(field: field, offset: offset, needed: 8, available: remaining) }
            var v: UInt64 = 0
            for i in 0..<8 { v = v << 8 | UInt64(bytes[offset + i]) }
            offset += 8
            return v
        }

        mutating func fixed32(_ field: String) throws(WireError) -> UInt32 {
            guard remaining >= 4 else { throw .truncated(field: field, offset: offset, needed: 4, available: remaining) }
            var v: UInt32 = 0
            for i in 0..<4 { v = v << 8 | UInt32(bytes[offset + i]) }
            offset += 4
            return v
        }

        mutating func value(depth: Int) throws(WireError) -> BinaryValue {
            guard depth <= BinaryValue.maxDepth else {
                throw .malformedPayload(reason: "nesting deeper than \(BinaryValue.maxDepth)", offset: offset)
            }
            let at = offset
            let raw = try byte("value tag")
            guard let tag = Tag(rawValue: raw) else { throw .malformedPayload(reason: "unknown value tag \(raw)", offset: at) }
            switch tag {
            case .null: return .null
            case .false: return .bool(false)
            case .true: return .bool(true)
            case .int:
                let z = try varint("int")
                return .int(Int64(bitPattern: z >> 1) ^ -Int64(bitPattern: z & 1))
            case .uint: return .uint(try varint("uint"))
            case .double: return .double(Double(bitPattern: try fixed64("double")))
            case .float: return .float(Float(bitPattern: try fixed32("float")))
            case .string: return .string(try text("string"))
            case .bytes:
                let n = try length("bytes length")
                defer { offset += n }
                return .bytes(Array(bytes[offset..<(offset + n)]))
            case .array:
                let n = try length("array count")
                var items: [BinaryValue] = []
                items.reserveCapacity(n)
                for _ in 0..<n { items.append(try value(depth: depth + 1)) }
                return .array(items)
            case .object:
                // Each field is at least a key length byte and a value tag.
                let n = try length("object count", minimumEach: 2)
                var fields: [Field] = []
                fields.reserveCapacity(n)
                // Duplicate keys: a linear scan for small objects (the usual case; a Set per object
                // cost 13% of an event receive path in a profile), a Set beyond 8 fields (bounded cost).
                var seen: Set<String>?
                for i in 0..<n {
                    let keyAt = offset
                    let key = try text("object key")
                    let duplicate: Bool
                    if i < 8 {
                        duplicate = fields.contains { $0.key == key }
                    } else {
                        if seen == nil { seen = Set(fields.map(\.key)) }
                        duplicate = !seen!.insert(key).inserted
                    }
                    guard !duplicate else {
                        throw .malformedPayload(reason: "duplicate key \"\(key)\"", offset: keyAt)
                    }
                    fields.append(Field(key, try value(depth: depth + 1)))
                }
                return .object(fields)
            }
        }
    }
}
