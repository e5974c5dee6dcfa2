/// A node's identity in the cluster: stable across restarts (configured), unique.
public struct NodeID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }
    public static func < (a: NodeID, b: NodeID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { rawValue }
    /// Longest node id in UTF-8 bytes: `cluster_nodes.id` is CHECKed to at most 255 octets
    /// (`ClusterSchema`), and ping/pong frames carry the id in a one-byte length (`WireLimits`).
    public static let maxBytes = 255
}

/// The status column of `cluster_nodes` (`ClusterSchema`).
public enum NodeStatus: String, Sendable, Codable, CaseIterable {
    /// Registered and heartbeating.
    case alive
    /// Draining: announced it is leaving; hands its regions over, then deletes or marks itself down.
    case leaving
    /// Declared down (silent beyond the TTL) or left. A down incarnation never comes back;
    /// a restarted process registers a new incarnation (new `startedAt`).
    case down
}

/// One `cluster_nodes` row as read from the database.
public struct NodeRecord: Hashable, Sendable {
    public var id: NodeID
    /// Where other nodes reach it, e.g. "tcp://10.0.0.2:7000".
    public var endpoint: String
    /// The incarnation: a restart registers a new `startedAt`.
    public var startedAt: Timestamp
    public var lastHeartbeat: Timestamp
    public var status: NodeStatus

    public init(id: NodeID, endpoint: String, startedAt: Timestamp, lastHeartbeat: Timestamp, status: NodeStatus = .alive) {
        self.id = id; self.endpoint = endpoint; self.startedAt = startedAt
        self.lastHeartbeat = lastHeartbeat; self.status = status
    }
}

/// What the membership shell must do after an observation. Carried out in order.
public enum MembershipDirective: Hashable, Sendable {
    /// A new node (or a new incarnation of one) is live: connect to `endpoint`.
    case joined(NodeID, endpoint: String)
    /// A live node restarted (new incarnation): drop connections and in-flight calls to the old one.
    case restarted(NodeID, endpoint: String)
    /// Mark the node down in the database. The shell runs `ClusterSchema.markNodeDown`
    /// conditioned on `lastHeartbeat`, so a heartbeat that raced in wins and nothing is downed wrongly.
    case declareDown(NodeID, lastHeartbeat: Timestamp, silentFor: Duration)
    /// The node left the live set (declared down by anyone, leaving, or its row vanished): fail its in-flight calls.
    case removed(NodeID)
    /// The live set changed: recompute the region plan (`RegionPlanner`) over these nodes (sorted).
    case rebalanceNeeded(live: [NodeID])
    /// This node itself is considered down (its own heartbeat is stale or another node downed it):
    /// stop serving every region at once, then re-register as a new incarnation.
    case stopServing(reason: String)
}

/// Heartbeat-based membership as a pure state machine (the SWIM shape: a value type that
/// takes observations and `now`, and returns directives; the actor shell does the I/O).
///
/// Observations are full snapshots of `cluster_nodes`; `now` should be the database's
/// `now()` read in the same query so all nodes judge silence against one clock.
/// O(nodes log nodes) per observation.
public struct Membership: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// A node silent longer than this is declared down.
        public var ttl: Duration
        /// How often this node should write its heartbeat (a few per TTL, so one lost write is not fatal).
        public var heartbeatInterval: Duration
        public init(ttl: Duration = .seconds(10), heartbeatInterval: Duration = .seconds(2)) {
            self.ttl = ttl; self.heartbeatInterval = heartbeatInterval
        }
    }

    /// What this node currently believes about a live member.
    public struct Member: Hashable, Sendable {
        public var endpoint: String
        public var startedAt: Timestamp
        public var lastHeartbeat: Timestamp
    }

    public let selfID: NodeID
    public let configuration: Configuration
    /// Live members, including self once its own row has been observed.
    public private(set) var live: [NodeID: Member] = [:]
    /// Incarnations seen marked down in the table (or replaced by a restart), so a stale read that
    /// still says `alive` cannot bring them back. Only the table's verdict goes here: this node's own
    /// suspicion can lose the race against a heartbeat (`markNodeDown` is conditional).
    private var downIncarnations: Set<Incarnation> = []
    /// The last heartbeat for which `declareDown` was emitted, per node: once per silence.
    private var declared: [NodeID: Timestamp] = [:]
    private var stopped = false

    private struct Incarnation: Hashable, Sendable { var id: NodeID; var startedAt: Timestamp }

    public init(selfID: NodeID, configuration: Configuration = .init()) {
        self.selfID = selfID; self.configuration = configuration
    }

    /// Live node ids in ascending order (the input to region planning).
    public var liveNodes: [NodeID] { live.keys.sorted() }

    /// Fold a snapshot of all `cluster_nodes` rows observed at `now` into the view.
    public mutating func observe(_ rows: [NodeRecord], now: Timestamp) -> [MembershipDirective] {
        var directives: [MembershipDirective] = []
        let before = Set(live.keys)
        var seen = Set<NodeID>()

        for row in rows.sorted(by: { $0.id < $1.id }) {
            seen.insert(row.id)
            let incarnation = Incarnation(id: row.id, startedAt: row.startedAt)
            let silent = now - row.lastHeartbeat
            let isSelf = row.id == selfID

            if row.status != .alive || downIncarnations.contains(incarnation) {
                if row.status == .down { downIncarnations.insert(incarnation) }
                if let known = live[row.id], known.startedAt == row.startedAt || row.status == .down {
                    live[row.id] = nil
                    directives.append(.removed(row.id))
                }
                if isSelf && row.status == .down { directives.append(contentsOf: stop("this node was declared down")) }
                continue
            }
            if silent > configuration.ttl {
                if isSelf {
                    directives.append(contentsOf: stop("own heartbeat is \(silent) old (ttl \(configuration.ttl))"))
                } else if declared[row.id] != row.lastHeartbeat {
                    declared[row.id] = row.lastHeartbeat
                    directives.append(.declareDown(row.id, lastHeartbeat: row.lastHeartbeat, silentFor: silent))
                }
                if live.removeValue(forKey: row.id) != nil { directives.append(.removed(row.id)) }
                continue
            }
            // A fresh heartbeat: any suspicion lost the race (the conditional markNodeDown matched nothing).
            declared[row.id] = nil
            let member = Member(endpoint: row.endpoint, startedAt: row.startedAt, lastHeartbeat: row.lastHeartbeat)
            switch live[row.id] {
            case nil:
                directives.append(.joined(row.id, endpoint: row.endpoint))
            case let known? where known.startedAt != row.startedAt || known.endpoint != row.endpoint:
                downIncarnations.insert(Incarnation(id: row.id, startedAt: known.startedAt))
                directives.append(.restarted(row.id, endpoint: row.endpoint))
            default:
                break
            }
            live[row.id] = member
        }
        // A row that vanished: the node deregistered (or an operator removed it).
        for id in before.subtracting(seen).sorted() {
            live[id] = nil
            directives.append(.removed(id))
        }
        if Set(live.keys) != before || directives.contains(where: { if case .restarted = $0 { true } else { false } }) {
            directives.append(.rebalanceNeeded(live: liveNodes))
        }
        return directives
    }

    /// Without a fresh snapshot: is any member (or self) already past the TTL at `now`?
    /// Lets the shell react between database reads (e.g. when a read itself is slow).
    public mutating func tick(now: Timestamp) -> [MembershipDirective] {
        var directives: [MembershipDirective] = []
        for id in liveNodes {
            guard let m = live[id] else { continue }
            let silent = now - m.lastHeartbeat
            guard silent > configuration.ttl else { continue }
            live[id] = nil
            if id == selfID {
                directives.append(contentsOf: stop("own heartbeat is \(silent) old (ttl \(configuration.ttl))"))
            } else if declared[id] != m.lastHeartbeat {
                declared[id] = m.lastHeartbeat
                directives.append(.declareDown(id, lastHeartbeat: m.lastHeartbeat, silentFor: silent))
            }
            directives.append(.removed(id))
        }
        if !directives.isEmpty { directives.append(.rebalanceNeeded(live: liveNodes)) }
        return directives
    }

    /// After `stopServing`, the shell re-registers with a new `startedAt`; call this to accept it again.
    public mutating func reregistered() { stopped = false }

    private mutating func stop(_ reason: String) -> [MembershipDirective] {
        guard !stopped else { return [] }
        stopped = true
        return [.stopServing(reason: reason)]
    }
}
