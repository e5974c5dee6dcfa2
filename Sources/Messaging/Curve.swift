import CZeroMQ
import Synchronization

// CURVE (libzmq's CurveZMQ: Curve25519 key agreement, per-message encryption) with ZAP
// authentication. See Docs/MESSAGING.md, "CURVE and ZAP".

/// Z85 text of 32-byte CURVE keys: validation, decoding and encoding through libzmq's codec.
enum Z85 {
    private static let alphabet = Array(
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8)
    private static let isDigit: [Bool] = {
        var t = [Bool](repeating: false, count: 256)
        for c in alphabet { t[Int(c)] = true }
        return t
    }()

    /// The 32 raw bytes of a 40-character Z85 key, or `.invalidKey` naming `what` (never echoing
    /// the key's characters: it may be a secret).
    static func decodeKey(_ text: String, _ what: String) throws(MessagingError) -> [UInt8] {
        let utf8 = Array(text.utf8)
        guard utf8.count == 40 else {
            throw MessagingError(.invalidKey, "\(what): expected 40 characters of Z85, got \(utf8.count) bytes")
        }
        if let bad = utf8.firstIndex(where: { !isDigit[Int($0)] }) {
            throw MessagingError(.invalidKey, "\(what): the character at offset \(bad) is not a Z85 digit")
        }
        var raw = [UInt8](repeating: 0, count: 32)
        let ok = text.withCString { s in raw.withUnsafeMutableBufferPointer { zmq_z85_decode($0.baseAddress, s) != nil } }
        guard ok else { throw MessagingError(.invalidKey, "\(what): not a valid Z85 encoding (a group overflows 32 bits)") }
        return raw
    }

    /// 40 Z85 characters for 32 raw bytes.
    static func encodeKey(_ raw: UnsafeRawBufferPointer) -> String {
        precondition(raw.count == 32, "a CURVE key has 32 bytes")
        var out = [CChar](repeating: 0, count: 41)
        _ = zmq_z85_encode(&out, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
        return out.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

/// A CURVE key pair as Z85 text (40 characters each). The secret key never appears in
/// `description`, logs or error messages.
public struct CurveKeyPair: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The public key: give it to peers (a server's goes to its clients; a client's to the authority).
    public let publicKey: String
    /// The secret key: keep it in a file only its owner can read (`CurveKeyFile`).
    public let secretKey: String
    let rawPublic: [UInt8]
    let rawSecret: [UInt8]

    /// A pair from both keys; throws `.invalidKey` if either is not Z85 or they do not belong together.
    public init(publicKey: String, secretKey: String) throws(MessagingError) {
        let derived = try CurveKeyPair(secretKey: secretKey)
        let raw = try Z85.decodeKey(publicKey, "public key")
        guard raw == derived.rawPublic else {
            throw MessagingError(.invalidKey, "public key \(publicKey) does not belong to the secret key given with it")
        }
        self = derived
    }

    /// The pair of a secret key (its public key derived with zmq_curve_public).
    public init(secretKey: String) throws(MessagingError) {
        let rawSecret = try Z85.decodeKey(secretKey, "secret key")
        let publicKey = try CurveKeyPair.publicKey(fromSecret: secretKey)
        self.publicKey = publicKey
        self.secretKey = secretKey
        self.rawSecret = rawSecret
        self.rawPublic = try Z85.decodeKey(publicKey, "derived public key")
    }

    /// A fresh random pair (zmq_curve_keypair, libsodium's generator).
    /// Throws `.unsupported` when libzmq was built without CURVE.
    public static func generate() throws(MessagingError) -> CurveKeyPair {
        try requireCurve()
        var pub = [CChar](repeating: 0, count: 41), sec = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&pub, &sec) == 0 else {
            throw MessagingError.fromErrno(.unsupported, "zmq_curve_keypair", daybreak_errno())
        }
        let p = pub.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let s = sec.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return try CurveKeyPair(publicKey: p, secretKey: s)
    }

    /// The public key belonging to a Z85 secret key (zmq_curve_public).
    public static func publicKey(fromSecret secretKey: String) throws(MessagingError) -> String {
        try requireCurve()
        _ = try Z85.decodeKey(secretKey, "secret key")
        var pub = [CChar](repeating: 0, count: 41)
        let rc = secretKey.withCString { zmq_curve_public(&pub, $0) }
        guard rc == 0 else { throw MessagingError.fromErrno(.invalidKey, "zmq_curve_public(secret key)", daybreak_errno()) }
        return pub.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Checks that `key` is a 40-character Z85 CURVE key; `.invalidKey` naming `what` otherwise.
    public static func validate(_ key: String, named what: String = "key") throws(MessagingError) {
        _ = try Z85.decodeKey(key, what)
    }

    public var description: String { "CurveKeyPair(public: \(publicKey), secret: <redacted>)" }
    public var debugDescription: String { description }

    static func requireCurve() throws(MessagingError) {
        guard zmq_has("curve") == 1 else {
            throw MessagingError(.unsupported, "this libzmq was built without CURVE (zmq_has(\"curve\") is 0)")
        }
    }
}

/// The CURVE configuration of a server-side socket (ROUTER `bindServer`, XPUB `bindPublisher`):
/// its secret key, the ZAP domain it asks the authority about, and whether a ROUTER asks the
/// authority again for every message (so a revoked key loses an established session at once).
///
/// Every client must present a key the context's `CurveAuthority` accepts; binding a CURVE server
/// on a context without an authority fails (libzmq would otherwise accept any key).
public struct CurveServer: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The server's key pair; its `publicKey` is what clients need.
    public let keyPair: CurveKeyPair
    /// Passed to `CurveAuthority.authenticate(domain:)` (≤ 200 UTF-8 bytes, no NUL).
    public let domain: String
    /// ROUTER only: check the authority for every received message and drop messages from a peer
    /// whose key it no longer accepts (counted in `stats.revokedDropped`). One authority call per
    /// message; off means revocation takes effect at the peer's next connection only.
    public var recheckEachMessage: Bool

    public init(secretKey: String, domain: String = "daybreak", recheckEachMessage: Bool = true) throws(MessagingError) {
        try self.init(keyPair: CurveKeyPair(secretKey: secretKey), domain: domain, recheckEachMessage: recheckEachMessage)
    }

    public init(keyPair: CurveKeyPair, domain: String = "daybreak", recheckEachMessage: Bool = true) throws(MessagingError) {
        guard domain.utf8.count <= 200, !domain.utf8.contains(0) else {
            throw MessagingError(.invalidArgument, "CURVE domain must be at most 200 bytes without NUL, got \(domain.utf8.count) bytes")
        }
        self.keyPair = keyPair
        self.domain = domain
        self.recheckEachMessage = recheckEachMessage
    }

    /// The public key clients configure as `CurveClient.serverPublicKey`.
    public var publicKey: String { keyPair.publicKey }

    public var description: String { "CurveServer(public: \(keyPair.publicKey), domain: \(domain), recheckEachMessage: \(recheckEachMessage))" }
    public var debugDescription: String { description }
}

/// The CURVE configuration of a client-side socket (DEALER `connectClient`, SUB
/// `connectSubscriber`): the server's public key and the client's own pair.
public struct CurveClient: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let serverPublicKey: String
    public let keyPair: CurveKeyPair
    let rawServerKey: [UInt8]

    public init(serverPublicKey: String, keyPair: CurveKeyPair) throws(MessagingError) {
        rawServerKey = try Z85.decodeKey(serverPublicKey, "server public key")
        self.serverPublicKey = serverPublicKey
        self.keyPair = keyPair
    }

    public var description: String { "CurveClient(server: \(serverPublicKey), public: \(keyPair.publicKey))" }
    public var debugDescription: String { description }
}

/// Who a key belongs to, as the authority says: the ZAP User-Id (e.g. `node:n2`,
/// `courier:vehicle:x`) and an optional role. Both travel to the server's messages as ZAP
/// metadata (User-Id, and the property `X-Daybreak-Role`) and come back as `PeerIdentity`.
public struct CurveIdentity: Sendable, Hashable {
    public let userID: String
    public let role: String?

    /// `userID`: 1…255 UTF-8 bytes; `role`: up to 255 bytes; neither may contain NUL.
    public init(userID: String, role: String? = nil) throws(MessagingError) {
        guard (1...255).contains(userID.utf8.count), !userID.utf8.contains(0) else {
            throw MessagingError(.invalidArgument, "CURVE user id must be 1…255 bytes without NUL, got \(userID.utf8.count) bytes")
        }
        if let r = role {
            guard r.utf8.count <= 255, !r.utf8.contains(0) else {
                throw MessagingError(.invalidArgument, "CURVE role must be at most 255 bytes without NUL, got \(r.utf8.count) bytes")
            }
        }
        self.userID = userID
        self.role = role
    }
}

/// Decides which client keys a CURVE server accepts. One per `MessagingContext`
/// (`setCurveAuthority`), asked by the context's ZAP handler for every new connection to any of
/// its CURVE servers and, with `CurveServer.recheckEachMessage`, by ROUTER servers for every
/// message.
///
/// Contract: called on the context's I/O thread, so it must be **synchronous, fast and
/// non-blocking** (an in-memory lookup; never a database query or a lock held across I/O): every
/// socket of the context waits while it runs. Revoking a key = returning nil for it from then on.
public protocol CurveAuthority: Sendable {
    /// The identity of `publicKey` (Z85) connecting from `address` (the peer's IP address) to a
    /// server of `domain` (`CurveServer.domain`), or nil to refuse it (ZAP status 400).
    func authenticate(publicKey: String, domain: String, address: String) -> CurveIdentity?
}

/// A `CurveAuthority` over an in-memory table of public keys, for a node that refreshes it from
/// its database (`replaceAll`) and revokes keys (`revoke`). Any domain and address.
///
/// Isolation: any task; one `Mutex` held only for the dictionary operation.
public final class CurveKeyTable: CurveAuthority {
    private let table: Mutex<[String: CurveIdentity]>

    /// A table of Z85 public key → identity; `.invalidKey` names a key that is not Z85.
    public init(_ entries: [String: CurveIdentity] = [:]) throws(MessagingError) {
        for key in entries.keys { try CurveKeyPair.validate(key, named: "public key in the table") }
        table = Mutex(entries)
    }

    /// Accepts `publicKey` as `identity` from now on (replacing what it was).
    public func grant(_ publicKey: String, as identity: CurveIdentity) throws(MessagingError) {
        try CurveKeyPair.validate(publicKey, named: "public key to grant")
        table.withLock { $0[publicKey] = identity }
    }

    /// Refuses `publicKey` from now on: its next connection is refused, and ROUTER servers with
    /// `recheckEachMessage` drop its messages on connections already established.
    public func revoke(_ publicKey: String) {
        _ = table.withLock { $0.removeValue(forKey: publicKey) }
    }

    /// Replaces the whole table (a refresh from the database).
    public func replaceAll(_ entries: [String: CurveIdentity]) throws(MessagingError) {
        for key in entries.keys { try CurveKeyPair.validate(key, named: "public key in the table") }
        table.withLock { $0 = entries }
    }

    public var count: Int { table.withLock { $0.count } }

    public func authenticate(publicKey: String, domain: String, address: String) -> CurveIdentity? {
        table.withLock { $0[publicKey] }
    }
}

/// The authenticated peer of a message on a CURVE server: what the authority said about its key
/// when it connected, and where it connected from.
public struct PeerIdentity: Sendable, Hashable {
    /// The ZAP User-Id (`CurveIdentity.userID`).
    public let userID: String
    /// `CurveIdentity.role`, nil when the authority gave none.
    public let role: String?
    /// The client's long-term public key (Z85).
    public let publicKey: String
    /// The peer's IP address (libzmq's Peer-Address; no port).
    public let address: String

    public init(userID: String, role: String?, publicKey: String, address: String) {
        self.userID = userID
        self.role = role
        self.publicKey = publicKey
        self.address = address
    }
}
