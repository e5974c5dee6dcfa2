import CLibPQ

/// The statements of one open transaction. Handed to the body of `withTransaction`; do not keep
/// it after the body returns.
public struct PostgresTransaction: Sendable {
    public let connection: PostgresConnection

    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = [],
                      purpose: String) async throws(PostgresError) -> PostgresRows {
        try await connection.query(sql, parameters, purpose: purpose)
    }

    @discardableResult
    public func execute(_ sql: String, _ parameters: [any PostgresEncodable] = [],
                        purpose: String) async throws(PostgresError) -> Int {
        try await connection.execute(sql, parameters, purpose: purpose)
    }

    @discardableResult
    public func copyIn(_ copyStatement: String, rows: PostgresCopyRows,
                       purpose: String) async throws(PostgresError) -> Int {
        try await connection.copyIn(copyStatement, rows: rows, purpose: purpose)
    }
}

/// Transaction isolation levels for `withTransaction`.
public enum PostgresIsolation: String, Sendable {
    case readCommitted = "READ COMMITTED"
    case repeatableRead = "REPEATABLE READ"
    case serializable = "SERIALIZABLE"
}

extension PostgresConnection {
    /// Runs `body` inside BEGIN … COMMIT. If `body` throws (including because the task was
    /// cancelled) the transaction is rolled back and the error rethrown; the rollback itself
    /// ignores cancellation. If COMMIT finds the transaction aborted (a statement failed and the
    /// body swallowed the error) it throws `.transactionAborted`: nothing was committed.
    ///
    /// The body runs in the caller's isolation; its statements hop to the connection thread.
    public func withTransaction<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ isolationLevel: PostgresIsolation = .readCommitted,
        purpose: String,
        _ body: (PostgresTransaction) async throws -> T
    ) async throws -> T {
        try await begin(isolationLevel, purpose: purpose)
        let result: T
        do {
            result = try await body(PostgresTransaction(connection: self))
        } catch {
            await rollback(purpose: purpose)
            throw error
        }
        do {
            try await commit(purpose: purpose)
        } catch {
            await rollback(purpose: purpose)
            throw error
        }
        return result
    }

    func begin(_ level: PostgresIsolation, purpose: String) throws(PostgresError) {
        if inTransaction {
            throw PostgresError(.invalidArgument, purpose: purpose, message: "withTransaction does not nest")
        }
        _ = try runSimple("BEGIN ISOLATION LEVEL " + level.rawValue, purpose: purpose + " (begin)", ticket: nil)
        inTransaction = true
    }

    func commit(purpose: String) throws(PostgresError) {
        let rows = try runSimple("COMMIT", purpose: purpose + " (commit)", ticket: nil)
        inTransaction = false
        transactionBroken = false
        if rows.commandTag == "ROLLBACK" {
            throw PostgresError(.transactionAborted, purpose: purpose,
                                message: "an earlier statement failed, so COMMIT rolled the transaction back")
        }
    }

    /// Rolls back whatever is open; never throws (a lost connection has rolled back already).
    func rollback(purpose: String) {
        inTransaction = false
        if transactionBroken {
            // The server ended the transaction with the connection; only our flag remains.
            transactionBroken = false
            return
        }
        guard let conn, !needsReset, PQtransactionStatus(conn) != PQTRANS_IDLE else { return }
        do {
            _ = try runSimple("ROLLBACK", purpose: purpose + " (rollback)", ticket: nil)
        } catch {
            logger.warning("rollback failed", ["purpose": purpose, "error": error.description])
        }
    }

    /// Pool hygiene: ends any transaction a borrower left open.
    func rollbackIfOpen() {
        if inTransaction || transactionBroken || (conn != nil && !needsReset && PQtransactionStatus(conn) != PQTRANS_IDLE) {
            logger.warning("a pooled connection came back inside a transaction; rolling back")
            rollback(purpose: "return connection to pool")
        }
    }
}
