/// A bounded wait: `body` runs in a child task beside a timer; whichever ends first wins and the
/// other is cancelled (Storage and Messaging calls honour cancellation). Nothing outlives the call.
public struct DeadlineExceeded: Error, Sendable, CustomStringConvertible {
    public var what: String
    public var timeout: Duration
    public var description: String { "\(what): no answer within \(timeout)" }
}

/// Runs `body` with a deadline of `timeout`; throws `DeadlineExceeded` when it passes.
public func withDeadline<T: Sendable>(_ timeout: Duration, _ what: @autoclosure () -> String,
                                      _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let label = what()
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw DeadlineExceeded(what: label, timeout: timeout)
        }
        return value
    }
}
