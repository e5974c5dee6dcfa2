import CZeroMQ
import Base
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A command from a task to the I/O thread. Carries only Sendable values; the zmq socket pointers
/// never leave the I/O thread.
enum LoopCommand: Sendable {
    case open(OpenSpec, UnsafeContinuation<Result<String, MessagingError>, Never>)
    case request(socket: Int, id: UInt64, deadline: UInt64, Message,
                 UnsafeContinuation<Result<Message, MessagingError>, Never>)
    case cancel(socket: Int, id: UInt64, deadline: UInt64)
    case send(socket: Int, Message)
    case sendBatch(socket: Int, [Message])
    case reply(socket: Int, ReplyAddress, Message)
    case replyBatch(socket: Int, [Reply])
    case subscribe(socket: Int, topic: [UInt8], on: Bool, UnsafeContinuation<Result<Void, MessagingError>, Never>)
    case waitSubscribers(socket: Int, count: Int, topic: [UInt8]?, id: UInt64, deadline: UInt64,
                         UnsafeContinuation<Result<Void, MessagingError>, Never>)
    case resumeReading(socket: Int)
    /// Replaces the context's CURVE authority (nil: refuse every CURVE client).
    case setAuthority((any CurveAuthority)?)
    /// A task job for the loop's TaskExecutor: run it inline on the I/O thread.
    case run(UnownedJob, UnownedTaskExecutor)
    case close(socket: Int, UnsafeContinuation<Void, Never>)
    case shutdown
}

/// What the I/O thread needs to create a socket.
struct OpenSpec: Sendable {
    var shared: SocketShared
    var endpoint: String
    var bind: Bool
    var topics: [[UInt8]] = []
    var requests: BatchChannel<IncomingRequest>? = nil
    var messages: BatchChannel<Message>? = nil
}

/// A zmq context pointer. libzmq documents contexts as thread-safe, and after `init` this one is
/// only read (to create sockets and, once, to terminate on the I/O thread), so sharing it is sound.
struct ContextPointer: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
}

/// The I/O thread and its inbox.
///
/// Tasks call `submit` (a short `Mutex` section plus, only when the thread is asleep in zmq_poll,
/// one eventfd write). The thread runs `LoopState.run`, which owns every zmq socket.
final class IOLoop: Sendable {
    struct Inbox {
        var commands: [LoopCommand] = []
        /// The thread is in (or about to enter) zmq_poll with a timeout: a submit must wake it.
        var sleeping = false
        /// A wake-up is already written since the thread went to sleep.
        var signalled = false
        /// No more commands are accepted (shutdown began).
        var closed = false
    }
    struct Lifecycle {
        var thread: pthread_t? = nil
        var exited = false
        var joined = false
        var exitWaiters: [UnsafeContinuation<Void, Never>] = []
    }

    let inbox = Mutex(Inbox())
    let lifecycle = Mutex(Lifecycle())
    let wakeFD: Int32
    let context: ContextPointer
    let logger: Logger
    let nextSocketID = Atomic<Int>(0)
    /// After any activity the thread keeps polling without sleeping for this long (0: never).
    let busyPollNanos: UInt64

    /// The authority the I/O thread starts with (later changes travel as `.setAuthority`).
    let initialAuthority: (any CurveAuthority)?

    init(logger: Logger, busyPoll: Duration = .zero, authority: (any CurveAuthority)? = nil) throws(MessagingError) {
        self.logger = logger
        self.busyPollNanos = busyPoll.clampedNanoseconds
        self.initialAuthority = authority
        guard let ctx = zmq_ctx_new() else {
            throw MessagingError.fromErrno(.socketError, "zmq_ctx_new", daybreak_errno())
        }
        // ZMQ_BLOCKY 0: zmq_ctx_term must never wait for unsent messages.
        zmq_ctx_set(ctx, ZMQ_BLOCKY, 0)
        let fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        if fd < 0 {
            let e = daybreak_errno()
            zmq_ctx_term(ctx)
            throw MessagingError.fromErrno(.socketError, "eventfd", e)
        }
        wakeFD = fd
        context = ContextPointer(raw: ctx)
    }

    deinit {
        // Closed only here: a submitter that decided to wake the thread still holds a reference
        // while it writes, so the descriptor cannot be reused under it.
        close(wakeFD)
    }

    /// Starts the I/O thread. Called once, right after init.
    func start() throws(MessagingError) {
        let box = Unmanaged.passRetained(ThreadEntry(loop: self)).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { raw in
            let entry = Unmanaged<ThreadEntry>.fromOpaque(raw!).takeRetainedValue()
            entry.loop.threadMain()
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<ThreadEntry>.fromOpaque(box).release()
            zmq_ctx_term(context.raw)
            throw MessagingError.fromErrno(.socketError, "pthread_create", rc)
        }
        lifecycle.withLock { $0.thread = tid }
    }

    /// Enqueues a command; false when the loop no longer accepts commands (the caller then
    /// fails what it holds with `.shutdown`).
    @inline(__always)
    func submit(_ c: LoopCommand) -> Bool {
        let wake: Bool? = inbox.withLock { s in
            if s.closed { return nil }
            s.commands.append(c)
            if s.sleeping && !s.signalled {
                s.signalled = true
                return true
            }
            return false
        }
        guard let wake else { return false }
        if wake { signal() }
        return true
    }

    /// Writes the eventfd (non-blocking; a full counter is impossible at one write per sleep).
    func signal() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    private func threadMain() {
        let state = LoopState(loop: self)
        state.run()
        let waiters = lifecycle.withLock { l in
            l.exited = true
            let w = l.exitWaiters
            l.exitWaiters = []
            return w
        }
        for w in waiters { w.resume() }
    }

    /// Asks the loop to stop, waits until the thread has finished its work, then joins it.
    /// The join waits only for the thread's return after its last statement (microseconds).
    func shutdown() async {
        _ = submit(.shutdown)
        await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in
            let done = lifecycle.withLock { l in
                if l.exited { return true }
                l.exitWaiters.append(c)
                return false
            }
            if done { c.resume() }
        }
        let toJoin: pthread_t? = lifecycle.withLock { l in
            if l.joined { return nil }
            l.joined = true
            return l.thread
        }
        if let t = toJoin { pthread_join(t, nil) }
    }

    /// For a context dropped without `shutdown()`: stop the thread and let it clean up alone.
    func detachAndStop() {
        _ = submit(.shutdown)
        let toDetach: pthread_t? = lifecycle.withLock { l in
            if l.joined { return nil }
            l.joined = true
            return l.thread
        }
        if let t = toDetach { pthread_detach(t) }
    }
}

/// Carries the loop into the new thread (pthread_create takes a context pointer, not a closure).
private final class ThreadEntry {
    let loop: IOLoop
    init(loop: IOLoop) { self.loop = loop }
}
