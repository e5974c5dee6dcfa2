/// The sending side of fan-out: an XPUB with ZMQ_XPUB_VERBOSE (it sees every subscription, so
/// `waitForSubscribers` replaces sleeping for slow joiners).
///
/// A subscriber at its high-water mark (`SocketOptions.slowSubscribers`): with `.backpressure`
/// (the default over inproc) it holds every message back until it drains, the outbox fills and
/// `publish` throws `.outboxFull`; with `.drop(after:)` (the default over tcp/ipc) the publisher
/// waits at most that long, then libzmq drops messages for that subscriber only while the others
/// keep receiving (counted in `stats`, logged at warning with the subscriber's address).
///
/// With `SocketOptions.curveServer`, only subscribers the context's `CurveAuthority` accepts
/// receive anything. A key revoked while its subscriber is connected keeps receiving until that
/// connection ends (an XPUB cannot tell its subscribers apart per message).
///
/// Topic filtering is a prefix match on the first frame, done by libzmq.
public final class Publisher: Sendable {
    let loop: IOLoop
    let shared: SocketShared
    /// The bound endpoint with the port resolved.
    public let endpoint: String

    init(loop: IOLoop, shared: SocketShared, endpoint: String) {
        self.loop = loop
        self.shared = shared
        self.endpoint = endpoint
    }

    /// Queues one message without waiting. Throws `.outboxFull` at once when the outbox holds
    /// `outboxCapacity` messages (nothing queued, nothing dropped), `.shutdown` when closed.
    public func publish(_ message: Message) throws(MessagingError) {
        try shared.reserveOutbox(1)
        if !loop.submit(.send(socket: shared.id, message)) {
            shared.releaseOutbox(1)
            throw MessagingError.shutdownError
        }
    }

    /// Queues a two-frame message `[topic, payload]`.
    public func publish(topic: [UInt8], _ payload: [UInt8]) throws(MessagingError) {
        try publish(Message(first: topic, rest: [payload]))
    }

    /// Queues many messages with one lock and one wake-up; all or nothing on `.outboxFull`.
    public func publish(contentsOf messages: [Message]) throws(MessagingError) {
        if messages.isEmpty { return }
        try shared.reserveOutbox(messages.count)
        if !loop.submit(.sendBatch(socket: shared.id, messages)) {
            shared.releaseOutbox(messages.count)
            throw MessagingError.shutdownError
        }
    }

    /// Waits until at least `n` outbox slots are free, for producers that prefer waiting to
    /// handling `.outboxFull`. The slots are not reserved: `publish` may still throw if another task
    /// took them. Throws `.shutdown` when the socket closes, `.invalidArgument` if `n` exceeds the capacity.
    public func waitForOutboxSpace(_ n: Int = 1) async throws(MessagingError) {
        try await shared.waitForSpace(n)
    }

    /// Waits until at least `count` subscriptions (to `topic`, or to anything when nil) have been
    /// seen, or throws `.timeout`. After it returns, messages on those topics reach those subscribers.
    /// Counts subscription frames: a subscriber that subscribes twice counts twice.
    public func waitForSubscribers(_ count: Int, topic: [UInt8]? = nil, timeout: Duration) async throws(MessagingError) {
        let deadline = monotonicNanos() &+ timeout.clampedNanoseconds
        let id = shared.nextCorrelation.wrappingAdd(1, ordering: .relaxed).newValue
        let sid = shared.id
        let loop = self.loop
        let result = await withUnsafeContinuation { (k: UnsafeContinuation<Result<Void, MessagingError>, Never>) in
            if !loop.submit(.waitSubscribers(socket: sid, count: count, topic: topic, id: id, deadline: deadline, k)) {
                k.resume(returning: .failure(.shutdownError))
            }
        }
        try result.get()
    }

    public var stats: SocketStats { shared.stats }

    /// Messages accepted but not yet handed to libzmq.
    public var outboxCount: Int { shared.outboxCount.load(ordering: .relaxed) }

    public func close() async { await closeSocket(loop, shared) }
}

/// The receiving side of fan-out: a SUB. Messages arrive in batches on `messages`.
/// When the consumer falls behind by `receiveBufferLimit` messages the I/O thread stops reading
/// this socket until it catches up (backpressure, no loss at this layer).
public final class Subscriber: Sendable {
    let loop: IOLoop
    let shared: SocketShared
    let channel: BatchChannel<Message>
    public let endpoint: String

    init(loop: IOLoop, shared: SocketShared, channel: BatchChannel<Message>, endpoint: String) {
        self.loop = loop
        self.shared = shared
        self.channel = channel
        self.endpoint = endpoint
    }

    /// Received messages, in batches. Ends when the subscriber or context shuts down.
    public var messages: Batches<Message> { Batches(channel: channel) }

    /// Adds a topic (a prefix of the first frame; empty means everything).
    public func subscribe(_ topic: [UInt8]) async throws(MessagingError) {
        try await setSubscription(topic, on: true)
    }

    /// Removes a topic added before.
    public func unsubscribe(_ topic: [UInt8]) async throws(MessagingError) {
        try await setSubscription(topic, on: false)
    }

    private func setSubscription(_ topic: [UInt8], on: Bool) async throws(MessagingError) {
        let sid = shared.id
        let loop = self.loop
        let result = await withUnsafeContinuation { (k: UnsafeContinuation<Result<Void, MessagingError>, Never>) in
            if !loop.submit(.subscribe(socket: sid, topic: topic, on: on, k)) {
                k.resume(returning: .failure(.shutdownError))
            }
        }
        try result.get()
    }

    public func close() async { await closeSocket(loop, shared) }
}
