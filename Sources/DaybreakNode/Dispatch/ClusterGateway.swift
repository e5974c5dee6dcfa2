import Base
import Cluster
import DispatchPlanning
import Distributed
import Fleet
import Geo
import Storage
import Synchronization

/// Why the cluster gateway could not do what was asked (after its retries).
public struct ClusterGatewayError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "cluster gateway: \(message)" }
}

/// `DispatchGateway` over the cluster: each call goes to the journaled actor that owns it
/// (`dispatcher/<region>`, `vehicle/<id>`, `rider/<id>`) through a `ClusterClient`'s actor system.
///
/// - Routing: a new order's region by `OrderRouting` over the configs (the shape containing the
///   destination; quick/BOPIS: the region of the nearest store in reach; neither →
///   `.rejected(.outsideEveryRegion)`, nothing sent); an order → region map filled at
///   placement; courier → region from the configs.
/// - Retries: every call carries an idempotency key (the same on every attempt) and is retried on
///   retriable failures (timeout, node down, not owner, fenced, overloaded, unknown actor while a
///   region moves) with backoff until `callTimeout` (30 s by default), each attempt with its own
///   deadline, so a node killed mid-day loses nothing and applies nothing twice.
/// - `advance` sends `.tick` with a long attempt deadline (the dawn wave runs before the reply);
///   an attempt is abandoned early when the region's lease moves to another node.
/// - Notifications: `run()` subscribes to every region's `notify.<region>` topic; envelopes are
///   deduplicated by outbox id into a bounded buffer that `drainNotifications()` empties (an
///   overflow is reported by the next drain, never silently dropped).
public final class ClusterGateway: DispatchGateway {
    public let client: ClusterClient
    public let configs: [RegionDispatchConfig]
    public let callTimeout: Duration
    public let attemptTimeout: Duration
    public let advanceAttemptTimeout: Duration
    public let notificationCapacity: Int
    let couriers: [CourierRef: RegionID]
    let routing: OrderRouting
    let prefix: String
    /// The deployment's driven clock (nil: `advance` sends the region a `.tick`, as before the
    /// deployment kept its own days).
    let drivenClock: PostgresPool?
    /// Who advances the driven clock, as journaled in `clock_advances`.
    let principal: String
    /// The deployment's database: an order's region from `dispatch_orders` when this gateway did not
    /// place it (another gateway did, or this one restarted). nil: this gateway's memory only.
    let directory: PostgresPool?

    struct State {
        var orderRegion: [OrderID: RegionID] = [:]
        var seq = 0
        var notifications: [CustomerNotification] = []
        /// Outbox ids received (ids are a sequence: redeliveries are of recent ones, so ids far below
        /// the newest are forgotten, keeping this bounded).
        var seen: Set<Int64> = []
        var newest: Int64 = 0
        var dropped = 0
        var onNotification: (@Sendable (CustomerNotification) -> Void)?
    }
    let state = Mutex(State())

    /// Registers the dispatcher and courier wire names on `client.system` (once per client).
    public init(client: ClusterClient, configs: [RegionDispatchConfig], callTimeout: Duration = .seconds(30),
                attemptTimeout: Duration = .seconds(5), advanceAttemptTimeout: Duration = .seconds(120),
                notificationCapacity: Int = 200_000, drivenClock: PostgresPool? = nil, principal: String = "gateway",
                directory: PostgresPool? = nil) async throws {
        self.drivenClock = drivenClock; self.principal = principal; self.directory = directory
        self.client = client; self.configs = configs; self.callTimeout = callTimeout; self.attemptTimeout = attemptTimeout
        self.advanceAttemptTimeout = advanceAttemptTimeout; self.notificationCapacity = notificationCapacity
        var couriers: [CourierRef: RegionID] = [:]
        for c in configs { for k in c.couriers { couriers[k.ref] = c.region } }
        self.couriers = couriers
        routing = try OrderRouting(configs: configs)
        prefix = "gw\(UInt32.random(in: 0 ... .max))"
        try await RegionDispatcher.registerTargets(on: client.system)
        try await VehicleActor.registerTargets(on: client.system)
        try await RiderActor.registerTargets(on: client.system)
    }

    /// Subscribes to every region's notifications and pumps them into the buffer; also runs the
    /// client's event pump. Returns when the client is closed. Run it in a task group you own,
    /// before the day starts (call `client.connectToNodes()` first).
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.client.run() }
            for c in configs {
                guard let stream = try? await client.system.subscribe(topic: OrderModel.notificationTopic(region: c.region.rawValue),
                                                                      as: OutboxEnvelope.self) else { continue }
                group.addTask {
                    for await env in stream { self.receive(env) }
                }
            }
        }
    }

    /// How far below the newest outbox id a redelivery is still recognised.
    static let dedupeWindow: Int64 = 100_000

    func receive(_ env: OutboxEnvelope) {
        guard let n = try? BinaryDecoder().decode(CustomerNotification.self, from: env.payload) else { return }
        let deliver = state.withLock { s -> (@Sendable (CustomerNotification) -> Void)? in
            guard env.id > s.newest - Self.dedupeWindow, s.seen.insert(env.id).inserted else { return nil }
            s.newest = max(s.newest, env.id)
            if s.seen.count > 2 * Self.dedupeWindow { s.seen = s.seen.filter { $0 > s.newest - Self.dedupeWindow } }
            if let h = s.onNotification { return h }
            if s.notifications.count >= notificationCapacity { s.dropped += 1 } else { s.notifications.append(n) }
            return nil
        }
        deliver?(n)
    }

    /// From now on, each new (deduplicated) notification goes to `handler` as it arrives instead of
    /// the buffer `drainNotifications()` empties (the edge gateway pushes them to subscribed
    /// connections). `handler` runs on the event pump's task: keep it short and non-blocking.
    public func onNotification(_ handler: @escaping @Sendable (CustomerNotification) -> Void) {
        state.withLock { $0.onNotification = handler }
    }

    // MARK: - Calls

    func nextKey(_ what: String) -> String {
        let n = state.withLock { s -> Int in s.seq += 1; return s.seq }
        return "\(prefix)/\(n)/\(what)"
    }

    static let retriable: Set<ClusterCallError.Code> = [.timeout, .nodeDown, .notOwner, .fenced, .overloaded, .unknownActor]

    /// One call with its key on every attempt, retried on retriable failures until `callTimeout`
    /// (or `total`). `watch`: abandon an attempt when that region's lease moves.
    func call<R: Sendable>(_ what: String, key: String, attempt: Duration? = nil, total: Duration? = nil, watch region: RegionID? = nil,
                           _ body: @escaping @Sendable () async throws -> R) async throws -> R {
        let deadline = ContinuousClock.now + (total ?? callTimeout)
        var backoff = Duration.milliseconds(50)
        var last: (any Error)?
        while ContinuousClock.now < deadline {
            let left = deadline - .now
            let per = min(left, attempt ?? attemptTimeout)
            do {
                return try await ClusterCall.$timeout.withValue(per) {
                    try await ClusterCall.$idempotencyKey.withValue(.text(key)) {
                        if let region { return try await self.watching(region, body) }
                        return try await body()
                    }
                }
            } catch let e as ClusterCallError where Self.retriable.contains(e.code) {
                last = e
            } catch is DeadlineExceeded {
                last = ClusterCallError(.timeout, "\(what): no answer within \(per)")
            }
            try await Task.sleep(for: min(backoff, max(.zero, deadline - .now)))
            backoff = min(backoff * 2, .seconds(1))
            try? await client.ownership.refresh()
        }
        throw ClusterGatewayError("\(what): no answer within \(total ?? callTimeout) (last: \(last.map { "\($0)" } ?? "none"))")
    }

    /// Runs `body`, abandoning it (as `notOwner`) when `region`'s owner changes meanwhile.
    func watching<R: Sendable>(_ region: RegionID, _ body: @escaping @Sendable () async throws -> R) async throws -> R {
        try? await client.ownership.refresh()
        let owner = client.ownership.owner(ofRegion: region.rawValue)
        let ownership = client.ownership
        return try await withThrowingTaskGroup(of: R?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: .milliseconds(500))
                    try? await ownership.refresh()
                    let now = ownership.owner(ofRegion: region.rawValue)
                    if now != owner { throw ClusterCallError(.notOwner, "region \(region) moved while waiting") }
                }
                return nil
            }
            defer { group.cancelAll() }
            while let r = try await group.next() { if let r { return r } }
            throw CancellationError()
        }
    }

    func dispatcher(_ region: RegionID) throws -> RegionDispatcher {
        try RegionDispatcher.resolve(id: RegionDispatcher.identity(region: region.rawValue), using: client.system)
    }

    func dispatch(_ request: DispatchRequest, region: RegionID, key: String) async throws -> DispatchResponse {
        let d = try dispatcher(region)
        return try await call("\(region) \(key)", key: key) { try await d.handle(request, idempotencyKey: key) }
    }

    /// The order's region: this gateway's memory, else the cluster's order directory.
    public func region(of order: OrderID) async throws -> RegionID? {
        if let r = state.withLock({ $0.orderRegion[order] }) { return r }
        guard let pool = directory else { return nil }
        let rows = try await withDeadline(.seconds(5), "find order \(order)") {
            try await pool.query("SELECT region FROM dispatch_orders WHERE order_id = $1", [order.rawValue], purpose: "find an order's region")
        }
        guard let row = rows.first else { return nil }
        let r = RegionID(try row.decode(0, as: String.self))
        state.withLock { s in if s.orderRegion.count < 1_000_000 { s.orderRegion[order] = r } }
        return r
    }

    /// The courier's region from the configs.
    public func region(of courier: CourierRef) -> RegionID? { couriers[courier] }

    static func unexpected(_ r: DispatchResponse, _ what: String) -> ClusterGatewayError {
        ClusterGatewayError("\(what): unexpected reply \(r)")
    }

    // MARK: - DispatchGateway

    /// Opens every region's dispatcher with its config (idempotent).
    public func openRegions() async throws {
        for c in configs {
            let d = try dispatcher(c.region)
            let outcome = try await call("open \(c.region)", key: "open/\(c.region)") { try await d.open(c) }
            if case .refused(let why) = outcome { throw ClusterGatewayError("open \(c.region): \(why)") }
        }
    }

    public func placeOrder(_ draft: OrderDraft, slot: Instant?, at: Instant) async throws -> PlaceOrderOutcome {
        try await placeOrder(draft, slot: slot, at: at, key: nextKey("place/\(draft.id)")).outcome
    }

    /// Places with the caller's idempotency key (the edge gateway's: the same on a retry through any
    /// gateway). Also returns the region (nil when no region takes the destination).
    public func placeOrder(_ draft: OrderDraft, slot: Instant?, at: Instant, key: String) async throws -> (outcome: PlaceOrderOutcome, region: RegionID?) {
        let region: RegionID
        switch routing.route(draft) {
        case .success(let r): region = r
        case .failure(let rejection): return (.rejected(rejection), nil)
        }
        let r = try await dispatch(.placeOrder(draft, slot: slot, at: at), region: region, key: key)
        guard case .placed(let outcome) = r else { throw Self.unexpected(r, "place \(draft.id)") }
        if case .rejected = outcome {} else { state.withLock { $0.orderRegion[draft.id] = region } }
        return (outcome, region)
    }

    public func cancelOrder(_ order: OrderID, reason: CancelReason, at: Instant) async throws -> Result<Void, DispatchCommandError> {
        try await cancelOrder(order, reason: reason, at: at, key: nextKey("cancel/\(order)"))
    }

    public func cancelOrder(_ order: OrderID, reason: CancelReason, at: Instant, key: String) async throws -> Result<Void, DispatchCommandError> {
        guard let region = try await region(of: order) else { return .failure(Self.unknown(order)) }
        return try Self.done(try await dispatch(.cancelOrder(order, reason: reason, at: at), region: region, key: key))
    }

    /// A handheld's sequenced report, to its courier's actor (`deviceReport`): applied at most once
    /// and in the device's order, whichever gateway it comes through.
    public func deviceReport(_ report: HandheldReport, device: String, seq: Int64) async throws -> DeviceReportOutcome {
        let c = report.courier
        guard let region = couriers[c] else {
            return .applied(.refused(DispatchCommandError(item: "\(c.kind.rawValue) \(c.id)", problem: .unknownCourier, message: "in no region's config")))
        }
        // The transport key is this call's own: the journals' keys (derived from device and seq in the
        // courier actor) are what make a replay apply once, and a replay through any gateway must
        // reach the actor to be told it is a duplicate (a shared transport key would return the
        // first call's cached answer, "applied").
        let key = nextKey("dev/\(c.id)/\(device)/\(seq)")
        switch c.kind {
        case .vehicle:
            let a = try VehicleActor.resolve(id: VehicleActor.identity(c.id, region: region.rawValue), using: client.system)
            return try await call("report \(c.id) #\(seq)", key: key) { try await a.deviceReport(report, device: device, seq: seq) }
        case .rider:
            let a = try RiderActor.resolve(id: RiderActor.identity(c.id, region: region.rawValue), using: client.system)
            return try await call("report \(c.id) #\(seq)", key: key) { try await a.deviceReport(report, device: device, seq: seq) }
        }
    }

    /// A site report with the caller's key.
    public func siteReport(_ report: SiteReport, key: String) async throws -> Result<SiteReply, DispatchCommandError> {
        let order: OrderID = switch report { case .pickingStarted(_, let o, _), .packed(_, let o, _): o }
        guard let region = try await region(of: order) else { return .failure(Self.unknown(order)) }
        let r = try await dispatch(.site(report), region: region, key: key)
        switch r {
        case .site(let reply): return .success(reply)
        case .refused(let e): return .failure(e)
        default: throw Self.unexpected(r, "site report \(order)")
        }
    }

    /// A collection attempt with the caller's key.
    public func collect(_ order: OrderID, code: String, at: Instant, key: String) async throws -> CollectOutcome {
        guard let region = try await region(of: order) else { return .unknownOrder }
        let r = try await dispatch(.collect(order, code: code, at: at), region: region, key: key)
        switch r {
        case .collect(let outcome): return outcome
        case .refused: return .unknownOrder
        default: throw Self.unexpected(r, "collect \(order)")
        }
    }

    /// A dispatcher command with the caller's key.
    public func command(_ command: DispatcherCommand, region: RegionID, at: Instant, key: String) async throws -> Result<Void, DispatchCommandError> {
        try Self.done(try await dispatch(.command(command, at: at), region: region, key: key))
    }

    /// Any request to a region's dispatcher with the caller's key (new request kinds).
    public func request(_ request: DispatchRequest, region: RegionID, key: String) async throws -> DispatchResponse {
        try await dispatch(request, region: region, key: key)
    }

    /// A read on a region's dispatcher, retried like every call.
    public func read<R: Sendable>(_ what: String, region: RegionID, _ body: @escaping @Sendable (RegionDispatcher) async throws -> R) async throws -> R {
        let d = try dispatcher(region)
        return try await call("\(what) \(region)", key: nextKey("read")) { try await body(d) }
    }

    public func report(_ report: HandheldReport) async throws -> Result<Manifest, DispatchCommandError> {
        let c = report.courier
        guard let region = couriers[c] else {
            return .failure(DispatchCommandError(item: "\(c.kind.rawValue) \(c.id)", problem: .unknownCourier, message: "in no region's config"))
        }
        let key = nextKey("report/\(c.id)")
        let r: DispatchResponse
        switch c.kind {
        case .vehicle:
            let a = try VehicleActor.resolve(id: VehicleActor.identity(c.id, region: region.rawValue), using: client.system)
            r = try await call("report \(c.id)", key: key) { try await a.report(report, idempotencyKey: key) }
        case .rider:
            let a = try RiderActor.resolve(id: RiderActor.identity(c.id, region: region.rawValue), using: client.system)
            r = try await call("report \(c.id)", key: key) { try await a.report(report, idempotencyKey: key) }
        }
        switch r {
        case .manifest(let m): return .success(m)
        case .refused(let e): return .failure(e)
        default: throw Self.unexpected(r, "report \(c.id)")
        }
    }

    public func manifest(of courier: CourierRef, at: Instant) async throws -> Result<Manifest, DispatchCommandError> {
        let unknown = DispatchCommandError(item: "\(courier.kind.rawValue) \(courier.id)", problem: .unknownCourier, message: "no manifest")
        guard let region = couriers[courier] else { return .failure(unknown) }
        let d = try dispatcher(region)
        let m = try await call("manifest \(courier.id)", key: nextKey("manifest")) { try await d.manifest(of: courier, at: at) }
        return m.map { .success($0) } ?? .failure(unknown)
    }

    public func siteReport(_ report: SiteReport) async throws -> Result<SiteReply, DispatchCommandError> {
        let order: OrderID = switch report { case .pickingStarted(_, let o, _), .packed(_, let o, _): o }
        guard let region = try await region(of: order) else { return .failure(Self.unknown(order)) }
        let r = try await dispatch(.site(report), region: region, key: nextKey("site/\(order)"))
        switch r {
        case .site(let reply): return .success(reply)
        case .refused(let e): return .failure(e)
        default: throw Self.unexpected(r, "site report \(order)")
        }
    }

    public func collect(_ order: OrderID, code: String, at: Instant) async throws -> CollectOutcome {
        guard let region = try await region(of: order) else { return .unknownOrder }
        let r = try await dispatch(.collect(order, code: code, at: at), region: region, key: nextKey("collect/\(order)"))
        switch r {
        case .collect(let outcome): return outcome
        case .refused: return .unknownOrder
        default: throw Self.unexpected(r, "collect \(order)")
        }
    }

    public func command(_ command: DispatcherCommand, region: RegionID, at: Instant) async throws -> Result<Void, DispatchCommandError> {
        try Self.done(try await dispatch(.command(command, at: at), region: region, key: nextKey("command")))
    }

    /// With a driven clock: moves the deployment's clock to `at` (a no-op when another region's
    /// advance already did) and has the region's owner do what is due (`dispatcher.advance`);
    /// without one: sends the region a `.tick`. Either way it returns when the due work is done.
    public func advance(region: RegionID, to at: Instant) async throws {
        let d = try dispatcher(region)
        if let pool = drivenClock {
            try await DeploymentClock.advance(to: at, principal: principal, pool: pool)
            _ = try await call("advance \(region)", key: "\(prefix)/advance/\(region)/\(at.epochSeconds)", attempt: advanceAttemptTimeout,
                               total: advanceAttemptTimeout * 3, watch: region) { try await d.advance(to: at) }
            return
        }
        let key = "\(prefix)/tick/\(region)/\(at.epochSeconds)"
        let r = try await call("tick \(region)", key: key, attempt: advanceAttemptTimeout, total: advanceAttemptTimeout * 3, watch: region) {
            try await d.handle(.tick(at: at), idempotencyKey: key)
        }
        if case .refused(let e) = r { throw ClusterGatewayError("tick \(region): \(e)") }
    }

    public func drainNotifications() async throws -> [CustomerNotification] {
        let (out, dropped) = state.withLock { s -> ([CustomerNotification], Int) in
            defer { s.notifications = []; s.dropped = 0 }
            return (s.notifications, s.dropped)
        }
        if dropped > 0 {
            throw ClusterGatewayError("notification buffer (capacity \(notificationCapacity)) overflowed: \(dropped) notifications dropped; drain more often")
        }
        return out
    }

    /// The scheduled slots checkout may offer for `destination` at `at`: its region (nil: outside
    /// every region) and the region's free slots.
    public func slotOffers(destination: Coordinate, at: Instant) async throws -> (region: RegionID, slots: [SlotOffer])? {
        guard let region = routing.region(for: destination, product: .scheduled) else { return nil }
        let d = try dispatcher(region)
        let slots = try await call("slots \(region)", key: nextKey("slots")) { try await d.slotOffers(at: at) }
        return (region, slots)
    }

    public func records(region: RegionID) async throws -> [OrderRecord] {
        let d = try dispatcher(region)
        return try await call("records \(region)", key: nextKey("records"), attempt: .seconds(30), total: .seconds(90)) { try await d.records() }
    }

    static func unknown(_ order: OrderID) -> DispatchCommandError {
        DispatchCommandError(item: "order \(order)", problem: .unknownOrder, message: "not placed through this gateway")
    }

    static func done(_ r: DispatchResponse) throws -> Result<Void, DispatchCommandError> {
        switch r {
        case .done: return .success(())
        case .refused(let e): return .failure(e)
        default: throw unexpected(r, "command")
        }
    }
}
