import Synchronization

/// Tunables of one socket. Defaults suit request-reply between nodes; raise the high-water marks
/// and the outbox for bulk fan-out.
public struct SocketOptions: Sendable {
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

    public init() {}

    /// Options for high-rate fan-out: large high-water marks and outbox.
    public static var bulk: SocketOptions {
        var o = SocketOptions()
        o.outboxCapacity = 1_000_000
        o.sendHighWaterMark = 100_000
        o.receiveHighWaterMark = 100_000
        o.maxBatch = 8_192
        o.receiveBufferLimit = 1_000_000
        return o
    }

    func validate() throws(MessagingError) {
        guard outboxCapacity >= 1, maxPendingRequests >= 1, sendHighWaterMark >= 0,
              receiveHighWaterMark >= 0, maxBatch >= 1, receiveBufferLimit >= 1 else {
            throw MessagingError(.invalidArgument, "socket options out of range: \(self)")
        }
    }
}

enum SocketKind: Sendable {
    case client      // DEALER: requests out, replies in
    case server      // ROUTER: requests in, replies out
    case publisher   // XPUB: messages out, subscription frames in
    case subscriber  // SUB: messages in
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
                    undeliverableReplies: undeliverable.load(ordering: .relaxed))
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
}
