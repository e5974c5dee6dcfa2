/// The SQL the Cluster I/O shell runs against PostgreSQL: the schema as a migration list, and
/// every statement as a parameterized constant ($1, $2 …; never spliced values).
///
/// Times cross the boundary as bigint microseconds since the epoch (`daybreak_us(...)`,
/// `Timestamp(microsecondsSinceEpoch:)`), and every "now" is the database's `now()`, so all nodes
/// judge leases and heartbeats against one clock. Durations are passed as bigint milliseconds.
///
/// Parameter types (Storage's `PostgresEncodable`): ids and names `String`; tokens, seqs,
/// milliseconds and microseconds `Int64` (`Int64(token.value)`: tokens stay far below 2^63);
/// payloads `[UInt8]` (bytea); the idempotency key `String?` (`IdempotencyKey.storageText`).
///
/// Fencing: every journal and snapshot write names the writer's node and token and succeeds only
/// while `region_leases` shows that node as the unexpired owner with that token. The lease row
/// is read `FOR SHARE`, so a concurrent take-over (an UPDATE of that row) waits for in-flight
/// appends to commit, and an append that starts after the take-over re-checks the new row and
/// writes nothing. A stale owner's writes are rejected by the database itself.
public enum ClusterSchema {
    /// One migration (the shape `Storage.Migration` takes: version, name, SQL).
    public typealias MigrationStep = (version: Int, name: String, sql: String)

    /// Applied in order, once each, in a transaction each (Storage's `Migrator`). Never edit an
    /// applied step: add a new one.
    public static let migrations: [MigrationStep] = [
        (1, "cluster_helpers", """
            -- Timestamps travel as bigint microseconds since the epoch (exact; no float rounding).
            CREATE FUNCTION daybreak_us(t timestamptz) RETURNS bigint
                LANGUAGE sql STABLE STRICT PARALLEL SAFE
                AS $$ SELECT (extract(epoch FROM t) * 1000000)::bigint $$;
            """),
        (2, "cluster_nodes", """
            -- One row per node id. started_at is the incarnation: a restart re-registers with a new one.
            CREATE TABLE cluster_nodes (
                id             text PRIMARY KEY CHECK (id <> '' AND octet_length(id) <= 255),
                endpoint       text NOT NULL CHECK (endpoint <> ''),
                started_at     timestamptz NOT NULL,
                last_heartbeat timestamptz NOT NULL,
                status         text NOT NULL DEFAULT 'alive' CHECK (status IN ('alive', 'leaving', 'down'))
            );
            """),
        (3, "region_leases", """
            -- One row per region, seeded unowned (token 0). The token increases by one on every
            -- change of hands and never otherwise; released rows keep their token.
            CREATE TABLE region_leases (
                region     text PRIMARY KEY CHECK (region <> ''),
                owner      text,
                token      bigint NOT NULL DEFAULT 0 CHECK (token >= 0),
                expires_at timestamptz NOT NULL DEFAULT 'epoch'
            );
            """),
        (4, "actor_journal", """
            -- The journal: an actor's events in order. An actor is (region, kind, key), the same
            -- triple as the wire's ActorIdentity; region first so the table can later be
            -- LIST-partitioned by region. token records which lease wrote the event.
            CREATE TABLE actor_events (
                region          text NOT NULL,
                actor_kind      text NOT NULL,
                actor_key       text NOT NULL,
                seq             bigint NOT NULL CHECK (seq >= 1),
                type            text NOT NULL,
                payload         bytea NOT NULL,
                idempotency_key text,
                token           bigint NOT NULL,
                at              timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (region, actor_kind, actor_key, seq),
                -- A retried command never applies twice (NULL keys are not compared).
                UNIQUE (region, actor_kind, actor_key, idempotency_key)
            );
            -- Latest state of an actor, up to and including event seq.
            CREATE TABLE actor_snapshots (
                region     text NOT NULL,
                actor_kind text NOT NULL,
                actor_key  text NOT NULL,
                seq        bigint NOT NULL CHECK (seq >= 0),
                state      bytea NOT NULL,
                token      bigint NOT NULL,
                at         timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (region, actor_kind, actor_key)
            );
            """),
        (5, "cluster_nodes_event_endpoint", """
            -- Where a node publishes actor-system events (its XPUB); NULL when it publishes none.
            ALTER TABLE cluster_nodes ADD COLUMN event_endpoint text CHECK (event_endpoint <> '');
            """),
        (6, "principals", """
            -- The node's CURVE public key (Z85), which callers and subscribers must present as the
            -- server key; NULL for a node serving plaintext (development only).
            ALTER TABLE cluster_nodes ADD COLUMN public_key text CHECK (public_key IS NULL OR length(public_key) = 40);
            -- Who may connect: one row per CURVE public key (secrets never leave their owner's files).
            -- A user id may hold two keys during a rotation; a revoked key is refused from its next message.
            CREATE TABLE principals (
                public_key text PRIMARY KEY CHECK (length(public_key) = 40),
                user_id    text NOT NULL CHECK (user_id <> '' AND length(user_id) <= 200),
                role       text NOT NULL CHECK (role ~ '^[a-z]+$'),
                scope      text NOT NULL DEFAULT '',
                created_at timestamptz NOT NULL DEFAULT now(),
                revoked_at timestamptz
            );
            CREATE INDEX principals_user ON principals (user_id);
            """),
    ]

    // MARK: Membership (cluster_nodes)

    /// Register (or re-register after a restart) this node as a new incarnation.
    /// $1 id, $2 endpoint. Returns started_at_us, now_us. The new started_at is strictly later than
    /// the previous incarnation's even if the database clock stepped back, because other nodes
    /// never re-admit an incarnation they have seen declared down.
    public static let registerNode = """
        INSERT INTO cluster_nodes (id, endpoint, started_at, last_heartbeat, status)
        VALUES ($1, $2, now(), now(), 'alive')
        ON CONFLICT (id) DO UPDATE
            SET endpoint = EXCLUDED.endpoint,
                started_at = GREATEST(EXCLUDED.started_at, cluster_nodes.started_at + interval '1 microsecond'),
                last_heartbeat = EXCLUDED.last_heartbeat, status = 'alive'
        RETURNING daybreak_us(started_at) AS started_at_us, daybreak_us(now()) AS now_us
        """

    /// `registerNode` with the node's event endpoint. $1 id, $2 endpoint, $3 event endpoint (text or
    /// NULL). Returns started_at_us, now_us.
    public static let registerNodeWithEvents = """
        INSERT INTO cluster_nodes (id, endpoint, event_endpoint, public_key, started_at, last_heartbeat, status)
        VALUES ($1, $2, $3, $4, now(), now(), 'alive')
        ON CONFLICT (id) DO UPDATE
            SET endpoint = EXCLUDED.endpoint, event_endpoint = EXCLUDED.event_endpoint, public_key = EXCLUDED.public_key,
                started_at = GREATEST(EXCLUDED.started_at, cluster_nodes.started_at + interval '1 microsecond'),
                last_heartbeat = EXCLUDED.last_heartbeat, status = 'alive'
        RETURNING daybreak_us(started_at) AS started_at_us, daybreak_us(now()) AS now_us
        """

    /// Heartbeat of this incarnation. $1 id, $2 started_at_us. No row returned means this
    /// incarnation was declared down or replaced: stop serving (`Membership` directive `stopServing`).
    public static let heartbeat = """
        UPDATE cluster_nodes SET last_heartbeat = now()
        WHERE id = $1 AND daybreak_us(started_at) = $2 AND status <> 'down'
        RETURNING daybreak_us(last_heartbeat) AS last_heartbeat_us
        """

    /// The snapshot `Membership.observe` takes, with the database's now. No parameters.
    /// Columns: id, endpoint, started_at_us, last_heartbeat_us, status, now_us, event_endpoint (nullable; migration 5).
    public static let readNodes = """
        SELECT id, endpoint, daybreak_us(started_at) AS started_at_us,
               daybreak_us(last_heartbeat) AS last_heartbeat_us, status, daybreak_us(now()) AS now_us, event_endpoint, public_key
        FROM cluster_nodes ORDER BY id
        """

    /// `MembershipDirective.declareDown`: $1 id, $2 the last_heartbeat_us that was judged stale.
    /// Conditioned on that value so a heartbeat that landed meanwhile wins (0 rows: nothing to do).
    public static let markNodeDown = """
        UPDATE cluster_nodes SET status = 'down'
        WHERE id = $1 AND status <> 'down' AND daybreak_us(last_heartbeat) = $2
        """

    /// Graceful leave: $1 id, $2 started_at_us. Other nodes drop it from the plan; it drains and releases.
    public static let markNodeLeaving = """
        UPDATE cluster_nodes SET status = 'leaving'
        WHERE id = $1 AND daybreak_us(started_at) = $2 AND status = 'alive'
        """

    // MARK: Region leases (region_leases)

    /// Seed the row of one region the node knows (idempotent; run per region at start-up — one
    /// text parameter, so no array encoding is needed). $1 region.
    public static let ensureRegion = """
        INSERT INTO region_leases (region) VALUES ($1)
        ON CONFLICT (region) DO NOTHING
        """

    /// All leases, with the database's now. No parameters.
    /// Columns: region, owner (nullable), token, expires_at_us, now_us.
    public static let readLeases = """
        SELECT region, owner, token, daybreak_us(expires_at) AS expires_at_us, daybreak_us(now()) AS now_us
        FROM region_leases ORDER BY region
        """

    /// `LeaseDirective.acquire`: a compare-and-set on the token that succeeds only if the lease is
    /// free, expired, or already held by this node (a lost acknowledgement, a restart under the same
    /// id); the winner gets token + 1. $1 region, $2 node, $3 expected token, $4 lease ms.
    /// One row returned (region, owner, token, expires_at_us, now_us) = acquired; none = lost the race.
    public static let acquireLease = """
        UPDATE region_leases
        SET owner = $2, token = token + 1, expires_at = now() + $4::bigint * interval '1 millisecond'
        WHERE region = $1 AND token = $3 AND (owner IS NULL OR expires_at <= now() OR owner = $2)
        RETURNING region, owner, token, daybreak_us(expires_at) AS expires_at_us, daybreak_us(now()) AS now_us
        """

    /// `LeaseDirective.renew`: only the owner with the current token, before expiry; the token is kept.
    /// $1 region, $2 node, $3 token, $4 lease ms. No row = the lease is lost: stop serving.
    public static let renewLease = """
        UPDATE region_leases
        SET expires_at = now() + $4::bigint * interval '1 millisecond'
        WHERE region = $1 AND owner = $2 AND token = $3 AND expires_at > now()
        RETURNING region, owner, token, daybreak_us(expires_at) AS expires_at_us, daybreak_us(now()) AS now_us
        """

    /// `LeaseDirective.release` after draining: frees the region at once, keeping the token so the next
    /// owner's acquire makes token + 1. $1 region, $2 node, $3 token.
    public static let releaseLease = """
        UPDATE region_leases SET owner = NULL, expires_at = now()
        WHERE region = $1 AND owner = $2 AND token = $3
        """

    /// Where to send a call: every region whose lease is held (unexpired) by an alive node, with that
    /// node's endpoint. No parameters. Columns: region, owner, token, endpoint, event_endpoint.
    /// A client's ownership cache; the callee still checks its own lease before serving.
    public static let readOwnership = """
        SELECT l.region, l.owner, l.token, n.endpoint, n.event_endpoint, n.public_key
        FROM region_leases l JOIN cluster_nodes n ON n.id = l.owner
        WHERE l.expires_at > now() AND n.status = 'alive'
        ORDER BY l.region
        """

    /// A node that left gracefully (after releasing its leases) marks its incarnation down, so it is
    /// out of every plan at once. $1 id, $2 started_at_us.
    public static let markNodeLeft = """
        UPDATE cluster_nodes SET status = 'down'
        WHERE id = $1 AND daybreak_us(started_at) = $2 AND status <> 'down'
        """

    // MARK: Journal (actor_events, actor_snapshots)

    /// The fenced append: one event, written only if $9 (node) holds region $1's unexpired lease
    /// with token $8. Idempotent on $7. Parameters: $1 region, $2 actor kind, $3 actor key,
    /// $4 seq, $5 event type, $6 payload bytea, $7 idempotency key (text or NULL), $8 token, $9 node.
    /// Always returns one row: lease_ok, appended_seq, duplicate_seq — read it with `appendOutcome`.
    public static let appendEvent = """
        WITH lease AS (
            SELECT token FROM region_leases
            WHERE region = $1 AND owner = $9 AND token = $8 AND expires_at > now()
            FOR SHARE
        ), ins AS (
            INSERT INTO actor_events (region, actor_kind, actor_key, seq, type, payload, idempotency_key, token, at)
            SELECT $1, $2, $3, $4, $5, $6, $7, lease.token, now() FROM lease
            ON CONFLICT DO NOTHING
            RETURNING seq
        )
        SELECT EXISTS (SELECT 1 FROM lease) AS lease_ok,
               (SELECT seq FROM ins) AS appended_seq,
               (SELECT e.seq FROM actor_events e
                 WHERE $7::text IS NOT NULL AND e.region = $1 AND e.actor_kind = $2 AND e.actor_key = $3
                   AND e.idempotency_key = $7) AS duplicate_seq
        """

    /// The group-commit form of `appendEvent`: many events in one statement, each with its own
    /// outcome (one row per input, in input order, the same columns as `appendEvent`'s and read the
    /// same way). Per event exactly `appendEvent`'s rules: written only if $9 (node) holds the event's
    /// region with the event's token, unexpired; `ON CONFLICT DO NOTHING` per row, so a taken seq or a
    /// used idempotency key skips that row alone; duplicates are looked up among rows committed
    /// before the statement. Lease rows are share-locked in region order. Parameters (arrays of equal
    /// length, one element per event): $1 region text[], $2 actor kind text[], $3 actor key text[],
    /// $4 seq int8[], $5 type text[], $6 payload as hex text[], $7 idempotency key text[] (NULLs),
    /// $8 token int8[]; $9 node. The caller puts at most one event per actor in a batch.
    public static let appendEvents = """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[], $7::text[], $8::int8[])
                WITH ORDINALITY AS i(region, actor_kind, actor_key, seq, type, payload_hex, idempotency_key, token, n)
        ), lease AS (
            SELECT l.region, l.token FROM region_leases l
            WHERE l.owner = $9 AND l.expires_at > now() AND (l.region, l.token) IN (SELECT region, token FROM input)
            ORDER BY l.region
            FOR SHARE
        ), ins AS (
            INSERT INTO actor_events (region, actor_kind, actor_key, seq, type, payload, idempotency_key, token, at)
            SELECT i.region, i.actor_kind, i.actor_key, i.seq, i.type, decode(i.payload_hex, 'hex'), i.idempotency_key, i.token, now()
            FROM input i JOIN lease ON lease.region = i.region AND lease.token = i.token
            ORDER BY i.n
            ON CONFLICT DO NOTHING
            RETURNING region, actor_kind, actor_key, seq
        )
        SELECT lease.region IS NOT NULL AS lease_ok,
               ins.seq AS appended_seq,
               (SELECT e.seq FROM actor_events e
                 WHERE i.idempotency_key IS NOT NULL AND e.region = i.region AND e.actor_kind = i.actor_kind
                   AND e.actor_key = i.actor_key AND e.idempotency_key = i.idempotency_key) AS duplicate_seq
        FROM input i
        LEFT JOIN lease ON lease.region = i.region AND lease.token = i.token
        LEFT JOIN ins ON ins.region = i.region AND ins.actor_kind = i.actor_kind AND ins.actor_key = i.actor_key AND ins.seq = i.seq
        ORDER BY i.n
        """

    /// Fenced snapshot write (same lease check); keeps the newest. $1 region, $2 kind, $3 key,
    /// $4 seq (last event included), $5 state bytea, $6 token, $7 node. Returns lease_ok, written.
    public static let writeSnapshot = """
        WITH lease AS (
            SELECT token FROM region_leases
            WHERE region = $1 AND owner = $7 AND token = $6 AND expires_at > now()
            FOR SHARE
        ), up AS (
            INSERT INTO actor_snapshots (region, actor_kind, actor_key, seq, state, token, at)
            SELECT $1, $2, $3, $4, $5, lease.token, now() FROM lease
            ON CONFLICT (region, actor_kind, actor_key) DO UPDATE
                SET seq = EXCLUDED.seq, state = EXCLUDED.state, token = EXCLUDED.token, at = EXCLUDED.at
                WHERE actor_snapshots.seq < EXCLUDED.seq
            RETURNING seq
        )
        SELECT EXISTS (SELECT 1 FROM lease) AS lease_ok, EXISTS (SELECT 1 FROM up) AS written
        """

    /// Recovery, step 1: the snapshot, if any. $1 region, $2 kind, $3 key. Columns: seq, state.
    public static let loadSnapshot = """
        SELECT seq, state FROM actor_snapshots WHERE region = $1 AND actor_kind = $2 AND actor_key = $3
        """

    /// Recovery, step 2: events after the snapshot, in order. $1 region, $2 kind, $3 key, $4 after seq,
    /// $5 batch limit. Columns: seq, type, payload, idempotency_key, token.
    public static let replayEvents = """
        SELECT seq, type, payload, idempotency_key, token FROM actor_events
        WHERE region = $1 AND actor_kind = $2 AND actor_key = $3 AND seq > $4
        ORDER BY seq LIMIT $5
        """

    /// The seq at which an idempotency key was journaled, if it was (the UNIQUE index answers).
    /// $1 region, $2 kind, $3 key, $4 idempotency key. Columns: seq.
    /// The payload of the event journaled with an idempotency key. $1 region, $2 kind, $3 key, $4 idempotency key.
    public static let findPayloadByKey = """
        SELECT payload FROM actor_events
        WHERE region = $1 AND actor_kind = $2 AND actor_key = $3 AND idempotency_key = $4
        """
    public static let findIdempotencyKey = """
        SELECT seq FROM actor_events
        WHERE region = $1 AND actor_kind = $2 AND actor_key = $3 AND idempotency_key = $4
        """

    /// The result of `appendEvent`, decided from its one row.
    public enum AppendOutcome: Hashable, Sendable {
        /// Durable at this seq: acknowledge.
        case appended(seq: Int64)
        /// The idempotency key was already used at this seq: acknowledge as the original (no new effect).
        case duplicate(seq: Int64)
        /// The writer does not hold the lease with that token (stale owner, expired): stop serving the region.
        case fenced
        /// The lease is held but the seq is taken by another event: the actor's in-memory seq is behind
        /// the journal (a bug or a second activation). Reload the actor.
        case sequenceConflict
    }

    /// Interprets `appendEvent`'s row (lease_ok, appended_seq, duplicate_seq).
    public static func appendOutcome(leaseOK: Bool, appendedSeq: Int64?, duplicateSeq: Int64?) -> AppendOutcome {
        guard leaseOK else { return .fenced }
        if let s = appendedSeq { return .appended(seq: s) }
        if let s = duplicateSeq { return .duplicate(seq: s) }
        return .sequenceConflict
    }
}

extension IdempotencyKey {
    /// The `actor_events.idempotency_key` text: "u:" + 32 lowercase hex digits for a 16-byte key,
    /// "t:" + the text otherwise (prefixes keep the two forms from colliding).
    public var storageText: String {
        switch self {
        case let .bytes(high, low):
            func hex(_ v: UInt64) -> String { let s = String(v, radix: 16); return String(repeating: "0", count: 16 - s.count) + s }
            return "u:" + hex(high) + hex(low)
        case let .text(s):
            return "t:" + s
        }
    }
}
