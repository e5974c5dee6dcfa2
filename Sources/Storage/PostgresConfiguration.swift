/// How to reach PostgreSQL.
public struct PostgresConfiguration: Sendable {
    /// A libpq conninfo string (`host=/tmp port=5432 dbname=x`) or URI (`postgresql://…`).
    /// Empty means libpq reads the PG* environment variables (PGHOST, PGPORT, PGUSER, PGDATABASE…).
    public var conninfo: String
    /// Reported in `pg_stat_activity.application_name` unless `conninfo` or PGAPPNAME sets one.
    public var applicationName: String
    /// Bounds each connection attempt (libpq `connect_timeout`) unless `conninfo` or
    /// PGCONNECT_TIMEOUT sets it: a pool borrower never waits forever for a new connection.
    public var connectTimeoutSeconds: Int

    public init(_ conninfo: String = "", applicationName: String = "daybreak", connectTimeoutSeconds: Int = 10) {
        self.conninfo = conninfo
        self.applicationName = applicationName
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }
}

/// A server notification delivered by LISTEN/NOTIFY.
public struct PostgresNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
    /// The process id of the notifying backend.
    public var senderPID: Int32
}
