import Base
import Edge
import Messaging

/// A reply or push from a gateway: its type and body.
public struct EdgeReply: Sendable {
    public let type: String
    public let bytes: [UInt8]

    /// Reads the header; a body that is not an edge reply is an `EdgeError(.malformed)`.
    public init(bytes: [UInt8]) throws(EdgeError) {
        self.bytes = bytes
        switch EdgeCodec.decode(WireHeader.self, from: bytes) {
        case .success(let h):
            guard let t = h.type else { throw EdgeError(.malformed, "a reply without a type") }
            type = t
        case .failure(let e): throw e
        }
    }

    /// The body as `T`.
    public func decode<T: Decodable>(_ type: T.Type) throws(EdgeError) -> T {
        switch EdgeCodec.decode(T.self, from: bytes) {
        case .success(let b): return b
        case .failure(let e): throw e
        }
    }

    /// The error, when the reply is one.
    public var error: EdgeError? { type == "error" ? try? decode(EdgeError.self) : nil }

    /// The body as `T` when the reply is of type `expected`; else the error it carries (or a malformed one).
    public func expect<T: Decodable>(_ expected: String, _ t: T.Type) throws(EdgeError) -> T {
        if type == expected { return try decode(T.self) }
        if let e = error { throw e }
        throw EdgeError(.malformed, "expected \(expected), got \(type)")
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// The client side of the edge protocol in Swift: a DEALER with CURVE to a gateway, the key of one
/// principal, requests with deadlines, and the gateway's pushes. What `ctl dispatch`, the
/// simulated day and the tests use; a handheld in another language does the same (Docs/EDGE.md).
public final class EdgeClient: Sendable {
    let client: RequestClient
    public let endpoint: String
    public let publicKey: String

    init(client: RequestClient, publicKey: String) { self.client = client; self.endpoint = client.endpoint; self.publicKey = publicKey }

    /// Connects (lazily: the handshake happens with the first request) on `context`'s I/O thread.
    public static func connect(_ endpoint: String, serverKey: String, keyPair: CurveKeyPair, context: MessagingContext) async throws -> EdgeClient {
        var o = SocketOptions()
        o.curveClient = try CurveClient(serverPublicKey: serverKey, keyPair: keyPair)
        o.receivePushes = true
        o.heartbeat = .milliseconds(EdgeProtocol.heartbeatMs)
        o.outboxCapacity = 1_000
        o.maxPendingRequests = 1_000
        return EdgeClient(client: try await context.connectClient(endpoint, options: o), publicKey: keyPair.publicKey)
    }

    /// Sends `type` with `body`, returns the reply (an `error` reply is returned, not thrown).
    /// Throws `MessagingError` `.timeout` when no reply came (an unknown or revoked key gets none).
    public func call<B: Encodable>(_ type: String, _ body: B, timeout: Duration = .seconds(30)) async throws -> EdgeReply {
        try await raw(EdgeCodec.encode(type, body), timeout: timeout)
    }

    /// Sends exact bytes as the body (tests of hostile input).
    public func raw(_ body: [UInt8], timeout: Duration = .seconds(30)) async throws -> EdgeReply {
        try EdgeReply(bytes: try await client.request(Message(body), timeout: timeout).first)
    }

    /// Sends several frames after the correlation id (tests of hostile input).
    public func rawFrames(_ frames: [[UInt8]], timeout: Duration) async throws -> Message {
        try await client.request(Message(frames: frames), timeout: timeout)
    }

    /// Pushes (`push.manifest`, `push.notification`), in batches; drain them (a full buffer stops replies too).
    public var pushes: Batches<Message> { client.pushes }

    public var stats: SocketStats { client.stats }

    public func close() async { await client.close() }
}
