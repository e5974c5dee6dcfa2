import Base
import CLibPQ

/// LISTEN/NOTIFY. A listening connection should be dedicated to listening (see `PostgresListener`):
/// while it is idle its thread watches the socket and delivers notifications as they arrive.
extension PostgresConnection {
    /// The stream of notifications for the channels this connection listens on. Call once.
    ///
    /// Bounded: at most `bufferCapacity` undelivered notifications are kept. When the consumer
    /// falls further behind, the stream finishes with `.notificationOverflow` (notifications were
    /// lost; re-read state from the tables). It finishes with `.connectionLost` if the connection
    /// breaks (notifications sent meanwhile are lost), and normally on `close()`.
    public func notifications(bufferCapacity: Int = 10_000) -> AsyncThrowingStream<PostgresNotification, any Error> {
        let (stream, continuation) = AsyncThrowingStream<PostgresNotification, any Error>
            .makeStream(bufferingPolicy: .bufferingOldest(max(1, bufferCapacity)))
        finishNotifications(throwing: nil)
        notificationContinuation = continuation
        if closed { finishNotifications(throwing: nil) }
        updateIdleWatch()
        return stream
    }

    /// Starts listening on `channel` (any string; it is quoted as an identifier by libpq).
    /// Remembered across reconnects.
    public nonisolated func listen(_ channel: String) async throws(PostgresError) {
        try await runCatching { c throws(PostgresError) in try c.listenIsolated(channel, listen: true) }.get()
    }

    /// Stops listening on `channel`.
    public nonisolated func unlisten(_ channel: String) async throws(PostgresError) {
        try await runCatching { c throws(PostgresError) in try c.listenIsolated(channel, listen: false) }.get()
    }

    /// Sends a notification with `pg_notify` (parameterized); delivered when the surrounding
    /// transaction commits (immediately in autocommit).
    public nonisolated func notify(_ channel: String, payload: String, purpose: String = "notify") async throws(PostgresError) {
        _ = try await query("SELECT pg_catalog.pg_notify($1, $2)", [channel, payload], purpose: purpose)
    }

    func listenIsolated(_ channel: String, listen: Bool) throws(PostgresError) {
        let purpose = (listen ? "listen on " : "unlisten ") + channel
        guard !channel.isEmpty else {
            throw PostgresError(.invalidArgument, purpose: purpose, message: "empty channel name")
        }
        try ensureConnected(purpose: purpose)
        // LISTEN takes an identifier, not a parameter: libpq quotes it (the one exception to
        // "no SQL built from values", and safe by construction).
        guard let quoted = PQescapeIdentifier(conn, channel, channel.utf8.count) else {
            throw failure(nil, purpose: purpose, sql: "LISTEN")
        }
        let ident = String(cString: quoted)
        PQfreemem(quoted)
        _ = try runSimple((listen ? "LISTEN " : "UNLISTEN ") + ident, purpose: purpose, ticket: nil)
        if listen {
            if !channels.contains(channel) { channels.append(channel) }
        } else {
            channels.removeAll { $0 == channel }
        }
        updateIdleWatch()
    }

    func relisten(purpose: String) throws(PostgresError) {
        let wanted = channels
        for ch in wanted { try listenIsolated(ch, listen: true) }
    }

    /// Watch the socket while idle only when someone consumes notifications.
    func updateIdleWatch() {
        guard let conn, notificationContinuation != nil, !needsReset else {
            thread.setIdleWatch(nil)
            return
        }
        let sock = PQsocket(conn)
        thread.setIdleWatch(.init(socket: sock, onReadable: { [weak self] in
            guard let self else { return }
            // Runs on the connection thread between jobs: the actor is not running anything else.
            self.assumeIsolated { $0.socketReadableWhileIdle() }
        }))
    }

    func socketReadableWhileIdle() {
        guard let conn else { return }
        if PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK {
            _ = failure(nil, purpose: "listen", sql: "LISTEN")
            return
        }
        drainNotifications()
    }

    /// Hands every queued notification to the stream (called after each statement and when idle).
    func drainNotifications() {
        guard let conn else { return }
        while let n = PQnotifies(conn) {
            let note = PostgresNotification(channel: String(cString: n.pointee.relname),
                                            payload: String(cString: n.pointee.extra),
                                            senderPID: n.pointee.be_pid)
            PQfreemem(n)
            guard let cont = notificationContinuation else { continue }
            if case .dropped = cont.yield(note) {
                logger.error("notification buffer full; finishing the stream", ["channel": note.channel])
                finishNotifications(throwing: PostgresError(.notificationOverflow, purpose: "listen",
                                                            message: "the consumer fell behind; notifications were lost"))
            }
        }
    }

    func finishNotifications(throwing error: PostgresError?) {
        guard let cont = notificationContinuation else { return }
        notificationContinuation = nil
        if let error { cont.finish(throwing: error) } else { cont.finish() }
        thread.setIdleWatch(nil)
    }
}

/// A connection dedicated to LISTEN: its thread sleeps in poll(2) on the socket and an eventfd,
/// reads input as it arrives and drains notifications into an `AsyncThrowingStream`.
///
/// ```swift
/// let listener = try await PostgresListener.connect(config, channels: ["orders"], logger: log)
/// for try await n in listener.notifications { … }
/// ```
public final class PostgresListener: Sendable {
    public let connection: PostgresConnection
    /// Single-consumer stream; see `PostgresConnection.notifications(bufferCapacity:)`.
    public let notifications: AsyncThrowingStream<PostgresNotification, any Error>

    private init(connection: PostgresConnection, notifications: AsyncThrowingStream<PostgresNotification, any Error>) {
        self.connection = connection
        self.notifications = notifications
    }

    /// Opens a dedicated connection and listens on `channels` before returning, so nothing
    /// notified after this returns is missed.
    public static func connect(_ configuration: PostgresConfiguration = PostgresConfiguration(),
                               channels: [String], bufferCapacity: Int = 10_000,
                               logger: Logger) async throws(PostgresError) -> PostgresListener {
        let c = try await PostgresConnection.connect(configuration, logger: logger)
        let stream = await c.notifications(bufferCapacity: bufferCapacity)
        do {
            for ch in channels { try await c.listen(ch) }
        } catch {
            await c.close()
            throw error
        }
        return PostgresListener(connection: c, notifications: stream)
    }

    public func listen(_ channel: String) async throws(PostgresError) { try await connection.listen(channel) }
    public func unlisten(_ channel: String) async throws(PostgresError) { try await connection.unlisten(channel) }
    /// Closes the connection; the stream finishes.
    public func close() async { await connection.close() }
}
