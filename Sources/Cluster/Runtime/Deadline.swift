import Synchronization

/// A bounded wait: `body` runs in a task of its own while the process's one `DeadlineTimer` holds
/// the deadline (no sleeping timer task per call); at the deadline the body's task is cancelled
/// (Storage and Messaging calls honour cancellation) and the call throws `DeadlineExceeded` once
/// the body has ended. Nothing outlives the call: the body's task is awaited, and cancelled with
/// the caller.
public struct DeadlineExceeded: Error, Sendable, CustomStringConvertible {
    public var what: String
    public var timeout: Duration
    public var description: String { "\(what): no answer within \(timeout)" }
}

/// Runs `body` with a deadline of `timeout`; throws `DeadlineExceeded` when it passes (a body that
/// finished with a value just as the deadline passed still returns its value).
public func withDeadline<T: Sendable>(_ timeout: Duration, _ what: @autoclosure () -> String,
                                      _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let label = what()
    let expired = DeadlineFlag()
    // Owned by this call: awaited below (and cancelled with the caller), never left running.
    let task = Task { try await body() }
    let ticket = DeadlineTimer.shared.schedule(after: timeout) {
        expired.set()
        task.cancel()
    }
    let result = await withTaskCancellationHandler { await task.result } onCancel: { task.cancel() }
    DeadlineTimer.shared.cancel(ticket)
    switch result {
    case .success(let value): return value
    case .failure(let error):
        if expired.isSet { throw DeadlineExceeded(what: label, timeout: timeout) }
        throw error
    }
}

/// A flag set once from any thread (the timer's), read after.
final class DeadlineFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
