/// How to reach PostgreSQL.
public struct PostgresConfiguration: Sendable {
    /// A libpq conninfo string (`host=/tmp port=5432 dbname=x`) or URI (`postgresql://…`).
    /// Empty means libpq reads the PG* environment variables (PGHOST, PGPORT, PGUSER, PGDATABASE…).
    public var conninfo: String
    /// Reported in `pg_stat_activity.application_name` (set only when `conninfo` does not set it).
    public var applicationName: String

    public init(_ conninfo: String = "", applicationName: String = "daybreak") {
        self.conninfo = conninfo
        self.applicationName = applicationName
    }
}

/// A server notification delivered by LISTEN/NOTIFY.
public struct PostgresNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
    /// The process id of the notifying backend.
    public var senderPID: Int32
}
