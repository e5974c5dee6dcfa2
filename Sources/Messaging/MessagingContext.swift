import Base
import Synchronization

/// One ZeroMQ context and the I/O thread that owns all its sockets.
///
/// Isolation: every method may be called from any task. Socket work happens on the context's own
/// thread (zmq_poll over all sockets plus an eventfd); tasks only enqueue commands under a short
/// lock, so no thread of the cooperative pool ever blocks in libzmq.
///
/// Shut it down with `shutdown()` (or use `withMessagingContext`): in-flight requests then fail
/// with `.shutdown`, sequences end, sockets close with LINGER 0 and the thread is joined.
/// `inproc://` endpoints are visible only within one context.
public final class MessagingContext: Sendable {
    let loop: IOLoop
    let executor: LoopExecutor

    /// Runs tasks that prefer it on this context's I/O thread (see `withTaskExecutorPreference`).
    /// A request made from such a task costs no thread wake-ups; the task must never block and
    /// should do little work, because it delays every socket of the context.
    public var taskExecutor: any TaskExecutor { executor }

    /// Creates the context and starts its I/O thread. Cost: one thread, one eventfd.
    ///
    /// `busyPoll`: after any activity the I/O thread keeps polling without sleeping for this long,
    /// so replies and submits skip a thread wake-up (lower latency, one core busy meanwhile).
    /// Zero (the default) never spins.
    ///
    /// `curveAuthority`: decides which client keys this context's CURVE servers accept (see
    /// `setCurveAuthority`).
    public init(logger: Logger, busyPoll: Duration = .zero,
                curveAuthority: (any CurveAuthority)? = nil) throws(MessagingError) {
        loop = try IOLoop(logger: logger.child("messaging"), busyPoll: busyPoll, authority: curveAuthority)
        executor = LoopExecutor(loop: loop)
        try loop.start()
    }

    /// Sets (or replaces, or with nil removes) the authority that this context's ZAP handler asks
    /// about every connection to its CURVE servers, and ROUTER servers ask about every message
    /// (`CurveServer.recheckEachMessage`). Takes effect in order with the calls that follow it
    /// (a `bindServer` after it sees it). Without an authority, binding a CURVE server fails and
    /// existing CURVE servers refuse every new connection.
    ///
    /// The authority runs on the I/O thread: it must answer from memory, at once (`CurveAuthority`).
    public func setCurveAuthority(_ authority: (any CurveAuthority)?) {
        _ = loop.submit(.setAuthority(authority))
    }

    deinit { loop.detachAndStop() }

    /// Stops the I/O thread: pending requests fail with `.shutdown`, batch sequences end, sockets
    /// close, the thread is joined. Never hangs on peers. Idempotent.
    public func shutdown() async { await loop.shutdown() }

    // MARK: - Opening sockets

    private func open(_ kind: SocketKind, _ endpoint: String, bind: Bool, options: SocketOptions,
                      topics: [[UInt8]] = [],
                      requests: BatchChannel<IncomingRequest>? = nil,
                      messages: BatchChannel<Message>? = nil,
                      shared: SocketShared) async throws(MessagingError) -> String {
        let spec = OpenSpec(shared: shared, endpoint: endpoint, bind: bind, topics: topics,
                            requests: requests, messages: messages)
        let result = await withUnsafeContinuation { (k: UnsafeContinuation<Result<String, MessagingError>, Never>) in
            if !loop.submit(.open(spec, k)) { k.resume(returning: .failure(.shutdownError)) }
        }
        return try result.get()
    }

    private func makeShared(_ kind: SocketKind, _ options: SocketOptions) throws(MessagingError) -> SocketShared {
        try options.validate(for: kind)
        let id = loop.nextSocketID.wrappingAdd(1, ordering: .relaxed).newValue
        return SocketShared(id: id, kind: kind, options: options)
    }

    private func channel<E: Sendable>(_ shared: SocketShared) -> BatchChannel<E> {
        let loop = self.loop
        let id = shared.id
        return BatchChannel<E>(limit: shared.options.receiveBufferLimit,
                               byteLimit: shared.options.receiveBufferBytes) {
            _ = loop.submit(.resumeReading(socket: id))
        }
    }

    /// A ROUTER bound to `endpoint` that receives requests in batches and replies asynchronously.
    /// `tcp://127.0.0.1:*` picks a free port; `server.endpoint` tells which.
    /// Throws `.invalidEndpoint` or `.bindFailed` with the errno text.
    ///
    /// With `options.curveServer`, only clients the context's `CurveAuthority` accepts get through,
    /// and each request carries its sender's `PeerIdentity`; `.invalidArgument` if the context
    /// has no authority.
    public func bindServer(_ endpoint: String, options: SocketOptions = .init()) async throws(MessagingError) -> RequestServer {
        let shared = try makeShared(.server, options)
        let ch: BatchChannel<IncomingRequest> = channel(shared)
        let resolved = try await open(.server, endpoint, bind: true, options: options, requests: ch, shared: shared)
        return RequestServer(loop: loop, shared: shared, channel: ch, endpoint: resolved)
    }

    /// A DEALER connected to `endpoint` for request-reply with correlation ids and deadlines.
    /// Connecting succeeds before the peer exists (libzmq reconnects in the background).
    public func connectClient(_ endpoint: String, options: SocketOptions = .init()) async throws(MessagingError) -> RequestClient {
        let shared = try makeShared(.client, options)
        let pushes: BatchChannel<Message>? = options.receivePushes ? channel(shared) : nil
        let resolved = try await open(.client, endpoint, bind: false, options: options, messages: pushes, shared: shared)
        return RequestClient(loop: loop, shared: shared, endpoint: resolved, pushes: pushes)
    }

    /// An XPUB bound to `endpoint` (verbose): fan-out with a bounded outbox. A subscriber that cannot
    /// keep up is handled by `options.slowSubscribers` (by default: dropped from over tcp/ipc after
    /// 200 ms, back pressure over inproc). With `options.curveServer`, only subscribers the
    /// context's `CurveAuthority` accepts receive anything.
    public func bindPublisher(_ endpoint: String, options: SocketOptions = .init()) async throws(MessagingError) -> Publisher {
        let shared = try makeShared(.publisher, options)
        let resolved = try await open(.publisher, endpoint, bind: true, options: options, shared: shared)
        return Publisher(loop: loop, shared: shared, endpoint: resolved)
    }

    /// A SUB connected to `endpoint`, subscribed to `topics` (prefixes of the first frame;
    /// `[[]]` means everything). Messages arrive as batches on `messages`.
    public func connectSubscriber(_ endpoint: String, topics: [[UInt8]],
                                  options: SocketOptions = .init()) async throws(MessagingError) -> Subscriber {
        let shared = try makeShared(.subscriber, options)
        let ch: BatchChannel<Message> = channel(shared)
        let resolved = try await open(.subscriber, endpoint, bind: false, options: options,
                                      topics: topics, messages: ch, shared: shared)
        return Subscriber(loop: loop, shared: shared, channel: ch, endpoint: resolved)
    }
}

/// Runs `body` with a fresh context and shuts the context down afterwards, also on error.
public func withMessagingContext<R: Sendable>(
    logger: Logger, busyPoll: Duration = .zero, curveAuthority: (any CurveAuthority)? = nil,
    _ body: (MessagingContext) async throws -> R
) async throws -> R {
    let ctx = try MessagingContext(logger: logger, busyPoll: busyPoll, curveAuthority: curveAuthority)
    do {
        let r = try await body(ctx)
        await ctx.shutdown()
        return r
    } catch {
        await ctx.shutdown()
        throw error
    }
}

/// Closes a socket on the I/O thread and waits until it is closed.
func closeSocket(_ loop: IOLoop, _ shared: SocketShared) async {
    await withUnsafeContinuation { (k: UnsafeContinuation<Void, Never>) in
        if !loop.submit(.close(socket: shared.id, k)) { k.resume() }
    }
}
