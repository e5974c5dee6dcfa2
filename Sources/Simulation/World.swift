import DispatchPlanning
import Fleet
import Foundation
import Geo

// The world outside Daybreak: customers, pickers at the hub and the stores, drivers and riders
// with their handhelds. Each region's agents live in one `RegionWorld` actor that acts only
// through `DispatchGateway` and keeps the ground truth (when a parcel really reached its
// customer, how far each courier really drove, how long it was busy).

/// The fixed facts of the city the world is built from: couriers, sites, travel.
public struct WorldSetup: Sendable {
    public struct CourierSpec: Sendable, Hashable {
        public var ref: CourierRef
        public var kind: VehicleKind
        public var region: RegionID
        public var home: SiteID
        public var homeLocation: Coordinate
        public var shift: ShiftPattern
    }
    public var regions: [RegionID]
    public var couriers: [CourierSpec]
    public var sites: [SiteID: Coordinate]
    public var travel: GreatCircleTravelModel
    public var emissions: EmissionFactors
    public var regionMap: RegionMap
    /// Sites that are hubs (the rest are stores): hubs pick with the hub's crew.
    public var hubs: Set<SiteID>

    public init(regions: [RegionID], couriers: [CourierSpec], sites: [SiteID: Coordinate], travel: GreatCircleTravelModel,
                emissions: EmissionFactors, regionMap: RegionMap, hubs: Set<SiteID> = []) {
        self.regions = regions; self.couriers = couriers; self.sites = sites; self.travel = travel
        self.emissions = emissions; self.regionMap = regionMap; self.hubs = hubs
    }

    /// Couriers expanded from the operations file (ids as `OperationsConfig.vehicles()`/`riders()`
    /// spell them: prefix-001…), homes from the city file.
    public static func make(operations: OperationsConfig, city: CityRegionsFile) throws(ScenarioError) -> WorldSetup {
        var sites: [SiteID: Coordinate] = [:]
        for p in city.hubs + city.stores { sites[SiteID(p.id)] = p.location }
        var couriers: [CourierSpec] = []
        for r in operations.regions {
            for (fi, f) in r.fleets.enumerated() {
                guard let home = sites[f.site] else {
                    throw ScenarioError(item: "regions[\(r.id)].fleets[\(fi)].site", message: "\(f.site) is not a hub or store of the city file")
                }
                guard f.count > 0 else { continue }
                for n in 1...f.count {
                    let s = String(n)
                    let id = f.idPrefix + "-" + String(repeating: "0", count: max(0, 3 - s.count)) + s
                    couriers.append(CourierSpec(ref: f.kind.isRider ? .rider(RiderID(id)) : .vehicle(VehicleID(id)), kind: f.kind,
                                                region: r.id, home: f.site, homeLocation: home, shift: f.shift))
                }
            }
        }
        let travel: GreatCircleTravelModel
        do { travel = try operations.travelModel(regions: city.regions) }
        catch { throw ScenarioError(item: "travel model", message: "\(error)") }
        return WorldSetup(regions: operations.regions.map(\.id), couriers: couriers, sites: sites, travel: travel,
                          emissions: operations.emissionFactors, regionMap: city.regions, hubs: Set(city.hubs.map { SiteID($0.id) }))
    }
}

/// Wall time for measurements (injected so nothing pure reads a clock).
public struct WallClock: Sendable {
    public var now: @Sendable () -> ContinuousClock.Instant
    public init(now: @escaping @Sendable () -> ContinuousClock.Instant) { self.now = now }
    public static let continuous = WallClock { ContinuousClock().now }
}

/// What really happened to one order.
public struct OrderTruth: Sendable, Hashable {
    public var id: OrderID
    public var product: Product
    public var region: RegionID
    public var placedAt: Instant
    public var parcels: Int
    public var bad: BadInput?
    /// The system's answer: nil if the call failed (transport), then `rejection` says why.
    public var accepted = false
    public var rejection: String?
    public var promise: PromiseWindow?
    public var site: SiteID?
    public var packedAt: Instant?
    public var pickupCode: String?
    /// The first attempt at the door (delivered or failed).
    public var firstAttemptAt: Instant?
    public var deliveredAt: Instant?
    public var failedAt: Instant?
    public var failure: FailureReason?
    public var returned = false
    public var cancelledAt: Instant?
    public var cancelRefused: String?
    public var handedOverAt: Instant?
    public var wrongCodeAnswered = false
    public var noShow = false
    public var courier: String?
    /// When a courier loaded it at its site (the hub's van departure, for the warehouse layer).
    public var loadedAt: Instant?
    /// The last state the system confirmed to the simulation (an `OrderState` raw value).
    public var acknowledgedState: OrderState?
    /// Wall-clock nanoseconds of `placeOrder` (new order → assigned with an ETA).
    public var placeNanos: Int64 = 0
}

/// What really happened to one courier.
public struct CourierTruth: Sendable, Hashable {
    public var ref: CourierRef
    public var kind: VehicleKind
    public var region: RegionID
    public var shiftStart: Instant
    public var shiftEnd: Instant
    public var metres: Int64 = 0
    public var busySeconds: Int64 = 0
    public var stopsServed = 0
    public var deliveries = 0
    public var startedAt: Instant?
    public var endedAt: Instant?
    public var brokeDownAt: Instant?
    /// Positions with their times, as driven (for the map).
    public var trace: [TracePoint] = []
}

public struct TracePoint: Sendable, Hashable {
    public var at: Instant
    public var position: Coordinate
}

/// A notable thing that happened (errors the system returned, disruptions), for the report.
public struct DayNote: Sendable, Hashable {
    public var at: Instant
    public var region: RegionID
    public var text: String
}

/// One region's agents and ground truth.
actor RegionWorld {
    let region: RegionID
    let scenario: DayScenario
    let setup: WorldSetup
    let gateway: any DispatchGateway
    let wall: WallClock

    // Ground truth.
    private(set) var orders: [OrderID: OrderTruth] = [:]
    private(set) var couriers: [CourierTruth] = []
    private(set) var notes: [DayNote] = []
    private(set) var calls = 0
    private(set) var transportErrors = 0
    private(set) var anomalies = 0

    // Simulation state.
    private var heap = EventHeap()
    private var seq = 0
    private var scenarioOrders: [OrderID: ScenarioOrder] = [:]
    private var sim: [CourierSim] = []
    private var courierIndex: [CourierRef: Int] = [:]
    private var lanes: [SiteID: PickLane] = [:]
    private var placeAttempts: [OrderID: Int] = [:]

    struct Leg {
        var from: Coordinate
        var to: Coordinate
        var departAt: Instant
        var arriveAt: Instant
        var metres: Int64
        var stop: ManifestStop
    }
    enum Phase { case offShift, idle, driving, atStop, brokenDown, ended }
    struct CourierSim {
        var spec: WorldSetup.CourierSpec
        var phase: Phase = .offShift
        var position: Coordinate
        var leg: Leg?
        var manifest: Manifest?
        var onBoard: Set<OrderID> = []
        var epoch = 0
        var lastDone: ManifestStop?
        var lastDoneAt: Instant?
        var shiftEnd: Instant
    }
    struct PickLane {
        var secondsPerOrder: Int64
        var pickers: Int
        var busy = 0
        var queue: [OrderID] = []
    }
    enum Event {
        case place(OrderID)
        case cancel(OrderID)
        case collect(OrderID, attempt: Int)
        case pickDone(SiteID, OrderID)
        case shiftStart(Int)
        case shiftEnd(Int)
        case arrive(Int, epoch: Int)
        case serviceStart(Int, epoch: Int)
        case serviceDone(Int, epoch: Int)
        case tick(Int, epoch: Int)
        case poll(Int, epoch: Int)
        case breakdown(Breakdown)
        case command(ScheduledCommand)
    }

    init(region: RegionID, scenario: DayScenario, setup: WorldSetup, gateway: any DispatchGateway, wall: WallClock) {
        self.region = region; self.scenario = scenario; self.setup = setup; self.gateway = gateway; self.wall = wall
        let day = scenario.serviceDay, off = scenario.offset
        for o in scenario.orders where o.region == region {
            scenarioOrders[o.draft.id] = o
            orders[o.draft.id] = OrderTruth(id: o.draft.id, product: o.product, region: region, placedAt: o.placedAt, parcels: o.parcels, bad: o.bad)
        }
        for c in setup.couriers where c.region == region {
            let (s, e) = c.shift.on(day, off)
            courierIndex[c.ref] = sim.count
            sim.append(CourierSim(spec: c, position: c.homeLocation, shiftEnd: e))
            couriers.append(CourierTruth(ref: c.ref, kind: c.kind, region: region, shiftStart: s, shiftEnd: e))
        }
        var h = EventHeap(), n = 0
        func add(_ at: Instant, _ e: Event) { n += 1; h.push(EventHeap.Entry(at: at, seq: n, event: e)) }
        for o in scenario.orders where o.region == region { add(o.placedAt, .place(o.draft.id)) }
        for i in couriers.indices {
            add(couriers[i].shiftStart, .shiftStart(i))
            add(couriers[i].shiftEnd, .shiftEnd(i))
        }
        for b in scenario.breakdowns where b.region == region { add(b.at, .breakdown(b)) }
        for c in scenario.commands where c.region == region { add(c.at, .command(c)) }
        heap = h
        seq = n
    }

    private func schedule(_ at: Instant, _ e: Event) {
        seq += 1
        heap.push(EventHeap.Entry(at: at, seq: seq, event: e))
    }

    /// Keeps the first 500 notes of the region (a misbehaving system must not flood memory).
    private func note(_ at: Instant, _ text: @autoclosure () -> String) {
        notesDropped += 1
        guard notes.count < 500 else { return }
        notesDropped -= 1
        notes.append(DayNote(at: at, region: region, text: text()))
    }
    private(set) var notesDropped = 0

    /// Runs every event before `end`, in time order.
    func run(until end: Instant) async {
        while let top = heap.peek, top.at < end {
            let e = heap.pop()!
            await handle(e.event, at: e.at)
        }
    }

    func pendingEvents() -> Int { heap.count }

    // MARK: - Gateway calls (counted; transport errors noted, never fatal)

    private func call<T>(_ what: @autoclosure () -> String, at: Instant, _ body: () async throws -> T) async -> T? {
        calls += 1
        do { return try await body() } catch {
            transportErrors += 1
            if transportErrors <= 20, ProcessInfo.processInfo.environment["DAYBREAK_SIMULATE_TRACE"] == "1" {
                FileHandle.standardError.write(Data("transport error: \(what()): \(error)\n".utf8))
            }
            note(at, "\(what()): \(error)")
            return nil
        }
    }

    // MARK: - Events

    private func handle(_ e: Event, at now: Instant) async {
        switch e {
        case .place(let id): await place(id, now)
        case .cancel(let id): await cancel(id, now)
        case .collect(let id, let attempt): await collect(id, attempt: attempt, now)
        case .pickDone(let site, let id): await pickDone(site, id, now)
        case .shiftStart(let i): await shiftStart(i, now)
        case .shiftEnd(let i): await shiftEndDue(i, now)
        case .arrive(let i, let ep): if sim[i].epoch == ep { await arrive(i, now) }
        case .serviceStart(let i, let ep): if sim[i].epoch == ep { await serviceStart(i, now) }
        case .serviceDone(let i, let ep): if sim[i].epoch == ep { await serviceDone(i, now) }
        case .tick(let i, let ep): if sim[i].epoch == ep { await tick(i, now) }
        case .poll(let i, let ep): if sim[i].epoch == ep { await poll(i, now) }
        case .breakdown(let b): await breakdown(b, now)
        case .command(let c): await command(c, now)
        }
    }

    // MARK: Customers

    private func place(_ id: OrderID, _ now: Instant) async {
        guard let so = scenarioOrders[id] else { return }
        let t0 = wall.now()
        let outcome = await call("placeOrder \(id)", at: now) { try await gateway.placeOrder(so.draft, slot: so.slot, at: now) }
        let nanos = (wall.now() - t0).nanos
        orders[id]!.placeNanos = nanos
        guard let outcome else {
            // The checkout failed in transit: the customer tries again (the same order id; a
            // duplicate is refused by the system) up to three times, 30 s apart.
            placeAttempts[id, default: 0] += 1
            if placeAttempts[id]! < 3 { schedule(now + 30, .place(id)) } else { orders[id]!.rejection = "transport error (3 attempts)" }
            return
        }
        var site: SiteID?
        switch outcome {
        case .rejected(let r):
            orders[id]!.rejection = r.description
            if so.bad == nil { note(now, "rejected \(r.description)") }
            return
        case .assigned(let c, let s, _, let w):
            orders[id]!.promise = w; orders[id]!.courier = c.id; site = s
            orders[id]!.acknowledgedState = .assigned
            // The handheld buzzes: an idle courier looks at its manifest now.
            if let ci = courierIndex[c], sim[ci].phase == .idle {
                sim[ci].epoch += 1
                schedule(now, .poll(ci, epoch: sim[ci].epoch))
            }
        case .awaitingWave(let s, let w), .awaitingCollection(let s, let w):
            orders[id]!.promise = w; site = s
            orders[id]!.acknowledgedState = .allocated
        }
        orders[id]!.accepted = true
        orders[id]!.site = site
        if so.bad != nil { note(now, "bad order \(id) (\(so.bad!.rawValue)) was ACCEPTED") }
        if let after = so.fate.cancelAfterSeconds { schedule(now + after, .cancel(id)) }
        if let s = site { await enqueuePick(s, id, now) }
    }

    private func cancel(_ id: OrderID, _ now: Instant) async {
        guard let r = await call("cancelOrder \(id)", at: now, { try await gateway.cancelOrder(id, reason: .customerRequest, at: now) }) else { return }
        switch r {
        case .success: orders[id]!.cancelledAt = now; orders[id]!.acknowledgedState = .cancelled
        case .failure(let e): orders[id]!.cancelRefused = e.description
        }
    }

    private func collect(_ id: OrderID, attempt: Int, _ now: Instant) async {
        guard let truth = orders[id], let code = truth.pickupCode, truth.handedOverAt == nil, truth.cancelledAt == nil else { return }
        let wrong = attempt == 0 && (scenarioOrders[id]?.fate.wrongCodeFirst ?? false)
        let typed = wrong ? String(code.reversed()) == code ? code + "9" : String(code.reversed()) : code
        guard let out = await call("collect \(id)", at: now, { try await gateway.collect(id, code: typed, at: now) }) else { return }
        switch out {
        case .handedOver:
            orders[id]!.handedOverAt = now; orders[id]!.acknowledgedState = .pickedUp
        case .wrongCode:
            orders[id]!.wrongCodeAnswered = true
            if attempt < 2 { schedule(now + 60, .collect(id, attempt: attempt + 1)) }
        case .notReady:
            if attempt < 5 { schedule(now + 900, .collect(id, attempt: attempt + 1)) }
        case .locked, .expired, .unknownOrder:
            note(now, "collect \(id): \(out)")
        }
    }

    // MARK: Pickers

    private func enqueuePick(_ site: SiteID, _ id: OrderID, _ now: Instant) async {
        if lanes[site] == nil {
            let isHub = setup.hubs.contains(site)
            lanes[site] = PickLane(secondsPerOrder: isHub ? scenario.hubPickSeconds : scenario.storePickSeconds,
                                   pickers: isHub ? scenario.hubPickers : scenario.storePickers)
        }
        lanes[site]!.queue.append(id)
        await startPicks(site, now)
    }

    private func startPicks(_ site: SiteID, _ now: Instant) async {
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

    private func pickDone(_ site: SiteID, _ id: OrderID, _ now: Instant) async {
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

    // MARK: Couriers

    private func shiftStart(_ i: Int, _ now: Instant) async {
        guard sim[i].phase == .offShift else { return }
        couriers[i].startedAt = now
        sim[i].phase = .idle
        couriers[i].trace.append(TracePoint(at: now, position: sim[i].position))
        let r = await call("shiftStarted \(sim[i].spec.ref.id)", at: now) {
            try await gateway.report(.shiftStarted(sim[i].spec.ref, at: now, position: sim[i].position))
        }
        await follow(i, r, now)
    }

    private func shiftEndDue(_ i: Int, _ now: Instant) async {
        if sim[i].phase == .idle { await endShift(i, now) }
    }

    private func endShift(_ i: Int, _ now: Instant) async {
        guard sim[i].phase == .idle else { return }
        sim[i].phase = .ended
        sim[i].epoch += 1
        couriers[i].endedAt = now
        _ = await call("shiftEnded \(sim[i].spec.ref.id)", at: now) { try await gateway.report(.shiftEnded(sim[i].spec.ref, at: now)) }
    }

    /// Takes the manifest a report returned and acts on it.
    private func follow(_ i: Int, _ r: Result<Manifest, DispatchCommandError>?, _ now: Instant) async {
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
    private func proceed(_ i: Int, _ now: Instant) async {
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

    private func interpolated(_ leg: Leg, _ now: Instant) -> (Coordinate, Double) {
        let span = Double(leg.arriveAt - leg.departAt)
        let f = span > 0 ? min(1, max(0, Double(now - leg.departAt) / span)) : 1
        return (Coordinate(lat: leg.from.lat + (leg.to.lat - leg.from.lat) * f, lon: leg.from.lon + (leg.to.lon - leg.from.lon) * f), f)
    }

    /// A redirected or interrupted leg: count what was driven and stop where the courier is.
    private func settlePartialLeg(_ i: Int, _ now: Instant) {
        guard let leg = sim[i].leg else { return }
        let (p, f) = interpolated(leg, now)
        couriers[i].metres += Int64((Double(leg.metres) * f).rounded())
        couriers[i].busySeconds += max(0, now - leg.departAt)
        sim[i].position = p
        sim[i].leg = nil
        couriers[i].trace.append(TracePoint(at: now, position: p))
    }

    private func tick(_ i: Int, _ now: Instant) async {
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

    private func poll(_ i: Int, _ now: Instant) async {
        guard sim[i].phase == .idle else { return }
        if now >= sim[i].shiftEnd && (sim[i].manifest?.stops.isEmpty ?? true) { await endShift(i, now); return }
        let r = await call("manifest \(sim[i].spec.ref.id)", at: now) { try await gateway.manifest(of: sim[i].spec.ref, at: now) }
        await follow(i, r, now)
    }

    private func arrive(_ i: Int, _ now: Instant) async {
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
    private func serviceSeconds(_ i: Int, _ stop: ManifestStop) -> Int64 {
        let rider = sim[i].spec.kind.isRider
        switch stop.kind {
        case .pickup: return rider ? 120 : 300
        case .delivery:
            let parcels = Int64(stop.orders.first.flatMap { scenarioOrders[$0]?.parcels } ?? 1)
            return (rider ? 60 : 120) + 30 * parcels
        case .returnToBase: return 0
        }
    }

    private func serviceStart(_ i: Int, _ now: Instant) async {
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
    private func currentManifest(_ i: Int, _ now: Instant) async -> Manifest? {
        let r = await call("manifest \(sim[i].spec.ref.id)", at: now) { try await gateway.manifest(of: sim[i].spec.ref, at: now) }
        if case .success(let m)? = r { sim[i].manifest = m; return m }
        return nil
    }

    private func serviceDone(_ i: Int, _ now: Instant) async {
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

    // MARK: Disruptions and dispatchers

    private func breakdown(_ b: Breakdown, _ now: Instant) async {
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

    private func command(_ c: ScheduledCommand, _ now: Instant) async {
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
    func snapshot() -> (orders: [OrderTruth], couriers: [CourierTruth], notes: [DayNote], calls: Int, transportErrors: Int, anomalies: Int) {
        (orders.values.sorted { $0.id < $1.id }, couriers, notes, calls, transportErrors, anomalies)
    }
}

extension Duration {
    var nanos: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

/// A binary min-heap of events by (time, insertion order).
struct EventHeap {
    struct Entry { var at: Instant; var seq: Int; var event: RegionWorld.Event }
    private var a: [Entry] = []
    var count: Int { a.count }
    var peek: Entry? { a.first }
    private static func less(_ x: Entry, _ y: Entry) -> Bool { x.at != y.at ? x.at < y.at : x.seq < y.seq }
    mutating func push(_ e: Entry) {
        a.append(e)
        var i = a.count - 1
        while i > 0 { let p = (i - 1) / 2; if Self.less(a[i], a[p]) { a.swapAt(i, p); i = p } else { break } }
    }
    mutating func pop() -> Entry? {
        guard !a.isEmpty else { return nil }
        a.swapAt(0, a.count - 1)
        let top = a.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < a.count && Self.less(a[l], a[m]) { m = l }
            if r < a.count && Self.less(a[r], a[m]) { m = r }
            if m == i { break }
            a.swapAt(i, m); i = m
        }
        return top
    }
}
