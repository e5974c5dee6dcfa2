import Synchronization

/// Where a reply goes: the requester's ROUTER routing id and its correlation id.
/// A plain value: keep it, pass it to another task, reply later.
public struct ReplyAddress: Sendable, Hashable {
    public var routingID: [UInt8]
    public var correlationID: UInt64
    public init(routingID: [UInt8], correlationID: UInt64) {
        self.routingID = routingID
        self.correlationID = correlationID
    }
}

/// A request as a server receives it.
public struct IncomingRequest: Sendable {
    /// Pass this to `RequestServer.reply(to:_:)`.
    public var replyAddress: ReplyAddress
    /// The request's frames (without the envelope).
    public var message: Message
    /// Who sent it, on a CURVE server (`SocketOptions.curveServer`): the identity the context's
    /// authority gave the sender's key when it connected, and its address. nil on a plaintext
    /// server. Authorise per message with it (`peer?.userID`, `peer?.role`).
    public var peer: PeerIdentity? = nil
}

/// A reply for `RequestServer.reply(contentsOf:)`.
public struct Reply: Sendable {
    public var address: ReplyAddress
    public var message: Message
    public init(to address: ReplyAddress, _ message: Message) {
        self.address = address
        self.message = message
    }
}

/// The client side of request-reply: a DEALER. Every request carries a fresh correlation id and
/// a deadline; replies are matched by id, so any number of tasks may have requests in flight.
///
/// Isolation: any task. Cost per request: one lock, at most one eventfd write, one continuation.
public final class RequestClient: Sendable {
    let loop: IOLoop
    let shared: SocketShared
    let pushChannel: BatchChannel<Message>?
    /// The endpoint connected to.
    public let endpoint: String

    init(loop: IOLoop, shared: SocketShared, endpoint: String, pushes: BatchChannel<Message>? = nil) {
        self.loop = loop
        self.shared = shared
        self.endpoint = endpoint
        self.pushChannel = pushes
    }

    /// Messages the server pushed (correlation id 0), in batches, with `SocketOptions.receivePushes`;
    /// one consuming task. Ends when the socket closes (at once without `receivePushes`).
    public var pushes: Batches<Message> {
        if let pushChannel { return Batches(channel: pushChannel) }
        let none = BatchChannel<Message>(limit: 1) {}
        none.finish()
        return Batches(channel: none)
    }

    /// Sends `message` and waits for the reply or the deadline, whichever comes first.
    ///
    /// Fails with `.timeout` at the deadline (a dead peer is only ever detected this way),
    /// `.outboxFull` at once when the outbox or the pending-request limit is full,
    /// `.cancelled` when the task is cancelled, `.shutdown` when the socket or context closes.
    public func request(_ message: Message, timeout: Duration) async throws(MessagingError) -> Message {
        let deadline = monotonicNanos() &+ timeout.clampedNanoseconds
        let limit = shared.options.maxPendingRequests
        if shared.pendingRequests.wrappingAdd(1, ordering: .relaxed).newValue > limit {
            shared.pendingRequests.wrappingSubtract(1, ordering: .relaxed)
            throw MessagingError(.outboxFull, "\(limit) requests already awaiting replies")
        }
        defer { shared.pendingRequests.wrappingSubtract(1, ordering: .relaxed) }
        try shared.reserveOutbox(1)
        let id = shared.nextCorrelation.wrappingAdd(1, ordering: .relaxed).newValue
        let sid = shared.id
        let loop = self.loop
        let shared = self.shared
        let result = await withTaskCancellationHandler {
            await withUnsafeContinuation { (k: UnsafeContinuation<Result<Message, MessagingError>, Never>) in
                if !loop.submit(.request(socket: sid, id: id, deadline: deadline, message, k)) {
                    shared.releaseOutbox(1)
                    k.resume(returning: .failure(.shutdownError))
                }
            }
        } onCancel: {
            _ = loop.submit(.cancel(socket: sid, id: id, deadline: deadline))
        }
        return try result.get()
    }

    /// Convenience: `timeout` from now as an instant of the continuous clock.
    public func request(_ message: Message, deadline: ContinuousClock.Instant) async throws(MessagingError) -> Message {
        try await request(message, timeout: max(.zero, deadline - .now))
    }

    /// Counters of this socket.
    public var stats: SocketStats { shared.stats }

    /// Closes the socket; its pending requests fail with `.shutdown`.
    public func close() async { await closeSocket(loop, shared) }
}

/// The server side of request-reply: a ROUTER. Requests arrive in batches on `requests`;
/// replies go out from any task, at any time, addressed by `ReplyAddress`.
public final class RequestServer: Sendable {
    let loop: IOLoop
    let shared: SocketShared
    let channel: BatchChannel<IncomingRequest>
    /// The bound endpoint with the port resolved (ZMQ_LAST_ENDPOINT).
    public let endpoint: String

    init(loop: IOLoop, shared: SocketShared, channel: BatchChannel<IncomingRequest>, endpoint: String) {
        self.loop = loop
        self.shared = shared
        self.channel = channel
        self.endpoint = endpoint
    }

    /// Incoming requests, in batches (everything read in one I/O-thread wake, coalesced while the
    /// consumer is busy). Ends when the server or context shuts down. One iterating task at a time.
    public var requests: Batches<IncomingRequest> { Batches(channel: channel) }

    /// Queues a reply without waiting. Throws `.outboxFull` at once when the outbox is full
    /// (nothing queued), `.shutdown` when closed. A reply to a requester that has gone is counted
    /// in `stats.undeliverableReplies`.
    public func reply(to address: ReplyAddress, _ message: Message) throws(MessagingError) {
        try shared.reserveOutbox(1)
        if !loop.submit(.reply(socket: shared.id, address, message)) {
            shared.releaseOutbox(1)
            throw MessagingError.shutdownError
        }
    }

    /// Queues many replies with one lock and one wake-up. All or nothing on `.outboxFull`.
    public func reply(contentsOf replies: [Reply]) throws(MessagingError) {
        if replies.isEmpty { return }
        try shared.reserveOutbox(replies.count)
        if !loop.submit(.replyBatch(socket: shared.id, replies)) {
            shared.releaseOutbox(replies.count)
            throw MessagingError.shutdownError
        }
    }

    /// Waits until at least `n` outbox slots are free (not reserved; see `Publisher.waitForOutboxSpace`).
    public func waitForOutboxSpace(_ n: Int = 1) async throws(MessagingError) {
        try await shared.waitForSpace(n)
    }

    /// Serves requests until the sequence ends: `handler` runs for each request in the caller's
    /// task (keep it short; spawn into your own task group for slow work and reply later).
    /// A nil result sends no reply.
    public func serve(_ handler: (IncomingRequest) throws -> Message?) async throws {
        for await batch in requests {
            var replies: [Reply] = []
            replies.reserveCapacity(batch.count)
            for r in batch {
                if let m = try handler(r) { replies.append(Reply(to: r.replyAddress, m)) }
            }
            try reply(contentsOf: replies)
        }
    }

    public var stats: SocketStats { shared.stats }

    /// Closes the socket; `requests` ends.
    public func close() async { await closeSocket(loop, shared) }
}
