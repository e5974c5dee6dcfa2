/// A remote call's failure as the caller sees it: the callee's `errorReply` code and text, or a
/// local failure before or after the wire (unknown target, timeout, undecodable reply). Never the
/// callee's Swift error type: those are not on the wire.
public struct RemoteCallError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: RemoteErrorCode
    public var message: String

    public init(code: RemoteErrorCode, message: String) { self.code = code; self.message = message }

    /// Whether retrying elsewhere (after refreshing the plan) may succeed: the callee did not own
    /// the region, lost it mid-call, or was overloaded. Retry only calls with an idempotency key.
    public var isRetriable: Bool { [.notOwner, .fenced, .overloaded, .deadlineExceeded].contains(code) }

    public var description: String { "\(code): \(message)" }
}

/// Deadlines on the wire are relative milliseconds (no clock sync between nodes).
public enum WireDeadline {
    /// The `deadlineMillis` to send for a call that must finish within `remaining`: rounded down,
    /// clamped to 0…UInt32.max.
    public static func millis(remaining: Duration) -> UInt32 {
        let ms = remaining.wholeMilliseconds
        return ms <= 0 ? 0 : UInt32(clamping: ms)
    }

    /// The time left for an inbound call that carried `millis` and has waited `queued` since it arrived
    /// (nil: already due; reply `deadlineExceeded` without running it).
    public static func remaining(millis: UInt32, queued: Duration) -> Duration? {
        let left = Duration.milliseconds(Int64(millis)) - queued
        return left > .zero ? left : nil
    }
}

/// An error a distributed method throws that knows its wire code (e.g. a journal write fenced by
/// the database → `fenced`, so an idempotent caller retries at the new owner). Other thrown errors
/// go on the wire as `handlerFailed` with their text.
public protocol RemoteCodedError: Error {
    var remoteErrorCode: RemoteErrorCode { get }
    /// What a remote caller is told: safe to show anyone who may call the target (no SQL, no paths,
    /// no internal state). Default: the code's generic text.
    var safeMessage: String { get }
}

extension RemoteCodedError {
    public var safeMessage: String { RemoteErrorCode.safeText(remoteErrorCode) }
}

extension RemoteErrorCode {
    /// The generic, safe text of a code: what a caller learns when the callee's error is internal.
    public static func safeText(_ code: RemoteErrorCode) -> String {
        switch code {
        case .deadlineExceeded: "the deadline passed before the callee finished"
        case .unknownTarget: "no such call target"
        case .notOwner: "this node does not serve the region now; retry"
        case .badArguments: "the arguments did not decode"
        case .overloaded: "the callee could not answer now; retry with the same idempotency key"
        case .fenced: "the region moved to another owner; retry with the same idempotency key"
        default: "the callee failed (the details are in its log)"
        }
    }
}
