/// Appends big-endian integers and length-prefixed fields to a byte array.
/// Value type, no I/O; `bytes` is the frame so far.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(v >> 8)); bytes.append(UInt8(truncatingIfNeeded: v)) }
    mutating func u32(_ v: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) }
    }
    mutating func u64(_ v: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
    }
    mutating func raw(_ b: some Sequence<UInt8>) { bytes.append(contentsOf: b) }

    /// A string with a one-byte length prefix; throws `.oversized` beyond `limit` (at most 255).
    mutating func str8(_ s: String, field: String, limit: Int = 255) throws(WireError) {
        let utf8 = Array(s.utf8)
        let cap = min(limit, 255)
        guard utf8.count <= cap else { throw .oversized(field: field, size: utf8.count, limit: cap) }
        u8(UInt8(utf8.count)); raw(utf8)
    }

    /// A string with a two-byte length prefix; throws `.oversized` beyond `limit` (at most 65535).
    mutating func str16(_ s: String, field: String, limit: Int = 65535) throws(WireError) {
        let utf8 = Array(s.utf8)
        let cap = min(limit, 65535)
        guard utf8.count <= cap else { throw .oversized(field: field, size: utf8.count, limit: cap) }
        u16(UInt16(utf8.count)); raw(utf8)
    }
}

/// Reads big-endian integers and length-prefixed fields from a byte slice, reporting
/// truncation with the field name and offset instead of trapping.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) { self.bytes = bytes; self.offset = offset }

    var remaining: Int { bytes.count - offset }

    private func need(_ n: Int, _ field: String) throws(WireError) {
        guard n <= remaining else { throw .truncated(field: field, offset: offset, needed: n, available: remaining) }
    }

    mutating func u8(_ field: String) throws(WireError) -> UInt8 {
        try need(1, field); defer { offset += 1 }; return bytes[offset]
    }
    mutating func u16(_ field: String) throws(WireError) -> UInt16 {
        try need(2, field); defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }
    mutating func u32(_ field: String) throws(WireError) -> UInt32 {
        try need(4, field); var v: UInt32 = 0
        for i in 0..<4 { v = v << 8 | UInt32(bytes[offset + i]) }
        offset += 4; return v
    }
    mutating func u64(_ field: String) throws(WireError) -> UInt64 {
        try need(8, field); var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(bytes[offset + i]) }
        offset += 8; return v
    }
    mutating func raw(_ n: Int, _ field: String) throws(WireError) -> ArraySlice<UInt8> {
        try need(n, field); defer { offset += n }; return bytes[offset..<(offset + n)]
    }

    private mutating func utf8(_ n: Int, _ field: String) throws(WireError) -> String {
        let start = offset
        let slice = try raw(n, field)
        // String(validating:) rejects ill-formed UTF-8 rather than repairing it.
        guard let s = String(validating: slice, as: UTF8.self) else { throw .invalidUTF8(field: field, offset: start) }
        return s
    }

    mutating func str8(_ field: String, limit: Int = 255) throws(WireError) -> String {
        let n = Int(try u8(field + " length"))
        guard n <= limit else { throw .oversized(field: field, size: n, limit: limit) }
        return try utf8(n, field)
    }
    mutating func str16(_ field: String, limit: Int = 65535) throws(WireError) -> String {
        let n = Int(try u16(field + " length"))
        guard n <= limit else { throw .oversized(field: field, size: n, limit: limit) }
        return try utf8(n, field)
    }
}
