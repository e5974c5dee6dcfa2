#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// One timer for many deadlines: a min-heap of deadlines served by ONE dedicated OS thread per
/// process, instead of a sleeping child task per bounded wait. Scheduling is a lock and a heap push
/// (the thread is woken only when the new deadline is earlier than the one it sleeps until);
/// cancelling is a dictionary removal (the heap entry stays, is dropped when it reaches the top, and
/// the heap is rebuilt when most of it is cancelled entries). The thread sleeps until the earliest
/// deadline still pending, so when waits end well before their deadlines (the usual case) it wakes
/// about once per timeout period, not once per wait.
///
/// Actions run on the timer thread when their deadline passes, unless cancelled first; they must be
/// short and never block (resume a continuation, cancel a task, flip a flag). An action that was
/// cancelled never runs; one that started running is not stopped by `cancel` (which then says false).
///
/// `@unchecked Sendable`: every mutable field (`heap`, `actions`, `nextID`, `sleepingUntil`,
/// `started`) is read and written only with `mutex` held (the pthread mutex, which the condition
/// variable needs); the mutex and condition are allocated once in `init` and never freed (the
/// shared timer lives as long as the process).
public final class DeadlineTimer: @unchecked Sendable {
    /// The process's timer (its thread starts on first use).
    public static let shared = DeadlineTimer()

    /// What `schedule` returns, for `cancel`.
    public struct Ticket: Sendable, Hashable {
        let id: UInt64
    }

    private struct Entry {
        var deadline: UInt64
        var id: UInt64
    }

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var heap: [Entry] = []
    private var actions: [UInt64: @Sendable () -> Void] = [:]
    private var nextID: UInt64 = 0
    /// The deadline the thread sleeps until (UInt64.max: without one), nil while it runs.
    private var sleepingUntil: UInt64?
    private var started = false
    /// Actions run so far (tests).
    private var firedCount = 0

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    /// Monotonic nanoseconds (CLOCK_MONOTONIC), the timer's time base.
    static func nowNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    static func nanos(_ d: Duration) -> UInt64 {
        let (s, a) = d.components
        if s < 0 { return 0 }
        if s >= 9_000_000_000 { return 9_000_000_000 * 1_000_000_000 }
        return UInt64(s) * 1_000_000_000 + UInt64(a / 1_000_000_000)
    }

    /// Runs `action` on the timer thread once `timeout` has passed, unless cancelled first.
    public func schedule(after timeout: Duration, _ action: @escaping @Sendable () -> Void) -> Ticket {
        schedule(nanos: Self.nowNanos() &+ Self.nanos(timeout), action)
    }

    /// Runs `action` on the timer thread at `deadline`, unless cancelled first.
    public func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void) -> Ticket {
        schedule(after: max(.zero, deadline - .now), action)
    }

    private func schedule(nanos deadline: UInt64, _ action: @escaping @Sendable () -> Void) -> Ticket {
        pthread_mutex_lock(mutex)
        nextID &+= 1
        let id = nextID
        actions[id] = action
        push(Entry(deadline: deadline, id: id))
        let startThread = !started
        started = true
        // Wake the thread only when it sleeps past this deadline.
        if let until = sleepingUntil, deadline < until { pthread_cond_signal(condition) }
        if heap.count > 1_024, heap.count > 4 * actions.count { compact() }
        pthread_mutex_unlock(mutex)
        if startThread {
            let t = Thread { [self] in self.loop() }
            t.name = "daybreak-deadlines"
            t.stackSize = 256 << 10
            t.start()
        }
        return Ticket(id: id)
    }

    /// Cancels `ticket`'s action: true when it had not run (it never will), false when it already ran.
    @discardableResult
    public func cancel(_ ticket: Ticket) -> Bool {
        pthread_mutex_lock(mutex)
        let removed = actions.removeValue(forKey: ticket.id) != nil
        pthread_mutex_unlock(mutex)
        return removed
    }

    /// Deadlines scheduled and not yet run or cancelled.
    public var pending: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return actions.count
    }

    /// Actions run so far.
    public var fired: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return firedCount
    }

    private func loop() {
        var due: [@Sendable () -> Void] = []
        pthread_mutex_lock(mutex)
        while true {
            let now = Self.nowNanos()
            while let top = heap.first, top.deadline <= now {
                popFirst()
                if let a = actions.removeValue(forKey: top.id) { due.append(a) }
            }
            if !due.isEmpty {
                firedCount += due.count
                sleepingUntil = nil
                pthread_mutex_unlock(mutex)
                for a in due { a() }
                due.removeAll(keepingCapacity: true)
                pthread_mutex_lock(mutex)
                continue
            }
            // Cancelled entries at the top are dropped now, so the thread sleeps until the earliest
            // LIVE deadline: most waits end long before their deadline, and waking at each of their
            // stale deadlines would cost a wake-up per wait (what a timer task per call costs).
            while let top = heap.first, actions[top.id] == nil { popFirst() }
            if let next = heap.first?.deadline {
                sleepingUntil = next
                var ts = timespec(tv_sec: Int(next / 1_000_000_000), tv_nsec: Int(next % 1_000_000_000))
                pthread_cond_timedwait(condition, mutex, &ts)
            } else {
                sleepingUntil = .max
                pthread_cond_wait(condition, mutex)
            }
            sleepingUntil = nil
        }
    }

    // MARK: - The heap (mutex held)

    private func push(_ e: Entry) {
        heap.append(e)
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if heap[p].deadline <= heap[i].deadline { break }
            heap.swapAt(p, i)
            i = p
        }
    }

    private func popFirst() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private func siftDown(_ start: Int) {
        var i = start
        let n = heap.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n, heap[l].deadline < heap[m].deadline { m = l }
            if r < n, heap[r].deadline < heap[m].deadline { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            i = m
        }
    }

    /// Drops cancelled entries and re-heapifies (O(n), when cancelled entries are most of the heap).
    private func compact() {
        heap.removeAll { actions[$0.id] == nil }
        var i = heap.count / 2
        while i > 0 { i -= 1; siftDown(i) }
    }
}
