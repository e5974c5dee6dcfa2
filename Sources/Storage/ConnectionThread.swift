import CLibPQ
import Foundation
import Synchronization

/// One dedicated OS thread that runs the jobs of one connection actor: the serial executor behind
/// `PostgresConnection`. Blocking libpq calls therefore run here, never on the cooperative pool.
///
/// The thread sleeps in `poll(2)` on an eventfd (new job, cancellation, shutdown) and, while a
/// connection is idle and listening, on the connection's socket too, so NOTIFY messages are read
/// as they arrive without a statement in flight.
///
/// `@unchecked Sendable` invariant: `queue` and `stopping` live in a `Mutex`; `idleWatch` is read and
/// written only on the owned thread (checked with `assertOnThread()`); `eventFD` is immutable until
/// the thread exits, which happens only after the last reference is gone (`deinit`).
final class ConnectionThread: SerialExecutor, @unchecked Sendable {
    /// What the thread does when the socket of an idle connection becomes readable.
    struct IdleWatch {
        var socket: Int32
        var onReadable: () -> Void
    }

    private struct State {
        var queue: [UnownedJob] = []
        var head = 0
        var stopping = false
    }

    private let state = Mutex(State())
    let wake: WakeFD
    var eventFD: Int32 { wake.fd }
    private let threadID = Mutex<pthread_t?>(nil)
    private var idleWatch: IdleWatch?
    private let name: String

    init(name: String) {
        self.name = name
        self.wake = WakeFD()
        let weak = WeakThread(self)
        let wake = self.wake
        let thread = Thread { ConnectionThread.loop(weak, wake: wake) }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    deinit {
        // Only reachable when no actor holds this executor any more, so no job can be queued.
        state.withLock { $0.stopping = true }
        // The thread holds no strong reference (see ThreadBox), it just needs waking to exit.
        wake.signal()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        state.withLock { s in s.queue.append(unowned) }
        wake.signal()
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    func isSameExclusiveExecutionContext(other: ConnectionThread) -> Bool { self === other }

    /// Lets `assumeIsolated` succeed for code running on the owned thread outside a job
    /// (the idle socket hook); traps anywhere else.
    func checkIsolated() { assertOnThread() }

    /// Traps unless called on the owned thread.
    func assertOnThread() {
        let me = pthread_self()
        let owner = threadID.withLock { $0 }
        precondition(owner.map { pthread_equal($0, me) != 0 } ?? false, "\(name): called off its connection thread")
    }

    /// Installs (or clears) the idle socket watch. Must be called on the owned thread.
    func setIdleWatch(_ watch: IdleWatch?) {
        assertOnThread()
        idleWatch = watch
    }

    private func popJob() -> (UnownedJob?, Bool) {
        state.withLock { s in
            if s.head < s.queue.count {
                let job = s.queue[s.head]
                s.head += 1
                if s.head == s.queue.count { s.queue.removeAll(keepingCapacity: true); s.head = 0 }
                return (job, false)
            }
            return (nil, s.stopping)
        }
    }

    /// The thread body. `self` is held weakly between jobs so `deinit` can run and stop the loop.
    fileprivate static func loop(_ weakSelf: WeakThread, wake: WakeFD) {
        let eventFD = wake.fd
        if let me = weakSelf.value { me.threadID.withLock { $0 = pthread_self() } }
        while true {
            // The strong reference lives only inside `step`, never across the sleep, so the
            // executor's deinit can run while this thread waits.
            switch step(weakSelf) {
            case .ranJob:
                continue
            case .exit:
                return
            case .sleep(let sock, let hook):
                let r = daybreak_poll2(eventFD, sock, Int16(POLLIN), -1)
                if r > 0 && (r & 1) != 0 { _ = daybreak_eventfd_drain(eventFD) }
                if r > 0 && (r & 2) != 0, let hook { hook() }
            }
        }
    }

    private enum Step {
        case ranJob, exit
        case sleep(Int32, (() -> Void)?)
    }

    private static func step(_ weakSelf: WeakThread) -> Step {
        guard let me = weakSelf.value else { return .exit }
        let (job, stop) = me.popJob()
        if let job {
            job.runSynchronously(on: me.asUnownedSerialExecutor())
            return .ranJob
        }
        if stop { return .exit }
        return .sleep(me.idleWatch?.socket ?? -1, me.idleWatch?.onReadable)
    }
}

final class WeakThread: Sendable {
    weak let value: ConnectionThread?
    init(_ t: ConnectionThread) { value = t }
}

/// The eventfd shared by the executor and its thread; closed when both have let go, so neither
/// ever writes to a closed (or reused) descriptor.
final class WakeFD: Sendable {
    let fd: Int32
    init() {
        let fd = daybreak_eventfd_create()
        precondition(fd >= 0, "eventfd failed: errno \(errno)")
        self.fd = fd
    }
    func signal() { _ = daybreak_eventfd_signal(fd) }
    deinit { close(fd) }
}
