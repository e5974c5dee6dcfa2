import CZeroMQ

/// A failure from the Messaging module: a stable code to branch on, plus text for a person.
///
/// Errors are a public struct over a private code enum (swift-service-lifecycle style), so new
/// codes can be added without breaking callers that switch on `code`.
public struct MessagingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, as a value to compare against (`error.code == .timeout`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Raw: String, Hashable, Sendable {
            case timeout, outboxFull, shutdown, cancelled, invalidEndpoint, bindFailed
            case malformedFrame, invalidArgument, socketError
            case invalidKey, insecureKeyFile, keyFile, unsupported
        }
        private let raw: Raw
        private init(_ raw: Raw) { self.raw = raw }

        /// A request got no reply before its deadline (the peer may be dead: a DEALER never says).
        public static let timeout = Code(.timeout)
        /// The socket's bounded outbox (or its limit of pending requests) is full; nothing was queued.
        public static let outboxFull = Code(.outboxFull)
        /// The context or the socket was shut down; in-flight requests fail with this.
        public static let shutdown = Code(.shutdown)
        /// The awaiting task was cancelled.
        public static let cancelled = Code(.cancelled)
        /// The endpoint string is not one libzmq accepts (bad transport, syntax, unresolvable host).
        public static let invalidEndpoint = Code(.invalidEndpoint)
        /// The endpoint is valid but could not be bound (address in use, not available).
        public static let bindFailed = Code(.bindFailed)
        /// A peer sent frames that do not follow the envelope (see Docs/MESSAGING.md).
        public static let malformedFrame = Code(.malformedFrame)
        /// A caller passed a value outside its documented range.
        public static let invalidArgument = Code(.invalidArgument)
        /// Any other libzmq failure; `errno` and the message say which.
        public static let socketError = Code(.socketError)
        /// A CURVE key is not 40 characters of Z85 (or a public key does not match its secret key);
        /// the message names which key.
        public static let invalidKey = Code(.invalidKey)
        /// A secret key file is readable or writable by its group or others; the message names the
        /// file, its mode and the fix.
        public static let insecureKeyFile = Code(.insecureKeyFile)
        /// A key file could not be read or written (missing, not a regular file, I/O error);
        /// `errno` and the message say which.
        public static let keyFile = Code(.keyFile)
        /// The linked libzmq lacks a capability (CURVE without libsodium).
        public static let unsupported = Code(.unsupported)

        public var description: String { raw.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// What happened, with the endpoint or value involved and, for C failures, `zmq_strerror`.
    public let message: String
    /// The errno of the failing libzmq call, when there was one.
    public let errno: Int32?

    public init(_ code: Code, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String {
        if let e = errno { return "\(code): \(message) (errno \(e))" }
        return "\(code): \(message)"
    }

    static let shutdownError = MessagingError(.shutdown, "messaging context or socket shut down")
    static let cancelledError = MessagingError(.cancelled, "task cancelled")

    /// An error from the errno of the libzmq call that just failed.
    static func fromErrno(_ code: Code, _ what: String, _ e: Int32) -> MessagingError {
        let text = String(cString: zmq_strerror(e))
        return MessagingError(code, "\(what): \(text)", errno: e)
    }
}
