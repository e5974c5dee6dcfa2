import Distributed

/// Why an invocation could not be encoded or decoded (beyond the payload's own `WireError`s).
public enum InvocationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Generic distributed methods are not supported: their substitutions would need Swift type names on the wire.
    case genericMethodsUnsupported
    /// The call carried fewer arguments than the method takes.
    case missingArgument(index: Int)
    /// The payload is not an argument list (a `BinaryValue` array).
    case notAnArgumentList
    /// An argument did not decode into the method's parameter type.
    case badArgument(index: Int, reason: String)

    public var description: String {
        switch self {
        case .genericMethodsUnsupported: "generic distributed methods are not supported on the wire"
        case let .missingArgument(i): "argument \(i) is missing"
        case .notAnArgumentList: "payload is not an argument list"
        case let .badArgument(i, reason): "argument \(i) does not decode: \(reason)"
        }
    }
}

/// Records a remote call's arguments as one `BinaryValue` array (Docs/PROTOCOL.md, call payload).
/// Pure: no I/O; O(size of the arguments).
public struct ClusterInvocationEncoder: DistributedTargetInvocationEncoder {
    public typealias SerializationRequirement = any Codable

    public private(set) var arguments: [BinaryValue] = []
    private let encoder = BinaryEncoder()

    public init() {}

    public mutating func recordGenericSubstitution<T>(_ type: T.Type) throws {
        throw InvocationError.genericMethodsUnsupported
    }

    public mutating func recordArgument<Value: Codable>(_ argument: RemoteCallArgument<Value>) throws {
        arguments.append(try encoder.encodeValue(argument.value))
    }

    /// Errors travel as `errorReply` codes and text, not as Swift types.
    public mutating func recordErrorType<E: Error>(_ type: E.Type) throws {}

    /// The receiver knows the return type from the method itself.
    public mutating func recordReturnType<R: Codable>(_ type: R.Type) throws {}

    public mutating func doneRecording() throws {}

    /// The call payload: the arguments in declaration order.
    public var payload: [UInt8] { BinaryValue.array(arguments).serialized() }
}

/// Reads a call payload back into arguments for `executeDistributedTarget`.
/// Pure; parsing is total (`WireError`), argument decoding throws `InvocationError`.
public struct ClusterInvocationDecoder: DistributedTargetInvocationDecoder {
    public typealias SerializationRequirement = any Codable

    private let arguments: [BinaryValue]
    private var next = 0
    private let decoder = BinaryDecoder()

    /// Parses `payload`; an empty payload is an empty argument list.
    public init(payload: [UInt8]) throws {
        if payload.isEmpty { arguments = []; return }
        guard case .array(let items) = try BinaryValue.parse(payload) else { throw InvocationError.notAnArgumentList }
        arguments = items
    }

    public mutating func decodeGenericSubstitutions() throws -> [Any.Type] { [] }

    public mutating func decodeNextArgument<Argument: Codable>() throws -> Argument {
        guard next < arguments.count else { throw InvocationError.missingArgument(index: next) }
        defer { next += 1 }
        do {
            return try decoder.decode(Argument.self, from: arguments[next])
        } catch {
            throw InvocationError.badArgument(index: next, reason: "\(error)")
        }
    }

    public mutating func decodeErrorType() throws -> Any.Type? { nil }
    public mutating func decodeReturnType() throws -> Any.Type? { nil }
}
