import Distributed
import Synchronization

/// Turns the outcome of `executeDistributedTarget` into the reply message for `correlation`:
/// `.reply` with the encoded value (empty payload for Void) or `.errorReply`.
/// The runtime calls exactly one of its methods; `reply` reads the result afterwards.
public final class ClusterResultHandler: DistributedTargetInvocationResultHandler, Sendable {
    public typealias SerializationRequirement = any Codable

    public let correlation: UInt64
    private let result = Mutex<WireMessage?>(nil)

    public init(correlation: UInt64, onInternalError: (@Sendable (RemoteErrorCode, String) -> Void)? = nil) {
        self.correlation = correlation; self.onInternalError = onInternalError
    }

    public func onReturn<Success: Codable>(value: Success) async throws {
        let message: WireMessage
        do {
            message = .reply(correlation: correlation, payload: try BinaryEncoder().encode(value))
        } catch {
            onInternalError?(.handlerFailed, "result does not encode: \(error)")
            message = .errorReply(correlation: correlation, code: .handlerFailed, message: RemoteErrorCode.safeText(.handlerFailed))
        }
        result.withLock { $0 = message }
    }

    public func onReturnVoid() async throws {
        result.withLock { $0 = .reply(correlation: correlation, payload: []) }
    }

    /// The caller gets the error's wire code and a safe message (`RemoteCodedError.safeMessage`:
    /// what it may know, never SQL, file paths or internal state); the full text goes to
    /// `onInternalError` (the node's log). Its Swift type is not on the wire.
    public func onThrow<Err: Error>(error: Err) async throws {
        let code: RemoteErrorCode = if let coded = error as? any RemoteCodedError { coded.remoteErrorCode }
            else if error is InvocationError || error is WireError { .badArguments } else { .handlerFailed }
        let safe = (error as? any RemoteCodedError)?.safeMessage ?? RemoteErrorCode.safeText(code)
        onInternalError?(code, String(describing: error))
        result.withLock { $0 = .errorReply(correlation: correlation, code: code, message: safe) }
    }

    /// Where the full text of a thrown error goes (the node logs it); nil: nowhere.
    let onInternalError: (@Sendable (RemoteErrorCode, String) -> Void)?

    /// The reply to send; `.errorReply(handlerFailed)` if the runtime called nothing (it threw before invoking).
    public var reply: WireMessage {
        result.withLock { $0 } ?? .errorReply(correlation: correlation, code: .handlerFailed, message: "no result")
    }
}
