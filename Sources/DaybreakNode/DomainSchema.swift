import Cluster
import Storage

/// SQL of the domain layer; versions from 200 so they never collide with `ClusterSchema`.
public enum DomainSchema {
    public static let migrations: [(version: Int, name: String, sql: String)] = [
        (200, "outbox", """
            CREATE TABLE outbox (
                id bigserial PRIMARY KEY,
                region text NOT NULL,
                topic text NOT NULL,
                order_id text NOT NULL,
                kind text NOT NULL,
                dedup_key text NOT NULL,
                payload bytea NOT NULL,
                event_seq bigint NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                sent_at timestamptz,
                UNIQUE (order_id, kind, dedup_key)
            );
            CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
            """),
    ]

    /// Cluster migrations followed by these: what a node hosting domain actors runs.
    public static var allMigrations: [Migration] {
        (ClusterSchema.migrations + migrations + DeploymentSchema.migrations).map { Migration(Int64($0.version), $0.name, sql: $0.sql) }
    }

    /// $1 region, $2 topic, $3 order, $4 kind, $5 dedup key, $6 payload, $7 event seq.
    static let insertOutbox = """
        INSERT INTO outbox (region, topic, order_id, kind, dedup_key, payload, event_seq)
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (order_id, kind, dedup_key) DO NOTHING
        """

    /// The oldest unsent rows, locked for this drain (another publisher skips them). $1 limit.
    static let claimUnsent = """
        SELECT id, topic, order_id, kind, payload FROM outbox WHERE sent_at IS NULL
        ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
        """

    static let markSent = "UPDATE outbox SET sent_at = now() WHERE id = $1 AND sent_at IS NULL"
}

extension DomainSchema {
    /// Inserts `rows` for the event `seq` of an actor in `region`, inside `tx` (the event's append).
    static func insert(_ rows: [OutboxRow], region: String, seq: Int64, in tx: PostgresTransaction) async throws {
        for row in rows {
            try await tx.execute(insertOutbox, [region, row.topic, row.order, row.kind, row.dedupKey, row.payload, seq],
                                 purpose: "insert outbox row")
        }
    }
}
