import CZeroMQ
import Foundation
@testable import Messaging

/// A zmq context of its own for raw sockets that play hostile, broken or stalled peers (what
/// Messaging's own sockets would never send). Every call is non-blocking (ZMQ_DONTWAIT) and made
/// from the one test task that owns the objects (they are not Sendable).
final class RawContext {
    let raw: UnsafeMutableRawPointer
    private var sockets: [RawSocket] = []

    init() {
        raw = zmq_ctx_new()!
        zmq_ctx_set(raw, ZMQ_BLOCKY, 0)
    }

    func socket(_ type: Int32) -> RawSocket {
        let s = RawSocket(zmq_socket(raw, type)!)
        sockets.append(s)
        return s
    }

    /// Closes every socket (LINGER 0) and terminates the context: returns at once.
    func close() {
        for s in sockets { s.close() }
        sockets.removeAll()
        zmq_ctx_term(raw)
    }
}

final class RawSocket {
    let h: UnsafeMutableRawPointer
    private var closed = false

    init(_ h: UnsafeMutableRawPointer) {
        self.h = h
        set(ZMQ_LINGER, 0)
    }

    func set(_ option: Int32, _ value: Int32) {
        var v = value
        precondition(zmq_setsockopt(h, option, &v, 4) == 0, "zmq_setsockopt \(option)")
    }

    func set(_ option: Int32, bytes: [UInt8]) {
        precondition(bytes.withUnsafeBytes { zmq_setsockopt(h, option, $0.baseAddress, $0.count) } == 0, "zmq_setsockopt \(option)")
    }

    /// CURVE client options: the server's public key and this peer's own pair.
    func curveClient(serverPublicKey: String, keyPair: CurveKeyPair) {
        set(ZMQ_CURVE_SERVERKEY, bytes: Array(serverPublicKey.utf8))
        set(ZMQ_CURVE_PUBLICKEY, bytes: Array(keyPair.publicKey.utf8))
        set(ZMQ_CURVE_SECRETKEY, bytes: Array(keyPair.secretKey.utf8))
    }

    func connect(_ endpoint: String) {
        precondition(zmq_connect(h, endpoint) == 0, "connect \(endpoint): \(String(cString: zmq_strerror(daybreak_errno())))")
    }

    func bind(_ endpoint: String) {
        precondition(zmq_bind(h, endpoint) == 0, "bind \(endpoint)")
    }

    /// Sends a multi-frame message; false if libzmq would block on the first frame (then
    /// nothing was sent). Later frames of a message are always accepted once the first was.
    func send(_ frames: [[UInt8]]) -> Bool {
        for (i, f) in frames.enumerated() {
            let flags = ZMQ_DONTWAIT | (i < frames.count - 1 ? ZMQ_SNDMORE : 0)
            let rc = f.withUnsafeBytes { zmq_send(h, $0.baseAddress, $0.count, flags) }
            if rc < 0 {
                precondition(i == 0 && daybreak_errno() == EAGAIN, "raw send failed: errno \(daybreak_errno())")
                return false
            }
        }
        return true
    }

    /// Receives one whole message if one is waiting.
    func receive() -> [[UInt8]]? {
        var m = zmq_msg_t()
        zmq_msg_init(&m)
        defer { zmq_msg_close(&m) }
        var frames: [[UInt8]] = []
        repeat {
            if zmq_msg_recv(&m, h, ZMQ_DONTWAIT) < 0 {
                precondition(frames.isEmpty, "a message part went missing")
                return nil
            }
            let n = zmq_msg_size(&m)
            frames.append(n == 0 ? [] : Array(UnsafeRawBufferPointer(start: zmq_msg_data(&m), count: n)))
        } while zmq_msg_more(&m) != 0
        return frames
    }

    func close() {
        if closed { return }
        closed = true
        zmq_close(h)
    }
}

/// This process's resident set size in bytes (VmRSS in /proc/self/status).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kb = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) } ?? 0
        return kb * 1024
    }
    return 0
}

/// A reproducible generator for fuzzing (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Test keys and a table authority.
struct CurveFixture {
    let server: CurveKeyPair
    let client: CurveKeyPair
    let stranger: CurveKeyPair
    let table: CurveKeyTable

    init(userID: String = "courier:vehicle:x", role: String? = "courier") throws(MessagingError) {
        server = try CurveKeyPair.generate()
        client = try CurveKeyPair.generate()
        stranger = try CurveKeyPair.generate()
        table = try CurveKeyTable([client.publicKey: CurveIdentity(userID: userID, role: role)])
    }

    func serverOptions(_ base: SocketOptions = SocketOptions(), recheck: Bool = true) throws(MessagingError) -> SocketOptions {
        var o = base
        o.curveServer = try CurveServer(keyPair: server, domain: "test", recheckEachMessage: recheck)
        return o
    }

    func clientOptions(_ pair: CurveKeyPair? = nil, _ base: SocketOptions = SocketOptions()) throws(MessagingError) -> SocketOptions {
        var o = base
        o.curveClient = try CurveClient(serverPublicKey: server.publicKey, keyPair: pair ?? client)
        return o
    }
}
