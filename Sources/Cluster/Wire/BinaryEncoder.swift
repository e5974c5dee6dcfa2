import Foundation

/// Encodes `Encodable` values as `BinaryValue` bytes (Docs/PROTOCOL.md, "Payload values").
/// A value type with no state: safe to use from any isolation. Cost O(size of the value).
public struct BinaryEncoder: Sendable {
    public init() {}

    /// The payload bytes of `value`.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try encodeValue(value).serialized()
    }

    /// The value tree of `value` (e.g. to collect call arguments into one `.array`).
    public func encodeValue<T: Encodable>(_ value: T) throws -> BinaryValue {
        try EncodingNode.box(value, path: [])
    }
}

/// The encoder's mutable tree while `encode(to:)` runs. A class because Codable hands out
/// containers that must write into their parent after being returned.
final class EncodingNode {
    enum Kind { case empty, single, keyed, unkeyed }
    var kind: Kind = .empty
    var single: BinaryValue = .null
    var keys: [String] = []
    /// Finished leaves inline; only nested containers are nodes (no allocation per primitive field).
    enum Child {
        case leaf(BinaryValue)
        case node(EncodingNode)
        func finish() -> BinaryValue {
            switch self {
            case .leaf(let v): v
            case .node(let n): n.finish()
            }
        }
    }
    var children: [Child] = []

    init() {}
    init(_ v: BinaryValue) { kind = .single; single = v }

    func finish() -> BinaryValue {
        switch kind {
        case .empty: return .object([])
        case .single: return single
        case .keyed:
            return .object(zip(keys, children).map { BinaryValue.Field($0, $1.finish()) })
        case .unkeyed: return .array(children.map { $0.finish() })
        }
    }

    /// Primitives become leaves directly; anything else runs its own `encode(to:)`.
    static func box<T: Encodable>(_ value: T, path: [any CodingKey]) throws -> BinaryValue {
        if let v = primitive(value) { return v }
        let node = EncodingNode()
        try value.encode(to: NodeEncoder(node: node, codingPath: path))
        return node.finish()
    }

    static func primitive<T: Encodable>(_ value: T) -> BinaryValue? {
        switch value {
        case let v as String: return .string(v)
        case let v as Bool: return .bool(v)
        case let v as Int: return .int(Int64(v))
        case let v as Int64: return .int(v)
        case let v as Int32: return .int(Int64(v))
        case let v as Int16: return .int(Int64(v))
        case let v as Int8: return .int(Int64(v))
        case let v as UInt: return .uint(UInt64(v))
        case let v as UInt64: return .uint(v)
        case let v as UInt32: return .uint(UInt64(v))
        case let v as UInt16: return .uint(UInt64(v))
        case let v as UInt8: return .uint(UInt64(v))
        case let v as Double: return .double(v)
        case let v as Float: return .float(v)
        case let v as [UInt8]: return .bytes(v)
        case let v as Data: return .bytes(Array(v))
        default: return nil
        }
    }
}

struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String
    init(_ i: Int) { intValue = i; stringValue = String(i) }
    init?(intValue: Int) { self.init(intValue) }
    init?(stringValue: String) { return nil }
}

struct NodeEncoder: Encoder {
    let node: EncodingNode
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if node.kind != .keyed { node.kind = .keyed; node.keys = []; node.children = [] }
        return KeyedEncodingContainer(KeyedNodeEncoder<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if node.kind != .unkeyed { node.kind = .unkeyed; node.children = [] }
        return UnkeyedNodeEncoder(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleNodeEncoder(node: node, codingPath: codingPath)
    }
}

struct KeyedNodeEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    var codingPath: [any CodingKey]

    private func put(_ key: Key, _ child: EncodingNode.Child) {
        // A key written twice keeps the last value, as JSONEncoder does.
        if let i = node.keys.firstIndex(of: key.stringValue) { node.children[i] = child }
        else { node.keys.append(key.stringValue); node.children.append(child) }
    }

    mutating func encodeNil(forKey key: Key) throws { put(key, .leaf(.null)) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        put(key, .leaf(try EncodingNode.box(value, path: codingPath + [key])))
    }
    mutating func encode(_ v: Bool, forKey key: Key) throws { put(key, .leaf(.bool(v))) }
    mutating func encode(_ v: String, forKey key: Key) throws { put(key, .leaf(.string(v))) }
    mutating func encode(_ v: Double, forKey key: Key) throws { put(key, .leaf(.double(v))) }
    mutating func encode(_ v: Float, forKey key: Key) throws { put(key, .leaf(.float(v))) }
    mutating func encode(_ v: Int, forKey key: Key) throws { put(key, .leaf(.int(Int64(v)))) }
    mutating func encode(_ v: Int8, forKey key: Key) throws { put(key, .leaf(.int(Int64(v)))) }
    mutating func encode(_ v: Int16, forKey key: Key) throws { put(key, .leaf(.int(Int64(v)))) }
    mutating func encode(_ v: Int32, forKey key: Key) throws { put(key, .leaf(.int(Int64(v)))) }
    mutating func encode(_ v: Int64, forKey key: Key) throws { put(key, .leaf(.int(v))) }
    mutating func encode(_ v: UInt, forKey key: Key) throws { put(key, .leaf(.uint(UInt64(v)))) }
    mutating func encode(_ v: UInt8, forKey key: Key) throws { put(key, .leaf(.uint(UInt64(v)))) }
    mutating func encode(_ v: UInt16, forKey key: Key) throws { put(key, .leaf(.uint(UInt64(v)))) }
    mutating func encode(_ v: UInt32, forKey key: Key) throws { put(key, .leaf(.uint(UInt64(v)))) }
    mutating func encode(_ v: UInt64, forKey key: Key) throws { put(key, .leaf(.uint(v))) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey> {
        let child = EncodingNode(); put(key, .node(child))
        return NodeEncoder(node: child, codingPath: codingPath + [key]).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = EncodingNode(); put(key, .node(child))
        return NodeEncoder(node: child, codingPath: codingPath + [key]).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder {
        let child = EncodingNode(); node.keys.append("super"); node.children.append(.node(child))
        return NodeEncoder(node: child, codingPath: codingPath)
    }
    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let child = EncodingNode(); put(key, .node(child))
        return NodeEncoder(node: child, codingPath: codingPath + [key])
    }
}

struct UnkeyedNodeEncoder: UnkeyedEncodingContainer {
    let node: EncodingNode
    var codingPath: [any CodingKey]
    var count: Int { node.children.count }

    private func add(_ v: BinaryValue) { node.children.append(.leaf(v)) }

    mutating func encodeNil() throws { add(.null) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        add(try EncodingNode.box(value, path: codingPath + [IndexKey(count)]))
    }
    mutating func encode(_ v: Bool) throws { add(.bool(v)) }
    mutating func encode(_ v: String) throws { add(.string(v)) }
    mutating func encode(_ v: Double) throws { add(.double(v)) }
    mutating func encode(_ v: Float) throws { add(.float(v)) }
    mutating func encode(_ v: Int) throws { add(.int(Int64(v))) }
    mutating func encode(_ v: Int8) throws { add(.int(Int64(v))) }
    mutating func encode(_ v: Int16) throws { add(.int(Int64(v))) }
    mutating func encode(_ v: Int32) throws { add(.int(Int64(v))) }
    mutating func encode(_ v: Int64) throws { add(.int(v)) }
    mutating func encode(_ v: UInt) throws { add(.uint(UInt64(v))) }
    mutating func encode(_ v: UInt8) throws { add(.uint(UInt64(v))) }
    mutating func encode(_ v: UInt16) throws { add(.uint(UInt64(v))) }
    mutating func encode(_ v: UInt32) throws { add(.uint(UInt64(v))) }
    mutating func encode(_ v: UInt64) throws { add(.uint(v)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = EncodingNode(); node.children.append(.node(child))
        return NodeEncoder(node: child, codingPath: codingPath + [IndexKey(count - 1)]).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = EncodingNode(); node.children.append(.node(child))
        return NodeEncoder(node: child, codingPath: codingPath + [IndexKey(count - 1)]).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder {
        let child = EncodingNode(); node.children.append(.node(child))
        return NodeEncoder(node: child, codingPath: codingPath + [IndexKey(count - 1)])
    }
}

struct SingleNodeEncoder: SingleValueEncodingContainer {
    let node: EncodingNode
    var codingPath: [any CodingKey]

    private func set(_ v: BinaryValue) { node.kind = .single; node.single = v }

    mutating func encodeNil() throws { set(.null) }
    mutating func encode<T: Encodable>(_ value: T) throws { set(try EncodingNode.box(value, path: codingPath)) }
    mutating func encode(_ v: Bool) throws { set(.bool(v)) }
    mutating func encode(_ v: String) throws { set(.string(v)) }
    mutating func encode(_ v: Double) throws { set(.double(v)) }
    mutating func encode(_ v: Float) throws { set(.float(v)) }
    mutating func encode(_ v: Int) throws { set(.int(Int64(v))) }
    mutating func encode(_ v: Int8) throws { set(.int(Int64(v))) }
    mutating func encode(_ v: Int16) throws { set(.int(Int64(v))) }
    mutating func encode(_ v: Int32) throws { set(.int(Int64(v))) }
    mutating func encode(_ v: Int64) throws { set(.int(v)) }
    mutating func encode(_ v: UInt) throws { set(.uint(UInt64(v))) }
    mutating func encode(_ v: UInt8) throws { set(.uint(UInt64(v))) }
    mutating func encode(_ v: UInt16) throws { set(.uint(UInt64(v))) }
    mutating func encode(_ v: UInt32) throws { set(.uint(UInt64(v))) }
    mutating func encode(_ v: UInt64) throws { set(.uint(v)) }
}
