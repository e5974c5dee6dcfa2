import DispatchPlanning
import Fleet
import Foundation
import Geo

/// Disruptions and dispatchers: breakdowns, and the dispatchers' scheduled commands.
extension RegionWorld {
    // MARK: Disruptions and dispatchers

    func breakdown(_ b: Breakdown, _ now: Instant) async {
        let candidates = sim.indices.filter {
            !sim[$0].spec.kind.isRider && sim[$0].spec.kind != .truck && sim[$0].spec.shift.start == b.shiftStart
                && (sim[$0].phase == .driving || sim[$0].phase == .atStop)
        }
        guard let i = candidates.max(by: { sim[$0].onBoard.count != sim[$1].onBoard.count ? sim[$0].onBoard.count < sim[$1].onBoard.count
                                                                                          : sim[$0].spec.ref.id > sim[$1].spec.ref.id }) else {
            note(now, "breakdown: no van of the \(b.shiftStart) shift on the road")
            return
        }
        if sim[i].phase == .driving { settlePartialLeg(i, now) }
        sim[i].phase = .brokenDown
        sim[i].epoch += 1
        couriers[i].brokeDownAt = now
        note(now, "\(sim[i].spec.ref.id) broke down with \(sim[i].onBoard.count) parcels on board")
        _ = await call("breakdown \(sim[i].spec.ref.id)", at: now) { try await gateway.report(.breakdown(sim[i].spec.ref, position: sim[i].position, at: now)) }
    }

    func command(_ c: ScheduledCommand, _ now: Instant) async {
        let cmd: DispatcherCommand
        switch c.action {
        case .hold, .holdUnknownOrder: cmd = .hold(c.order)
        case .release: cmd = .release(c.order)
        case .reassign:
            guard let current = orders[c.order]?.courier, let ci = sim.firstIndex(where: { $0.spec.ref.id == current }) else {
                note(now, "reassign \(c.order): not assigned to a courier yet; skipped")
                return
            }
            let spec = sim[ci].spec
            guard let target = sim.indices.first(where: { $0 != ci && sim[$0].spec.kind == spec.kind && sim[$0].spec.home == spec.home
                                                             && sim[$0].spec.shift == spec.shift && sim[$0].phase != .brokenDown && sim[$0].phase != .ended }) else {
                note(now, "reassign \(c.order): no other courier on shift; skipped")
                return
            }
            cmd = .reassign(c.order, to: sim[target].spec.ref)
        }
        guard let r = await call("command \(c.action.rawValue) \(c.order)", at: now, { try await gateway.command(cmd, region: c.region, at: now) }) else { return }
        switch r {
        case .success: note(now, "dispatcher: \(c.action.rawValue) \(c.order): done")
        case .failure(let e): note(now, "dispatcher: \(c.action.rawValue) \(c.order): refused: \(e.description)")
        }
        if c.action == .holdUnknownOrder, case .success = r { anomalies += 1 }
    }

    /// Final snapshot.
}
