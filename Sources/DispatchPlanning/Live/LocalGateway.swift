import Base
import Fleet
import Foundation
import Geo

/// Every region's dispatch state in one process, no journal: the baseline run and fast tests.
/// Events are applied in memory; `.notify` effects are buffered for `drainNotifications` (order
/// and store effects need no executor here: the state already holds the truth).
/// Jobs (`DispatchWork`) run on a dedicated `Thread`, never on the cooperative pool.
public actor LocalGateway: DispatchGateway {
    /// Counters for reports and benchmarks.
    public struct Statistics: Sendable, Hashable {
        public var events = 0
        public var refusals = 0
        public var notifications = 0
        public var workRuns = 0
        public var staleWork = 0
    }

    var states: [RegionID: RegionDispatchState]
    let regionOrder: [RegionID]
    let routing: OrderRouting
    var orderRegion: [OrderID: RegionID] = [:]
    var courierRegion: [CourierRef: RegionID] = [:]
    var outbox: [CustomerNotification] = []
    var stats = Statistics()

    public init(configs: [RegionDispatchConfig]) throws {
        var states: [RegionID: RegionDispatchState] = [:]
        var order: [RegionID] = []
        var couriers: [CourierRef: RegionID] = [:]
        for c in configs {
            try c.validate()
            guard states[c.region] == nil else { throw RegionDispatchConfigError(item: "region \(c.region)", message: "configured twice") }
            states[c.region] = RegionDispatchState(config: c)
            order.append(c.region)
            for k in c.couriers {
                guard couriers[k.ref] == nil else { throw RegionDispatchConfigError(item: "courier \(k.ref.id)", message: "in two regions") }
                couriers[k.ref] = c.region
            }
        }
        self.states = states
        self.regionOrder = order
        self.courierRegion = couriers
        self.routing = try OrderRouting(configs: configs)
    }

    public func statistics() -> Statistics { stats }

    /// The state of `region` (tests and reports).
    public func state(of region: RegionID) -> RegionDispatchState? { states[region] }

    /// Decides and applies one request on `region`'s state.
    func run(_ region: RegionID, _ request: DispatchRequest) -> DispatchResponse {
        var random = SystemRandomNumberGenerator()
        guard let d = states[region]?.decide(request, entropy: random.next()) else {
            return .refused(DispatchCommandError(item: "region \(region)", problem: .wrongRegion, message: "no dispatcher for region \(region)"))
        }
        if let e = d.event {
            states[region]!.apply(e)
            stats.events += 1
            for effect in e.effects { if case .notify(let n) = effect { outbox.append(n); stats.notifications += 1 } }
        } else {
            stats.refusals += 1
        }
        return d.response
    }

    func unknownOrder(_ id: OrderID) -> DispatchCommandError {
        DispatchCommandError(item: "order \(id)", problem: .unknownOrder, message: "no region knows order \(id)")
    }

    public func placeOrder(_ draft: OrderDraft, slot: Instant?, at: Instant) async throws -> PlaceOrderOutcome {
        guard orderRegion[draft.id] == nil else {
            return .rejected(PlaceOrderRejection(order: draft.id, problem: .duplicateOrder, message: "order \(draft.id) was already placed"))
        }
        guard draft.destination.isValid else {
            return .rejected(PlaceOrderRejection(order: draft.id, problem: .invalidOrder,
                                                 message: "destination (\(draft.destination.lat), \(draft.destination.lon)) is not a valid coordinate"))
        }
        let region: RegionID
        switch routing.route(draft) {
        case .success(let r): region = r
        case .failure(let rejection): return .rejected(rejection)
        }
        guard case .placed(let outcome) = run(region, .placeOrder(draft, slot: slot, at: at)) else {
            return .rejected(PlaceOrderRejection(order: draft.id, problem: .invalidOrder, message: "region \(region) gave no placement"))
        }
        if case .rejected = outcome {} else { orderRegion[draft.id] = region }
        return outcome
    }

    func result(_ r: DispatchResponse) -> Result<Void, DispatchCommandError> {
        if case .refused(let e) = r { return .failure(e) }
        return .success(())
    }

    public func cancelOrder(_ order: OrderID, reason: CancelReason, at: Instant) async throws -> Result<Void, DispatchCommandError> {
        guard let region = orderRegion[order] else { return .failure(unknownOrder(order)) }
        return result(run(region, .cancelOrder(order, reason: reason, at: at)))
    }

    public func report(_ report: HandheldReport) async throws -> Result<Manifest, DispatchCommandError> {
        let c = report.courier
        guard let region = courierRegion[c] else {
            return .failure(DispatchCommandError(item: "courier \(c.id)", problem: .unknownCourier, message: "no region has courier \(c.id)"))
        }
        switch run(region, .report(report)) {
        case .manifest(let m): return .success(m)
        case .refused(let e): return .failure(e)
        default: return .failure(DispatchCommandError(item: "courier \(c.id)", problem: .invalidState, message: "no manifest in the reply"))
        }
    }

    public func manifest(of courier: CourierRef, at: Instant) async throws -> Result<Manifest, DispatchCommandError> {
        guard let region = courierRegion[courier], let m = states[region]?.manifest(of: courier, at: at) else {
            return .failure(DispatchCommandError(item: "courier \(courier.id)", problem: .unknownCourier, message: "no region has courier \(courier.id)"))
        }
        return .success(m)
    }

    public func siteReport(_ report: SiteReport) async throws -> Result<SiteReply, DispatchCommandError> {
        let order: OrderID
        switch report { case .pickingStarted(_, let o, _), .packed(_, let o, _): order = o }
        guard let region = orderRegion[order] else { return .failure(unknownOrder(order)) }
        switch run(region, .site(report)) {
        case .site(let r): return .success(r)
        case .refused(let e): return .failure(e)
        default: return .failure(DispatchCommandError(item: "order \(order)", problem: .invalidState, message: "no site reply"))
        }
    }

    public func collect(_ order: OrderID, code: String, at: Instant) async throws -> CollectOutcome {
        guard let region = orderRegion[order], case .collect(let o) = run(region, .collect(order, code: code, at: at)) else { return .unknownOrder }
        return o
    }

    public func command(_ command: DispatcherCommand, region: RegionID, at: Instant) async throws -> Result<Void, DispatchCommandError> {
        guard states[region] != nil else {
            return .failure(DispatchCommandError(item: "region \(region)", problem: .wrongRegion, message: "no dispatcher for region \(region)"))
        }
        return result(run(region, .command(command, at: at)))
    }

    public func advance(region: RegionID, to at: Instant) async throws {
        guard states[region] != nil else {
            throw DispatchCommandError(item: "region \(region)", problem: .wrongRegion, message: "no dispatcher for region \(region)")
        }
        _ = run(region, .tick(at: at))
        // A refused (stale) job is offered again; a few rounds settle it.
        for _ in 0..<3 {
            guard let works = states[region]?.pendingWork(at: at), !works.isEmpty else { return }
            for work in works {
                guard let budgets = states[region]?.config.budgets else { return }
                let limit = work.kind == .dawnWave ? budgets.dawnWaveTimeLimitSeconds : budgets.reoptimiseTimeLimitSeconds
                let r = await Self.runOnThread(work, seconds: limit)
                stats.workRuns += 1
                if case .refused = run(region, .workDone(r)) { stats.staleWork += 1 }
            }
        }
    }

    /// Runs `work` on a new thread (CPU-bound: never on the cooperative pool) with a wall-clock
    /// deadline as its `shouldStop`, resuming the caller when it returns.
    static func runOnThread(_ work: DispatchWork, seconds: Double) async -> DispatchWorkResult {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(max(0, seconds) * 1000)))
        return await onDedicatedThread(name: "daybreak.dispatch.\(work.region).\(work.kind.rawValue)", stackSize: 8 << 20) {
            work.run({ ContinuousClock.now >= deadline })
        }
    }

    public func drainNotifications() async throws -> [CustomerNotification] {
        defer { outbox = [] }
        return outbox
    }

    public func records(region: RegionID) async throws -> [OrderRecord] { states[region]?.records() ?? [] }
}
