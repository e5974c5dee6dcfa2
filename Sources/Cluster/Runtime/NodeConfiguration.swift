import Base
import Messaging
import Storage

/// Everything a node process needs. Timings default so that a crashed node's regions are owned
/// again within about TTL + one round (≈ 4.5 s): heartbeat 500 ms, TTL 3 s, lease TTL + 1 s.
public struct NodeConfiguration: Sendable {
    public var id: NodeID
    /// ZeroMQ endpoint to bind, e.g. "tcp://127.0.0.1:7001" or "tcp://127.0.0.1:*".
    public var listen: String
    /// What other nodes and clients connect to; default: the bound endpoint (port resolved).
    public var advertise: String?
    /// ZeroMQ endpoint for the actor system's event publisher (XPUB), e.g. "tcp://127.0.0.1:*";
    /// nil: this node publishes no events (subscriptions to other nodes still work).
    public var events: String?
    public var regions: [RegionKey]
    public var database: PostgresConfiguration
    /// Schema for the cluster tables (created and migrated at start); nil = the connection's current schema.
    public var schema: String?
    public var heartbeatInterval: Duration
    /// A node silent longer than this is declared down.
    public var ttl: Duration
    public var leaseDuration: Duration
    public var renewWhenRemaining: Duration
    public var safetyMargin: Duration
    /// Deadline on every database statement.
    public var statementTimeout: Duration
    /// How long a drain waits for in-flight calls of a region before handing it over anyway.
    public var drainTimeout: Duration
    /// How long a graceful leave may take before the node exits (its leases then simply expire).
    public var leaveTimeout: Duration
    /// Calls in flight on this node; more are refused with `overloaded`.
    public var maxInFlight: Int
    /// Fault injection for tests only: skip the node's own lease check before journal writes, so a
    /// stale node (e.g. resumed after SIGSTOP) reaches the database and is fenced there.
    public var chaosSkipLocalFence: Bool
    /// Host the demo journaled counter (`CounterActor`: tests, `bench failover`, `ctl call`).
    /// Off by default: a production node hosts only the domain's actor kinds.
    public var hostsDemoCounter = false
    /// The node's CURVE key pair: every port serves CURVE, only principals of `principals` (with a
    /// role a target admits) get in, and the node registers its public key (`cluster_nodes`,
    /// and as principal `node:<id>`). nil: plaintext (development and tests only).
    public var curve: CurveKeyPair? = nil
    /// How often the node re-reads `principals` (a revoked key is refused from then on).
    public var principalsRefresh: Duration = .seconds(2)

    public init(id: NodeID, listen: String, regions: [RegionKey], database: PostgresConfiguration = .init(),
                schema: String? = nil, heartbeatInterval: Duration = .milliseconds(500), ttl: Duration = .seconds(3)) {
        self.id = id; self.listen = listen; self.regions = regions; self.database = database; self.schema = schema
        self.heartbeatInterval = heartbeatInterval
        self.ttl = ttl
        leaseDuration = ttl + .seconds(1)
        safetyMargin = max(leaseDuration / 4, heartbeatInterval * 2)
        renewWhenRemaining = leaseDuration - heartbeatInterval * 2
        statementTimeout = .seconds(2)
        drainTimeout = .seconds(2)
        leaveTimeout = max(.seconds(5), leaseDuration * 2)
        maxInFlight = 1_000
        chaosSkipLocalFence = false
    }

    /// The pure parts' configurations.
    public var membership: Membership.Configuration { .init(ttl: ttl, heartbeatInterval: heartbeatInterval) }
    public var leases: LeaseKeeper.Configuration {
        .init(leaseDuration: leaseDuration, renewWhenRemaining: renewWhenRemaining, safetyMargin: safetyMargin)
    }

    /// Rejects an id the database or the wire would refuse (empty, longer than `NodeID.maxBytes`,
    /// non-printable characters) and timings that cannot be safe: a renewal must fit before the safety margin.
    public func validate() throws(NodeConfigurationError) {
        guard !id.rawValue.isEmpty, id.rawValue.utf8.count <= NodeID.maxBytes, isPrintableIdentifier(id.rawValue) else {
            throw NodeConfigurationError("node id '\(displayed(id.rawValue))' must be 1 to \(NodeID.maxBytes) bytes (UTF-8) of printable characters")
        }
        guard heartbeatInterval > .zero, ttl > heartbeatInterval * 2 else {
            throw NodeConfigurationError("ttl (\(ttl)) must exceed two heartbeats (\(heartbeatInterval))")
        }
        guard renewWhenRemaining > safetyMargin + heartbeatInterval, renewWhenRemaining < leaseDuration else {
            throw NodeConfigurationError("renewal point \(renewWhenRemaining) must lie between safety margin + heartbeat and the lease \(leaseDuration)")
        }
        guard !regions.isEmpty else { throw NodeConfigurationError("no regions") }
    }
}

public struct NodeConfigurationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

extension PostgresConfiguration {
    /// The same server with `search_path` pinned to `schema` for every connection (libpq `options`).
    /// `schema` must be a plain identifier ([a-z0-9_]).
    public func withSearchPath(_ schema: String) -> PostgresConfiguration {
        var c = self
        if conninfo.contains("://") {
            c.conninfo += (conninfo.contains("?") ? "&" : "?") + "options=-csearch_path%3D" + schema
        } else {
            c.conninfo += (conninfo.isEmpty ? "" : " ") + "options='-csearch_path=\(schema)'"
        }
        return c
    }
}

/// Whether `s` is a safe unquoted identifier for a schema name.
public func isPlainIdentifier(_ s: String) -> Bool {
    !s.isEmpty && s.count <= 63 && s.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
        && !(s.utf8.first! >= 48 && s.utf8.first! <= 57)
}
