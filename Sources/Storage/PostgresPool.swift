import Base
import Synchronization

/// A small pool of `PostgresConnection`s (each on its own thread), opened lazily up to `size`.
///
/// Bounded waiting: when every connection is leased, a borrower waits at most `acquireTimeout`
/// and then gets `.poolTimeout`; cancelling the waiting task ends the wait with `.cancelled`.
/// Waiters are served first come, first served.
///
/// Isolation: the pool's bookkeeping lives in a `Mutex` (no actor), so a cancellation handler can
/// remove a waiter synchronously. Checking for a free connection and taking it happen under one lock.
public final class PostgresPool: Sendable {
    public let configuration: PostgresConfiguration
    public let size: Int
    public let acquireTimeout: Duration
    private let logger: Logger

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<PostgresConnection, any Error>
    }

    private struct State {
        var idle: [PostgresConnection] = []
        /// Open or opening connections (idle + leased + being connected).
        var total = 0
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        /// Waiters between id allocation and completion (queued or about to queue).
        var pending: Set<UInt64> = []
        /// Pending waiters whose task was cancelled before they queued. Both sets stay bounded
        /// by the number of waiting tasks.
        var cancelledEarly: Set<UInt64> = []
        var closed = false
    }

    private let state = Mutex(State())

    public init(_ configuration: PostgresConfiguration = PostgresConfiguration(), size: Int = 4,
                acquireTimeout: Duration = .seconds(5), logger: Logger) {
        precondition(size > 0, "pool size must be positive")
        self.configuration = configuration
        self.size = size
        self.acquireTimeout = acquireTimeout
        self.logger = logger.child("pool")
    }

    /// Leases a connection for the duration of `body` (which runs in the caller's isolation) and
    /// returns it afterwards, rolling back any transaction the body left open.
    /// - Throws: `.poolTimeout`, `.cancelled`, `.closed`, `.connectFailed`, or whatever `body` throws.
    public func withConnection<T>(isolation: isolated (any Actor)? = #isolation,
                                  _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let c = try await lease()
        do {
            let r = try await body(c)
            await giveBack(c)
            return r
        } catch {
            await giveBack(c)
            throw error
        }
    }

    /// `withConnection` + `withTransaction`: rolled back if `body` throws or the task is cancelled.
    public func withTransaction<T>(isolation: isolated (any Actor)? = #isolation,
                                   _ isolationLevel: PostgresIsolation = .readCommitted, purpose: String,
                                   _ body: (PostgresTransaction) async throws -> T) async throws -> T {
        try await withConnection { c in
            try await c.withTransaction(isolationLevel, purpose: purpose, body)
        }
    }

    /// One statement on any free connection.
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = [],
                      purpose: String) async throws -> PostgresRows {
        try await withConnection { c in try await c.query(sql, parameters, purpose: purpose) }
    }

    /// One statement on any free connection; returns the affected row count.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [any PostgresEncodable] = [],
                        purpose: String) async throws -> Int {
        try await withConnection { c in try await c.execute(sql, parameters, purpose: purpose) }
    }

    /// Closes idle connections now and leased ones when they come back; fails waiters with `.closed`.
    public func close() async {
        let (idle, waiters) = state.withLock { s in
            s.closed = true
            let r = (s.idle, s.waiters)
            s.total -= s.idle.count
            s.idle = []
            s.waiters = []
            s.pending = []
            s.cancelledEarly = []
            return r
        }
        for w in waiters { w.continuation.resume(throwing: PostgresError(.closed, purpose: "lease connection", message: "pool closed")) }
        for c in idle { await c.close() }
    }

    // MARK: leasing

    private enum Plan {
        case use(PostgresConnection)
        case open
        case wait
        case closed
    }

    func lease() async throws -> PostgresConnection {
        if Task.isCancelled { throw PostgresError(.cancelled, purpose: "lease connection", message: "the task was cancelled") }
        let plan: Plan = state.withLock { s in
            if s.closed { return .closed }
            if let c = s.idle.popLast() { return .use(c) }
            if s.total < size { s.total += 1; return .open }
            return .wait
        }
        switch plan {
        case .use(let c):
            return c
        case .closed:
            throw PostgresError(.closed, purpose: "lease connection", message: "pool closed")
        case .open:
            do {
                return try await PostgresConnection.connect(configuration, logger: logger)
            } catch {
                state.withLock { $0.total -= 1 }
                throw error
            }
        case .wait:
            return try await waitForConnection()
        }
    }

    private func waitForConnection() async throws -> PostgresConnection {
        let id = state.withLock { s in
            let id = s.nextWaiterID
            s.nextWaiterID += 1
            s.pending.insert(id)
            return id
        }
        let timeout = acquireTimeout
        // The timer is a child task of this group, so nothing outlives the call.
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await Task.sleep(for: timeout)
                self.failWaiter(id, PostgresError(.poolTimeout, purpose: "lease connection",
                                                  message: "no connection free within \(timeout) (pool size \(self.size))"))
            }
            defer { group.cancelAll() }
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (cont: CheckedContinuation<PostgresConnection, any Error>) in
                    let outcome: PostgresConnection?? = state.withLock { s in
                        if s.cancelledEarly.remove(id) != nil || s.closed { s.pending.remove(id); return .some(nil) }
                        // A connection may have come back between our first look and now.
                        if let c = s.idle.popLast() { s.pending.remove(id); return .some(c) }
                        s.waiters.append(Waiter(id: id, continuation: cont))
                        return .none
                    }
                    switch outcome {
                    case .none: break
                    case .some(.some(let c)): cont.resume(returning: c)
                    case .some(.none): cont.resume(throwing: PostgresError(.cancelled, purpose: "lease connection",
                                                                           message: "cancelled or pool closed"))
                    }
                }
            } onCancel: {
                let handled = self.failWaiter(id, PostgresError(.cancelled, purpose: "lease connection", message: "the task was cancelled"))
                if !handled {
                    // Not queued yet (mark it) or already served (nothing to do).
                    self.state.withLock { s in if s.pending.contains(id) { s.cancelledEarly.insert(id) } }
                }
            }
        }
    }

    /// Resumes waiter `id` with `error` if it is still waiting; true if it was.
    @discardableResult
    private func failWaiter(_ id: UInt64, _ error: PostgresError) -> Bool {
        let w: Waiter? = state.withLock { s in
            guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            s.pending.remove(id)
            return s.waiters.remove(at: i)
        }
        w?.continuation.resume(throwing: error)
        return w != nil
    }

    private func giveBack(_ c: PostgresConnection) async {
        await c.rollbackIfOpen()
        let (waiter, closeIt): (Waiter?, Bool) = state.withLock { s in
            if s.closed { s.total -= 1; return (nil, true) }
            if !s.waiters.isEmpty {
                let w = s.waiters.removeFirst()
                s.pending.remove(w.id)
                return (w, false)
            }
            s.idle.append(c)
            return (nil, false)
        }
        if let waiter { waiter.continuation.resume(returning: c) }
        if closeIt { await c.close() }
    }
}
