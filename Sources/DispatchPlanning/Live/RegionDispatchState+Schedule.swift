import Fleet
import Geo

/// What a region's dispatcher must do next, and when: the schedule a shell runs on its clock.
public struct DueWork: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// The dawn cutoff: plan the wave (retried while it is not planned).
        case dawnWave
        /// The next re-optimisation of a changed plan (optimised policy).
        case reoptimise
        /// The earliest BOPIS hold that expires (no-show: stock returns).
        case holdExpiry
        /// Orders nobody could take yet are tried again.
        case unplannedRetry
        /// ETAs of couriers with work are refreshed (late orders re-planned, customers told).
        case etaRefresh
    }
    public var at: Instant
    public var kind: Kind
    public init(at: Instant, kind: Kind) { self.at = at; self.kind = kind }
    public var description: String { "\(kind.rawValue)@\(at.epochSeconds)" }
}

/// A service day's state in numbers, for `daybreak status`.
public struct DaySummary: Sendable, Hashable, Codable {
    public var region: RegionID
    public var day: LocalDay
    public var orders: Int
    /// Orders not in a final state, by `OrderState` raw value.
    public var openOrders: [String: Int]
    public var dawnWavePlanned: Bool
    public var nextDue: DueWork?
    public var settled: Bool
    /// The job the owner is running now (`dawnWave`, `reoptimise`), if any: filled by the shell.
    public var running: String?
    public init(region: RegionID, day: LocalDay, orders: Int, openOrders: [String: Int], dawnWavePlanned: Bool, nextDue: DueWork?, settled: Bool) {
        self.region = region; self.day = day; self.orders = orders; self.openOrders = openOrders
        self.dawnWavePlanned = dawnWavePlanned; self.nextDue = nextDue; self.settled = settled
    }
}

extension RegionDispatchState {
    /// Cadence of ETA refreshes and retries of the unplanned pool while there is work (simulated or
    /// wall seconds): the 5-minute step the simulated day always ticked at.
    public static let refreshEverySeconds: Int64 = 300
    /// How soon a due job that did not complete (a stale wave, a lost lease) is tried again.
    public static let retrySeconds: Int64 = 60

    /// The earliest work due strictly after `last` (the instant of the last `.tick` the shell
    /// performed; nil: none yet, e.g. a new owner after a failover, which makes overdue work due at
    /// once). nil: nothing will ever be due (the day is settled). Pure; O(orders + couriers).
    ///
    /// A shell performs it by sending `.tick(at: now)` once `now ≥ at` and then running
    /// `pendingWork(at: now)`; both cover everything due at or before `now`.
    public func nextDue(after last: Instant?) -> DueWork? {
        var best: DueWork?
        func consider(_ t: Instant, _ k: DueWork.Kind) {
            // Overdue (at or before the last tick, which did not clear it): at once, or soon after.
            let at = last.map { t > $0 ? t : $0 + (k == .dawnWave ? Self.retrySeconds : 1) } ?? t
            if best.map({ at < $0.at }) ?? true { best = DueWork(at: at, kind: k) }
        }
        let now = last ?? clock ?? dawnCutoff ?? Instant.local(config.serviceDay, 0, config.offset)
        if let cutoff = dawnCutoff, !dawnWavePlanned { consider(cutoff, .dawnWave) }
        if config.policy == .optimised, version != reoptimisedVersion,
           reoptimisable(now: now).contains(where: { couriers[$0].trips.contains { $0.start == .site && !$0.orders.isEmpty } }) {
            consider(lastReoptimiseAt.map { $0 + config.budgets.reoptimiseEverySeconds } ?? now, .reoptimise)
        }
        for site in counters.keys.sorted() {
            if let h = counters[site]?.holds.values.map(\.holdUntil).min() { consider(h, .holdExpiry) }
        }
        let step = Self.refreshEverySeconds
        let base = last ?? now
        if orders.values.contains(where: { unplannedRetryable($0) }) { consider(base + step, .unplannedRetry) }
        if couriers.contains(where: { !$0.ended && !$0.broken && ($0.trips.contains { !$0.orders.isEmpty } || !$0.failedOnBoard.isEmpty) }) {
            consider(base + step, .etaRefresh)
        }
        return best
    }

    /// An order the next tick would try to place again (not waiting for the wave, not held, not
    /// collected at a counter, not final).
    func unplannedRetryable(_ e: OrderEntry) -> Bool {
        guard e.courier == nil, !e.held, !e.order.state.isTerminal, e.order.product != .bopis else { return false }
        if e.order.product == .dawn && !dawnWavePlanned { return false }
        return [.accepted, .allocated, .picking, .packed].contains(e.order.state)
    }

    /// Whether the day is over at `now`: every order final, no courier with work or parcels on
    /// board, every shift over. A settled day takes no request that would change it except
    /// reads, and its shell may be put away (it reopens from the journal on demand).
    public func isSettled(at now: Instant) -> Bool {
        guard orders.values.allSatisfy({ $0.order.state.isTerminal }) else { return false }
        guard counters.values.allSatisfy({ $0.holds.isEmpty }) else { return false }
        for (i, c) in couriers.enumerated() {
            if c.trips.contains(where: { !$0.orders.isEmpty }) || !c.failedOnBoard.isEmpty { return false }
            if config.couriers[i].shiftEnd > now && !c.ended { return false }
        }
        // Dawn orders may still arrive until the cutoff of the night before.
        if let cutoff = dawnCutoff, now < cutoff { return false }
        return now >= Instant.local(config.serviceDay + 1, 0, config.offset)
    }

    /// The day in numbers at `now` (`last`: the shell's last tick, for the next due work).
    public func summary(at now: Instant, lastTick: Instant?) -> DaySummary {
        var open: [String: Int] = [:]
        for e in orders.values where !e.order.state.isTerminal { open[e.order.state.rawValue, default: 0] += 1 }
        return DaySummary(region: config.region, day: config.serviceDay, orders: orders.count, openOrders: open,
                          dawnWavePlanned: dawnWavePlanned, nextDue: nextDue(after: lastTick), settled: isSettled(at: now))
    }

    /// How strongly this day claims `courier`'s report at `at` (nil: not this day's courier):
    /// 0 while the courier's shift here is started and not ended or it still has work or parcels
    /// here; otherwise the distance in seconds from `at` to the shift (0 inside it). The shell sends
    /// a handheld's report to the open day with the smallest claim (the earlier day on a tie).
    public func claim(courier ref: CourierRef, at: Instant) -> Int64? {
        guard let i = courierIndex(ref) else { return nil }
        let c = couriers[i], cfg = config.couriers[i]
        // Parcels on board, or a shift in progress here: this day's. A shift its handheld never ended
        // (nor reported the drive home of) but past its end with nothing left to do counts as over.
        let parcels = !c.failedOnBoard.isEmpty || c.trips.contains { $0.start == .onBoard && !$0.orders.isEmpty }
        let idleAfterShift = at > cfg.shiftEnd && !c.trips.contains { !$0.orders.isEmpty }
        if !c.ended && (parcels || ((c.started || c.away) && !idleAfterShift)) { return 0 }
        if at < cfg.shiftStart { return cfg.shiftStart - at }
        // An ended shift loses to any shift still to come.
        if at > cfg.shiftEnd || c.ended { return max(0, at - cfg.shiftEnd) + (c.ended ? Time.secondsPerDay : 0) }
        return 0
    }
}
