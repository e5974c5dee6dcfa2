/// A dispatch region's id as leases, journal rows and the wire (`ActorIdentity.region`) carry it,
/// e.g. "gangnam": the unit of ownership. The same string as the domain's `Fleet.RegionID.rawValue`
/// (a separate type so this runtime module does not depend on the domain).
public struct RegionKey: Hashable, Comparable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(rawValue) }
    public static func < (a: RegionKey, b: RegionKey) -> Bool { a.rawValue < b.rawValue }
    public var description: String { rawValue }
}

/// A region lease's fencing token. It increases by one every time the lease changes hands
/// (acquire after release or expiry) and never otherwise; every journal write carries the
/// writer's token and is rejected unless it equals the current one.
public struct FencingToken: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public static let zero = FencingToken(0)
    public var next: FencingToken { FencingToken(value + 1) }
    public static func < (a: FencingToken, b: FencingToken) -> Bool { a.value < b.value }
    public var description: String { "#\(value)" }
}

/// One `region_leases` row.
public struct Lease: Hashable, Sendable {
    public var region: RegionKey
    /// nil once released (token kept, so the next owner gets token + 1).
    public var owner: NodeID?
    public var token: FencingToken
    public var expiresAt: Timestamp

    public init(region: RegionKey, owner: NodeID?, token: FencingToken, expiresAt: Timestamp) {
        self.region = region; self.owner = owner; self.token = token; self.expiresAt = expiresAt
    }

    /// A never-owned region (the row the schema seeds): no owner, token 0.
    public static func unowned(_ region: RegionKey) -> Lease {
        Lease(region: region, owner: nil, token: .zero, expiresAt: Timestamp(nanosecondsSinceEpoch: 0))
    }

    /// Held by someone who may still be serving: an owner and not yet expired.
    public func isHeld(at now: Timestamp) -> Bool { owner != nil && now < expiresAt }

    /// Whether a new owner may take it at `now` (free or expired).
    public func isAvailable(at now: Timestamp) -> Bool { !isHeld(at: now) }
}

/// The rules the SQL in `ClusterSchema` enforces, as pure transitions on a row. The SQL is
/// the authority in production; these give tests (and an in-memory store) the same semantics.
extension Lease {
    /// `ClusterSchema.acquireLease`: succeeds iff the row still has `expected` as its token and the
    /// lease is free, expired, or already this node's; the owner gets token + 1. Compare-and-set, so
    /// two racing nodes cannot both win. Re-acquiring its own lease (after a lost acknowledgement or
    /// a restart under the same id) gives a node a fresh token that fences anything it wrote before.
    public func acquired(by node: NodeID, expected: FencingToken, now: Timestamp, duration: Duration) -> Lease? {
        guard token == expected, isAvailable(at: now) || owner == node else { return nil }
        return Lease(region: region, owner: node, token: token.next, expiresAt: now + duration)
    }

    /// `ClusterSchema.renewLease`: only the owner with the current token, before expiry.
    public func renewed(by node: NodeID, token t: FencingToken, now: Timestamp, duration: Duration) -> Lease? {
        guard owner == node, token == t, now < expiresAt else { return nil }
        return Lease(region: region, owner: node, token: token, expiresAt: now + duration)
    }

    /// `ClusterSchema.releaseLease`: the owner gives it up; the token stays, so the next acquire bumps it.
    public func released(by node: NodeID, token t: FencingToken, now: Timestamp) -> Lease? {
        guard owner == node, token == t else { return nil }
        return Lease(region: region, owner: nil, token: token, expiresAt: now)
    }
}

/// Why a write was or was not accepted by the journal.
public enum FencingVerdict: Hashable, Sendable {
    case accepted
    /// The writer's token is not the region's current one: another node owns (or owned) it since.
    case staleToken(writer: FencingToken, current: FencingToken)
    /// The token is current but the lease ran out: the owner must renew before writing again.
    case leaseExpired(at: Timestamp)
    /// The lease is released.
    case noOwner
}

/// The journal's fencing rule (mirrored by `ClusterSchema.appendEvent`'s WHERE clause).
public enum Fencing {
    /// A write carrying token `t` for `lease.region` is accepted iff `t` is the current token
    /// and the lease is still held at `now`.
    public static func check(token t: FencingToken, against lease: Lease, now: Timestamp) -> FencingVerdict {
        guard t == lease.token else { return .staleToken(writer: t, current: lease.token) }
        guard lease.owner != nil else { return .noOwner }
        guard now < lease.expiresAt else { return .leaseExpired(at: lease.expiresAt) }
        return .accepted
    }
}
