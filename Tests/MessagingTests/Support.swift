import Testing
import Base
@testable import Messaging

/// A logger for tests: warnings and up, to stderr.
let testLogger = Logger(label: "test", level: .warning)

/// Waits (yielding, never sleeping) until `condition` holds or `timeout` passes; returns whether it held.
func eventually(within timeout: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
    let end = ContinuousClock.now + timeout
    while ContinuousClock.now < end {
        if condition() { return true }
        await Task.yield()
    }
    return condition()
}

/// Runs an echo server (replies with the request's frames) until the server closes.
func echoServer(_ server: RequestServer) async throws {
    try await server.serve { $0.message }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// The code of a MessagingError thrown by `body`, or nil when it succeeded.
func errorCode<T>(_ body: () async throws -> T) async -> MessagingError.Code? {
    do {
        _ = try await body()
        return nil
    } catch let error as MessagingError {
        return error.code
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}
