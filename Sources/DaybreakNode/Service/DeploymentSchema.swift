import Storage

/// Tables of a deployment that runs its own operating days (migration 201): the cluster clock,
/// its advances, the service days each region opened, and the order directory.
///
/// - `cluster_clock`: one row. `mode` is `wall` or `driven`; `now_us` is the driven clock's time
///   (null for wall); the first node (or `daybreak up`, or the simulated day) writes it and every
///   node started later must agree on the mode.
/// - `clock_advances`: the driven clock's journal: every advance with who made it.
/// - `dispatch_days`: per region and service day, when it was opened and settled (closed).
/// - `dispatch_orders`: order → region and service day, written in the transaction that journals
///   the placement, so any process (a gateway, `ctl`, a new owner) finds an order's day.
public enum DeploymentSchema {
    public static let migrations: [(version: Int, name: String, sql: String)] = [
        (201, "deployment", """
            CREATE TABLE cluster_clock (
                singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                mode text NOT NULL CHECK (mode IN ('wall', 'driven')),
                now_us bigint,
                utc_offset_seconds integer NOT NULL DEFAULT 0,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                CHECK ((mode = 'driven') = (now_us IS NOT NULL))
            );
            CREATE TABLE clock_advances (
                seq bigserial PRIMARY KEY,
                from_us bigint NOT NULL,
                to_us bigint NOT NULL CHECK (to_us >= from_us),
                principal text NOT NULL,
                at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE dispatch_days (
                region text NOT NULL,
                day date NOT NULL,
                opened_at timestamptz NOT NULL DEFAULT now(),
                closed_at timestamptz,
                PRIMARY KEY (region, day)
            );
            CREATE TABLE dispatch_orders (
                order_id text PRIMARY KEY,
                region text NOT NULL,
                day date NOT NULL,
                product text NOT NULL,
                placed_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX dispatch_orders_day ON dispatch_orders (region, day);
            """),
        (202, "edge", """
            -- Tracking tokens handed to storefronts' customers: only their SHA-256 is kept; an
            -- order may have several (a retried placement issues a fresh one; each stays valid).
            CREATE TABLE edge_tokens (
                token_sha256 bytea PRIMARY KEY CHECK (length(token_sha256) = 32),
                order_id     text NOT NULL,
                region       text NOT NULL,
                storefront   text NOT NULL,
                created_at   timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX edge_tokens_order ON edge_tokens (order_id);
            -- Who did what, when, from where: every command and report a gateway accepted or
            -- refused. Never a customer's address or a full token (`token_ref` is 8 characters).
            CREATE TABLE edge_audit (
                id         bigserial PRIMARY KEY,
                at         timestamptz NOT NULL DEFAULT now(),
                event_at   bigint,
                principal  text NOT NULL,
                role       text NOT NULL,
                device     text,
                gateway    text NOT NULL,
                peer       text,
                kind       text NOT NULL,
                order_id   text,
                region     text,
                detail     text NOT NULL DEFAULT '',
                outcome    text NOT NULL
            );
            CREATE INDEX edge_audit_order ON edge_audit (order_id, id) WHERE order_id IS NOT NULL;
            CREATE INDEX edge_audit_principal ON edge_audit (principal, id);
            """),
    ]

    /// $1 region, $2 day (YYYY-MM-DD).
    static let insertDay = """
        INSERT INTO dispatch_days (region, day) VALUES ($1, $2::date)
        ON CONFLICT (region, day) DO UPDATE SET closed_at = NULL WHERE dispatch_days.closed_at IS NOT NULL
        """
    /// $1 region, $2 day.
    static let closeDay = "UPDATE dispatch_days SET closed_at = now() WHERE region = $1 AND day = $2::date AND closed_at IS NULL"
    /// $1 region, $2 oldest day to consider: the region's days not yet settled.
    static let openDays = "SELECT to_char(day, 'YYYY-MM-DD') FROM dispatch_days WHERE region = $1 AND closed_at IS NULL AND day >= $2::date ORDER BY day"
    /// $1 region, $2 how many: the region's latest days, open or settled.
    static let recentDays = "SELECT to_char(day, 'YYYY-MM-DD') FROM dispatch_days WHERE region = $1 ORDER BY day DESC LIMIT $2"
    /// $1 order, $2 region, $3 day, $4 product.
    static let insertOrder = """
        INSERT INTO dispatch_orders (order_id, region, day, product) VALUES ($1, $2, $3::date, $4) ON CONFLICT (order_id) DO NOTHING
        """
    /// $1 order → region, day.
    static let findOrder = "SELECT region, to_char(day, 'YYYY-MM-DD') FROM dispatch_orders WHERE order_id = $1"
}
