import Base
import Foundation

/// A decoded request: its type and its body's bytes, checked for version and size, ready for
/// `body(_:)` with the type's body struct.
public struct EdgeEnvelope: Sendable {
    public var version: Int
    public var type: String
    public var bytes: [UInt8]

    /// Decodes the body as `T`; a missing or mistyped field is a `malformed` error naming it.
    public func body<T: Decodable>(_ type: T.Type) -> Result<T, EdgeError> {
        EdgeCodec.decode(T.self, from: bytes)
    }
}

/// JSON in and out: UTF-8 bodies, snake_case keys, `v` and `type` merged into every object.
public enum EdgeCodec {
    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }
    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    /// Checks size, JSON-ness, `v` and `type`. Never throws: every failure is an `EdgeError`.
    public static func envelope(_ bytes: [UInt8]) -> Result<EdgeEnvelope, EdgeError> {
        if bytes.count > EdgeProtocol.maxBodyBytes {
            return .failure(EdgeError(.tooLarge, "the body is \(bytes.count) bytes; at most \(EdgeProtocol.maxBodyBytes)"))
        }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            return .failure(EdgeError(.malformed, "the body is not UTF-8"))
        }
        let header: WireHeader
        switch decode(WireHeader.self, from: bytes) {
        case .success(let h): header = h
        case .failure(let e): return .failure(e)
        }
        guard let v = header.v else {
            return .failure(EdgeError(.malformed, "no protocol version: add \"v\": \(EdgeProtocol.version)", field: "v",
                                      supportedVersions: EdgeProtocol.supportedVersions))
        }
        guard EdgeProtocol.supportedVersions.contains(v) else {
            return .failure(EdgeError(.unsupportedVersion, "version \(v) is not spoken here", field: "v", supportedVersions: EdgeProtocol.supportedVersions))
        }
        guard let type = header.type, !type.isEmpty else { return .failure(EdgeError(.malformed, "no message type", field: "type")) }
        guard EdgeAccess.table[type] != nil else {
            return .failure(EdgeError(.unknownType, "no message type '\(type.prefix(60))' in version \(v)", field: "type"))
        }
        return .success(EdgeEnvelope(version: v, type: type, bytes: bytes))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) -> Result<T, EdgeError> {
        do {
            return .success(try decoder().decode(T.self, from: Data(bytes)))
        } catch let e as DecodingError {
            return .failure(describe(e))
        } catch {
            return .failure(EdgeError(.malformed, "not JSON: \(error)"))
        }
    }

    /// A `DecodingError` as a `malformed` error: what was wrong and at which field.
    static func describe(_ e: DecodingError) -> EdgeError {
        func path(_ keys: [any CodingKey]) -> String? {
            var out = ""
            for k in keys {
                if let i = k.intValue { out += "[\(i)]" } else { out += (out.isEmpty ? "" : ".") + EdgeNames.snake(k.stringValue) }
            }
            return out.isEmpty ? nil : out
        }
        switch e {
        case .keyNotFound(let key, let ctx):
            let at = path(ctx.codingPath + [key]) ?? EdgeNames.snake(key.stringValue)
            return EdgeError(.malformed, "missing field '\(at)'", field: at)
        case .typeMismatch(let type, let ctx):
            return EdgeError(.malformed, "field '\(path(ctx.codingPath) ?? "(body)")' should be \(wireName(type))", field: path(ctx.codingPath))
        case .valueNotFound(let type, let ctx):
            return EdgeError(.malformed, "field '\(path(ctx.codingPath) ?? "(body)")' is null; expected \(wireName(type))", field: path(ctx.codingPath))
        case .dataCorrupted(let ctx):
            if ctx.codingPath.isEmpty { return EdgeError(.malformed, "not a JSON object") }
            return EdgeError(.malformed, "field '\(path(ctx.codingPath) ?? "")': \(ctx.debugDescription)", field: path(ctx.codingPath))
        @unknown default:
            return EdgeError(.malformed, "\(e)")
        }
    }

    static func wireName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        default:
            String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }

    /// `{"v":1,"type":type, …body's fields}` as UTF-8.
    public static func encode<T: Encodable>(_ type: String, _ body: T) -> [UInt8] {
        do {
            let data = try encoder().encode(Tagged(type: type, body: body))
            return Array(data)
        } catch {
            // Every wire type encodes; this would be a bug in one of them.
            return Array("{\"v\":\(EdgeProtocol.version),\"type\":\"error\",\"code\":\"internal\",\"message\":\"could not encode \(type)\"}".utf8)
        }
    }

    public static func encodeError(_ error: EdgeError) -> [UInt8] { encode("error", error) }

    struct Tagged<T: Encodable>: Encodable {
        var type: String
        var body: T
        enum Keys: String, CodingKey { case v, type }
        func encode(to encoder: any Encoder) throws {
            try body.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(EdgeProtocol.version, forKey: .v)
            try c.encode(type, forKey: .type)
        }
    }
}

/// The tracking token a storefront's customer holds: 256 bits from the system's entropy, URL-safe
/// base64 (43 characters). Stored only as its SHA-256; logs and the audit carry `reference`.
public enum TrackingToken {
    public static let length = 43

    public static func make() -> String {
        var g = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for _ in 0 ..< 4 { let v = g.next(); for s in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) } }
        return Base64URL.encode(bytes)
    }

    /// The stored form: SHA-256 of the token's text.
    public static func hash(_ token: String) -> [UInt8] { SHA256.digest(Array(token.utf8)) }

    /// What may be shown or logged: the first 8 characters (48 bits: names it to its holder, useless to guess the rest).
    public static func reference(_ token: String) -> String { String(token.prefix(8)) }

    /// nil when well-formed; else why not.
    public static func problem(_ token: String) -> String? {
        token.utf8.count == length && Base64URL.isValid(token) ? nil : "a tracking token is \(length) characters of URL-safe base64"
    }
}
