import CLibPQ

/// One parameterized statement for `pipeline(_:purpose:)`.
public struct PostgresStatement: Sendable {
    public var sql: String
    public var binds: [PostgresBind]

    public init(_ sql: String, _ parameters: [any PostgresEncodable] = []) {
        self.sql = sql
        self.binds = parameters.map(\.postgresBind)
    }
}

extension PostgresConnection {
    /// Sends all `statements` in libpq pipeline mode (one round trip, one sync) and returns each
    /// statement's rows in order. Outside an explicit transaction the pipeline is one implicit
    /// transaction: if any statement fails, none takes effect, and the error (SQLSTATE intact)
    /// names the failing statement's position. For plain appends prefer `copyIn`; use this when
    /// each row needs its own statement (ON CONFLICT, RETURNING, fencing checks).
    public nonisolated func pipeline(_ statements: [PostgresStatement],
                                     purpose: String) async throws(PostgresError) -> [PostgresRows] {
        if statements.isEmpty { return [] }
        let ticket = CancelTicket(wake: thread.wake)
        let result = await withTaskCancellationHandler {
            await self.runCatching { c throws(PostgresError) in try c.runPipeline(statements, purpose: purpose, ticket: ticket) }
        } onCancel: {
            ticket.cancel()
        }
        return try result.get()
    }

    func runPipeline(_ statements: [PostgresStatement], purpose: String,
                     ticket: CancelTicket) throws(PostgresError) -> [PostgresRows] {
        let label = "pipeline of \(statements.count)"
        try ensureConnected(purpose: purpose)
        if ticket.isCancelled { throw cancelled(purpose, label) }
        for (k, st) in statements.enumerated() {
            for (i, b) in st.binds.enumerated() where b.format == .text && b.bytes?.contains(0) == true {
                throw PostgresError(.invalidArgument, purpose: purpose,
                                    message: "statement \(k + 1): text parameter $\(i + 1) contains a NUL byte", statement: st.sql)
            }
        }
        guard PQenterPipelineMode(conn) == 1 else { throw failure(nil, purpose: purpose, sql: label) }
        // Non-blocking while pipelined: libpq buffers what the socket cannot take yet and we flush
        // as the server reads, reading its results at the same time, so neither side can stall.
        _ = PQsetnonblocking(conn, 1)
        var finished = false
        defer {
            if let conn, !needsReset {
                if finished { _ = PQexitPipelineMode(conn) }
                _ = PQsetnonblocking(conn, 0)
            }
        }
        for st in statements {
            guard sendParams(st.sql, st.binds) else { throw abandonPipeline(purpose: purpose, sql: st.sql) }
        }
        guard PQpipelineSync(conn) == 1 else { throw abandonPipeline(purpose: purpose, sql: label) }

        statementsRun += statements.count
        var results = [PostgresRows](repeating: .empty(purpose: purpose), count: statements.count)
        var index = 0
        var firstError: PostgresError?
        var cancelSent = false
        let sock = PQsocket(conn)
        while true {
            let flush = PQflush(conn)
            if flush < 0 { throw abandonPipeline(purpose: purpose, sql: label) }
            if PQconsumeInput(conn) == 0 { throw abandonPipeline(purpose: purpose, sql: label) }
            while PQisBusy(conn) == 0 {
                guard let res = PQgetResult(conn) else {
                    index += 1 // NULL ends one statement's results
                    continue
                }
                defer { PQclear(res) }
                let at = min(index, statements.count - 1)
                switch PQresultStatus(res) {
                case PGRES_PIPELINE_SYNC:
                    finished = true
                    drainNotifications()
                    if let firstError {
                        if firstError.sqlState == "57014", ticket.isCancelled { throw cancelled(purpose, label) }
                        throw firstError
                    }
                    return results
                case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                    results[at] = extractRows(res, purpose: purpose)
                case PGRES_PIPELINE_ABORTED:
                    break // skipped because an earlier statement failed
                default:
                    var e = failure(res, purpose: purpose, sql: statements[at].sql)
                    if needsReset { throw e }
                    e.message = "statement \(at + 1) of \(statements.count): " + e.message
                    if firstError == nil { firstError = e }
                }
            }
            let events = Int16(POLLIN) | (flush == 1 ? Int16(POLLOUT) : 0)
            let ready = daybreak_poll2(thread.eventFD, sock, events, -1)
            if ready < 0 { throw abandonPipeline(purpose: purpose, sql: label) }
            if ready & 1 != 0 {
                _ = daybreak_eventfd_drain(thread.eventFD)
                if !cancelSent, ticket.isCancelled {
                    cancelSent = true
                    requestCancel()
                }
            }
        }
    }

    /// A pipeline that cannot be completed leaves libpq mid-protocol: report the failure and
    /// reconnect before the next statement.
    private func abandonPipeline(purpose: String, sql: String) -> PostgresError {
        let e = failure(nil, purpose: purpose, sql: sql)
        needsReset = true
        if inTransaction { transactionBroken = true }
        return e
    }
}
