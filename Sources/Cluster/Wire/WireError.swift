/// Why a byte string is not a valid cluster message, or why a message cannot be encoded.
///
/// Decoding is total: every input yields either a `WireMessage` or one of these, never a trap.
/// Each case carries what an operator needs to find the fault (the field, the offset, the limit).
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The frame ended before `field` could be read: `needed` bytes at `offset`, only `available` left.
    case truncated(field: String, offset: Int, needed: Int, available: Int)
    /// The first two bytes are not `WireFormat.magic`: not a Daybreak cluster frame at all.
    case badMagic(found: UInt16)
    /// A frame from a protocol version this node does not speak.
    case unsupportedVersion(found: UInt16, supported: UInt16)
    /// The message-type byte names no known message.
    case unknownMessageType(UInt8)
    /// Flag bits this version does not define are set (a newer peer, or corruption).
    case reservedFlags(UInt8)
    /// The idempotency-key form byte is neither 16 raw bytes nor a string.
    case unknownIdempotencyKeyForm(UInt8, offset: Int)
    /// A field is longer than its limit (on encode or decode).
    case oversized(field: String, size: Int, limit: Int)
    /// The whole frame is longer than the configured maximum.
    case messageTooLarge(size: Int, limit: Int)
    /// A text field is not valid UTF-8.
    case invalidUTF8(field: String, offset: Int)
    /// A field that must not be empty is (e.g. an actor kind).
    case emptyField(String)
    /// Bytes remain after the last field of the message.
    case trailingBytes(count: Int, offset: Int)
    /// The payload is not a well-formed value encoding (see `BinaryValue`).
    case malformedPayload(reason: String, offset: Int)

    public var description: String {
        switch self {
        case let .truncated(field, offset, needed, available):
            return "truncated frame: \(field) needs \(needed) bytes at offset \(offset), \(available) left"
        case let .badMagic(found): return "bad magic 0x\(String(found, radix: 16)) (expected 0x\(String(WireFormat.magic, radix: 16)))"
        case let .unsupportedVersion(found, supported): return "protocol version \(found) not supported (this node speaks \(supported))"
        case let .unknownMessageType(t): return "unknown message type \(t)"
        case let .reservedFlags(f): return "reserved flag bits set: 0x\(String(f, radix: 16))"
        case let .unknownIdempotencyKeyForm(f, offset): return "unknown idempotency key form \(f) at offset \(offset)"
        case let .oversized(field, size, limit): return "\(field) is \(size) bytes, limit \(limit)"
        case let .messageTooLarge(size, limit): return "message is \(size) bytes, limit \(limit)"
        case let .invalidUTF8(field, offset): return "\(field) at offset \(offset) is not valid UTF-8"
        case let .emptyField(field): return "\(field) must not be empty"
        case let .trailingBytes(count, offset): return "\(count) trailing bytes at offset \(offset)"
        case let .malformedPayload(reason, offset): return "malformed payload at offset \(offset): \(reason)"
        }
    }
}
