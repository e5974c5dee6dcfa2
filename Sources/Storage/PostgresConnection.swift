import Base
import CLibPQ
import Foundation
import Synchronization

/// One PostgreSQL connection, served by its own OS thread (the actor's executor is a
/// `ConnectionThread`), so every blocking libpq call runs off the cooperative pool.
///
/// Isolation: all state is actor-isolated and therefore touched only on the connection thread.
/// Statements run one at a time in arrival order. A connection serves one logical user at a
/// time: take it from a `PostgresPool` (or own it) rather than sharing it between tasks, or
/// statements of different tasks interleave inside each other's transactions.
///
/// Failure model: when the connection breaks, the statement in flight (or the next one, if it
/// broke while idle) throws `.connectionLost`; the call after that reconnects first. Inside a
/// transaction, every statement until the transaction ends throws `.connectionLost` (the server
/// rolled it back), so no statement can silently run outside the transaction it belongs to.
public actor PostgresConnection {
    let thread: ConnectionThread
    nonisolated public var unownedExecutor: UnownedSerialExecutor { thread.asUnownedSerialExecutor() }

    let configuration: PostgresConfiguration
    let logger: Logger
    private let notices: NoticeSink
    private let handle: LibpqHandle
    var conn: OpaquePointer? {
        get { handle.conn }
        set { handle.conn = newValue }
    }
    private var cancelHandle: OpaquePointer? {
        get { handle.cancel }
        set { handle.cancel = newValue }
    }
    /// The connection broke; reconnect before the next statement.
    var needsReset = false
    /// True from BEGIN until COMMIT/ROLLBACK while the connection broke inside the transaction.
    var transactionBroken = false
    var closed = false
    // Listening state (see PostgresConnection+Listen.swift).
    var channels: [String] = []
    var notificationContinuation: AsyncThrowingStream<PostgresNotification, any Error>.Continuation?
    var statementsRun = 0

    init(configuration: PostgresConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.notices = NoticeSink(logger: logger.child("notice"))
        self.thread = ConnectionThread(name: "pg-conn")
        self.handle = LibpqHandle(owner: thread)
    }

    /// Opens a connection (blocking connect on the connection's own thread).
    /// - Throws: `.connectFailed` with libpq's message.
    public static func connect(_ configuration: PostgresConfiguration = PostgresConfiguration(),
                               logger: Logger) async throws(PostgresError) -> PostgresConnection {
        let c = PostgresConnection(configuration: configuration, logger: logger)
        try await c.open()
        return c
    }


    /// Closes the connection. Later calls throw `.closed`. A listener's stream finishes.
    public func close() {
        closed = true
        finishNotifications(throwing: nil)
        dropConnection()
    }

    /// The server process id serving this connection (for diagnostics, e.g. pg_terminate_backend).
    public func backendPID() throws(PostgresError) -> Int32 {
        try ensureConnected(purpose: "read backend pid")
        return PQbackendPID(conn)
    }

    // MARK: connecting

    func open() throws(PostgresError) {
        // PQconnectdbParams with expand_dbname: the caller's conninfo/URI is expanded from the
        // `dbname` slot and, coming last, overrides our defaults; an empty one means PG* variables.
        var keys = ["fallback_application_name"]
        var values = [configuration.applicationName]
        if ProcessInfo.processInfo.environment["PGCONNECT_TIMEOUT"] == nil {
            keys.append("connect_timeout")
            values.append(String(configuration.connectTimeoutSeconds))
        }
        keys.append("dbname")
        values.append(configuration.conninfo)
        let c = withCStrings(keys) { k in withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
        guard let c, PQstatus(c) == CONNECTION_OK else {
            let msg = c.map { errorMessage($0) } ?? "out of memory"
            if let c { PQfinish(c) }
            throw PostgresError(.connectFailed, purpose: "connect", message: msg)
        }
        conn = c
        do {
            try configureSession(purpose: "connect")
        } catch {
            // Never keep a connection whose session settings (UTC, ISO dates) are not in place.
            dropConnection()
            throw PostgresError(.connectFailed, purpose: "connect", message: error.message, sqlState: error.sqlState)
        }
    }

    private func configureSession(purpose: String) throws(PostgresError) {
        guard let conn else { return }
        handle.notices = notices
        PQsetNoticeReceiver(conn, noticeReceiver, Unmanaged.passUnretained(notices).toOpaque())
        if PQsetClientEncoding(conn, "UTF8") != 0 {
            throw PostgresError(.connectFailed, purpose: purpose, message: "cannot set client_encoding UTF8: \(errorMessage(conn))")
        }
        // Fixed settings the decoders rely on; constant SQL, no values.
        _ = try runSimple("SET TimeZone TO 'UTC'; SET DateStyle TO 'ISO, YMD'; SET IntervalStyle TO 'iso_8601'",
                          purpose: purpose, ticket: nil)
        if let cancelHandle { PQfreeCancel(cancelHandle) }
        cancelHandle = PQgetCancel(conn)
    }

    /// Makes sure a healthy connection exists, reconnecting after a loss. Throws `.closed`,
    /// `.connectionLost` (inside a broken transaction) or `.connectFailed`.
    func ensureConnected(purpose: String) throws(PostgresError) {
        if closed { throw PostgresError(.closed, purpose: purpose, message: "connection is closed") }
        if transactionBroken {
            throw PostgresError(.connectionLost, purpose: purpose,
                                message: "connection was lost inside this transaction; it was rolled back")
        }
        if conn == nil || needsReset || PQstatus(conn) != CONNECTION_OK {
            logger.info("reconnecting to PostgreSQL", ["purpose": purpose])
            dropConnection()
            needsReset = false
            do { try open() } catch {
                throw PostgresError(.connectFailed, purpose: purpose, message: error.message)
            }
            if !channels.isEmpty { try relisten(purpose: purpose) }
        }
    }

    private func dropConnection() {
        thread.setIdleWatch(nil)
        if let cancelHandle { PQfreeCancel(cancelHandle) }
        cancelHandle = nil
        if let conn { PQfinish(conn) }
        conn = nil
    }

    // MARK: running statements (connection thread only)

    /// One extended-protocol statement with parameters.
    func runParams(_ sql: String, _ binds: [PostgresBind], purpose: String,
                   ticket: CancelTicket?) throws(PostgresError) -> PostgresRows {
        try ensureConnected(purpose: purpose)
        if ticket?.isCancelled == true { throw cancelled(purpose, sql) }
        for (i, b) in binds.enumerated() where b.format == .text && b.bytes?.contains(0) == true {
            // libpq reads text parameters as C strings: a NUL would silently cut the value.
            throw PostgresError(.invalidArgument, purpose: purpose, message: "text parameter $\(i + 1) contains a NUL byte",
                                statement: sql)
        }
        let sent = sendParams(sql, binds)
        guard sent else { throw failure(nil, purpose: purpose, sql: sql) }
        return try collect(purpose: purpose, sql: sql, ticket: ticket)
    }

    /// A simple-protocol script: several statements, no parameters (migrations, fixed SQL).
    func runSimple(_ sql: String, purpose: String, ticket: CancelTicket?) throws(PostgresError) -> PostgresRows {
        try ensureConnected(purpose: purpose)
        if ticket?.isCancelled == true { throw cancelled(purpose, sql) }
        guard PQsendQuery(conn, sql) == 1 else { throw failure(nil, purpose: purpose, sql: sql) }
        return try collect(purpose: purpose, sql: sql, ticket: ticket)
    }

    func sendParams(_ sql: String, _ binds: [PostgresBind]) -> Bool {
        let n = binds.count
        var types = [UInt32](repeating: 0, count: n)
        var lengths = [Int32](repeating: 0, count: n)
        var formats = [Int32](repeating: 0, count: n)
        var offsets = [Int](repeating: -1, count: n)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(binds.reduce(0) { $0 + ($1.bytes?.count ?? 0) + 1 })
        for (i, b) in binds.enumerated() {
            types[i] = b.typeOID
            formats[i] = b.format.rawValue
            if let bytes = b.bytes {
                offsets[i] = buffer.count
                lengths[i] = Int32(bytes.count)
                buffer.append(contentsOf: bytes)
                buffer.append(0) // text parameters must be NUL-terminated
            }
        }
        return buffer.withUnsafeBufferPointer { buf -> Bool in
            let base = UnsafeRawPointer(buf.baseAddress ?? UnsafePointer(bitPattern: 1)!)
            let values: [UnsafePointer<CChar>?] = offsets.map { off in
                off < 0 ? nil : (base + off).assumingMemoryBound(to: CChar.self)
            }
            return PQsendQueryParams(conn, sql, Int32(n), types, values, lengths, formats, 0) == 1
        }
    }

    enum Outcome {
        case done(PostgresRows)
        case copyIn
    }

    /// Reads every result of the statement in flight, waiting in poll(2) on the socket and the
    /// wake eventfd so a cancellation can interrupt the wait (by PQcancel, from this thread).
    func collect(purpose: String, sql: String, ticket: CancelTicket?) throws(PostgresError) -> PostgresRows {
        switch try collectOutcome(purpose: purpose, sql: sql, ticket: ticket, allowCopyIn: false) {
        case .done(let rows): return rows
        case .copyIn: fatalError("unreachable: copy-in not allowed here")
        }
    }

    func collectOutcome(purpose: String, sql: String, ticket: CancelTicket?,
                        allowCopyIn: Bool) throws(PostgresError) -> Outcome {
        statementsRun += 1
        var firstError: PostgresError?
        var last: PostgresRows?
        var cancelSent = false
        let sock = PQsocket(conn)
        while true {
            if PQconsumeInput(conn) == 0 {
                throw failure(nil, purpose: purpose, sql: sql)
            }
            while PQisBusy(conn) == 0 {
                guard let res = PQgetResult(conn) else {
                    drainNotifications()
                    if let firstError {
                        if firstError.sqlState == "57014", ticket?.isCancelled == true { throw cancelled(purpose, sql) }
                        throw firstError
                    }
                    return .done(last ?? PostgresRows.empty(purpose: purpose))
                }
                defer { PQclear(res) }
                switch PQresultStatus(res) {
                case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY, PGRES_SINGLE_TUPLE:
                    last = extractRows(res, purpose: purpose)
                case PGRES_COPY_IN where allowCopyIn:
                    return .copyIn
                case PGRES_COPY_IN:
                    _ = PQputCopyEnd(conn, "COPY FROM STDIN is only supported through copyIn")
                case PGRES_COPY_OUT, PGRES_COPY_BOTH:
                    // Not supported: fail loudly rather than hang.
                    dropConnection(); needsReset = true
                    throw PostgresError(.invalidArgument, purpose: purpose, message: "COPY TO STDOUT is not supported",
                                        statement: sql)
                default:
                    if firstError == nil { firstError = failure(res, purpose: purpose, sql: sql) }
                    if needsReset { throw firstError! }
                }
            }
            // Once a cancel was sent, wake periodically and send it again: a cancel request that
            // reaches the backend before it starts executing the statement is ignored by the server.
            let ready = daybreak_poll2(thread.eventFD, sock, Int16(POLLIN), cancelSent ? 200 : -1)
            if ready < 0 { throw failure(nil, purpose: purpose, sql: sql) }
            if ready & 1 != 0 { _ = daybreak_eventfd_drain(thread.eventFD) }
            if ticket?.isCancelled == true, !cancelSent || ready == 0 {
                cancelSent = true
                requestCancel()
            }
        }
    }

    /// Asks the server to cancel the statement in flight (blocking; on this thread).
    func requestCancel() {
        guard let cancelHandle else { return }
        var buf = [CChar](repeating: 0, count: 256)
        if PQcancel(cancelHandle, &buf, Int32(buf.count)) == 0 {
            let msg = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            logger.warning("cancel request failed", ["error": msg])
        }
    }

    func cancelled(_ purpose: String, _ sql: String) -> PostgresError {
        PostgresError(.cancelled, purpose: purpose, message: "the task was cancelled", statement: sql)
    }

    /// Builds the error for a failed result (or for the connection when `res` is nil), and notes
    /// a lost connection so the next call reconnects.
    func failure(_ res: OpaquePointer?, purpose: String, sql: String) -> PostgresError {
        func field(_ code: UInt8) -> String? {
            guard let res, let p = PQresultErrorField(res, Int32(code)) else { return nil }
            return String(cString: p)
        }
        let sqlState = field(UInt8(ascii: "C"))
        let primary = field(UInt8(ascii: "M"))
            ?? res.flatMap { PQresultErrorMessage($0).map { String(cString: $0) } }
            ?? conn.map { errorMessage($0) } ?? "no connection"
        // 57P01 admin shutdown / terminate, 57P02 crash shutdown, 57P03 cannot connect now, 08xxx connection exceptions.
        let lostByCode = sqlState.map { $0 == "57P01" || $0 == "57P02" || $0 == "57P03" || $0.hasPrefix("08") } ?? false
        let lost = conn == nil || PQstatus(conn) != CONNECTION_OK || lostByCode || (res == nil && sqlState == nil)
        if lost {
            needsReset = true
            if PQtransactionStatus(conn) != PQTRANS_IDLE || inTransaction { transactionBroken = inTransaction }
            thread.setIdleWatch(nil)
            if notificationContinuation != nil {
                finishNotifications(throwing: PostgresError(.connectionLost, purpose: "listen",
                                                            message: primary.trimmingTrailingNewlines))
            }
            logger.warning("PostgreSQL connection lost", ["purpose": purpose, "error": primary.trimmingTrailingNewlines])
            return PostgresError(.connectionLost, purpose: purpose, message: primary.trimmingTrailingNewlines,
                                 sqlState: sqlState, statement: sql)
        }
        return PostgresError(.server, purpose: purpose, message: primary.trimmingTrailingNewlines, sqlState: sqlState,
                             detail: field(UInt8(ascii: "D")), hint: field(UInt8(ascii: "H")), statement: sql)
    }

    /// True between a successful BEGIN and the end of the transaction (set by the transaction API).
    var inTransaction = false

    func extractRows(_ res: OpaquePointer, purpose: String) -> PostgresRows {
        let nrows = Int(PQntuples(res))
        let ncols = Int(PQnfields(res))
        var columns: [PostgresRows.Column] = []
        columns.reserveCapacity(ncols)
        for c in 0 ..< ncols {
            columns.append(.init(name: String(cString: PQfname(res, Int32(c))), typeOID: PQftype(res, Int32(c))))
        }
        var total = 0
        for r in 0 ..< nrows { for c in 0 ..< ncols { total += Int(PQgetlength(res, Int32(r), Int32(c))) } }
        var storage = [UInt8](repeating: 0, count: total)
        var offsets = [Int](repeating: -1, count: nrows * ncols)
        var lengths = [Int32](repeating: 0, count: nrows * ncols)
        storage.withUnsafeMutableBytes { dst in
            var at = 0
            for r in 0 ..< nrows {
                for c in 0 ..< ncols {
                    let cell = r * ncols + c
                    if PQgetisnull(res, Int32(r), Int32(c)) != 0 { continue }
                    let len = Int(PQgetlength(res, Int32(r), Int32(c)))
                    if len > 0, let src = PQgetvalue(res, Int32(r), Int32(c)) {
                        dst.baseAddress!.advanced(by: at).copyMemory(from: src, byteCount: len)
                    }
                    offsets[cell] = at
                    lengths[cell] = Int32(len)
                    at += len
                }
            }
        }
        let tag = PQcmdStatus(res).map { String(cString: $0) } ?? ""
        let affectedText = PQcmdTuples(res).map { String(cString: $0) } ?? ""
        let affected = Int(affectedText) ?? nrows
        return PostgresRows(columns: columns, commandTag: tag, affectedRows: affected, purpose: purpose,
                            storage: storage, offsets: offsets, lengths: lengths, rowCount: nrows)
    }

    // MARK: public statements

    /// Runs one parameterized statement (`$1`, `$2`… placeholders) and returns its rows.
    ///
    /// Blocks nothing on the caller's executor: the statement runs on the connection thread.
    /// Cancelling the task sends a cancel request to the server and throws `.cancelled`.
    /// - Parameter purpose: a short description for errors and logs, e.g. "append order events".
    public nonisolated func query(_ sql: String, _ parameters: [any PostgresEncodable] = [],
                                  purpose: String) async throws(PostgresError) -> PostgresRows {
        let binds = parameters.map(\.postgresBind)
        let ticket = CancelTicket(wake: thread.wake)
        let result = await withTaskCancellationHandler {
            await self.runCatching { c throws(PostgresError) in try c.runParams(sql, binds, purpose: purpose, ticket: ticket) }
        } onCancel: {
            ticket.cancel()
        }
        return try result.get()
    }

    /// Runs one parameterized statement and returns the affected row count.
    @discardableResult
    public nonisolated func execute(_ sql: String, _ parameters: [any PostgresEncodable] = [],
                                    purpose: String) async throws(PostgresError) -> Int {
        try await query(sql, parameters, purpose: purpose).affectedRows
    }

    /// Runs a fixed multi-statement script through the simple protocol. Takes no parameters:
    /// use it only for SQL written in the program (DDL, migrations), never for SQL built from values.
    @discardableResult
    public nonisolated func executeScript(_ sql: String, purpose: String) async throws(PostgresError) -> PostgresRows {
        let ticket = CancelTicket(wake: thread.wake)
        let result = await withTaskCancellationHandler {
            await self.runCatching { c throws(PostgresError) in try c.runSimple(sql, purpose: purpose, ticket: ticket) }
        } onCancel: {
            ticket.cancel()
        }
        return try result.get()
    }

    func runCatching<T: Sendable>(_ body: @Sendable (isolated PostgresConnection) throws(PostgresError) -> T) -> Result<T, PostgresError> {
        do { return .success(try body(self)) } catch { return .failure(error) }
    }

    /// The server's transaction state as libpq sees it (for pool hygiene).
    func isIdleOutsideTransaction() -> Bool {
        guard let conn, !needsReset else { return true }
        return PQtransactionStatus(conn) == PQTRANS_IDLE && !inTransaction
    }
}

/// The libpq objects of one connection.
///
/// `@unchecked Sendable` invariant: the pointers are touched only on the owning connection's
/// thread (every accessor checks it) and by `deinit`, which runs when that actor is gone.
/// It exists so the pointers can be freed without an isolated deinit on the actor.
final class LibpqHandle: @unchecked Sendable {
    private let owner: ConnectionThread
    private var _conn: OpaquePointer?
    private var _cancel: OpaquePointer?
    /// Kept alive as long as libpq may call the notice receiver with it.
    private var _notices: NoticeSink?

    init(owner: ConnectionThread) { self.owner = owner }

    var conn: OpaquePointer? {
        get { owner.assertOnThread(); return _conn }
        set { owner.assertOnThread(); _conn = newValue }
    }
    var cancel: OpaquePointer? {
        get { owner.assertOnThread(); return _cancel }
        set { owner.assertOnThread(); _cancel = newValue }
    }
    var notices: NoticeSink? {
        get { owner.assertOnThread(); return _notices }
        set { owner.assertOnThread(); _notices = newValue }
    }

    deinit {
        // Runs on whichever thread drops the last reference; PQfinish only sends Terminate and closes.
        if let _cancel { PQfreeCancel(_cancel) }
        if let _conn { PQfinish(_conn) }
    }
}

/// A cancellation request for one statement: set by the task's cancellation handler (any thread),
/// read on the connection thread. The eventfd write wakes the thread's poll.
final class CancelTicket: Sendable {
    private let flag = Atomic<Bool>(false)
    private let wake: WakeFD
    init(wake: WakeFD) { self.wake = wake }
    func cancel() {
        flag.store(true, ordering: .releasing)
        wake.signal()
    }
    var isCancelled: Bool { flag.load(ordering: .acquiring) }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let owned = strings.map { strdup($0) }
    defer { owned.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = owned.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

func errorMessage(_ conn: OpaquePointer) -> String {
    PQerrorMessage(conn).map { String(cString: $0) }?.trimmingTrailingNewlines ?? "unknown libpq error"
}

extension String {
    var trimmingTrailingNewlines: String {
        var s = self
        while s.last == "\n" || s.last == " " { s.removeLast() }
        return s
    }
}

extension PostgresRows {
    static func empty(purpose: String) -> PostgresRows {
        PostgresRows(columns: [], commandTag: "", affectedRows: 0, purpose: purpose, storage: [], offsets: [], lengths: [], rowCount: 0)
    }
}

/// Routes server NOTICE/WARNING messages to the Logger instead of libpq's default (stderr).
/// Immutable, so `Sendable`; the connection keeps it alive as long as libpq may call it.
final class NoticeSink: Sendable {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }
}

private let noticeReceiver: PQnoticeReceiver = { arg, res in
    guard let arg, let res else { return }
    let sink = Unmanaged<NoticeSink>.fromOpaque(arg).takeUnretainedValue()
    func field(_ c: UInt8) -> String { PQresultErrorField(res, Int32(c)).map { String(cString: $0) } ?? "" }
    let severity = field(UInt8(ascii: "V"))
    let message = field(UInt8(ascii: "M"))
    let level: Logger.Level = severity == "WARNING" ? .warning : (severity == "DEBUG" || severity == "LOG" ? .debug : .info)
    sink.logger.log(level, message, ["severity": severity, "sqlstate": field(UInt8(ascii: "C"))])
}
