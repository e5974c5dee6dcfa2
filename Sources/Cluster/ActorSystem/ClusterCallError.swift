/// Why a distributed call failed, as the caller sees it. A struct over an open set of codes
/// (new codes don't break callers); `message` says what a person needs to know, `owner` names the
/// region's owner when the callee knew it (`notOwner`), `remoteCode` is the callee's wire code
/// when the failure came back in an error reply.
public struct ClusterCallError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        init(_ raw: String) { self.raw = raw }
        public var description: String { raw }

        /// The call's deadline passed before a reply arrived (the callee may or may not have run it).
        public static let timeout = Code("timeout")
        /// The callee has no such actor and could not activate one (no factory for the kind).
        public static let unknownActor = Code("unknownActor")
        /// The method is not in the `CallTargetRegistry` (caller side: never sent; callee side: unknown name).
        public static let unknownTarget = Code("unknownTarget")
        /// No live node owns the actor's region, or the owner's connection was closed (it left or died).
        public static let nodeDown = Code("nodeDown")
        /// The callee does not own the region (it did NOT run the call); retried automatically
        /// within the deadline, so a caller sees this only when the deadline ran out while moving.
        public static let notOwner = Code("notOwner")
        /// The peer speaks another protocol version.
        public static let versionMismatch = Code("versionMismatch")
        /// The callee's handler threw; `message` is its text.
        public static let remote = Code("remote")
        /// The arguments did not decode on the callee (or the result on the caller).
        public static let badArguments = Code("badArguments")
        /// The callee was overloaded (bounded queues full); try later.
        public static let overloaded = Code("overloaded")
        /// The callee lost its region lease while running the call.
        public static let fenced = Code("fenced")
        /// The local outbox or pending-request limit is full: the call was not sent.
        public static let outboxFull = Code("outboxFull")
        /// The callee could not parse our frame.
        public static let malformed = Code("malformed")
        /// This actor system is shut down.
        public static let shutdown = Code("shutdown")
    }

    public var code: Code
    public var message: String
    /// The wire error code when the callee answered with an error reply.
    public var remoteCode: RemoteErrorCode?
    /// For `notOwner`: the owner the callee named, if any.
    public var owner: NodeAddress?

    public init(_ code: Code, _ message: String, remoteCode: RemoteErrorCode? = nil, owner: NodeAddress? = nil) {
        self.code = code; self.message = message; self.remoteCode = remoteCode; self.owner = owner
    }

    public var description: String { "\(code): \(message)" }

    /// The caller-side error for an error reply.
    init(reply code: RemoteErrorCode, message: String) {
        let mapped: Code = switch code {
        case .deadlineExceeded: .timeout
        case .unknownTarget: .unknownTarget
        case .notOwner: .notOwner
        case .badArguments: .badArguments
        case .handlerFailed: .remote
        case .overloaded: .overloaded
        case .fenced: .fenced
        case .unknownActor: .unknownActor
        case .unsupportedVersion: .versionMismatch
        case .malformedFrame: .malformed
        default: .remote
        }
        self.init(mapped, message, remoteCode: code, owner: code == .notOwner ? NotOwnerHint.parse(message) : nil)
    }
}

/// The `notOwner` error reply's text names the owner in a parseable tail:
/// `… owner=<node id> <endpoint>` (Docs/PROTOCOL.md). Older peers send free text; then no hint.
enum NotOwnerHint {
    static func text(region: String, owner: NodeAddress?) -> String {
        guard let owner else { return "region \(region) is not served here; owner unknown" }
        return "region \(region) is not served here; owner=\(owner.id) \(owner.endpoint)"
    }

    static func parse(_ text: String) -> NodeAddress? {
        guard let r = text.range(of: "owner=", options: .backwards) else { return nil }
        let parts = text[r.upperBound...].split(separator: " ", maxSplits: 1)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return NodeAddress(id: String(parts[0]), endpoint: String(parts[1]))
    }
}

/// Per-call options, set for a scope with task-locals (they flow into child tasks):
///
/// ```swift
/// try await ClusterCall.$timeout.withValue(.milliseconds(300)) {
///     try await ClusterCall.$idempotencyKey.withValue(.text("order-7:assign:3")) {
///         try await vehicle.assign(order)
///     }
/// }
/// ```
public enum ClusterCall {
    /// The deadline of remote calls made in this scope (default: the system's `defaultTimeout`).
    @TaskLocal public static var timeout: Duration?
    /// The idempotency key sent with remote calls made in this scope. Calls carrying one are
    /// retried after a timeout or a lost connection if the deadline allows; the callee answers a
    /// repeat of a completed key from its reply cache (and the journal holds it UNIQUE).
    @TaskLocal public static var idempotencyKey: IdempotencyKey?
    /// On the callee, while a remote call runs: the call's key (for `appendEvent`), deadline left, caller's correlation.
    @TaskLocal public static var inbound: InboundCall?
}

/// What a distributed method can learn about the remote call it is serving (`ClusterCall.inbound`).
public struct InboundCall: Sendable {
    public var actor: ActorIdentity
    public var target: String
    public var correlation: UInt64
    public var idempotencyKey: IdempotencyKey?
    /// The instant the caller gives up (measured on this node's clock from the relative deadline).
    public var deadline: ContinuousClock.Instant
}
