/// What the node's cluster shell must do, in order.
public enum NodeDirective: Hashable, Sendable {
    case membership(MembershipDirective)
    case lease(LeaseDirective)
    /// This incarnation is finished (declared down or its heartbeat was refused): everything has been
    /// stepped down; register again (`ClusterSchema.registerNode`) and call `reregistered()`.
    case reregister
}

/// A node's whole cluster brain as one pure value: membership, the region plan and its leases.
/// The shell's loop is: read `cluster_nodes` and `region_leases` with the database's now, call
/// `observe`, carry out the directives (SQL from `ClusterSchema`, connections, activations), and
/// feed statement results back (`acquired`, `renewed`, `leaseFailed`, `drained`, `released`).
/// Between reads, `tick` enforces lease safety margins and TTLs.
///
/// Every node computes the same plan from the same rows (`RegionPlanner` is deterministic), so
/// nodes agree on who should own what without talking; leases and fencing make disagreement
/// (different snapshots, a partitioned node) safe, only slower.
public struct NodeCoordinator: Sendable {
    public private(set) var membership: Membership
    public private(set) var leases: LeaseKeeper
    public let regions: [RegionKey]
    /// The last computed target owner of every region.
    public private(set) var plan: [RegionKey: NodeID] = [:]
    /// False between losing the incarnation and `reregistered()`: acquire nothing.
    public private(set) var registered = true

    public var selfID: NodeID { membership.selfID }

    public init(selfID: NodeID, regions: [RegionKey],
                membership: Membership.Configuration = .init(), leases: LeaseKeeper.Configuration = .init()) {
        self.membership = Membership(selfID: selfID, configuration: membership)
        self.leases = LeaseKeeper(selfID: selfID, configuration: leases)
        self.regions = Array(Set(regions)).sorted()
    }

    /// The regions this node should own under the current plan.
    public var desired: Set<RegionKey> { Set(plan.filter { $0.value == selfID }.keys) }

    /// One round over fresh rows read at database time `now`.
    public mutating func observe(nodes: [NodeRecord], leases rows: [Lease], now: Timestamp) -> [NodeDirective] {
        var out: [NodeDirective] = []
        for d in membership.observe(nodes, now: now) {
            out.append(.membership(d))
            if case .stopServing(let reason) = d { out += loseIncarnation(reason) }
        }
        let current = Dictionary(uniqueKeysWithValues: rows.compactMap { row in
            row.isHeld(at: now) ? row.owner.map { (row.region, $0) } : nil
        })
        plan = RegionPlanner.plan(regions: regions, live: membership.liveNodes, current: current)
        let desired = registered && membership.live[selfID] != nil ? self.desired : []
        out += leases.evaluate(leases: rows, desired: desired, now: now).map(NodeDirective.lease)
        return out
    }

    /// Between reads: lease safety margins and member TTLs.
    public mutating func tick(now: Timestamp) -> [NodeDirective] {
        var out = leases.tick(now: now).map(NodeDirective.lease)
        for d in membership.tick(now: now) {
            out.append(.membership(d))
            if case .stopServing(let reason) = d { out += loseIncarnation(reason) }
        }
        return out
    }

    /// `ClusterSchema.heartbeat` matched no row: this incarnation was declared down or replaced.
    public mutating func heartbeatRefused() -> [NodeDirective] {
        loseIncarnation("heartbeat refused: this incarnation is down")
    }

    /// The shell registered a new incarnation.
    public mutating func reregistered() {
        registered = true
        membership.reregistered()
    }

    private mutating func loseIncarnation(_ reason: String) -> [NodeDirective] {
        guard registered else { return [] }
        registered = false
        return leases.stopAll(reason: reason).map(NodeDirective.lease) + [.reregister]
    }

    // Lease statement results, passed through to the keeper.
    public mutating func acquired(_ lease: Lease, now: Timestamp) -> [NodeDirective] {
        leases.acquired(lease, now: now).map(NodeDirective.lease)
    }
    public mutating func renewed(_ lease: Lease) -> [NodeDirective] { leases.renewed(lease).map(NodeDirective.lease) }
    public mutating func leaseFailed(_ region: RegionKey) -> [NodeDirective] { leases.failed(region).map(NodeDirective.lease) }
    public mutating func drained(_ region: RegionKey) -> [NodeDirective] { leases.drained(region).map(NodeDirective.lease) }
    public mutating func released(_ region: RegionKey) { leases.released(region) }
}
