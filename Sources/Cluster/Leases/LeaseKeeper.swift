/// What the lease shell must do. Carried out in order; each database result is fed back
/// (`acquired`, `renewed`, `drained`, `released`, `failed`).
public enum LeaseDirective: Hashable, Sendable {
    /// Run `ClusterSchema.acquireLease` expecting the row's current token; feed the result to `acquired` / `failed`.
    case acquire(RegionKey, expected: FencingToken)
    /// The lease is ours with this token: load snapshots, replay the journal, start accepting commands.
    case startServing(RegionKey, token: FencingToken)
    /// Run `ClusterSchema.renewLease`; feed the result to `renewed` / `failed`.
    case renew(RegionKey, token: FencingToken)
    /// The plan moved the region away: stop accepting new commands, finish in-flight ones,
    /// flush the journal, write snapshots; then call `drained`.
    case beginDrain(RegionKey, token: FencingToken)
    /// Run `ClusterSchema.releaseLease`; then call `released` (whatever the row count: a lost lease is released too).
    case release(RegionKey, token: FencingToken)
    /// Stop serving this region NOW (lease expired, lost, or stale token): drop in-memory actors,
    /// fail pending calls with `fenced`/`notOwner`. No journal write may follow.
    case stopServing(RegionKey, reason: String)
}

/// One node's side of region leases, as a pure state machine: decides acquire, renew,
/// drain → release, and step down, from the lease rows, the plan and `now`.
///
/// Safety does not depend on this machine being right: the journal rejects writes whose token is
/// not current. The machine's job is to stop serving *before* that happens: it never lets the
/// node serve past `expiresAt - safetyMargin` (the margin covers clock skew between this node and
/// the database and the time for a write to land).
public struct LeaseKeeper: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// Lease length granted by acquire and renew.
        public var leaseDuration: Duration
        /// Renew when less than this remains (well over one renew round trip, several per lease).
        public var renewWhenRemaining: Duration
        /// Stop serving this long before the known expiry.
        public var safetyMargin: Duration

        public init(leaseDuration: Duration = .seconds(15), renewWhenRemaining: Duration = .seconds(10),
                    safetyMargin: Duration = .seconds(2)) {
            self.leaseDuration = leaseDuration; self.renewWhenRemaining = renewWhenRemaining
            self.safetyMargin = safetyMargin
        }
    }

    /// Where this node stands with a region.
    public enum Phase: Hashable, Sendable {
        /// An acquire is in flight.
        case acquiring(expected: FencingToken)
        /// Serving with `token` until (at most) `expiresAt - safetyMargin`.
        case serving(token: FencingToken, expiresAt: Timestamp, renewing: Bool)
        /// Draining for hand-over; still may write (the lease is still ours, and is renewed) until `drained`.
        case draining(token: FencingToken, expiresAt: Timestamp, renewing: Bool)
        /// A release is in flight; no more writes.
        case releasing(token: FencingToken)
    }

    public let selfID: NodeID
    public let configuration: Configuration
    public private(set) var phases: [RegionKey: Phase] = [:]

    public init(selfID: NodeID, configuration: Configuration = .init()) {
        self.selfID = selfID; self.configuration = configuration
    }

    /// The token to put on journal writes for `region` at `now`, or nil if this node must not serve it.
    /// O(1). Call right before each write, with no `await` between the check and the write.
    public func servingToken(for region: RegionKey, now: Timestamp) -> FencingToken? {
        switch phases[region] {
        case let .serving(token, expiresAt, _), let .draining(token, expiresAt, _):
            return now < expiresAt - configuration.safetyMargin ? token : nil
        default:
            return nil
        }
    }

    /// Regions this node may serve at `now`, sorted.
    public func servingRegions(now: Timestamp) -> [RegionKey] {
        phases.keys.filter { servingToken(for: $0, now: now) != nil }.sorted()
    }

    /// Compare the database's lease rows and the plan (`desired`: regions the plan gives this node)
    /// with what this node holds, at `now`. Rows for regions not in `leases` are treated as unowned.
    public mutating func evaluate(leases: [Lease], desired: Set<RegionKey>, now: Timestamp) -> [LeaseDirective] {
        var directives: [LeaseDirective] = []
        let rows = Dictionary(leases.map { ($0.region, $0) }, uniquingKeysWith: { a, b in a.token >= b.token ? a : b })
        let regions = Set(rows.keys).union(desired).union(phases.keys).sorted()

        for region in regions {
            let row = rows[region] ?? .unowned(region)
            switch phases[region] {
            case nil:
                let mine = row.owner == selfID && row.isHeld(at: now)
                if desired.contains(region), row.isAvailable(at: now) || mine {
                    // `mine` without a phase: an acquire or renew whose answer was lost, or a previous
                    // incarnation's lease. Re-acquire for a fresh token rather than wait for expiry.
                    phases[region] = .acquiring(expected: row.token)
                    directives.append(.acquire(region, expected: row.token))
                } else if mine {
                    // Not ours by the plan but still ours in the table: free it for the planned owner.
                    phases[region] = .releasing(token: row.token)
                    directives.append(.release(region, token: row.token))
                }
            case .acquiring:
                break   // the result comes through `acquired` / `failed`
            case let .serving(token, expiresAt, renewing):
                if let reason = lost(row, token: token, expiresAt: expiresAt, now: now) {
                    phases[region] = nil
                    directives.append(.stopServing(region, reason: reason))
                } else if !desired.contains(region) {
                    phases[region] = .draining(token: token, expiresAt: expiresAt, renewing: renewing)
                    directives.append(.beginDrain(region, token: token))
                } else if !renewing, expiresAt - now < configuration.renewWhenRemaining {
                    phases[region] = .serving(token: token, expiresAt: expiresAt, renewing: true)
                    directives.append(.renew(region, token: token))
                }
            case let .draining(token, expiresAt, renewing):
                if let reason = lost(row, token: token, expiresAt: expiresAt, now: now) {
                    phases[region] = nil
                    directives.append(.stopServing(region, reason: reason))
                } else if desired.contains(region) {
                    // The plan changed back before the hand-over finished: keep serving.
                    phases[region] = .serving(token: token, expiresAt: expiresAt, renewing: renewing)
                    directives.append(.startServing(region, token: token))
                } else if !renewing, expiresAt - now < configuration.renewWhenRemaining {
                    // A long drain keeps the lease, so in-flight work can still be journaled.
                    phases[region] = .draining(token: token, expiresAt: expiresAt, renewing: true)
                    directives.append(.renew(region, token: token))
                }
            case .releasing:
                break
            }
        }
        return directives
    }

    /// Why a held lease is no longer ours, or nil if it still is.
    private func lost(_ row: Lease, token: FencingToken, expiresAt: Timestamp, now: Timestamp) -> String? {
        if row.token != token { return "token \(token) is stale (current \(row.token), owner \(row.owner?.description ?? "none"))" }
        if row.owner != selfID { return "lease released or taken (owner \(row.owner?.description ?? "none"))" }
        let until = min(expiresAt, row.expiresAt) - configuration.safetyMargin
        if now >= until { return "lease expires at \(min(expiresAt, row.expiresAt)); past the safety margin" }
        return nil
    }

    /// The periodic check between database reads: step down from anything whose known lease
    /// is past its safety margin. Call on a timer at least every `safetyMargin / 2`.
    public mutating func tick(now: Timestamp) -> [LeaseDirective] {
        var directives: [LeaseDirective] = []
        for region in phases.keys.sorted() {
            switch phases[region] {
            case let .serving(_, expiresAt, _), let .draining(_, expiresAt, _):
                if now >= expiresAt - configuration.safetyMargin {
                    phases[region] = nil
                    directives.append(.stopServing(region, reason: "lease expires at \(expiresAt); no renewal in time"))
                }
            default: break
            }
        }
        return directives
    }

    /// The acquire statement returned a row: the lease is ours.
    public mutating func acquired(_ lease: Lease, now: Timestamp) -> [LeaseDirective] {
        guard case .acquiring = phases[lease.region], lease.owner == selfID,
              now < lease.expiresAt - configuration.safetyMargin else {
            phases[lease.region] = nil
            return []
        }
        phases[lease.region] = .serving(token: lease.token, expiresAt: lease.expiresAt, renewing: false)
        return [.startServing(lease.region, token: lease.token)]
    }

    /// The renew statement returned a row.
    public mutating func renewed(_ lease: Lease) -> [LeaseDirective] {
        switch phases[lease.region] {
        case let .serving(token, _, _) where token == lease.token:
            phases[lease.region] = .serving(token: token, expiresAt: lease.expiresAt, renewing: false)
        case let .draining(token, _, _) where token == lease.token:
            phases[lease.region] = .draining(token: token, expiresAt: lease.expiresAt, renewing: false)
        default: break
        }
        return []
    }

    /// An acquire or renew statement matched no row (someone else won, or the lease was lost),
    /// or the database call failed. A failed renew is a lost lease: step down at once.
    public mutating func failed(_ region: RegionKey) -> [LeaseDirective] {
        switch phases[region] {
        case .acquiring:
            phases[region] = nil
            return []
        case .serving, .draining:
            phases[region] = nil
            return [.stopServing(region, reason: "renewal rejected: the lease is no longer ours")]
        case .releasing, nil:
            return []
        }
    }

    /// The shell finished draining: release the lease so the new owner need not wait for expiry.
    public mutating func drained(_ region: RegionKey) -> [LeaseDirective] {
        guard case let .draining(token, _, _) = phases[region] else { return [] }
        phases[region] = .releasing(token: token)
        return [.stopServing(region, reason: "handed over"), .release(region, token: token)]
    }

    /// The release statement ran (whether or not it matched a row).
    public mutating func released(_ region: RegionKey) {
        if case .releasing = phases[region] { phases[region] = nil }
    }

    /// Membership said this node is down: drop everything, at once.
    public mutating func stopAll(reason: String) -> [LeaseDirective] {
        let regions = phases.keys.sorted()
        let serving = regions.filter {
            switch phases[$0] { case .serving, .draining: true; default: false }
        }
        phases = [:]
        return serving.map { .stopServing($0, reason: reason) }
    }
}
