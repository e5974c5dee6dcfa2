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
    let map: RegionMap
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
        self.map = try RegionMap(configs.map(\.shape))
    }

    public func statistics() -> Statistics { stats }

    /// The state of `region` (tests and reports).
    public func state(of region: RegionID) -> RegionDispatchState? { states[region] }

    public func placeOrder(_ draft: OrderDraft, slot: Instant?, at: Instant) async throws -> PlaceOrderOutcome {
        .rejected(PlaceOrderRejection(order: draft.id, problem: .noCapacity, message: "not implemented yet"))
    }

    public func cancelOrder(_ order: OrderID, reason: CancelReason, at: Instant) async throws -> Result<Void, DispatchCommandError> {
        .failure(DispatchCommandError(item: "order \(order)", problem: .unknownOrder, message: "not implemented yet"))
    }

    public func report(_ report: HandheldReport) async throws -> Result<Manifest, DispatchCommandError> {
        .failure(DispatchCommandError(item: "courier \(report.courier.id)", problem: .unknownCourier, message: "not implemented yet"))
    }

    public func manifest(of courier: CourierRef, at: Instant) async throws -> Result<Manifest, DispatchCommandError> {
        .failure(DispatchCommandError(item: "courier \(courier.id)", problem: .unknownCourier, message: "not implemented yet"))
    }

    public func siteReport(_ report: SiteReport) async throws -> Result<SiteReply, DispatchCommandError> {
        .failure(DispatchCommandError(item: "site", problem: .unknownSite, message: "not implemented yet"))
    }

    public func collect(_ order: OrderID, code: String, at: Instant) async throws -> CollectOutcome { .unknownOrder }

    public func command(_ command: DispatcherCommand, region: RegionID, at: Instant) async throws -> Result<Void, DispatchCommandError> {
        .failure(DispatchCommandError(item: "region \(region)", problem: .wrongRegion, message: "not implemented yet"))
    }

    public func advance(region: RegionID, to at: Instant) async throws {}

    public func drainNotifications() async throws -> [CustomerNotification] {
        defer { outbox = [] }
        return outbox
    }

    public func records(region: RegionID) async throws -> [OrderRecord] { states[region]?.records() ?? [] }
}
