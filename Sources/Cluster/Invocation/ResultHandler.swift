import Distributed
import Synchronization

/// Turns the outcome of `executeDistributedTarget` into the reply message for `correlation`:
/// `.reply` with the encoded value (empty payload for Void) or `.errorReply`.
/// The runtime calls exactly one of its methods; `reply` reads the result afterwards.
public final class ClusterResultHandler: DistributedTargetInvocationResultHandler, Sendable {
    public typealias SerializationRequirement = any Codable

    public let correlation: UInt64
    private let result = Mutex<WireMessage?>(nil)

    public init(correlation: UInt64) { self.correlation = correlation }

    public func onReturn<Success: Codable>(value: Success) async throws {
        let message: WireMessage
        do {
            message = .reply(correlation: correlation, payload: try BinaryEncoder().encode(value))
        } catch {
            message = .errorReply(correlation: correlation, code: .handlerFailed, message: "result does not encode: \(error)")
        }
        result.withLock { $0 = message }
    }

    public func onReturnVoid() async throws {
        result.withLock { $0 = .reply(correlation: correlation, payload: []) }
    }

    /// The error's text goes to the caller; its Swift type does not (it isn't on the wire).
    public func onThrow<Err: Error>(error: Err) async throws {
        let code: RemoteErrorCode = if let coded = error as? any RemoteCodedError { coded.remoteErrorCode }
            else if error is InvocationError || error is WireError { .badArguments } else { .handlerFailed }
        result.withLock { $0 = .errorReply(correlation: correlation, code: code, message: String(describing: error)) }
    }

    /// The reply to send; `.errorReply(handlerFailed)` if the runtime called nothing (it threw before invoking).
    public var reply: WireMessage {
        result.withLock { $0 } ?? .errorReply(correlation: correlation, code: .handlerFailed, message: "no result")
    }
}
