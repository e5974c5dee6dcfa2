import DispatchPlanning
import Fleet
import Foundation
import Geo

/// Drivers and riders with their handhelds: shifts, following the manifest, driving legs in
/// simulated traffic, arriving, serving at the door, reporting positions and outcomes.
extension RegionWorld {
    // MARK: Couriers

    func shiftStart(_ i: Int, _ now: Instant) async {
        guard sim[i].phase == .offShift else { return }
        couriers[i].startedAt = now
        sim[i].phase = .idle
        couriers[i].trace.append(TracePoint(at: now, position: sim[i].position))
        let r = await call("shiftStarted \(sim[i].spec.ref.id)", at: now) {
            try await gateway.report(.shiftStarted(sim[i].spec.ref, at: now, position: sim[i].position))
        }
        await follow(i, r, now)
    }

    func shiftEndDue(_ i: Int, _ now: Instant) async {
        if sim[i].phase == .idle { await endShift(i, now) }
    }

    func endShift(_ i: Int, _ now: Instant) async {
        guard sim[i].phase == .idle else { return }
        sim[i].phase = .ended
        sim[i].epoch += 1
        couriers[i].endedAt = now
        _ = await call("shiftEnded \(sim[i].spec.ref.id)", at: now) { try await gateway.report(.shiftEnded(sim[i].spec.ref, at: now)) }
    }

    /// Takes the manifest a report returned and acts on it.
    func follow(_ i: Int, _ r: Result<Manifest, DispatchCommandError>?, _ now: Instant) async {
        switch r {
        case .success(let m)?: sim[i].manifest = m
        case .failure(let e)?: note(now, "\(sim[i].spec.ref.id): report refused: \(e)")
        case nil: break
        }
        await proceed(i, now)
    }

    private static func same(_ a: ManifestStop, _ b: ManifestStop) -> Bool {
        a.kind == b.kind && a.orders == b.orders && a.site == b.site && a.fromCourier == b.fromCourier
            && abs(a.location.lat - b.location.lat) < 1e-7 && abs(a.location.lon - b.location.lon) < 1e-7
    }

    /// Heads for the manifest's first stop, or idles (polling) when there is none.
    func proceed(_ i: Int, _ now: Instant) async {
        guard sim[i].phase == .idle || sim[i].phase == .driving || sim[i].phase == .atStop else { return }
        let stops = sim[i].manifest?.stops ?? []
        guard var first = stops.first else {
            if sim[i].phase == .driving { settlePartialLeg(i, now) }
            sim[i].phase = .idle
            sim[i].leg = nil
            sim[i].epoch += 1
            if now >= sim[i].shiftEnd { await endShift(i, now); return }
            schedule(now + 300, .poll(i, epoch: sim[i].epoch))
            return
        }
        // Never serve the same stop twice in a row at the same place: the system has not caught up.
        if let done = sim[i].lastDone, Self.same(done, first), first.kind != .returnToBase || sim[i].lastDoneAt == now {
            if stops.count > 1 { first = stops[1] } else {
                anomalies += 1
                sim[i].phase = .idle; sim[i].epoch += 1
                schedule(now + 300, .poll(i, epoch: sim[i].epoch))
                return
            }
        }
        if sim[i].phase == .driving, let leg = sim[i].leg, Self.same(leg.stop, first) { return }
        if sim[i].phase == .driving { settlePartialLeg(i, now) }
        sim[i].epoch += 1
        let from = sim[i].position
        let metres = setup.travel.distanceMetres(from: from, to: first.location)
        var secs = metres < 5 ? 0 : setup.travel.travelSeconds(from: from, to: first.location, kind: sim[i].spec.kind, departingAt: now)
        if let jam = scenario.jams.first(where: { $0.region == region && now >= $0.from && now < $0.to }) {
            secs = Int64((Double(secs) * jam.factor).rounded())
        }
        sim[i].leg = Leg(from: from, to: first.location, departAt: now, arriveAt: now + secs, metres: metres < 5 ? 0 : metres, stop: first)
        sim[i].phase = .driving
        schedule(now + secs, .arrive(i, epoch: sim[i].epoch))
        if secs > 600 { schedule(now + 600, .tick(i, epoch: sim[i].epoch)) }
    }

    func interpolated(_ leg: Leg, _ now: Instant) -> (Coordinate, Double) {
        let span = Double(leg.arriveAt - leg.departAt)
        let f = span > 0 ? min(1, max(0, Double(now - leg.departAt) / span)) : 1
        return (Coordinate(lat: leg.from.lat + (leg.to.lat - leg.from.lat) * f, lon: leg.from.lon + (leg.to.lon - leg.from.lon) * f), f)
    }

    /// A redirected or interrupted leg: count what was driven and stop where the courier is.
    func settlePartialLeg(_ i: Int, _ now: Instant) {
        guard let leg = sim[i].leg else { return }
        let (p, f) = interpolated(leg, now)
        couriers[i].metres += Int64((Double(leg.metres) * f).rounded())
        couriers[i].busySeconds += max(0, now - leg.departAt)
        sim[i].position = p
        sim[i].leg = nil
        couriers[i].trace.append(TracePoint(at: now, position: p))
    }

    func tick(_ i: Int, _ now: Instant) async {
        guard sim[i].phase == .driving, let leg = sim[i].leg else { return }
        let (p, _) = interpolated(leg, now)
        couriers[i].trace.append(TracePoint(at: now, position: p))
        let ep = sim[i].epoch
        let r = await call("position \(sim[i].spec.ref.id)", at: now) { try await gateway.report(.position(sim[i].spec.ref, p, at: now)) }
        if case .success(let m)? = r {
            sim[i].manifest = m
            if let first = m.stops.first, Self.same(first, leg.stop) {
                // Still heading the same way.
            } else {
                await proceed(i, now)
                return
            }
        }
        if sim[i].epoch == ep, leg.arriveAt - now > 600 { schedule(now + 600, .tick(i, epoch: ep)) }
    }

    func poll(_ i: Int, _ now: Instant) async {
        guard sim[i].phase == .idle else { return }
        if now >= sim[i].shiftEnd && (sim[i].manifest?.stops.isEmpty ?? true) { await endShift(i, now); return }
        let r = await call("manifest \(sim[i].spec.ref.id)", at: now) { try await gateway.manifest(of: sim[i].spec.ref, at: now) }
        await follow(i, r, now)
    }

    func arrive(_ i: Int, _ now: Instant) async {
        guard let leg = sim[i].leg else { return }
        couriers[i].metres += leg.metres
        couriers[i].busySeconds += now - leg.departAt
        sim[i].position = leg.to
        couriers[i].trace.append(TracePoint(at: now, position: leg.to))
        sim[i].phase = .atStop
        let stop = leg.stop
        _ = await call("arrived \(sim[i].spec.ref.id)", at: now) {
            try await gateway.report(.arrived(sim[i].spec.ref, stop: stop.kind, orders: stop.orders, at: now))
        }
        if stop.kind == .returnToBase {
            await serviceDone(i, now)
            return
        }
        if let nb = stop.notBefore, nb > now {
            _ = await call("position \(sim[i].spec.ref.id)", at: now) { try await gateway.report(.position(sim[i].spec.ref, sim[i].position, at: now)) }
            schedule(nb, .serviceStart(i, epoch: sim[i].epoch))
        } else {
            await serviceStart(i, now)
        }
    }

    /// Loading takes 5 min (a rider 2 min); at the door 2 min plus 30 s a parcel (a rider 1 min
    /// plus 30 s): the figures dispatchers plan with, so the plan is judged on its routes.
    func serviceSeconds(_ i: Int, _ stop: ManifestStop) -> Int64 {
        let rider = sim[i].spec.kind.isRider
        switch stop.kind {
        case .pickup: return rider ? 120 : 300
        case .delivery:
            let parcels = Int64(stop.orders.first.flatMap { scenarioOrders[$0]?.parcels } ?? 1)
            return (rider ? 60 : 120) + 30 * parcels
        case .returnToBase: return 0
        }
    }

    func serviceStart(_ i: Int, _ now: Instant) async {
        guard let stop = sim[i].leg?.stop else { return }
        if stop.kind == .pickup && stop.fromCourier == nil {
            // Wait (up to 30 min past the planned time) for parcels still being picked.
            let waiting = stop.orders.filter { orders[$0]?.packedAt == nil && orders[$0]?.cancelledAt == nil }
            let planned = stop.notBefore ?? stop.eta
            if !waiting.isEmpty && now - planned < 1800 {
                schedule(now + 60, .serviceStart(i, epoch: sim[i].epoch))
                return
            }
        }
        let secs = serviceSeconds(i, stop)
        couriers[i].busySeconds += secs
        schedule(now + secs, .serviceDone(i, epoch: sim[i].epoch))
    }

    /// The handheld re-syncs: the current manifest, or nil when the system refuses or is unreachable.
    func currentManifest(_ i: Int, _ now: Instant) async -> Manifest? {
        let r = await call("manifest \(sim[i].spec.ref.id)", at: now) { try await gateway.manifest(of: sim[i].spec.ref, at: now) }
        if case .success(let m)? = r { sim[i].manifest = m; return m }
        return nil
    }

    func serviceDone(_ i: Int, _ now: Instant) async {
        guard let stop = sim[i].leg?.stop else { return }
        let ref = sim[i].spec.ref
        var r: Result<Manifest, DispatchCommandError>?
        switch stop.kind {
        case .pickup:
            // Loading is scanned against the manifest as it is now (the plan may have moved
            // parcels to another courier while this one was on its way).
            let current = await currentManifest(i, now)
            let listed = current?.stops.first { $0.kind == .pickup && $0.site == stop.site && $0.fromCourier == stop.fromCourier }?.orders ?? []
            var load: [OrderID] = []
            var from: Int? = nil
            if let f = stop.fromCourier, let j = courierIndex[f] {
                from = j
                load = listed.filter { sim[j].onBoard.contains($0) }
            } else if stop.fromCourier != nil {
                load = listed   // a courier of another region (not expected): trust the manifest
            } else {
                load = listed.filter { orders[$0]?.packedAt != nil && orders[$0]?.cancelledAt == nil }
            }
            if load.isEmpty {
                r = current.map { .success($0) }
                break
            }
            r = await call("pickedUp \(ref.id)", at: now) { try await gateway.report(.pickedUp(ref, orders: load, at: now)) }
            if case .success? = r {
                for o in load { sim[i].onBoard.insert(o); orders[o]?.courier = ref.id; if from == nil { orders[o]?.loadedAt = now } }
                if let j = from { for o in load { sim[j].onBoard.remove(o) } }
            }
        case .delivery:
            guard let id = stop.orders.first else { break }
            couriers[i].stopsServed += 1
            if !sim[i].onBoard.contains(id) {
                anomalies += 1
                note(now, "\(ref.id) reached \(id) without the parcel on board")
                r = await currentManifest(i, now).map { .success($0) }
                break
            }
            let firstAttempt = orders[id]?.firstAttemptAt == nil
            if firstAttempt && (scenarioOrders[id]?.fate.notHome ?? false) {
                r = await call("failed \(ref.id)", at: now) { try await gateway.report(.failed(ref, order: id, reason: .nobodyHome, at: now)) }
                if case .success? = r {
                    orders[id]?.firstAttemptAt = now
                    orders[id]?.failedAt = now; orders[id]?.failure = .nobodyHome
                    orders[id]?.acknowledgedState = .failed
                }
            } else {
                let proof = DeliveryProof(kind: .pin, reference: "pin-\(id.rawValue)")
                r = await call("delivered \(ref.id)", at: now) { try await gateway.report(.delivered(ref, order: id, proof: proof, at: now)) }
                if case .success? = r {
                    sim[i].onBoard.remove(id)
                    if firstAttempt { orders[id]?.firstAttemptAt = now }
                    orders[id]?.deliveredAt = now
                    orders[id]?.acknowledgedState = .delivered
                    couriers[i].deliveries += 1
                }
            }
        case .returnToBase:
            let back = sim[i].onBoard
            r = await call("returned \(ref.id)", at: now) { try await gateway.report(.returned(ref, at: now)) }
            if case .success? = r {
                sim[i].onBoard.removeAll()
                for o in back where orders[o]?.failedAt != nil && orders[o]?.deliveredAt == nil {
                    orders[o]?.returned = true; orders[o]?.acknowledgedState = .returned
                }
            }
        }
        if case .failure(let e)? = r {
            note(now, "\(ref.id): \(stop.kind.rawValue) report refused: \(e)")
            if let m = await currentManifest(i, now) { r = .success(m) }
        }
        sim[i].lastDone = stop
        sim[i].lastDoneAt = now
        sim[i].leg = nil
        sim[i].phase = .idle
        await follow(i, r, now)
    }
}
