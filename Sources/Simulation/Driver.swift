import DispatchPlanning
import Fleet
import Foundation
import Geo

/// A backend in this process: a gateway and nothing to kill (`LocalGateway`, either policy).
public struct InProcessBackend: SimulationBackend {
    public let gateway: any DispatchGateway
    public let description: String
    public init(gateway: any DispatchGateway, description: String) { self.gateway = gateway; self.description = description }
    public func killNode() async throws -> String? { nil }
    public func lostOrders(acknowledged: [OrderIDRegion]) async throws -> [OrderIDRegion] { [] }
    public func shutdown() async {}
}

/// Everything one run of the day produced: ground truth, the system's records, measurements.
public struct DayOutcome: Sendable {
    public var label: String
    public var backend: String
    public var orders: [OrderTruth]
    public var couriers: [CourierTruth]
    public var notes: [DayNote]
    /// The system's end-of-day records, by order.
    public var records: [OrderID: OrderRecord]
    public var notifications: [NotificationKind: Int]
    /// Acknowledged orders the system no longer holds (or holds behind what it acknowledged).
    public var lost: [String]
    public var calls: Int
    public var transportErrors: Int
    public var anomalies: Int
    public var wallSeconds: Double
    public var killedNode: String?
    /// Offline handhelds' replays (nil: the backend has none, e.g. in process).
    public var replay: ReplayCounts? = nil
}

/// Progress lines (simulated time, counters) for a terminal.
public typealias SimulationProgress = @Sendable (String) -> Void

extension Simulation {
    /// Runs the day on `backend` (the optimised policy) and then on `baselineBackend`, and
    /// computes both KPI sets.
    public static func run(scenario: DayScenario, setup: WorldSetup, backend: any SimulationBackend,
                           baselineBackend: any SimulationBackend, speed: Double = 0, wall: WallClock = .continuous,
                           progress: SimulationProgress? = nil) async throws -> SimulationResult {
        let a = try await runDay(scenario: scenario, setup: setup, backend: backend, label: "optimised", speed: speed, wall: wall, progress: progress)
        let b = try await runDay(scenario: scenario, setup: setup, backend: baselineBackend, label: "baseline", speed: 0, wall: wall, progress: progress)
        return SimulationResult(scenario: scenario, optimised: a, baseline: b,
                                optimisedKPIs: DayKPIs(a, scenario: scenario, setup: setup),
                                baselineKPIs: DayKPIs(b, scenario: scenario, setup: setup))
    }

    /// One day on one backend: the discrete-event loop over simulated time in 5-minute steps.
    /// Within a step every region's events run concurrently (one task per region, in time order
    /// within it); then every region's clock is advanced to the step's end (cutoffs and the dawn
    /// wave happen there; a call may take long, and the loop waits for it).
    public static func runDay(scenario: DayScenario, setup: WorldSetup, backend: any SimulationBackend, label: String,
                              speed: Double = 0, wall: WallClock = .continuous, progress: SimulationProgress? = nil) async throws -> DayOutcome {
        let gateway = backend.gateway
        let worlds = setup.regions.map { RegionWorld(region: $0, scenario: scenario, setup: setup, gateway: gateway, wall: wall) }
        let step: Int64 = 300
        let t0 = wall.now()
        var notifications: [NotificationKind: Int] = [:]
        var killed: String? = nil
        var killDone = scenario.killNodeAt == nil
        var extraNotes: [DayNote] = []
        var advanceErrors = 0
        var now = scenario.start
        var lastHour = -1
        while now < scenario.end {
            let next = min(now + step, scenario.end)
            if !killDone, let k = scenario.killNodeAt, k < next {
                killDone = true
                do {
                    killed = try await backend.killNode()
                    if let n = killed { extraNotes.append(DayNote(at: k, region: "-", text: "node \(n) killed")) }
                } catch { extraNotes.append(DayNote(at: k, region: "-", text: "killing a node failed: \(error)")) }
            }
            await withTaskGroup(of: Void.self) { g in
                for w in worlds { g.addTask { await w.run(until: next) } }
            }
            // A region whose clock could not be advanced (a node down, a deadline passed) is noted
            // and tried again at the next step: the day goes on.
            let failures = await withTaskGroup(of: DayNote?.self) { g -> [DayNote] in
                for r in setup.regions {
                    g.addTask {
                        do { try await gateway.advance(region: r, to: next); return nil }
                        catch { return DayNote(at: next, region: r, text: "advance: \(error)") }
                    }
                }
                var out: [DayNote] = []
                for await n in g { if let n { out.append(n) } }
                return out
            }
            advanceErrors += failures.count
            if extraNotes.count < 500 { extraNotes += failures }
            do { for n in try await gateway.drainNotifications() { notifications[n.kind, default: 0] += 1 } }
            catch { advanceErrors += 1; if extraNotes.count < 500 { extraNotes.append(DayNote(at: next, region: "-", text: "drainNotifications: \(error)")) } }
            now = next
            if speed > 0 {
                let due = Double(now - scenario.start) / speed
                let elapsed = (wall.now() - t0).seconds
                if due > elapsed { try await Task.sleep(for: .milliseconds(Int64((due - elapsed) * 1000))) }
            }
            let hour = Int((now - scenario.start) / 3600)
            if let progress, hour != lastHour {
                lastHour = hour
                progress("\(label): \(clock(now, scenario)) · \(notifications.values.reduce(0, +)) notifications · \(String(format: "%.1f", (wall.now() - t0).seconds)) s")
            }
        }
        // Reconciliation.
        var orders: [OrderTruth] = [], couriers: [CourierTruth] = [], notes: [DayNote] = extraNotes
        for j in scenario.jams {
            let minutes = (j.to.epochSeconds - j.from.epochSeconds) / 60
            notes.append(DayNote(at: j.from, region: j.region,
                                 text: "traffic jam for \(minutes) min: travel × \(String(format: "%.1f", j.factor)) (the system is not told; it sees the positions)"))
        }
        var calls = 0, errors = 0, anomalies = 0
        for w in worlds {
            let s = await w.snapshot()
            orders += s.orders; couriers += s.couriers; notes += s.notes
            calls += s.calls; errors += s.transportErrors; anomalies += s.anomalies
        }
        errors += advanceErrors
        var records: [OrderID: OrderRecord] = [:]
        for r in setup.regions {
            // Reconciliation must see the system of record: retried a few times on transport errors.
            var attempt = 0
            while true {
                do {
                    for rec in try await gateway.records(region: r) { records[rec.order] = rec }
                    break
                } catch {
                    attempt += 1
                    if attempt >= 5 { throw error }
                    try await Task.sleep(for: .milliseconds(200 * attempt))
                }
            }
        }
        for n in try await gateway.drainNotifications() { notifications[n.kind, default: 0] += 1 }
        let wallSeconds = (wall.now() - t0).seconds
        var lost: [String] = []
        var acknowledged: [OrderIDRegion] = []
        for o in orders where o.accepted {
            acknowledged.append(OrderIDRegion(order: o.id.rawValue, region: o.region.rawValue, acknowledgedState: o.acknowledgedState?.rawValue))
            guard let rec = records[o.id] else {
                lost.append(o.id.rawValue)
                notes.append(DayNote(at: scenario.end, region: o.region, text: "lost \(o.id): acknowledged, absent from the system's records"))
                continue
            }
            // A cancellation the system accepted ends cancelled, or (the parcel was already on the
            // road) failed with `cancelledAfterDispatch` and returned.
            let consistent: Bool
            switch o.acknowledgedState {
            case let ack? where [.delivered, .pickedUp, .cancelled].contains(ack):
                consistent = OrderIDRegion.honours(acknowledged: ack, states: [rec.state])
            default: consistent = true   // a state on the way: the final one is what the record shows
            }
            if let ack = o.acknowledgedState, !consistent {
                lost.append(o.id.rawValue)
                notes.append(DayNote(at: scenario.end, region: o.region,
                                     text: "lost \(o.id): acknowledged \(ack.rawValue), the system records \(rec.state.rawValue)"))
            }
        }
        for x in try await backend.lostOrders(acknowledged: acknowledged) where !lost.contains(x.order) { lost.append(x.order) }
        let replay = await backend.replayCounts()
        notes.sort { $0.at != $1.at ? $0.at < $1.at : $0.text < $1.text }
        return DayOutcome(label: label, backend: backend.description, orders: orders.sorted { $0.id < $1.id }, couriers: couriers, notes: notes,
                          records: records, notifications: notifications, lost: lost.sorted(), calls: calls, transportErrors: errors,
                          anomalies: anomalies, wallSeconds: wallSeconds, killedNode: killed, replay: replay)
    }

    static func clock(_ t: Instant, _ s: DayScenario) -> String {
        let d = t.localDay(s.offset).index - s.serviceDay.index
        let sod = t.secondsOfLocalDay(s.offset)
        let hm = String(format: "%02lld:%02lld", sod / 3600, (sod % 3600) / 60)
        return d == 0 ? "D " + hm : (d < 0 ? "D\(d) " + hm : "D+\(d) " + hm)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

/// Both runs of the day and their KPIs.
public struct SimulationResult: Sendable {
    public var scenario: DayScenario
    public var optimised: DayOutcome
    public var baseline: DayOutcome
    public var optimisedKPIs: DayKPIs
    public var baselineKPIs: DayKPIs
    /// The optimised night's dawn wave through the hub's warehouse layer (`HubDay.run`), if computed.
    public var hub: HubDayReport? = nil
}
