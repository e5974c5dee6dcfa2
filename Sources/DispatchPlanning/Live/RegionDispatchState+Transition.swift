import Fleet
import Geo

extension RegionDispatchState {
    /// The one transition both `decide` (on a copy) and `apply` run. A refusal must leave
    /// `step.accepted` false (what it changed on the copy is thrown away).
    mutating func transition(_ request: DispatchRequest, _ step: inout Step) -> DispatchResponse {
        let response: DispatchResponse
        switch request {
        case .placeOrder(let d, let slot, let at): response = .placed(placeOrder(d, slot: slot, at: at, &step))
        case .cancelOrder(let id, let reason, let at): response = cancel(id, reason: reason, at: at, &step)
        case .report(let r): response = report(r, &step)
        case .site(let r): response = siteReport(r, &step)
        case .collect(let id, let code, let at): response = .collect(collect(id, code: code, at: at, &step))
        case .command(let c, let at): response = command(c, at: at, &step)
        case .tick(let at):
            tick(at, &step)
            response = .done
        case .workDone(let r): response = workDone(r, &step)
        case .stock(let c): response = stock(c, &step)
        case .unlockCollection(let id, let reason, let at): response = unlockCollection(id, staffReason: reason, at: at, &step)
        }
        // The machine's rule: a refusal or rejection never has an event (whatever the copy did).
        switch response {
        case .refused, .placed(.rejected): step = Step()
        default: break
        }
        if step.accepted, let at = request.at { clock = max(clock ?? at, at) }
        return response
    }

    func refuse(_ item: String, _ p: DispatchCommandError.Problem, _ m: String) -> DispatchResponse {
        .refused(DispatchCommandError(item: item, problem: p, message: m))
    }

    // MARK: - Orders

    static func describe(_ p: OrderValidationError.Problem) -> String {
        switch p {
        case .noLines: return "the order has no lines"
        case .nonPositiveQuantity(let sku, let q): return "line \(sku): quantity \(q) is not positive"
        case .unknownSKU(let sku): return "unknown SKU \(sku)"
        case .duplicateLine(let sku): return "SKU \(sku) appears on two lines"
        case .negativeWeight(let w): return "negative weight \(w) g"
        case .negativeVolume(let v): return "negative volume \(v) mL"
        case .zoneTooWarm(let sku, let needs, let given): return "SKU \(sku) needs \(needs.rawValue), the order is \(given.rawValue)"
        case .invalidCoordinate(let c): return "destination (\(c.lat), \(c.lon)) is not a valid coordinate"
        case .outsideEveryRegion(let c): return "destination (\(c.lat), \(c.lon)) is outside every region"
        case .cannotPromise(let e): return e.description
        }
    }

    /// How far outside the region's shape one of its stores serves an order of `product` (the rule
    /// `OrderRouting` routes by): quick within the quick radius, BOPIS within
    /// `OrderRouting.bopisReachMetres`; other products not at all.
    func storeReach(_ product: Product) -> Double? {
        switch product {
        case .quick: return config.products.quick?.maxRadiusMetres
        case .bopis: return OrderRouting.bopisReachMetres
        case .dawn, .sameDay, .scheduled: return nil
        }
    }

    /// Whether `p` is this region's: inside its shape, or (quick, BOPIS) within reach of one of its stores.
    func serves(_ p: Coordinate, _ product: Product) -> Bool {
        if config.shape.contains(p) { return true }
        guard let reach = storeReach(product) else { return false }
        return config.sites.contains { $0.kind == .store && GreatCircle.distanceMetres($0.location, p) <= reach }
    }

    func create(_ d: OrderDraft, slot: Instant?, at: Instant, hours: OpeningHours?) -> Result<Order, PlaceOrderRejection> {
        let region = config.region
        do {
            return .success(try Order.create(d, at: at, catalogue: Catalogue(config.catalogue),
                                             locate: { serves($0, d.product) ? region : nil },
                                             configs: [region: config.products], slot: slot, storeHours: hours))
        } catch {
            let problem: PlaceOrderRejection.Problem
            switch error.problem {
            case .outsideEveryRegion: problem = .outsideEveryRegion
            case .cannotPromise(let p):
                switch p.reason {
                case .notOffered, .storeClosed: problem = .productNotOffered
                default: problem = .invalidOrder
                }
            default: problem = .invalidOrder
            }
            return .failure(PlaceOrderRejection(order: d.id, problem: problem, message: Self.describe(error.problem)))
        }
    }

    func stockCovers(_ site: SiteID, _ lines: [OrderLine]) -> SKU? {
        guard let inv = inventories[site] else { return lines.first?.sku }
        return lines.first { inv.available($0.sku) < $0.quantity }?.sku
    }

    /// The store for a quick or BOPIS order: nearest first (within `radius` if given), open for the
    /// product's promise, stock covering every line.
    func chooseStore(_ d: OrderDraft, slot: Instant?, at: Instant, radius: Double?) -> Result<(SiteConfigRef, Order), PlaceOrderRejection> {
        var stores: [(RegionDispatchConfig.Site, Double)] = []
        for site in config.sites where site.kind == .store {
            let m = GreatCircle.distanceMetres(site.location, d.destination)
            if let r = radius, m > r { continue }
            stores.append((site, m))
        }
        stores.sort { a, b in a.1 != b.1 ? a.1 < b.1 : a.0.id < b.0.id }
        guard !stores.isEmpty else {
            return .failure(PlaceOrderRejection(order: d.id, problem: .productNotOffered,
                                                message: "no store of region \(config.region) within \(Int(radius ?? 0)) m of the destination"))
        }
        var firstProblem: PlaceOrderRejection?
        for (s, _) in stores {
            switch create(d, slot: slot, at: at, hours: s.hours) {
            case .failure(let r): if firstProblem == nil { firstProblem = r }
            case .success(let o):
                if let sku = stockCovers(s.id, o.lines) {
                    if firstProblem == nil {
                        firstProblem = PlaceOrderRejection(order: d.id, problem: .outOfStock, message: "SKU \(sku) is out of stock at \(s.id)")
                    }
                    continue
                }
                return .success((SiteConfigRef(id: s.id), o))
            }
        }
        return .failure(firstProblem!)
    }

    mutating func placeOrder(_ d: OrderDraft, slot: Instant?, at: Instant, _ step: inout Step) -> PlaceOrderOutcome {
        guard orders[d.id] == nil else {
            return .rejected(PlaceOrderRejection(order: d.id, problem: .duplicateOrder, message: "order \(d.id) was already placed"))
        }
        let order: Order, site: SiteID
        switch create(d, slot: slot, at: at, hours: nil) {
        case .failure(let r): return .rejected(r)
        case .success(let o):
            switch o.product {
            case .dawn, .sameDay, .scheduled:
                guard let hub = config.hub else {
                    return .rejected(PlaceOrderRejection(order: d.id, problem: .productNotOffered, message: "region \(config.region) has no hub"))
                }
                if o.product == .dawn {
                    let day = o.promise.earliest.localDay(config.offset)
                    guard day == config.serviceDay, !dawnWavePlanned else {
                        return .rejected(PlaceOrderRejection(order: d.id, problem: .productNotOffered,
                                                             message: "dawn delivery on \(day) is not this dispatcher's wave (\(config.serviceDay))"))
                    }
                }
                if let full = slotRefusal(o, at: at) { return .rejected(full) }
                if let sku = stockCovers(hub, o.lines) {
                    return .rejected(PlaceOrderRejection(order: d.id, problem: .outOfStock, message: "SKU \(sku) is out of stock at \(hub)"))
                }
                order = o; site = hub
            case .quick, .bopis:
                // BOPIS inside the shape: any of the region's stores; outside it only those in reach.
                let radius = o.product == .quick ? (config.products.quick?.maxRadiusMetres ?? 0)
                    : (config.shape.contains(d.destination) ? nil : storeReach(.bopis))
                switch chooseStore(d, slot: slot, at: at, radius: radius) {
                case .failure(let r): return .rejected(r)
                case .success(let (s, o2)): order = o2; site = s.id
                }
            }
        }
        let rate = Int64(config.site(site)?.pickLinesPerHour ?? 1)
        let start = max(at, pickFreeAt[site] ?? at)
        let ready = start + (Int64(order.lines.count) * 3600 + rate - 1) / rate
        orders[order.id] = OrderEntry(order: order, seq: nextSeq, site: site, ready: ready, packed: false, courier: nil, held: false,
                                      assignSent: nil, notify: NotificationState(), code: nil, holdUntil: nil,
                                      factor: travel.model.circuityFactor(at: order.destination))
        nextSeq += 1
        pickFreeAt[site] = ready
        step.add(.order(order.id, .create(order)))
        life(order.id, .accept, at: at, &step)
        life(order.id, .allocate(site), at: at, &step)
        store(site, .reserve(order.id, order.lines), &step)
        switch order.product {
        case .dawn: return .awaitingWave(site: site, window: order.promise)
        case .bopis: return .awaitingCollection(site: site, window: order.promise)
        case .sameDay, .scheduled, .quick:
            guard let ins = place(order.id, couriers: candidates(for: order.id, now: at), now: at) else {
                step = Step()   // nothing happened: no order, no reservation, no event
                return .rejected(PlaceOrderRejection(order: order.id, problem: .noCapacity,
                                                     message: "no courier of \(site) can deliver \(order.product.rawValue) order \(order.id) within its promise"))
            }
            commit(order.id, ins, at: at, &step, notifyAssigned: true)
            refresh(now: at, &step)
            return .assigned(courier: couriers[ins.courier].ref, site: site, eta: ins.eta, window: order.promise)
        }
    }

    mutating func cancel(_ id: OrderID, reason: CancelReason, at: Instant, _ step: inout Step) -> DispatchResponse {
        guard let e = orders[id] else { return refuse("order \(id)", .unknownOrder, "region \(config.region) does not know order \(id)") }
        switch e.order.state {
        case .delivered, .returned, .cancelled, .pickedUp, .noShow, .failed:
            return refuse("order \(id)", .invalidState, "order \(id) is \(e.order.state.rawValue): it can no longer be cancelled")
        case .outForDelivery, .arrived:
            guard let i = couriers.firstIndex(where: { $0.trips.contains { $0.orders.contains(id) } }) else {
                return refuse("order \(id)", .invalidState, "order \(id) is on the road but on no courier's route")
            }
            for k in couriers[i].trips.indices { couriers[i].trips[k].orders.removeAll { $0 == id } }
            couriers[i].trips.removeAll { $0.orders.isEmpty }
            couriers[i].failedOnBoard.append(id)
            version += 1
            if e.order.state == .outForDelivery { life(id, .cancel(reason), at: at, &step) }
            else { life(id, .fail(.cancelledAfterDispatch), at: at, &step) }
            refresh(now: at, &step)
            return .done
        case .created, .accepted, .allocated, .picking, .packed, .assigned, .readyForPickup:
            unplanForCancel(id)
            if e.order.state == .readyForPickup { _ = try? counters[e.site]?.withdraw(id) }
            let picked = e.order.state == .packed || e.order.state == .assigned || e.order.state == .readyForPickup
            life(id, .cancel(reason), at: at, &step)
            if picked { store(e.site, .restock(id, e.order.lines), &step) } else { store(e.site, .release(id), &step) }
            refresh(now: at, &step)
            return .done
        }
    }

    /// Out of the plan for a cancellation (the cancel itself replaces Fleet's unassign).
    mutating func unplanForCancel(_ id: OrderID) {
        removeFromPlan(id)
        orders[id]?.courier = nil
        orders[id]?.assignSent = nil
    }

    // MARK: - Sites and the BOPIS counter

    mutating func siteReport(_ r: SiteReport, _ step: inout Step) -> DispatchResponse {
        let (site, id, at): (SiteID, OrderID, Instant)
        switch r {
        case .pickingStarted(let s, let o, let t), .packed(let s, let o, let t): (site, id, at) = (s, o, t)
        }
        guard config.site(site) != nil else { return refuse("site \(site)", .unknownSite, "site \(site) is not a site of region \(config.region)") }
        guard let e = orders[id] else { return refuse("order \(id)", .unknownOrder, "region \(config.region) does not know order \(id)") }
        guard e.site == site else { return refuse("order \(id)", .invalidState, "order \(id) is allocated to \(e.site), not \(site)") }
        switch r {
        case .pickingStarted:
            switch e.order.state {
            case .allocated: life(id, .startPicking, at: at, &step); return .site(.ok)
            case .picking, .packed, .assigned, .outForDelivery, .arrived, .delivered, .failed, .returned, .readyForPickup, .pickedUp, .noShow:
                return .site(.ok)   // already past: a repeated report changes nothing
            case .created, .accepted, .cancelled:
                return refuse("order \(id)", .invalidState, "order \(id) is \(e.order.state.rawValue): picking cannot start")
            }
        case .packed:
            switch e.order.state {
            case .allocated, .picking: break
            case .readyForPickup:
                if let c = e.code, let h = e.holdUntil { return .site(.readyForCollection(code: c, holdUntil: h)) }
                return .site(.ok)
            case .packed, .assigned, .outForDelivery, .arrived, .delivered, .failed, .returned, .pickedUp, .noShow:
                return .site(.ok)
            case .created, .accepted, .cancelled:
                return refuse("order \(id)", .invalidState, "order \(id) is \(e.order.state.rawValue): it cannot be packed")
            }
            ensurePacked(id, at: at, &step)
            orders[id]!.ready = at
            if e.order.product == .bopis {
                let holdHours = config.products.bopis?.holdHours ?? 48
                let promised = e.order.promise.holdUntil ?? at
                let holdUntil = promised > at ? promised : at + holdHours * 3600
                var rng = CodeGenerator(seed: entropy ?? config.seed, order: id)
                guard var counter = counters[site], let code = try? counter.hold(id, lines: e.order.lines, readyAt: at, holdUntil: holdUntil, using: &rng) else {
                    step = Step()
                    return refuse("site \(site)", .invalidState, "site \(site) has no BOPIS counter for order \(id)")
                }
                counters[site] = counter
                orders[id]!.code = code
                orders[id]!.holdUntil = holdUntil
                store(site, .markReady(id, code: code, holdUntil: holdUntil), &step)
                life(id, .markReadyForPickup, at: at, &step)
                step.add(.notify(CustomerNotification(order: id, kind: .readyForPickup, window: ETAWindow(earliest: at, latest: holdUntil),
                                                      at: at, code: code)))
                return .site(.readyForCollection(code: code, holdUntil: holdUntil))
            }
            syncAssign(id, at: at, &step)
            refresh(now: at, &step)
            return .site(.ok)
        }
    }

    mutating func collect(_ id: OrderID, code: String, at: Instant, _ step: inout Step) -> CollectOutcome {
        guard let e = orders[id], e.order.product == .bopis else { return .unknownOrder }
        switch e.order.state {
        case .created, .accepted, .allocated, .picking, .packed: return .notReady
        case .noShow, .returned: return .expired
        case .readyForPickup: break
        default: return .unknownOrder
        }
        guard var counter = counters[e.site], let hold = counter.holds[id] else { return .unknownOrder }
        if at >= hold.holdUntil { return .expired }
        if at < hold.readyAt { return .notReady }
        if hold.attemptsLeft == 0 { return .locked }
        do {
            _ = try counter.handOver(id, code: code, at: at)
            counters[e.site] = counter
            store(e.site, .handOver(id), &step)
            life(id, .handOver, at: at, &step)
            return .handedOver
        } catch {
            counters[e.site] = counter
            step.accepted = true   // a wrong code costs an attempt: that is a change to journal
            switch error.problem {
            case .wrongCode(let n): return .wrongCode(attemptsLeft: n)
            case .locked: return .locked
            case .expired: return .expired
            case .notReadyYet: return .notReady
            case .unknownOrder, .alreadyHeld: return .unknownOrder
            }
        }
    }

    // MARK: - The clock

    mutating func tick(_ at: Instant, _ step: inout Step) {
        for site in counters.keys.sorted() {
            guard var counter = counters[site] else { continue }
            let due = counter.expire(at: at)
            guard !due.isEmpty else { continue }
            counters[site] = counter
            for d in due {
                guard case .noShow(let id, _) = d else { continue }
                store(site, .noShow(id), &step)
                life(id, .markNoShow, at: at, &step)
                orders[id]?.noShowAt = at
                life(id, .returnItems, at: at, &step)
            }
        }
        placeUnplanned(now: at, &step)
        repairLate(now: at, &step)
        refresh(now: at, &step)
    }
}

/// A store chosen for an order.
struct SiteConfigRef { var id: SiteID }

/// Pickup codes: SplitMix64 seeded from the shell's entropy (64 bits from the system's
/// cryptographic source: unpredictable) or, without it, the config seed, mixed with the order ID
/// (FNV-1a). Replay never draws again: `apply` writes the code the event recorded.
struct CodeGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64, order: OrderID) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in order.rawValue.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        state = h ^ seed
    }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
