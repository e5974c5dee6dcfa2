import Foundation

/// Decodes `Decodable` values from `BinaryValue` bytes. Structural faults in the bytes are
/// `WireError`s; a value of the wrong shape for the type is a standard `DecodingError`
/// naming the coding path. Stateless value: safe from any isolation. O(size).
public struct BinaryDecoder: Sendable {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try decode(type, from: try BinaryValue.parse(bytes))
    }

    public func decode<T: Decodable>(_ type: T.Type, from value: BinaryValue) throws -> T {
        try NodeDecoder.unbox(value, as: type, path: [])
    }
}

struct NodeDecoder: Decoder {
    let value: BinaryValue
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func mismatch<T>(_ type: T.Type, _ value: BinaryValue, _ path: [any CodingKey]) -> DecodingError {
        .typeMismatch(type, .init(codingPath: path, debugDescription: "expected \(type), found \(value.kindName)"))
    }

    static func integer<I: FixedWidthInteger>(_ value: BinaryValue, _ type: I.Type, _ path: [any CodingKey]) throws -> I {
        let result: I?
        switch value {
        case .int(let v): result = I(exactly: v)
        case .uint(let v): result = I(exactly: v)
        default: throw mismatch(type, value, path)
        }
        guard let r = result else {
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "\(value) does not fit \(type)"))
        }
        return r
    }

    static func double(_ value: BinaryValue, _ path: [any CodingKey]) throws -> Double {
        switch value {
        case .double(let d): return d
        case .float(let f): return Double(f)
        case .int(let i): return Double(i)
        case .uint(let u): return Double(u)
        default: throw mismatch(Double.self, value, path)
        }
    }

    static func unbox<T: Decodable>(_ value: BinaryValue, as type: T.Type, path: [any CodingKey]) throws -> T {
        switch type {
        case is String.Type:
            guard case .string(let s) = value else { throw mismatch(type, value, path) }
            return s as! T
        case is Bool.Type:
            guard case .bool(let b) = value else { throw mismatch(type, value, path) }
            return b as! T
        case is Int.Type: return try integer(value, Int.self, path) as! T
        case is Int64.Type: return try integer(value, Int64.self, path) as! T
        case is Int32.Type: return try integer(value, Int32.self, path) as! T
        case is Int16.Type: return try integer(value, Int16.self, path) as! T
        case is Int8.Type: return try integer(value, Int8.self, path) as! T
        case is UInt.Type: return try integer(value, UInt.self, path) as! T
        case is UInt64.Type: return try integer(value, UInt64.self, path) as! T
        case is UInt32.Type: return try integer(value, UInt32.self, path) as! T
        case is UInt16.Type: return try integer(value, UInt16.self, path) as! T
        case is UInt8.Type: return try integer(value, UInt8.self, path) as! T
        case is Double.Type: return try double(value, path) as! T
        case is Float.Type: return Float(try double(value, path)) as! T
        case is [UInt8].Type:
            if case .bytes(let b) = value { return b as! T }
        case is Data.Type:
            if case .bytes(let b) = value { return Data(b) as! T }
        default: break
        }
        return try T(from: NodeDecoder(value: value, codingPath: path))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let fields) = value else { throw Self.mismatch([String: Any].self, value, codingPath) }
        return KeyedDecodingContainer(KeyedNodeDecoder<Key>(FieldTable(fields), codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        switch value {
        case .array(let items): return UnkeyedNodeDecoder(items: items, codingPath: codingPath)
        case .bytes(let b): return UnkeyedNodeDecoder(items: b.map { .uint(UInt64($0)) }, codingPath: codingPath)
        default: throw Self.mismatch([Any].self, value, codingPath)
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleNodeDecoder(value: value, codingPath: codingPath)
    }
}

extension BinaryValue {
    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "bool"
        case .int: "int"
        case .uint: "uint"
        case .double: "double"
        case .float: "float"
        case .string: "string"
        case .bytes: "bytes"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// An object's fields for lookup by key: a linear scan for small objects (most payloads; a
/// dictionary per object cost more than the scan in the event-receive profile), a dictionary
/// beyond 8 fields. The last field wins on duplicate keys (the parser rejects them anyway).
struct FieldTable {
    let list: [BinaryValue.Field]
    let index: [String: Int]?

    init(_ fields: [BinaryValue.Field]) {
        list = fields
        if fields.count > 8 {
            var d: [String: Int] = [:]
            d.reserveCapacity(fields.count)
            for (i, f) in fields.enumerated() { d[f.key] = i }
            index = d
        } else {
            index = nil
        }
    }

    subscript(key: String) -> BinaryValue? {
        if let index { return index[key].map { list[$0].value } }
        return list.last { $0.key == key }?.value
    }
}

struct KeyedNodeDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let fields: FieldTable
    var codingPath: [any CodingKey]

    init(_ fields: FieldTable, codingPath: [any CodingKey]) { self.fields = fields; self.codingPath = codingPath }

    var allKeys: [Key] { fields.list.compactMap { Key(stringValue: $0.key) } }
    func contains(_ key: Key) -> Bool { fields[key.stringValue] != nil }

    private func value(_ key: Key) throws -> BinaryValue {
        guard let v = fields[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no field \"\(key.stringValue)\""))
        }
        return v
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .null }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try NodeDecoder.unbox(try value(key), as: type, path: codingPath + [key])
    }
    // Primitive fields: the exact-tag case returns at once; anything else (conversions, errors)
    // takes the general path, which builds the coding path (an allocation) only then.
    private func slow<T: Decodable>(_ v: BinaryValue, _ type: T.Type, _ key: Key) throws -> T {
        try NodeDecoder.unbox(v, as: type, path: codingPath + [key])
    }
    private func integer<I: FixedWidthInteger & Decodable>(_ type: I.Type, _ key: Key) throws -> I {
        let v = try value(key)
        switch v {
        case .int(let x): if let r = I(exactly: x) { return r }
        case .uint(let x): if let r = I(exactly: x) { return r }
        default: break
        }
        return try slow(v, type, key)
    }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        let v = try value(key)
        if case .bool(let b) = v { return b }
        return try slow(v, type, key)
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        let v = try value(key)
        if case .string(let s) = v { return s }
        return try slow(v, type, key)
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        let v = try value(key)
        if case .double(let d) = v { return d }
        return try slow(v, type, key)
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try slow(try value(key), type, key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try integer(type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(type, key) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey> {
        try NodeDecoder(value: try value(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try NodeDecoder(value: try value(key), codingPath: codingPath + [key]).unkeyedContainer()
    }
    func superDecoder() throws -> any Decoder {
        NodeDecoder(value: fields["super"] ?? .null, codingPath: codingPath)
    }
    func superDecoder(forKey key: Key) throws -> any Decoder {
        NodeDecoder(value: fields[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

struct UnkeyedNodeDecoder: UnkeyedDecodingContainer {
    let items: [BinaryValue]
    var codingPath: [any CodingKey]
    var currentIndex = 0

    init(items: [BinaryValue], codingPath: [any CodingKey]) { self.items = items; self.codingPath = codingPath }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next<T>(_ type: T.Type) throws -> (BinaryValue, [any CodingKey]) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [IndexKey(currentIndex)],
                                                          debugDescription: "unkeyed container is at end"))
        }
        defer { currentIndex += 1 }
        return (items[currentIndex], codingPath + [IndexKey(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (v, path) = try next(type)
        return try NodeDecoder.unbox(v, as: type, path: path)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (v, path) = try next([String: Any].self)
        return try NodeDecoder(value: v, codingPath: path).container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (v, path) = try next([Any].self)
        return try NodeDecoder(value: v, codingPath: path).unkeyedContainer()
    }
    mutating func superDecoder() throws -> any Decoder {
        let (v, path) = try next(Any.self)
        return NodeDecoder(value: v, codingPath: path)
    }
}

struct SingleNodeDecoder: SingleValueDecodingContainer {
    let value: BinaryValue
    var codingPath: [any CodingKey]

    func decodeNil() -> Bool { value == .null }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try NodeDecoder.unbox(value, as: type, path: codingPath) }
}
