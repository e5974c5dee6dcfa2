/// Every failure of the Storage module: a public struct over a private code enum, so new codes
/// never break a caller's `switch`.
///
/// It carries what a person needs to act: the caller's `purpose` ("append order events"), the
/// server's SQLSTATE and message when the server answered, and for decoding failures the column
/// and the offending value.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. Compare with the static members: `error.code == .server`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Raw: String, Hashable, Sendable {
            case server, connectionLost, connectFailed, decoding, poolTimeout, closed, transactionAborted
            case migrationChecksumMismatch, migrationInvalid, notificationOverflow, copyFailed, invalidArgument, cancelled
        }
        fileprivate let raw: Raw
        private init(_ raw: Raw) { self.raw = raw }

        /// The server rejected the statement; `sqlState` says why.
        public static let server = Code(.server)
        /// The connection broke while (or before) the statement ran. It is re-established on the
        /// next call; whether the statement took effect is unknown.
        public static let connectionLost = Code(.connectionLost)
        /// No connection could be made (bad conninfo, server down, authentication).
        public static let connectFailed = Code(.connectFailed)
        /// A value in a row could not be decoded as the requested Swift type.
        public static let decoding = Code(.decoding)
        /// No pooled connection became free within the pool's acquire timeout.
        public static let poolTimeout = Code(.poolTimeout)
        /// The connection or pool was closed.
        public static let closed = Code(.closed)
        /// COMMIT found the transaction already aborted (an earlier statement failed), so it rolled back.
        public static let transactionAborted = Code(.transactionAborted)
        /// An applied migration's SQL no longer matches the checksum recorded when it ran.
        public static let migrationChecksumMismatch = Code(.migrationChecksumMismatch)
        /// The migration list itself is wrong (duplicate or non-increasing versions).
        public static let migrationInvalid = Code(.migrationInvalid)
        /// A listener's buffer filled up; notifications were lost, so the consumer must resynchronise.
        public static let notificationOverflow = Code(.notificationOverflow)
        /// COPY could not send or finish its data.
        public static let copyFailed = Code(.copyFailed)
        /// The calling task was cancelled; a statement in flight was cancelled on the server.
        public static let cancelled = Code(.cancelled)
        /// The caller passed something unusable (e.g. an empty channel name).
        public static let invalidArgument = Code(.invalidArgument)

        public var description: String { raw.rawValue }
    }

    public var code: Code
    /// The caller's short description of the work, e.g. "append order events".
    public var purpose: String
    /// The server's or libpq's primary message.
    public var message: String
    /// Five-character SQLSTATE when the server sent one (e.g. `23505` unique violation).
    public var sqlState: String?
    public var detail: String?
    public var hint: String?
    /// The statement text (never values: statements are parameterized), shortened.
    public var statement: String?
    /// For `.decoding`: the column name and index, and the value as text.
    public var column: String?
    public var value: String?

    public init(_ code: Code, purpose: String, message: String, sqlState: String? = nil, detail: String? = nil,
                hint: String? = nil, statement: String? = nil, column: String? = nil, value: String? = nil) {
        self.code = code
        self.purpose = purpose
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.statement = statement.map(PostgresError.shorten)
        self.column = column
        self.value = value
    }

    /// True for SQLSTATE 23505.
    public var isUniqueViolation: Bool { sqlState == "23505" }
    /// True for SQLSTATE 40001/40P01: the transaction may succeed if retried.
    public var isRetryableTransactionFailure: Bool { sqlState == "40001" || sqlState == "40P01" }

    public var description: String {
        var out = "\(purpose): \(code)"
        if let sqlState { out += " [\(sqlState)]" }
        out += ": \(message)"
        if let column { out += " (column \(column)" + (value.map { ", value \(PostgresError.shorten($0))" } ?? "") + ")" }
        if let detail { out += "; detail: \(detail)" }
        if let hint { out += "; hint: \(hint)" }
        if let statement { out += "; statement: \(statement)" }
        return out
    }

    static func shorten(_ s: String) -> String {
        let limit = 200
        if s.count <= limit { return s }
        return String(s.prefix(limit)) + "…(\(s.utf8.count) bytes)"
    }
}
