import Synchronization

/// Tunables of one socket. Defaults suit request-reply between nodes; raise the high-water marks
/// and the outbox for bulk fan-out (`.bulk`); shrink everything for sockets facing devices (`.edge`).
///
/// Memory budget (Docs/MESSAGING.md, "Limits"): what a peer can make this process hold is bounded by
/// `receiveHighWaterMark × maxMessageSize` per peer in libzmq's queues (only filled while this
/// socket's consumer is behind) plus `receiveBufferBytes` handed over to the consumer.
/// `worstCaseReceiveBytes(peers:)` does the arithmetic.
public struct SocketOptions: Sendable, CustomStringConvertible {
    /// Messages accepted by `publish`/`reply`/`request` but not yet handed to libzmq. When this many
    /// are waiting, the next send fails at once with `.outboxFull` (nothing is queued or dropped).
    public var outboxCapacity: Int = 10_000
    /// Requests awaiting a reply on one client; one more fails at once with `.outboxFull`.
    public var maxPendingRequests: Int = 100_000
    /// ZMQ_SNDHWM: messages libzmq queues per peer before a send would block.
    public var sendHighWaterMark: Int32 = 1_000
    /// ZMQ_RCVHWM: messages libzmq queues per peer on the receiving side.
    public var receiveHighWaterMark: Int32 = 1_000
    /// Most messages read from this socket per I/O-thread wake (fairness between sockets).
    public var maxBatch: Int = 4_096
    /// Most received messages buffered for a slow consumer before the I/O thread stops reading
    /// this socket (backpressure into libzmq's high-water marks; nothing is dropped here).
    public var receiveBufferLimit: Int = 65_536
    /// The same limit in payload bytes: reading stops when either is reached.
    public var receiveBufferBytes: Int = 64 << 20
    /// ZMQ_MAXMSGSIZE: the largest frame (message part) a peer may send this socket, in bytes.
    /// libzmq checks the size announced in a frame's header before allocating it and drops the
    /// connection of a peer that exceeds it; nothing of that frame reaches the application.
    public var maxMessageSize: Int = 16 << 20
    /// Publishers only: what happens to a subscriber that cannot keep up. nil (the default) picks
    /// by transport: `.drop(after: 200 ms)` for tcp:// and ipc:// (other processes),
    /// `.backpressure` for inproc:// (the same process).
    public var slowSubscribers: SlowSubscriberPolicy? = nil
    /// Servers (ROUTER) only: a token bucket per peer (routing id); requests beyond it are dropped
    /// and counted in `stats.rateLimited`. nil (the default): no limit.
    public var requestRateLimit: RequestRateLimit? = nil
    /// Server-side sockets (`bindServer`, `bindPublisher`): serve CURVE with this key; every client
    /// must be accepted by the context's `CurveAuthority`.
    public var curveServer: CurveServer? = nil
    /// Client-side sockets (`connectClient`, `connectSubscriber`): connect with CURVE.
    public var curveClient: CurveClient? = nil
    /// ZMTP heartbeats (ZMQ_HEARTBEAT_IVL): a PING every `heartbeat`; a peer silent for three
    /// intervals is disconnected (ZMQ_HEARTBEAT_TIMEOUT), and the remote side is asked to do the
    /// same (ZMQ_HEARTBEAT_TTL). nil: none (libzmq's default).
    public var heartbeat: Duration? = nil
    /// Clients (`connectClient`) only: a message with correlation id 0 is a push from the server,
    /// delivered on `RequestClient.pushes` (which must then be drained: a full push buffer stops
    /// reading the socket, replies included). false: such messages count as unmatched replies.
    public var receivePushes: Bool = false

    public init() {}

    /// Options for high-rate fan-out: large high-water marks and outbox.
    /// Budget: a subscriber's libzmq queue holds up to 100,000 of your messages (100,000 × 200 B
    /// events = 20 MB per stalled subscriber before drops begin).
    public static var bulk: SocketOptions {
        var o = SocketOptions()
        o.outboxCapacity = 1_000_000
        o.sendHighWaterMark = 100_000
        o.receiveHighWaterMark = 100_000
        o.maxBatch = 8_192
        o.receiveBufferLimit = 1_000_000
        o.receiveBufferBytes = 256 << 20
        return o
    }

    /// Options for a server facing devices or anything not fully trusted (handhelds): 256 KiB
    /// frames, 64 messages queued per peer (64 × 256 KiB = 16 MiB per peer at worst), 16 MiB
    /// handed to the consumer, 50 requests/s per peer with bursts of 100.
    public static var edge: SocketOptions {
        var o = SocketOptions()
        o.maxMessageSize = 256 << 10
        o.sendHighWaterMark = 64
        o.receiveHighWaterMark = 64
        o.receiveBufferLimit = 10_000
        o.receiveBufferBytes = 16 << 20
        o.requestRateLimit = RequestRateLimit(perSecond: 50, burst: 100)
        return o
    }

    /// The bytes peers can make this socket hold at worst on the receiving side: `peers` ×
    /// `receiveHighWaterMark` × `maxMessageSize` in libzmq's per-peer queues, plus what the I/O
    /// thread hands over before it stops reading: under `receiveBufferBytes` buffered, plus one
    /// read batch (itself cut at `receiveBufferBytes` plus the message that crossed it).
    /// Exact for single-frame messages; each frame of a multi-frame message can be `maxMessageSize`.
    public func worstCaseReceiveBytes(peers: Int) -> Int {
        let perPeer = Int(receiveHighWaterMark) &* maxMessageSize
        return peers &* perPeer &+ 2 &* receiveBufferBytes &+ maxMessageSize
    }

    public var description: String {
        var parts = ["outboxCapacity: \(outboxCapacity)", "maxPendingRequests: \(maxPendingRequests)",
                     "sendHighWaterMark: \(sendHighWaterMark)", "receiveHighWaterMark: \(receiveHighWaterMark)",
                     "maxBatch: \(maxBatch)", "receiveBufferLimit: \(receiveBufferLimit)",
                     "receiveBufferBytes: \(receiveBufferBytes)", "maxMessageSize: \(maxMessageSize)"]
        if let p = slowSubscribers { parts.append("slowSubscribers: \(p)") }
        if let r = requestRateLimit { parts.append("requestRateLimit: \(r)") }
        if let c = curveServer { parts.append("curveServer: \(c)") }
        if let c = curveClient { parts.append("curveClient: \(c)") }
        return "SocketOptions(" + parts.joined(separator: ", ") + ")"
    }

    func validate(for kind: SocketKind) throws(MessagingError) {
        func check(_ ok: Bool, _ what: @autoclosure () -> String) throws(MessagingError) {
            if !ok { throw MessagingError(.invalidArgument, "socket option \(what())") }
        }
        try check(outboxCapacity >= 1, "outboxCapacity must be at least 1, got \(outboxCapacity)")
        try check(maxPendingRequests >= 1, "maxPendingRequests must be at least 1, got \(maxPendingRequests)")
        try check(sendHighWaterMark >= 0, "sendHighWaterMark must be 0 (no limit) or more, got \(sendHighWaterMark)")
        try check(receiveHighWaterMark >= 0, "receiveHighWaterMark must be 0 (no limit) or more, got \(receiveHighWaterMark)")
        try check(maxBatch >= 1, "maxBatch must be at least 1, got \(maxBatch)")
        try check(receiveBufferLimit >= 1, "receiveBufferLimit must be at least 1, got \(receiveBufferLimit)")
        try check(receiveBufferBytes >= 1, "receiveBufferBytes must be at least 1, got \(receiveBufferBytes)")
        try check(maxMessageSize >= 64, "maxMessageSize must be at least 64 bytes, got \(maxMessageSize)")
        if let r = requestRateLimit {
            try check(kind == .server, "requestRateLimit applies to servers (bindServer) only")
            try check(r.perSecond > 0 && r.perSecond.isFinite, "requestRateLimit.perSecond must be positive, got \(r.perSecond)")
            try check(r.burst >= 1, "requestRateLimit.burst must be at least 1, got \(r.burst)")
        }
        if receivePushes {
            try check(kind == .client, "receivePushes applies to clients (connectClient) only")
        }
        if let h = heartbeat {
            try check(h >= .milliseconds(100) && h <= .seconds(3600), "heartbeat must be 100 ms to 1 h, got \(h)")
        }
        if slowSubscribers != nil {
            try check(kind == .publisher, "slowSubscribers applies to publishers (bindPublisher) only")
        }
        if case .drop(let grace)? = slowSubscribers {
            try check(grace >= .zero, "slowSubscribers .drop(after:) needs a duration of zero or more, got \(grace)")
        }
        if curveServer != nil {
            try check(kind == .server || kind == .publisher,
                      "curveServer applies to bindServer and bindPublisher; use curveClient on a \(kind.socketName)")
        }
        if curveClient != nil {
            try check(kind == .client || kind == .subscriber,
                      "curveClient applies to connectClient and connectSubscriber; use curveServer on a \(kind.socketName)")
        }
    }
}

/// What a publisher does with a subscriber that cannot keep up (its libzmq queue, of
/// `sendHighWaterMark` messages, is full).
public enum SlowSubscriberPolicy: Sendable, Hashable, CustomStringConvertible {
    /// Never drop (ZMQ_XPUB_NODROP): the publisher waits for the slowest subscriber, its outbox
    /// fills and `publish` throws `.outboxFull`. For in-process streams where back pressure is wanted.
    case backpressure
    /// Wait at most `after` for a full subscriber queue to drain (absorbs bursts); then send past it:
    /// libzmq drops messages for that subscriber only, until it has drained half its queue.
    /// Fast subscribers keep receiving. Counted in `stats.slowSubscriberEpisodes` and
    /// `stats.eventsDroppedForSlowSubscribers`, logged at warning with the subscriber's address.
    case drop(after: Duration)

    /// The policy nil stands for on `endpoint`.
    static func automatic(for endpoint: String) -> SlowSubscriberPolicy {
        endpoint.hasPrefix("inproc://") ? .backpressure : .drop(after: .milliseconds(200))
    }

    public var description: String {
        switch self {
        case .backpressure: "backpressure"
        case .drop(let d): "drop(after: \(d))"
        }
    }
}

/// A token bucket per peer: `perSecond` requests on average, `burst` at once.
public struct RequestRateLimit: Sendable, Hashable, CustomStringConvertible {
    public var perSecond: Double
    public var burst: Int
    public init(perSecond: Double, burst: Int) {
        self.perSecond = perSecond
        self.burst = burst
    }
    public var description: String { "\(perSecond)/s burst \(burst)" }
}

enum SocketKind: Sendable {
    case client      // DEALER: requests out, replies in
    case server      // ROUTER: requests in, replies out
    case publisher   // XPUB: messages out, subscription frames in
    case subscriber  // SUB: messages in

    var socketName: String {
        switch self {
        case .client: "client (DEALER)"
        case .server: "server (ROUTER)"
        case .publisher: "publisher (XPUB)"
        case .subscriber: "subscriber (SUB)"
        }
    }
}

/// The part of a socket that tasks touch: identity, the outbox counter, stats.
/// Everything here is immutable or atomic; the zmq socket itself lives on the I/O thread only.
final class SocketShared: Sendable {
    let id: Int
    let kind: SocketKind
    let options: SocketOptions
    let outboxCount = Atomic<Int>(0)
    let pendingRequests = Atomic<Int>(0)
    let nextCorrelation = Atomic<UInt64>(0)
    let closed = Atomic<Bool>(false)
    let malformed = Atomic<Int>(0)
    let unmatchedReplies = Atomic<Int>(0)
    let undeliverable = Atomic<Int>(0)
    let curveRefused = Atomic<Int>(0)
    let handshakeFailures = Atomic<Int>(0)
    let revokedDropped = Atomic<Int>(0)
    let rateLimited = Atomic<Int>(0)
    let slowSubscriberEpisodes = Atomic<Int>(0)
    let eventsDroppedForSlow = Atomic<Int>(0)

    /// Tasks waiting for outbox space: (slots needed, continuation). `hasSpaceWaiters` lets the
    /// I/O thread skip the lock when nobody waits.
    let spaceWaiters = Mutex<[(Int, UnsafeContinuation<Result<Void, MessagingError>, Never>)]>([])
    let hasSpaceWaiters = Atomic<Bool>(false)

    init(id: Int, kind: SocketKind, options: SocketOptions) {
        self.id = id
        self.kind = kind
        self.options = options
    }

    /// Reserves `n` outbox slots or throws `.outboxFull` without reserving any.
    @inline(__always)
    func reserveOutbox(_ n: Int) throws(MessagingError) {
        if closed.load(ordering: .relaxed) { throw MessagingError.shutdownError }
        let after = outboxCount.wrappingAdd(n, ordering: .relaxed).newValue
        if after > options.outboxCapacity {
            outboxCount.wrappingSubtract(n, ordering: .relaxed)
            throw MessagingError(.outboxFull,
                                 "outbox full: \(options.outboxCapacity) messages waiting for libzmq")
        }
    }

    @inline(__always)
    func releaseOutbox(_ n: Int) {
        if n == 0 { return }
        outboxCount.wrappingSubtract(n, ordering: .sequentiallyConsistent)
        if hasSpaceWaiters.load(ordering: .sequentiallyConsistent) { wakeSpaceWaiters(failing: nil) }
    }

    /// Resumes the waiters whose need fits now (or all of them with `failing`).
    func wakeSpaceWaiters(failing error: MessagingError?) {
        // Space freed by closing is no space: a closed socket fails its waiters.
        let error = error ?? (closed.load(ordering: .sequentiallyConsistent) ? MessagingError.shutdownError : nil)
        let ready: [UnsafeContinuation<Result<Void, MessagingError>, Never>] = spaceWaiters.withLock { w in
            var out: [UnsafeContinuation<Result<Void, MessagingError>, Never>] = []
            let free = options.outboxCapacity - outboxCount.load(ordering: .sequentiallyConsistent)
            w.removeAll { need, k in
                if error != nil || need <= free { out.append(k); return true }
                return false
            }
            if w.isEmpty { hasSpaceWaiters.store(false, ordering: .sequentiallyConsistent) }
            return out
        }
        for k in ready { k.resume(returning: error.map { .failure($0) } ?? .success(())) }
    }

    /// Waits until `n` outbox slots are free (not reserved: another task may take them first).
    func waitForSpace(_ n: Int) async throws(MessagingError) {
        guard n <= options.outboxCapacity else {
            throw MessagingError(.invalidArgument, "waiting for \(n) slots in an outbox of \(options.outboxCapacity)")
        }
        let result = await withUnsafeContinuation { (k: UnsafeContinuation<Result<Void, MessagingError>, Never>) in
            spaceWaiters.withLock { w in
                w.append((n, k))
                hasSpaceWaiters.store(true, ordering: .sequentiallyConsistent)
            }
            // Re-check after registering: the I/O thread may have released everything just before.
            if closed.load(ordering: .sequentiallyConsistent) {
                wakeSpaceWaiters(failing: .shutdownError)
            } else if options.outboxCapacity - outboxCount.load(ordering: .sequentiallyConsistent) >= n {
                wakeSpaceWaiters(failing: nil)
            }
        }
        try result.get()
    }

    var stats: SocketStats {
        SocketStats(outboxed: outboxCount.load(ordering: .relaxed),
                    pendingRequests: pendingRequests.load(ordering: .relaxed),
                    malformedFrames: malformed.load(ordering: .relaxed),
                    unmatchedReplies: unmatchedReplies.load(ordering: .relaxed),
                    undeliverableReplies: undeliverable.load(ordering: .relaxed),
                    curveRefused: curveRefused.load(ordering: .relaxed),
                    handshakeFailures: handshakeFailures.load(ordering: .relaxed),
                    revokedDropped: revokedDropped.load(ordering: .relaxed),
                    rateLimited: rateLimited.load(ordering: .relaxed),
                    slowSubscriberEpisodes: slowSubscriberEpisodes.load(ordering: .relaxed),
                    eventsDroppedForSlowSubscribers: eventsDroppedForSlow.load(ordering: .relaxed))
    }
}

/// Counters of one socket, read without locking (each is exact, the set is not a snapshot).
public struct SocketStats: Sendable, Equatable {
    /// Messages in the outbox now.
    public var outboxed: Int
    /// Requests awaiting a reply now (clients only).
    public var pendingRequests: Int
    /// Inbound messages dropped because their frames did not follow the envelope.
    public var malformedFrames: Int
    /// Replies whose correlation id matched no pending request (late, after a timeout).
    public var unmatchedReplies: Int
    /// Replies libzmq refused because the requesting peer is gone (EHOSTUNREACH).
    public var undeliverableReplies: Int
    /// CURVE servers: connections the authority refused (ZAP status 400: unknown or revoked key).
    public var curveRefused: Int
    /// Bound tcp/ipc sockets: connections whose handshake failed for another reason (a client
    /// without CURVE, a wrong server key, a different protocol), seen by the socket's monitor.
    public var handshakeFailures: Int
    /// CURVE ROUTER servers with `recheckEachMessage`: messages dropped because the authority no
    /// longer accepts the key of the connection they came on (revoked after it connected).
    public var revokedDropped: Int
    /// ROUTER servers with `requestRateLimit`: requests dropped over a peer's rate.
    public var rateLimited: Int
    /// Publishers in `.drop` mode: times a subscriber queue stayed full past the grace period and
    /// the publisher sent past it (each episode drops messages for at least one subscriber).
    public var slowSubscriberEpisodes: Int
    /// Publishers in `.drop` mode: estimated messages dropped for subscribers that fell behind
    /// (messages published while each was behind; an upper bound when topics filter).
    public var eventsDroppedForSlowSubscribers: Int
}
