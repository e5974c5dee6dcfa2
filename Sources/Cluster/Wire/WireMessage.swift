/// The identity of a (virtual) actor across the cluster: what it is, which one, and the
/// region whose owner hosts it. Stable strings chosen by programmers, never Swift type names,
/// so renaming a type does not break a deployed node.
public struct ActorIdentity: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The actor kind, e.g. "vehicle", "order", "region-dispatcher".
    public var kind: String
    /// The key within the kind, e.g. "V-1042".
    public var key: String
    /// The region id that owns the actor, e.g. "gangnam".
    public var region: String

    public init(kind: String, key: String, region: String) {
        self.kind = kind; self.key = key; self.region = region
    }

    /// `kind/key@region`, for logs.
    public var description: String { "\(kind)/\(key)@\(region)" }
}

/// A command's idempotency key: a retry carrying the same key never applies twice
/// (the journal holds it UNIQUE per actor).
public enum IdempotencyKey: Hashable, Sendable {
    /// 16 raw bytes (a UUID), as two big-endian halves.
    case bytes(high: UInt64, low: UInt64)
    /// A caller-chosen string (e.g. "order-7781:assign:3").
    case text(String)
}

/// A typed failure carried by an error reply. A struct over a raw code, so a newer peer's
/// codes decode (as unknown) instead of failing the frame.
public struct RemoteErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The deadline passed before the callee finished.
    public static let deadlineExceeded = RemoteErrorCode(rawValue: 1)
    /// No actor kind or call target by that name is registered on the callee.
    public static let unknownTarget = RemoteErrorCode(rawValue: 2)
    /// The callee does not own the target's region (the message names the owner if known).
    public static let notOwner = RemoteErrorCode(rawValue: 3)
    /// The arguments did not decode.
    public static let badArguments = RemoteErrorCode(rawValue: 4)
    /// The handler threw; the message says what.
    public static let handlerFailed = RemoteErrorCode(rawValue: 5)
    /// The callee's bounded queue is full; retry later or elsewhere.
    public static let overloaded = RemoteErrorCode(rawValue: 6)
    /// The callee's region lease was lost mid-call (a fenced write was rejected).
    public static let fenced = RemoteErrorCode(rawValue: 7)
    /// No actor with that identity is hosted on the callee and none could be activated.
    public static let unknownActor = RemoteErrorCode(rawValue: 8)
    /// The inbound frame's protocol version is not spoken here (the message names both).
    public static let unsupportedVersion = RemoteErrorCode(rawValue: 9)
    /// The inbound frame did not decode (or was of a type a node does not accept as a request).
    public static let malformedFrame = RemoteErrorCode(rawValue: 10)
    /// The caller is authenticated but its role may not call this target.
    public static let forbidden = RemoteErrorCode(rawValue: 11)

    public var description: String {
        switch self {
        case .deadlineExceeded: "deadlineExceeded"
        case .unknownTarget: "unknownTarget"
        case .notOwner: "notOwner"
        case .badArguments: "badArguments"
        case .handlerFailed: "handlerFailed"
        case .overloaded: "overloaded"
        case .fenced: "fenced"
        case .unknownActor: "unknownActor"
        case .unsupportedVersion: "unsupportedVersion"
        case .malformedFrame: "malformedFrame"
        case .forbidden: "forbidden"
        default: "code(\(rawValue))"
        }
    }
}

/// The one-byte message type on the wire. Values are part of the protocol: never renumber.
public enum MessageType: UInt8, Sendable, CaseIterable {
    case call = 1
    case reply = 2
    case errorReply = 3
    case event = 4
    case ping = 5
    case pong = 6
}

/// A remote call: invoke `target` (a stable name such as "VehicleActor.reportPosition")
/// on the actor `actor`, answer within `deadlineMillis`.
public struct CallMessage: Hashable, Sendable {
    public var correlation: UInt64
    /// Remaining time budget in milliseconds when the frame was sent (relative, so no clock sync is needed).
    public var deadlineMillis: UInt32
    public var actor: ActorIdentity
    public var target: String
    public var idempotencyKey: IdempotencyKey?
    /// Arguments, encoded with `BinaryEncoder` (an unkeyed list, one value per argument).
    public var payload: [UInt8]

    public init(correlation: UInt64, deadlineMillis: UInt32, actor: ActorIdentity, target: String,
                idempotencyKey: IdempotencyKey? = nil, payload: [UInt8]) {
        self.correlation = correlation; self.deadlineMillis = deadlineMillis; self.actor = actor
        self.target = target; self.idempotencyKey = idempotencyKey; self.payload = payload
    }
}

/// A one-way message to an actor (no reply). Same addressing as a call.
public struct EventMessage: Hashable, Sendable {
    /// Tracing id only; nobody answers an event.
    public var correlation: UInt64
    public var deadlineMillis: UInt32
    public var actor: ActorIdentity
    public var target: String
    public var idempotencyKey: IdempotencyKey?
    public var payload: [UInt8]

    public init(correlation: UInt64, deadlineMillis: UInt32, actor: ActorIdentity, target: String,
                idempotencyKey: IdempotencyKey? = nil, payload: [UInt8]) {
        self.correlation = correlation; self.deadlineMillis = deadlineMillis; self.actor = actor
        self.target = target; self.idempotencyKey = idempotencyKey; self.payload = payload
    }
}

/// A node-to-node message, detached from any Swift type's serialized form.
/// See Docs/PROTOCOL.md for the bytes.
public enum WireMessage: Hashable, Sendable {
    case call(CallMessage)
    /// A successful result for the call with this correlation id (`payload` is the encoded return value; empty for Void).
    case reply(correlation: UInt64, payload: [UInt8])
    case errorReply(correlation: UInt64, code: RemoteErrorCode, message: String)
    case event(EventMessage)
    /// Liveness probe between nodes; `node` is the sender's node id.
    case ping(correlation: UInt64, node: String)
    case pong(correlation: UInt64, node: String)

    public var type: MessageType {
        switch self {
        case .call: .call
        case .reply: .reply
        case .errorReply: .errorReply
        case .event: .event
        case .ping: .ping
        case .pong: .pong
        }
    }

    public var correlation: UInt64 {
        switch self {
        case .call(let c): c.correlation
        case .event(let e): e.correlation
        case .reply(let c, _), .errorReply(let c, _, _), .ping(let c, _), .pong(let c, _): c
        }
    }
}
