import CZeroMQ
import Base
#if canImport(Glibc)
import Glibc
#endif

/// A message waiting in a socket's outbox for libzmq to accept it.
enum Outgoing {
    case request(UInt64, Message)
    case reply(ReplyAddress, Message)
    case plain(Message)
}

/// One socket as the I/O thread sees it. Never leaves that thread (not Sendable).
final class SocketState {
    let shared: SocketShared
    let handle: UnsafeMutableRawPointer
    var outbox: [Outgoing] = []
    var outboxHead = 0
    /// Outbox blocked on a socket whose POLLOUT is always set (ROUTER, XPUB): retry on a timer.
    var retryBlocked = false
    var pending: [UInt64: UnsafeContinuation<Result<Message, MessagingError>, Never>] = [:]
    /// Cancellations that arrived before their request (the task was cancelled before sending).
    var earlyCancels: Set<UInt64> = []
    var readPaused = false
    var requests: BatchChannel<IncomingRequest>?
    var messages: BatchChannel<Message>?
    var subscriptions: [[UInt8]: Int] = [:]
    var activeSubscriptions = 0
    var subscriberWaiters: [UInt64: (count: Int, topic: [UInt8]?, c: UnsafeContinuation<Result<Void, MessagingError>, Never>)] = [:]

    init(shared: SocketShared, handle: UnsafeMutableRawPointer, endpoint: String) {
        self.shared = shared
        self.handle = handle
        self.endpoint = endpoint
    }

    /// The endpoint bound or connected (resolved port), for logs.
    var endpoint: String
    /// The socket's CURVE server configuration, if it serves CURVE (copied once: read per wake).
    var curve: CurveServer?
    /// `options.receiveBufferBytes`: a read batch stops at this many bytes.
    var receiveByteCap = Int.max
    /// A PAIR connected to this socket's monitor (bound tcp/ipc servers and publishers):
    /// connections accepted and closed, handshakes failed. Read every 100 ms, not polled.
    var monitor: UnsafeMutableRawPointer?
    /// Accepted connections by file descriptor (from the monitor).
    var connections: [Int32: PeerConnection] = [:]
    /// A handshake failure reported by the monitor, waiting for its connection's DISCONNECTED.
    var pendingHandshakeFailure: (event: UInt16, value: Int32)?
    /// CURVE servers: the identity last read for a routing id (ZAP metadata), to skip rebuilding it.
    var peerCache: [[UInt8]: PeerIdentity] = [:]
    /// Servers with a rate limit: one token bucket per routing id.
    var buckets: TokenBuckets<[UInt8]>?
    /// Publishers in `.drop` mode: the grace period in nanoseconds (nil: back pressure).
    var dropGrace: UInt64?
    /// Publishers in `.drop` mode: since when the outbox head has been refused (a subscriber
    /// queue full), nil when it is not.
    var blockedSince: UInt64?
    /// Publishers: connections currently behind (events dropped for them).
    var behindCount = 0
    /// A probe timer of the behind connections is in the heap.
    var probeScheduled = false

    /// The timer id of the probe of behind subscribers (correlation ids never reach it).
    static let probeTimer = UInt64.max

    /// ROUTER replies to peers at their high-water mark, per routing id, in order. They stay
    /// counted in the outbox; other peers' replies go past them (no head-of-line blocking).
    var parked: [[UInt8]: [Outgoing]] = [:]
    var parkedCount = 0

    var hasOutbox: Bool { outboxHead < outbox.count || parkedCount > 0 }

    /// The socket's ZMQ_FD, registered with the loop's epoll set. It only says "look again":
    /// libzmq signals it when the socket's state may have changed, and reading ZMQ_EVENTS resets it.
    var notifyFD: Int32 = -1
    /// ZMQ_EVENTS must be read before the loop sleeps: its fd fired, or an operation on the socket
    /// (a send, a receive, reading resumed) may have consumed a signal.
    var check = true
}

/// One accepted connection of a bound socket, as its monitor reported it.
struct PeerConnection {
    /// "ip:port" (getpeername when the monitor reported the accept).
    var address: String
    /// Publishers: since when this subscriber is behind (events dropped for it), nil if it is not.
    var behindSince: UInt64?
    /// Publishers: events published since it fell behind (the estimate of what it missed).
    var dropped = 0
    /// Publishers: when its drops were last logged.
    var lastReport: UInt64 = 0
}

/// Everything the I/O thread owns. Created on that thread and never shared, so it needs no locks.
final class LoopState {
    let loop: IOLoop
    let ctx: UnsafeMutableRawPointer
    let logger: Logger
    var sockets: [Int: SocketState] = [:]
    var order: [SocketState] = []
    var timers = DeadlineHeap()
    /// One zmq_msg_t reused for every receive (zmq_msg_recv releases the previous content).
    let msg: UnsafeMutablePointer<zmq_msg_t>
    var running = true
    /// The context's CURVE authority (`MessagingContext.setCurveAuthority`).
    var authority: (any CurveAuthority)?
    /// The ZAP handler (a ROUTER on inproc://zeromq.zap.01), bound before the first CURVE server.
    var zap: UnsafeMutableRawPointer?
    /// Warning lines per peer: at most one per 10 s per key, with a count of the suppressed ones.
    var warnings = LogLimiter()
    /// The timer that drains the sockets' monitors is in the heap. Monitors are read on this timer
    /// rather than polled: every zmq socket in zmq_poll costs system calls on every wake (measured:
    /// +10 us per tcp round trip with one more socket), and their events are only counted and logged.
    var monitorDrainScheduled = false
    /// The heap entry's socket id for the monitor drain (no socket has it).
    static let monitorDrainSocket = -1
    static let monitorDrainInterval: UInt64 = 100_000_000

    /// The epoll set: the wake eventfd and every socket's ZMQ_FD. A wake costs what is ready, not
    /// what is open (zmq_poll costs a ZMQ_EVENTS read and a poll entry per socket on every wake:
    /// a process with a thousand connected clients paid for all of them on each reply).
    let epfd: Int32
    var zapNotifyFD: Int32 = -1
    var zapCheck = false
    static let wakeKey = UInt64.max
    static let zapKey = UInt64.max - 1

    init(loop: IOLoop) {
        self.loop = loop
        self.ctx = loop.context.raw
        self.logger = loop.logger
        self.authority = loop.initialAuthority
        msg = .allocate(capacity: 1)
        zmq_msg_init(msg)
        epfd = daybreak_epoll_create()
        if epfd >= 0 { _ = Self.watch(epfd, loop.wakeFD, key: Self.wakeKey) }
    }

    deinit {
        zmq_msg_close(msg)
        msg.deallocate()
        if epfd >= 0 { close(epfd) }
    }

    static func watch(_ epfd: Int32, _ fd: Int32, key: UInt64) -> Bool {
        daybreak_epoll_add(epfd, fd, key) == 0
    }

    /// A socket's ZMQ_FD (-1 if libzmq will not say).
    static func notifyFD(_ h: UnsafeMutableRawPointer) -> Int32 {
        var fd: Int32 = -1
        var len = MemoryLayout<Int32>.size
        return zmq_getsockopt(h, ZMQ_FD, &fd, &len) == 0 ? fd : -1
    }

    /// ZMQ_EVENTS of a socket (processes its pending commands; resets its ZMQ_FD).
    static func events(_ h: UnsafeMutableRawPointer) -> Int32 {
        var ev: Int32 = 0
        var len = MemoryLayout<Int32>.size
        return zmq_getsockopt(h, ZMQ_EVENTS, &ev, &len) == 0 ? ev : 0
    }

    /// Reads and writes what the sockets that need a look can do now. Returns whether any socket
    /// still needs a look (then the loop must not sleep).
    func serviceReady() -> Bool {
        for s in order where s.check {
            s.check = false
            let ev = Self.events(s.handle)
            if ev & Int32(ZMQ_POLLIN) != 0, !s.readPaused {
                readable(s)
                s.check = true   // a batch may have stopped at its limit; reading may consume signals
            }
            if ev & Int32(ZMQ_POLLOUT) != 0, s.hasOutbox, !s.retryBlocked {
                let before = s.outbox.count - s.outboxHead + s.parkedCount
                flush(s)
                if s.outbox.count - s.outboxHead + s.parkedCount != before { s.check = true }
            }
        }
        if zapCheck, let z = zap {
            zapCheck = false
            if Self.events(z) & Int32(ZMQ_POLLIN) != 0 {
                serveZAP()
                zapCheck = true
            }
        }
        return zapCheck || order.contains { $0.check }
    }

    // MARK: - The loop

    func run() {
        var ready = [UInt64](repeating: 0, count: 256)
        var batch: [LoopCommand] = []
        batch.reserveCapacity(64)
        let spin = loop.busyPollNanos
        var lastActivity: UInt64 = 0
        while running {
            // Commands, including those that jobs run here submit (a task on the loop's executor
            // sends its next request): a few passes before polling again.
            var passes = 0
            repeat {
                loop.inbox.withLock { swap(&$0.commands, &batch) }
                if batch.isEmpty { break }
                if spin > 0 { lastActivity = monotonicNanos() }
                for c in batch { handle(c) }
                batch.removeAll(keepingCapacity: true)
                passes += 1
            } while running && passes < 4
            if !running { break }

            var retryAfterBlock = false
            for s in order where s.hasOutbox {
                flush(s)
                s.check = true
                if s.retryBlocked { retryAfterBlock = true }
            }
            let now = monotonicNanos()
            expire(now)
            if let z = zap, zapNotifyFD < 0 {
                zapNotifyFD = Self.notifyFD(z)
                if zapNotifyFD >= 0 { _ = Self.watch(epfd, zapNotifyFD, key: Self.zapKey) }
                zapCheck = true
            }
            // A socket whose ZMQ_FD could not be watched is looked at on every wake (and every 10 ms).
            var unwatched = false
            for s in order where s.notifyFD < 0 { s.check = true; unwatched = true }
            // What the sockets can do now (a few passes: a reply read may make room to send).
            var busy = false
            for _ in 0 ..< 4 {
                busy = serviceReady()
                if !busy { break }
            }

            var timeout = -1
            if let d = timers.earliest {
                timeout = d <= now ? 0 : Int((d - now + 999_999) / 1_000_000)
            }
            if retryAfterBlock && (timeout < 0 || timeout > 1) { timeout = 1 }
            if busy { timeout = 0 }
            if unwatched && (timeout < 0 || timeout > 10) { timeout = 10 }

            // Busy polling (opt-in): right after activity, poll without sleeping so neither a
            // reply nor a submit pays a thread wake-up. Costs a core while it lasts.
            let spinning = spin > 0 && now &- lastActivity < spin
            let sleeping = !spinning && loop.inbox.withLock { s -> Bool in
                if !s.commands.isEmpty { return false }
                s.sleeping = true
                return true
            }
            if !sleeping { timeout = 0 }
            let rc = daybreak_epoll_wait(epfd, &ready, Int32(ready.count), Int32(clamping: timeout))
            if sleeping {
                loop.inbox.withLock { s in
                    s.sleeping = false
                    s.signalled = false
                }
            }
            if rc < 0 {
                let e = daybreak_errno()
                if e != EINTR { logger.error("epoll_wait failed", ["errno": e]) }
                continue
            }
            if rc == 0 { continue }
            if spin > 0 { lastActivity = monotonicNanos() }
            for k in 0 ..< Int(rc) {
                let key = ready[k]
                if key == Self.wakeKey {
                    var value: UInt64 = 0
                    _ = read(loop.wakeFD, &value, 8)
                } else if key == Self.zapKey {
                    zapCheck = true
                } else if let s = sockets[Int(truncatingIfNeeded: key)] {
                    s.check = true
                }
            }
        }
        teardown()
    }

    // MARK: - Commands

    func handle(_ c: LoopCommand) {
        switch c {
        case .open(let spec, let k):
            k.resume(returning: open(spec))
        case .request(let sid, let id, let deadline, let m, let k):
            guard let s = sockets[sid] else {
                loop.logger.trace("request on closed socket")
                k.resume(returning: .failure(.shutdownError))
                return
            }
            if s.earlyCancels.remove(id) != nil {
                s.shared.releaseOutbox(1)
                k.resume(returning: .failure(.cancelledError))
                return
            }
            s.pending[id] = k
            timers.push(.init(deadline: deadline, socket: sid, id: id))
            s.outbox.append(.request(id, m))
        case .cancel(let sid, let id, let deadline):
            guard let s = sockets[sid] else { return }
            if let k = s.pending.removeValue(forKey: id) {
                k.resume(returning: .failure(.cancelledError))
            } else {
                // Either already completed (harmless: expires from the set at the deadline)
                // or not yet seen: the request command will find it here.
                s.earlyCancels.insert(id)
                timers.push(.init(deadline: deadline, socket: sid, id: id))
            }
        case .send(let sid, let m):
            guard let s = sockets[sid] else { return }
            s.outbox.append(.plain(m))
        case .sendBatch(let sid, let ms):
            guard let s = sockets[sid] else { return }
            // No reserveCapacity(count + n) here: it defeats geometric growth (quadratic copying).
            for m in ms { s.outbox.append(.plain(m)) }
        case .reply(let sid, let a, let m):
            guard let s = sockets[sid] else { return }
            s.outbox.append(.reply(a, m))
        case .replyBatch(let sid, let rs):
            guard let s = sockets[sid] else { return }
            for r in rs { s.outbox.append(.reply(r.address, r.message)) }
        case .subscribe(let sid, let topic, let on, let k):
            guard let s = sockets[sid] else { k.resume(returning: .failure(.shutdownError)); return }
            let rc = topic.withUnsafeBytes {
                zmq_setsockopt(s.handle, on ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE, $0.baseAddress, $0.count)
            }
            if rc != 0 {
                k.resume(returning: .failure(.fromErrno(.socketError, "zmq_setsockopt(SUBSCRIBE)", daybreak_errno())))
            } else {
                k.resume(returning: .success(()))
            }
        case .waitSubscribers(let sid, let count, let topic, let id, let deadline, let k):
            guard let s = sockets[sid] else { k.resume(returning: .failure(.shutdownError)); return }
            if subscribersSatisfied(s, count: count, topic: topic) {
                k.resume(returning: .success(()))
            } else {
                s.subscriberWaiters[id] = (count, topic, k)
                timers.push(.init(deadline: deadline, socket: sid, id: id))
            }
        case .resumeReading(let sid):
            sockets[sid]?.readPaused = false
            sockets[sid]?.check = true
        case .setAuthority(let a):
            authority = a
        case .run(let job, let executor):
            job.runSynchronously(on: executor)
        case .close(let sid, let k):
            if let s = sockets[sid] { closeSocket(s) }
            k.resume()
        case .shutdown:
            running = false
        }
    }

    /// A command that arrived after shutdown began: fail what it carries.
    func reject(_ c: LoopCommand) {
        switch c {
        case .open(_, let k): k.resume(returning: .failure(.shutdownError))
        case .request(let sid, _, _, _, let k):
            sockets[sid]?.shared.releaseOutbox(1)
            k.resume(returning: .failure(.shutdownError))
        case .subscribe(_, _, _, let k): k.resume(returning: .failure(.shutdownError))
        case .waitSubscribers(_, _, _, _, _, let k): k.resume(returning: .failure(.shutdownError))
        case .close(_, let k): k.resume()
        case .run(let job, _):
            // Never strand a task: after shutdown its job runs on the global executor.
            globalConcurrentExecutor.enqueue(ExecutorJob(job))
        case .cancel, .send, .sendBatch, .reply, .replyBatch, .resumeReading, .setAuthority, .shutdown: break
        }
    }

    // MARK: - Open and close

    func open(_ spec: OpenSpec) -> Result<String, MessagingError> {
        let shared = spec.shared
        let options = shared.options
        let type: Int32 = switch shared.kind {
        case .client: ZMQ_DEALER
        case .server: ZMQ_ROUTER
        case .publisher: ZMQ_XPUB
        case .subscriber: ZMQ_SUB
        }
        if options.curveServer != nil {
            // Fail closed: without a ZAP handler libzmq's CURVE server accepts any client key.
            guard authority != nil else {
                return .failure(MessagingError(.invalidArgument,
                    "a CURVE server needs a CurveAuthority (MessagingContext.setCurveAuthority) before it binds '\(spec.endpoint)'"))
            }
            if let e = openZAPHandler() { return .failure(e) }
        }
        guard let h = zmq_socket(ctx, type) else {
            return .failure(.fromErrno(.socketError, "zmq_socket", daybreak_errno()))
        }
        var failed: String? = nil
        func setInt(_ opt: Int32, _ v: Int32, _ name: String) {
            if failed != nil { return }
            var v = v
            if zmq_setsockopt(h, opt, &v, MemoryLayout<Int32>.size) != 0 { failed = name }
        }
        func setBytes(_ opt: Int32, _ bytes: [UInt8], _ name: String) {
            if failed != nil { return }
            if bytes.withUnsafeBytes({ zmq_setsockopt(h, opt, $0.baseAddress, $0.count) }) != 0 { failed = name }
        }
        setInt(ZMQ_LINGER, 0, "LINGER")
        setInt(ZMQ_SNDHWM, options.sendHighWaterMark, "SNDHWM")
        setInt(ZMQ_RCVHWM, options.receiveHighWaterMark, "RCVHWM")
        if failed == nil {
            var max = Int64(options.maxMessageSize)
            if zmq_setsockopt(h, ZMQ_MAXMSGSIZE, &max, MemoryLayout<Int64>.size) != 0 { failed = "MAXMSGSIZE" }
        }
        if let hb = options.heartbeat {
            let ms = Int32(clamping: hb.components.seconds * 1000 + hb.components.attoseconds / 1_000_000_000_000_000)
            setInt(ZMQ_HEARTBEAT_IVL, ms, "HEARTBEAT_IVL")
            setInt(ZMQ_HEARTBEAT_TIMEOUT, ms &* 3, "HEARTBEAT_TIMEOUT")
            setInt(ZMQ_HEARTBEAT_TTL, min(ms &* 3, 6_553_500), "HEARTBEAT_TTL")
        }
        switch shared.kind {
        case .server: setInt(ZMQ_ROUTER_MANDATORY, 1, "ROUTER_MANDATORY")
        case .publisher:
            // NODROP in both policies: in `.drop` mode a refused send is how a full subscriber
            // queue shows; the flush then waits out the grace period and sends past it.
            setInt(ZMQ_XPUB_VERBOSE, 1, "XPUB_VERBOSE")
            setInt(ZMQ_XPUB_NODROP, 1, "XPUB_NODROP")
        case .subscriber:
            for t in spec.topics { setBytes(ZMQ_SUBSCRIBE, t, "SUBSCRIBE") }
        case .client: break
        }
        if let c = options.curveServer {
            setInt(ZMQ_CURVE_SERVER, 1, "CURVE_SERVER")
            setBytes(ZMQ_CURVE_SECRETKEY, c.keyPair.rawSecret, "CURVE_SECRETKEY")
            // The ZAP domain carries the socket id, so the handler can count a refusal on it.
            setBytes(ZMQ_ZAP_DOMAIN, Array(zapDomain(socket: shared.id, c.domain).utf8), "ZAP_DOMAIN")
        }
        if let c = options.curveClient {
            setBytes(ZMQ_CURVE_SERVERKEY, c.rawServerKey, "CURVE_SERVERKEY")
            setBytes(ZMQ_CURVE_PUBLICKEY, c.keyPair.rawPublic, "CURVE_PUBLICKEY")
            setBytes(ZMQ_CURVE_SECRETKEY, c.keyPair.rawSecret, "CURVE_SECRETKEY")
        }
        if let name = failed {
            let e = daybreak_errno()
            zmq_close(h)
            return .failure(.fromErrno(.socketError, "zmq_setsockopt(\(name))", e))
        }
        // Bound tcp/ipc servers and publishers get a monitor: refused handshakes are counted and
        // logged, and a publisher can name a subscriber that fell behind.
        var monitor: UnsafeMutableRawPointer? = nil
        if spec.bind && (shared.kind == .server || shared.kind == .publisher) && !spec.endpoint.hasPrefix("inproc://") {
            switch openMonitor(h, socket: shared.id) {
            case .success(let m): monitor = m
            case .failure(let e):
                zmq_close(h)
                return .failure(e)
            }
        }
        let rc = spec.bind ? zmq_bind(h, spec.endpoint) : zmq_connect(h, spec.endpoint)
        if rc != 0 {
            let e = daybreak_errno()
            zmq_close(h)
            if let m = monitor { zmq_close(m) }
            let verb = spec.bind ? "bind" : "connect"
            let code: MessagingError.Code =
                (spec.bind && (e == EADDRINUSE || e == EADDRNOTAVAIL || e == ENODEV || e == EACCES))
                ? .bindFailed : .invalidEndpoint
            return .failure(.fromErrno(code, "\(verb) '\(spec.endpoint)'", e))
        }
        var endpoint = spec.endpoint
        if spec.bind {
            var buf = [CChar](repeating: 0, count: 1024)
            var len = buf.count
            if zmq_getsockopt(h, ZMQ_LAST_ENDPOINT, &buf, &len) == 0 {
                endpoint = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            }
        }
        let s = SocketState(shared: shared, handle: h, endpoint: endpoint)
        s.requests = spec.requests
        s.messages = spec.messages
        s.monitor = monitor
        s.curve = options.curveServer
        s.receiveByteCap = options.receiveBufferBytes
        if let r = options.requestRateLimit { s.buckets = TokenBuckets(rate: r.perSecond, burst: r.burst) }
        if shared.kind == .publisher {
            let policy = options.slowSubscribers ?? .automatic(for: spec.endpoint)
            if case .drop(let grace) = policy { s.dropGrace = grace.clampedNanoseconds }
        }
        sockets[shared.id] = s
        order.append(s)
        s.notifyFD = Self.notifyFD(h)
        if s.notifyFD < 0 || !Self.watch(epfd, s.notifyFD, key: UInt64(truncatingIfNeeded: shared.id)) {
            logger.error("a socket's ZMQ_FD could not be watched: it is looked at on every wake", ["endpoint": endpoint])
            s.notifyFD = -1
        }
        if monitor != nil { scheduleMonitorDrain(monotonicNanos()) }
        logger.debug("socket open", ["kind": "\(shared.kind)", "endpoint": endpoint, "bind": spec.bind,
                                     "curve": options.curveServer != nil ? "server" : (options.curveClient != nil ? "client" : "off")])
        return .success(endpoint)
    }

    /// Fails everything the socket holds with `.shutdown`, ends its sequence, closes it.
    func closeSocket(_ s: SocketState) {
        s.shared.closed.store(true, ordering: .sequentiallyConsistent)
        for (_, k) in s.pending { k.resume(returning: .failure(.shutdownError)) }
        s.pending.removeAll()
        for (_, w) in s.subscriberWaiters { w.c.resume(returning: .failure(.shutdownError)) }
        s.subscriberWaiters.removeAll()
        s.shared.wakeSpaceWaiters(failing: .shutdownError)
        s.shared.releaseOutbox(s.outbox.count - s.outboxHead + s.parkedCount)
        s.parked.removeAll()
        s.parkedCount = 0
        s.outbox.removeAll()
        s.outboxHead = 0
        s.requests?.finish()
        s.messages?.finish()
        for (_, c) in s.connections where c.behindSince != nil { reportBehind(s, c, ended: "closed") }
        s.connections.removeAll()
        if s.notifyFD >= 0 {
            _ = daybreak_epoll_del(epfd, s.notifyFD)
            s.notifyFD = -1
        }
        zmq_close(s.handle)
        if let m = s.monitor { zmq_close(m) }
        s.monitor = nil
        logger.debug("socket closed", ["kind": "\(s.shared.kind)", "malformed": s.shared.malformed.load(ordering: .relaxed)])
        sockets[s.shared.id] = nil
        order.removeAll { $0 === s }
    }

    func teardown() {
        // Stop accepting; fail whatever slipped in before the door closed.
        let late = loop.inbox.withLock { s -> [LoopCommand] in
            s.closed = true
            let c = s.commands
            s.commands = []
            return c
        }
        for c in late { reject(c) }
        for s in order { closeSocket(s) }
        if let z = zap { zmq_close(z) }
        zap = nil
        timers.removeAll()
        // LINGER 0 on every socket and BLOCKY 0 on the context: this returns at once.
        zmq_ctx_term(ctx)
    }

    // MARK: - Timers

    func expire(_ now: UInt64) {
        while let e = timers.popDue(now) {
            if e.socket == LoopState.monitorDrainSocket {
                monitorDrainScheduled = false
                for s in order where s.monitor != nil { readMonitor(s) }
                scheduleMonitorDrain(now)
                continue
            }
            guard let s = sockets[e.socket] else { continue }
            if e.id == SocketState.probeTimer {
                s.probeScheduled = false
                probeBehind(s, now)
                continue
            }
            if let k = s.pending.removeValue(forKey: e.id) {
                k.resume(returning: .failure(MessagingError(.timeout, "no reply before the deadline")))
            } else if let w = s.subscriberWaiters.removeValue(forKey: e.id) {
                w.c.resume(returning: .failure(MessagingError(
                    .timeout, "saw \(subscriptionCount(s, topic: w.topic)) of \(w.count) subscriptions before the deadline")))
            } else {
                s.earlyCancels.remove(e.id)
            }
        }
    }
}
