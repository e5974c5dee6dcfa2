import Base
import Messaging
import Storage
import Synchronization

/// Someone a Daybreak process lets in: the owner of a CURVE public key, with a role (what it may
/// call) and a scope (which regions, courier or site it acts for; empty: all the role allows).
public struct Principal: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Roles on the nodes' own ports.
    public static let node = "node"
    public static let gateway = "gateway"
    public static let operatorRole = "operator"

    public var publicKey: String
    /// Stable name, e.g. "node:n2", "gateway:edge-1", "operator:kim".
    public var userID: String
    public var role: String
    public var scope: String
    public init(publicKey: String, userID: String, role: String, scope: String = "") {
        self.publicKey = publicKey; self.userID = userID; self.role = role; self.scope = scope
    }
    public var description: String { "\(userID) (\(role)\(scope.isEmpty ? "" : ", \(scope)"))" }
}

/// The deployment's principals (`principals` table), kept in memory for the handshake: `lookup` is
/// synchronous and O(1) (the ZAP handler runs on the messaging thread); `refresh` re-reads the
/// table (a revoked key disappears at the next refresh). Thread-safe: one `Mutex`.
public final class PrincipalDirectory: Sendable {
    private let table = Mutex<[String: Principal]>([:])
    /// What the messaging context's ZAP handler asks (kept equal to `table`).
    public let keys: CurveKeyTable

    public init(_ principals: [Principal] = []) throws {
        keys = try CurveKeyTable()
        try replace(principals)
    }

    private func replace(_ principals: [Principal]) throws {
        var ids: [String: CurveIdentity] = [:]
        for p in principals { ids[p.publicKey] = try CurveIdentity(userID: p.userID, role: p.role) }
        try keys.replaceAll(ids)
        table.withLock { t in t = Dictionary(principals.map { ($0.publicKey, $0) }, uniquingKeysWith: { a, _ in a }) }
    }

    public func lookup(publicKey: String) -> Principal? { table.withLock { $0[publicKey] } }

    public var count: Int { table.withLock { $0.count } }

    /// Replaces the table with the live (not revoked) principals. Returns how many.
    @discardableResult
    public func refresh(_ pool: PostgresPool, timeout: Duration = .seconds(2)) async throws -> Int {
        let rows = try await withDeadline(timeout, "read principals") {
            try await pool.query(Self.readLive, purpose: "read principals")
        }
        var fresh: [Principal] = []
        for r in rows {
            fresh.append(Principal(publicKey: try r.decode(0, as: String.self), userID: try r.decode(1, as: String.self),
                                   role: try r.decode(2, as: String.self), scope: try r.decode(3, as: String.self)))
        }
        try replace(fresh)
        return fresh.count
    }

    /// Refreshes every `every` until cancelled (failures are logged and retried at the next period).
    public func run(_ pool: PostgresPool, every: Duration, logger: Logger) async {
        while !Task.isCancelled {
            do { try await refresh(pool) } catch { logger.warning("principals refresh failed", ["error": "\(error)"]) }
            try? await Task.sleep(for: every)
        }
    }

    static let readLive = "SELECT public_key, user_id, role, scope FROM principals WHERE revoked_at IS NULL"

    /// Adds (or re-activates) a principal's key. $1 key, $2 user id, $3 role, $4 scope.
    public static let upsert = """
        INSERT INTO principals (public_key, user_id, role, scope) VALUES ($1, $2, $3, $4)
        ON CONFLICT (public_key) DO UPDATE SET user_id = EXCLUDED.user_id, role = EXCLUDED.role,
            scope = EXCLUDED.scope, revoked_at = NULL
        """
    /// Revokes one key. $1 key. Returns the rows revoked.
    public static let revokeKey = "UPDATE principals SET revoked_at = now() WHERE public_key = $1 AND revoked_at IS NULL"
    /// Revokes every key of a user id except $2 (rotation done). $1 user id, $2 key to keep ('' for none).
    public static let revokeOthers = "UPDATE principals SET revoked_at = now() WHERE user_id = $1 AND public_key <> $2 AND revoked_at IS NULL"
    /// Lists every key. 
    public static let list = """
        SELECT public_key, user_id, role, scope, daybreak_us(created_at), daybreak_us(revoked_at) FROM principals ORDER BY user_id, created_at
        """
}

/// What a node's ZAP handler asks: the deployment's principals, and which roles may connect to
/// which of the node's ports at all (a courier's or a customer's key, valid at the edge gateway,
/// gets nothing from a node): calls (`daybreak-node`) take nodes, gateways and operators; the
/// event stream (`daybreak-events`) nodes and gateways only. Synchronous and in memory.
public struct NodePortAuthority: CurveAuthority {
    public let directory: PrincipalDirectory
    public static let callRoles: Set<String> = [Principal.node, Principal.gateway, Principal.operatorRole]
    public static let eventRoles: Set<String> = [Principal.node, Principal.gateway]

    public init(directory: PrincipalDirectory) { self.directory = directory }

    public func authenticate(publicKey: String, domain: String, address: String) -> CurveIdentity? {
        guard let p = directory.lookup(publicKey: publicKey) else { return nil }
        let allowed = domain == "daybreak-events" ? Self.eventRoles : Self.callRoles
        guard allowed.contains(p.role) else { return nil }
        return try? CurveIdentity(userID: p.userID, role: p.role)
    }
}
