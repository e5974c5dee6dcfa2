import DispatchPlanning
import Fleet
import Foundation
import Geo

// The world outside Daybreak: customers, pickers at the hub and the stores, drivers and riders
// with their handhelds. Each region's agents live in one `RegionWorld` actor that acts only
// through `DispatchGateway` and keeps the ground truth (when a parcel really reached its
// customer, how far each courier really drove, how long it was busy).
// The agents' behaviour is split by agent: World+Customers, World+Pickers, World+Couriers,
// World+Disruptions.

actor RegionWorld {
    let region: RegionID
    let scenario: DayScenario
    let setup: WorldSetup
    let gateway: any DispatchGateway
    let wall: WallClock

    // Ground truth.
    var orders: [OrderID: OrderTruth] = [:]
    var couriers: [CourierTruth] = []
    var notes: [DayNote] = []
    var calls = 0
    var transportErrors = 0
    var anomalies = 0

    // Simulation state.
    var heap = EventHeap()
    var seq = 0
    var scenarioOrders: [OrderID: ScenarioOrder] = [:]
    var sim: [CourierSim] = []
    var courierIndex: [CourierRef: Int] = [:]
    var lanes: [SiteID: PickLane] = [:]
    var placeAttempts: [OrderID: Int] = [:]

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

    func schedule(_ at: Instant, _ e: Event) {
        seq += 1
        heap.push(EventHeap.Entry(at: at, seq: seq, event: e))
    }

    /// Keeps the first 500 notes of the region (a misbehaving system must not flood memory).
    func note(_ at: Instant, _ text: @autoclosure () -> String) {
        notesDropped += 1
        guard notes.count < 500 else { return }
        notesDropped -= 1
        notes.append(DayNote(at: at, region: region, text: text()))
    }
    var notesDropped = 0

    /// Runs every event before `end`, in time order.
    func run(until end: Instant) async {
        while let top = heap.peek, top.at < end {
            let e = heap.pop()!
            await handle(e.event, at: e.at)
        }
    }

    func pendingEvents() -> Int { heap.count }

    // MARK: - Gateway calls (counted; transport errors noted, never fatal)

    func call<T>(_ what: @autoclosure () -> String, at: Instant, _ body: () async throws -> T) async -> T? {
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

    func handle(_ e: Event, at now: Instant) async {
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
    var a: [Entry] = []
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
