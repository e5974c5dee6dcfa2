import DispatchPlanning
import Fleet
import Foundation
import Geo

/// Pickers at the hub and the stores: a lane per site, orders picked in arrival order by a few
/// pickers, each reported packed to the dispatcher.
extension RegionWorld {
    // MARK: Pickers

    func enqueuePick(_ site: SiteID, _ id: OrderID, _ now: Instant) async {
        if lanes[site] == nil {
            let isHub = setup.hubs.contains(site)
            lanes[site] = PickLane(secondsPerOrder: isHub ? scenario.hubPickSeconds : scenario.storePickSeconds,
                                   pickers: isHub ? scenario.hubPickers : scenario.storePickers)
        }
        lanes[site]!.queue.append(id)
        await startPicks(site, now)
    }

    func startPicks(_ site: SiteID, _ now: Instant) async {
        while lanes[site]!.busy < lanes[site]!.pickers, !lanes[site]!.queue.isEmpty {
            let id = lanes[site]!.queue.removeFirst()
            if orders[id]?.cancelledAt != nil { continue }
            let r = await call("pickingStarted \(id)", at: now) { try await gateway.siteReport(.pickingStarted(site: site, order: id, at: now)) }
            if case .failure(let e)? = r {
                if orders[id]?.cancelledAt == nil { note(now, "pickingStarted refused: \(e)") }
                continue
            }
            lanes[site]!.busy += 1
            schedule(now + lanes[site]!.secondsPerOrder, .pickDone(site, id))
        }
    }

    func pickDone(_ site: SiteID, _ id: OrderID, _ now: Instant) async {
        lanes[site]!.busy -= 1
        let r = await call("packed \(id)", at: now) { try await gateway.siteReport(.packed(site: site, order: id, at: now)) }
        switch r {
        case .success(.ok)?:
            orders[id]!.packedAt = now
        case .success(.readyForCollection(let code, _))?:
            orders[id]!.packedAt = now; orders[id]!.pickupCode = code
            orders[id]!.acknowledgedState = .readyForPickup
            if let so = scenarioOrders[id] {
                if so.fate.noShow { orders[id]!.noShow = true }
                else {
                    let close = Instant.local(scenario.serviceDay, Time.hm(21, 50), scenario.offset)
                    schedule(max(now + 60, min(now + so.fate.collectDelaySeconds, close)), .collect(id, attempt: 0))
                }
            }
        case .failure(let e)?:
            if orders[id]?.cancelledAt == nil { note(now, "packed refused: \(e)") }
        case nil: break
        }
        await startPicks(site, now)
    }
}
