import Base
import DispatchPlanning
import Edge
import Fleet
import Foundation
import Geo
import Messaging
import Synchronization

/// Why the simulated day's edge client could not do what was asked.
public struct EdgeSimulationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "edge client: \(message)" }
}

/// The operations contract spoken through the front door: every real-world actor of the simulated
/// day holds its own key and talks the edge protocol (Docs/EDGE.md) over CURVE to a `daybreak
/// gateway`. A storefront places and cancels orders (keeping each order's tracking token); each
/// courier's handheld reports with its device id and sequence numbers and fetches its manifest;
/// each site's staff report picking and hand over BOPIS parcels; a dispatcher sends commands and
/// reads the records; the clock principal advances the driven clock; customers subscribe to their
/// orders' tokens and receive pushed notifications.
///
/// Offline handhelds: a seeded schedule (`OfflineSchedule`) takes some couriers offline once
/// during their shift. Offline, the handheld keeps working from its last manifest (with the stops
/// it served taken off) and queues its reports with their event times; back online it first
/// re-sends a short tail of already-acknowledged reports (a handheld that lost the acks), then
/// replays the queue in order in batches of at most `EdgeProtocol.maxBatch`, resending from
/// `last_seq + 1` on a gap. `counts` has the reports replayed and duplicates suppressed.
///
/// `run()` pumps every connection's pushes (owned: await it in a task group); `close()` ends it.
public final class EdgeSimulationGateway: DispatchGateway {
    /// The principals' keys (registered in `principals` by whoever starts the day).
    public struct Keys: Sendable {
        public var storefront: CurveKeyPair
        public var dispatcher: CurveKeyPair
        public var clock: CurveKeyPair
        public var customer: CurveKeyPair
        public var couriers: [CourierRef: CurveKeyPair]
        public var sites: [SiteID: CurveKeyPair]
        public init(storefront: CurveKeyPair, dispatcher: CurveKeyPair, clock: CurveKeyPair, customer: CurveKeyPair,
                    couriers: [CourierRef: CurveKeyPair], sites: [SiteID: CurveKeyPair]) {
            self.storefront = storefront; self.dispatcher = dispatcher; self.clock = clock; self.customer = customer
            self.couriers = couriers; self.sites = sites
        }

        /// Fresh key pairs for every courier and site of `configs`.
        public static func generate(configs: [RegionDispatchConfig]) throws -> Keys {
            var couriers: [CourierRef: CurveKeyPair] = [:], sites: [SiteID: CurveKeyPair] = [:]
            for c in configs {
                for k in c.couriers { couriers[k.ref] = try CurveKeyPair.generate() }
                for s in c.sites where sites[s.id] == nil { sites[s.id] = try CurveKeyPair.generate() }
            }
            return Keys(storefront: try .generate(), dispatcher: try .generate(), clock: try .generate(), customer: try .generate(),
                        couriers: couriers, sites: sites)
        }

        /// (public key, user id, role, scope) of every principal, for `PrincipalDirectory.upsert`.
        public var principals: [(publicKey: String, user: String, role: EdgeRole, scope: String)] {
            var out: [(String, String, EdgeRole, String)] = [
                (storefront.publicKey, "storefront:simulate", .storefront, ""), (dispatcher.publicKey, "dispatcher:simulate", .dispatcher, "*"),
                (clock.publicKey, "clock:simulate", .clock, ""), (customer.publicKey, "customer:simulate", .customer, ""),
            ]
            for (c, k) in couriers.sorted(by: { EdgeNames.text($0.key) < EdgeNames.text($1.key) }) {
                out.append((k.publicKey, "courier:\(EdgeNames.text(c))", .courier, EdgeNames.text(c)))
            }
            for (s, k) in sites.sorted(by: { $0.key.rawValue < $1.key.rawValue }) { out.append((k.publicKey, "store:\(s)", .store, s.rawValue)) }
            return out.map { (publicKey: $0.0, user: $0.1, role: $0.2, scope: $0.3) }
        }
    }

    public struct Options: Sendable {
        public var offset: UTCOffset
        public var offline: OfflineSchedule
        /// How long a call is retried on `unavailable`, `overloaded` or no reply (same seq, same key).
        public var retryFor: Duration = .seconds(180)
        /// Per attempt (advancing the clock may run a dawn wave: much longer).
        public var attemptTimeout: Duration = .seconds(45)
        public var advanceTimeout: Duration = .seconds(600)
        /// Already-acknowledged reports re-sent on reconnection (the gateway must answer `duplicate`).
        public var duplicateTail = 3
        public init(offset: UTCOffset, offline: OfflineSchedule = OfflineSchedule(windows: [:])) { self.offset = offset; self.offline = offline }
    }

    let endpoint: String
    let serverKey: String
    let context: MessagingContext
    let keys: Keys
    let options: Options
    let configs: [RegionDispatchConfig]
    let routing: OrderRouting
    let storefront: EdgeClient
    let dispatcher: EdgeClient
    let clock: EdgeClient
    let sites: [SiteID: EdgeClient]
    let handhelds: [CourierRef: Handheld]
    let newClients: AsyncStream<EdgeClient>.Continuation
    let clientStream: AsyncStream<EdgeClient>

    struct State {
        var tokens: [OrderID: String] = [:]
        var products: [OrderID: Product] = [:]
        var collectionSite: [OrderID: SiteID] = [:]
        var tokenRefs: [String: OrderID] = [:]
        /// Customer connections and how many subscriptions each holds (≤ 100 per connection).
        var customers: [(client: EdgeClient, subscriptions: Int)] = []
        var notifications: [CustomerNotification] = []
        var advancedTo: Instant?
        var commandSeq = 0
        var clients: [EdgeClient] = []
        var closed = false
        var pushesIgnored = 0
        var unassignedLookups = 0
    }
    let state = Mutex(State())
    let counters = Mutex((replayed: 0, duplicates: 0, refusedOnReplay: 0))

    init(endpoint: String, serverKey: String, context: MessagingContext, keys: Keys, options: Options, configs: [RegionDispatchConfig],
         storefront: EdgeClient, dispatcher: EdgeClient, clock: EdgeClient, sites: [SiteID: EdgeClient]) throws {
        self.endpoint = endpoint; self.serverKey = serverKey; self.context = context; self.keys = keys; self.options = options
        self.configs = configs; self.storefront = storefront; self.dispatcher = dispatcher; self.clock = clock; self.sites = sites
        routing = try OrderRouting(configs: configs)
        (clientStream, newClients) = AsyncStream.makeStream(of: EdgeClient.self)
        var hh: [CourierRef: Handheld] = [:]
        for c in configs {
            for k in c.couriers {
                guard let key = keys.couriers[k.ref] else { continue }
                hh[k.ref] = Handheld(courier: k.ref, device: "hh-\(k.ref.id)", key: key, offline: options.offline.windows[k.ref])
            }
        }
        handhelds = hh
    }

    /// Connects the storefront, dispatcher, clock and site clients (couriers and customers connect
    /// lazily) to the gateway at `endpoint` with public key `serverKey`.
    public static func connect(endpoint: String, serverKey: String, context: MessagingContext, keys: Keys, configs: [RegionDispatchConfig],
                               options: Options) async throws -> EdgeSimulationGateway {
        var opened: [EdgeClient] = []
        do {
            func open(_ k: CurveKeyPair) async throws -> EdgeClient {
                let c = try await EdgeClient.connect(endpoint, serverKey: serverKey, keyPair: k, context: context)
                opened.append(c)
                return c
            }
            let s = try await open(keys.storefront), d = try await open(keys.dispatcher), k = try await open(keys.clock)
            var sites: [SiteID: EdgeClient] = [:]
            for (site, key) in keys.sites { sites[site] = try await open(key) }
            let g = try EdgeSimulationGateway(endpoint: endpoint, serverKey: serverKey, context: context, keys: keys, options: options,
                                              configs: configs, storefront: s, dispatcher: d, clock: k, sites: sites)
            for c in opened { g.adopt(c) }
            return g
        } catch {
            for c in opened { await c.close() }
            throw error
        }
    }

    /// Every connected principal says hello once (call it once the gateway serves, e.g. after
    /// starting `run()` and the server's): a key the gateway does not know gets no answer at all.
    public func greet() async throws {
        let clients = [storefront, dispatcher, clock] + sites.values
        for c in clients { _ = try await call(c, "hello", HelloBody(client: "daybreak-simulate")).expect("welcome", WelcomeBody.self) }
    }

    /// Registers a connection: its pushes are pumped by `run()`, it is closed by `close()`.
    func adopt(_ c: EdgeClient) {
        let closed = state.withLock { s -> Bool in
            if !s.closed { s.clients.append(c) }
            return s.closed
        }
        if !closed { newClients.yield(c) }
    }

    /// Pumps every connection's pushes until `close()`.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await c in clientStream {
                group.addTask { await self.pump(c) }
            }
        }
    }

    func pump(_ c: EdgeClient) async {
        for await batch in c.pushes {
            for m in batch {
                guard let reply = try? EdgeReply(bytes: m.first) else { continue }
                guard reply.type == "push.notification", let p = try? reply.decode(NotificationPushBody.self) else {
                    // `push.manifest` to handhelds: they ask for their manifest when they need it.
                    state.withLock { $0.pushesIgnored += 1 }
                    continue
                }
                state.withLock { s in
                    if let order = s.tokenRefs[p.tokenRef], let n = try? EdgeDomain.notification(p, order: order) { s.notifications.append(n) }
                }
            }
        }
    }

    public func close() async {
        let clients = state.withLock { s -> [EdgeClient] in
            s.closed = true
            return s.clients
        }
        newClients.finish()
        for c in clients { await c.close() }
    }

    /// Reports replayed after an offline spell, replays answered `duplicate`, couriers taken offline.
    public var counts: (replayed: Int, duplicates: Int, offlineCouriers: Int) {
        let c = counters.withLock { $0 }
        return (c.replayed, c.duplicates, options.offline.windows.count)
    }

    // MARK: - Calls

    /// One request, retried with the same body (the same `seq` or `key`) on `unavailable`,
    /// `overloaded` or no reply, for up to `retryFor`. Other error replies are returned.
    func call<B: Encodable>(_ c: EdgeClient, _ type: String, _ body: B, timeout: Duration? = nil) async throws -> EdgeReply {
        let deadline = ContinuousClock.now + options.retryFor
        var backoff = Duration.milliseconds(100)
        while true {
            do {
                let r = try await c.call(type, body, timeout: timeout ?? options.attemptTimeout)
                guard let e = r.error, e.code == .unavailable || e.code == .overloaded, ContinuousClock.now < deadline else { return r }
            } catch let e as MessagingError where e.code == .timeout || e.code == .outboxFull {
                if ContinuousClock.now >= deadline { throw e }
            }
            try await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(2))
        }
    }

    func time(_ t: Instant) -> WireTime { WireTime(t, offset: options.offset) }

    func product(_ o: OrderID) -> Product? { state.withLock { $0.products[o] } }

    // MARK: - Storefront and customers

    public func placeOrder(_ draft: OrderDraft, slot: Instant?, at: Instant) async throws -> PlaceOrderOutcome {
        let reply = try await call(storefront, "order.place", PlaceOrderBody(order: WireOrder(draft), slot: slot.map(time), at: time(at)))
        if let e = reply.error { return .rejected(EdgeDomain.rejection(e, order: draft.id)) }
        let placed = try reply.expect("order.placed", OrderPlacedBody.self)
        let site = SiteID(placed.site)
        let window = PromiseWindow(product: draft.product, earliest: placed.window.from.instant, latest: placed.window.to.instant)
        state.withLock { s in
            s.tokens[draft.id] = placed.token
            s.products[draft.id] = draft.product
            if placed.outcome == "awaiting_collection" { s.collectionSite[draft.id] = site }
        }
        try await subscribe(draft.id, token: placed.token)
        switch placed.outcome {
        case "assigned":
            guard let text = placed.courier else {
                // Accepted all the same (throwing would make the customer place it again): no courier to buzz.
                state.withLock { $0.unassignedLookups += 1 }
                return .awaitingWave(site: site, window: window)
            }
            return .assigned(courier: try EdgeDomain.courier(text), site: site, eta: placed.eta?.instant ?? window.latest, window: window)
        case "awaiting_wave": return .awaitingWave(site: site, window: window)
        case "awaiting_collection": return .awaitingCollection(site: site, window: window)
        default: throw EdgeSimulationError("order \(draft.id): unknown outcome '\(placed.outcome)'")
        }
    }

    /// The customer's app subscribes to the order's token (≤ 100 per connection: more connections as needed).
    func subscribe(_ order: OrderID, token: String) async throws {
        let ref = TrackingToken.reference(token)
        var chosen: EdgeClient? = state.withLock { s -> EdgeClient? in
            s.tokenRefs[ref] = order
            guard let i = s.customers.firstIndex(where: { $0.subscriptions < 100 }) else { return nil }
            s.customers[i].subscriptions += 1
            return s.customers[i].client
        }
        if chosen == nil {
            let c = try await EdgeClient.connect(endpoint, serverKey: serverKey, keyPair: keys.customer, context: context)
            adopt(c)
            state.withLock { $0.customers.append((c, 1)) }
            chosen = c
        }
        let r = try await call(chosen!, "order.subscribe", TokenBody(token: token))
        _ = try r.expect("subscribed", SubscribedBody.self)
    }

    public func cancelOrder(_ order: OrderID, reason: CancelReason, at: Instant) async throws -> Result<Void, DispatchCommandError> {
        guard let token = state.withLock({ $0.tokens[order] }) else {
            return .failure(DispatchCommandError(item: "order \(order)", problem: .unknownOrder, message: "no tracking token: not placed by this storefront"))
        }
        let r = try await call(storefront, "order.cancel", CancelOrderBody(token: token, reason: EdgeNames.snake(reason.rawValue), at: time(at)))
        if let e = r.error { return .failure(EdgeDomain.commandError(e, item: "order \(order)")) }
        _ = try r.expect("ok", OKBody.self)
        return .success(())
    }

    public func drainNotifications() async throws -> [CustomerNotification] {
        state.withLock { s in
            defer { s.notifications = [] }
            return s.notifications
        }
    }

    // MARK: - Store staff

    public func siteReport(_ report: SiteReport) async throws -> Result<SiteReply, DispatchCommandError> {
        let (site, order, at, type): (SiteID, OrderID, Instant, String) = switch report {
        case .pickingStarted(let s, let o, let t): (s, o, t, "store.picking_started")
        case .packed(let s, let o, let t): (s, o, t, "store.packed")
        }
        guard let c = sites[site] else {
            return .failure(DispatchCommandError(item: "site \(site)", problem: .unknownSite, message: "no store key for this site"))
        }
        let r = try await call(c, type, StoreOrderBody(order: order.rawValue, at: time(at)))
        if let e = r.error { return .failure(EdgeDomain.commandError(e, item: "order \(order)")) }
        if r.type == "store.ready" {
            let b = try r.decode(StoreReadyBody.self)
            return .success(.readyForCollection(code: b.code, holdUntil: b.holdUntil.instant))
        }
        _ = try r.expect("ok", OKBody.self)
        return .success(.ok)
    }

    public func collect(_ order: OrderID, code: String, at: Instant) async throws -> CollectOutcome {
        guard let site = state.withLock({ $0.collectionSite[order] }), let c = sites[site] else { return .unknownOrder }
        let r = try await call(c, "store.handover", StoreHandoverBody(order: order.rawValue, code: code, at: time(at)))
        if r.error != nil { return .unknownOrder }
        return CollectOutcome(try r.expect("store.handover", StoreHandoverReplyBody.self))
    }

    // MARK: - Dispatcher and clock

    public func command(_ command: DispatcherCommand, region: RegionID, at: Instant) async throws -> Result<Void, DispatchCommandError> {
        let n = state.withLock { s -> Int in s.commandSeq += 1; return s.commandSeq }
        let body = DispatchCommandBody(command, region: region, key: "sim-\(n)", at: time(at))
        let r = try await call(dispatcher, "dispatch.command", body)
        if let e = r.error { return .failure(EdgeDomain.commandError(e, item: body.order.map { "order \($0)" } ?? body.courier ?? region.rawValue)) }
        _ = try r.expect("ok", OKBody.self)
        return .success(())
    }

    public func records(region: RegionID) async throws -> [OrderRecord] {
        let b = try await call(dispatcher, "dispatch.orders", DispatchOrdersBody(region: region.rawValue), timeout: .seconds(120))
            .expect("dispatch.orders", DispatchOrdersReplyBody.self)
        return try b.orders.map { (w: WireOrderRecord) throws(EdgeError) in try EdgeDomain.record(w, region: region) }
    }

    /// `clock.advance` moves every region: the first region's call at an instant does it (after the
    /// handhelds back online have replayed what they queued), the others' are no-ops.
    public func advance(region: RegionID, to at: Instant) async throws {
        let mine = state.withLock { s -> Bool in
            if let last = s.advancedTo, last >= at { return false }
            s.advancedTo = at
            return true
        }
        guard mine else { return }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for h in handhelds.values where h.offline.map({ $0.upperBound <= at }) ?? false {
                group.addTask { try await h.replayIfBack(at: at, via: self) }
            }
            try await group.waitForAll()
        }
        let r = try await call(clock, "clock.advance", ClockAdvanceBody(to: time(at)), timeout: options.advanceTimeout)
        if let e = r.error {
            state.withLock { if $0.advancedTo == at { $0.advancedTo = nil } }
            throw EdgeSimulationError("clock.advance to \(at): \(e)")
        }
    }

    // MARK: - Couriers

    public func report(_ report: HandheldReport) async throws -> Result<Manifest, DispatchCommandError> {
        guard let h = handhelds[report.courier] else {
            return .failure(DispatchCommandError(item: EdgeNames.text(report.courier), problem: .unknownCourier, message: "no handheld key"))
        }
        return try await h.report(report, via: self)
    }

    public func manifest(of courier: CourierRef, at: Instant) async throws -> Result<Manifest, DispatchCommandError> {
        guard let h = handhelds[courier] else {
            return .failure(DispatchCommandError(item: EdgeNames.text(courier), problem: .unknownCourier, message: "no handheld key"))
        }
        return try await h.manifest(at: at, via: self)
    }

    func counted(replayed: Int, duplicates: Int, refused: Int) {
        counters.withLock { $0.replayed += replayed; $0.duplicates += duplicates; $0.refusedOnReplay += refused }
    }
}

/// Which couriers go offline when: once each, for 10–30 minutes inside their shift, about
/// `fraction` of the couriers, drawn from `seed` (the same day, the same outages).
public struct OfflineSchedule: Sendable {
    public var windows: [CourierRef: Range<Instant>]
    public init(windows: [CourierRef: Range<Instant>]) { self.windows = windows }

    public static func seeded(configs: [RegionDispatchConfig], seed: UInt64, fraction: Double = 0.05) -> OfflineSchedule {
        var rng = SplitMix64(seed: seed ^ 0x0FF1_14E5_0FF1_14E5)
        // Couriers whose shift leaves room for an outage (starting 30 min in, ending 30 min before the end).
        let couriers = configs.flatMap(\.couriers).filter { $0.shiftEnd - $0.shiftStart >= 3 * 3600 }
            .sorted { EdgeNames.text($0.ref) < EdgeNames.text($1.ref) }
        guard !couriers.isEmpty, fraction > 0 else { return OfflineSchedule(windows: [:]) }
        var order = Array(couriers.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let n = max(1, Int((Double(couriers.count) * fraction).rounded()))
        var windows: [CourierRef: Range<Instant>] = [:]
        for i in order.prefix(n) {
            let c = couriers[i]
            let length = 600 + Int64(rng.next() % 1201)
            let earliest = c.shiftStart + 1800, latest = c.shiftEnd - 1800 - length
            let start = earliest + Int64(rng.next() % UInt64(max(1, latest - earliest + 1)))
            windows[c.ref] = start ..< start + length
        }
        return OfflineSchedule(windows: windows)
    }
}

/// One courier's handheld: its key, device id and sequence numbers, its last manifest, and the
/// reports not yet acknowledged (in order). Calls of one courier come one at a time (the simulated
/// courier waits for each answer); the state stays consistent if they do not: sequence numbers are
/// taken and queued without suspension, and acknowledgements remove reports by number.
actor Handheld {
    let courier: CourierRef
    let device: String
    let key: CurveKeyPair
    let offline: Range<Instant>?
    var client: EdgeClient?
    var nextSeq: Int64 = 1
    /// Sent or queued, not yet acknowledged, in sequence order.
    var pending: [WireReport] = []
    /// The last acknowledged reports (for the duplicate tail on reconnection).
    var acked: [WireReport] = []
    /// Numbers queued while offline (counted as replayed when acknowledged).
    var queuedOffline: Set<Int64> = []
    var manifest: Manifest? { didSet { manifestEtag = nil } }
    /// The etag of `manifest` as the gateway sent it (nil after a local change offline).
    var manifestEtag: String?

    init(courier: CourierRef, device: String, key: CurveKeyPair, offline: Range<Instant>?) {
        self.courier = courier; self.device = device; self.key = key; self.offline = offline
    }

    var item: String { EdgeNames.text(courier) }

    func isOffline(_ t: Instant) -> Bool { offline?.contains(t) ?? false }

    func connection(_ g: EdgeSimulationGateway) async throws -> EdgeClient {
        if let client { return client }
        let c = try await EdgeClient.connect(g.endpoint, serverKey: g.serverKey, keyPair: key, context: g.context)
        if let existing = client {   // another call connected meanwhile
            await c.close()
            return existing
        }
        client = c
        g.adopt(c)
        return c
    }

    func report(_ r: HandheldReport, via g: EdgeSimulationGateway) async throws -> Result<Manifest, DispatchCommandError> {
        let wire = WireReport(r, seq: nextSeq, offset: g.options.offset)
        nextSeq += 1
        pending.append(wire)
        if isOffline(r.at), let m = manifest {
            // No network: store and forward; the handheld works from what it has.
            queuedOffline.insert(wire.seq)
            let local = m.applyingLocally(r)
            manifest = local
            return .success(local)
        }
        return try await flush(g, answer: wire.seq) ?? .failure(DispatchCommandError(item: item, problem: .invalidState,
                                                                                    message: "report #\(wire.seq) was not acknowledged"))
    }

    func manifest(at t: Instant, via g: EdgeSimulationGateway) async throws -> Result<Manifest, DispatchCommandError> {
        if isOffline(t), let m = manifest { return .success(m) }
        if !pending.isEmpty { _ = try await flush(g, answer: nil) }
        let c = try await connection(g)
        let r = try await g.call(c, "manifest.get", ManifestGetBody(at: WireTime(t)))
        if let e = r.error { return .failure(EdgeDomain.commandError(e, item: item)) }
        let w = try r.expect("manifest", ManifestBody.self).manifest
        let m = try EdgeDomain.manifest(w, product: g.product)
        manifest = m
        manifestEtag = w.etag
        return .success(m)
    }

    /// Back online by `at` with reports queued: replay them now.
    func replayIfBack(at: Instant, via g: EdgeSimulationGateway) async throws {
        guard !pending.isEmpty, !isOffline(at) else { return }
        _ = try await flush(g, answer: nil)
    }

    /// Sends everything pending, in order, in batches; returns the answer to report `answer`.
    func flush(_ g: EdgeSimulationGateway, answer: Int64?) async throws -> Result<Manifest, DispatchCommandError>? {
        let c = try await connection(g)
        var result: Result<Manifest, DispatchCommandError>? = nil
        var replayed = 0, duplicates = 0, refused = 0
        defer { g.counted(replayed: replayed, duplicates: duplicates, refused: refused) }
        if !queuedOffline.isEmpty, g.options.duplicateTail > 0 {
            // A handheld that lost the acks of its last reports before going offline sends them again.
            var tail: [WireReport] = []
            for w in acked.reversed() where tail.count < g.options.duplicateTail {
                if let first = tail.first, first.seq != w.seq + 1 { break }
                tail.insert(w, at: 0)
            }
            if !tail.isEmpty {
                let r = try await g.call(c, "reports", ReportsBody(device: device, reports: tail))
                if let ack = try? r.expect("reports.ack", ReportsAckBody.self) {
                    duplicates += ack.results.filter { $0.status == "duplicate" }.count
                }
            }
        }
        var stalls = 0
        while let first = pending.first {
            let batch = Array(pending.prefix(EdgeProtocol.maxBatch))
            let r = try await g.call(c, "reports", ReportsBody(device: device, reports: batch, ifNoneMatch: manifestEtag))
            if let e = r.error {
                guard e.code == .sequenceGap, let last = e.lastSeq else { throw EdgeSimulationError("\(item) reports from #\(first.seq): \(e)") }
                // Resend from last_seq + 1: what is at or below it was applied.
                guard last >= first.seq else { throw EdgeSimulationError("\(item): reports #\(last + 1)…\(first.seq - 1) lost (the gateway expects #\(last + 1))") }
                dropAcknowledged(through: last)
                continue
            }
            let ack = try r.expect("reports.ack", ReportsAckBody.self)
            if let w = ack.manifest { manifest = try EdgeDomain.manifest(w, product: g.product); manifestEtag = w.etag }
            var progressed = false
            for x in ack.results {
                switch x.status {
                case "applied", "duplicate", "refused":
                    progressed = true
                    if let i = pending.firstIndex(where: { $0.seq == x.seq }) { acked.append(pending.remove(at: i)) }
                    if queuedOffline.remove(x.seq) != nil {
                        replayed += 1
                        if x.status == "refused" { refused += 1 }
                    }
                    if x.status == "duplicate" { duplicates += 1 }
                    if x.seq == answer {
                        if let e = x.error { result = .failure(EdgeDomain.commandError(e, item: item)) }
                        else if let m = manifest { result = .success(m) }
                    }
                case "gap":
                    dropAcknowledged(through: ack.lastSeq)
                    progressed = true
                default:   // unavailable: resend from this number after a pause
                    break
                }
                if x.status != "applied" && x.status != "duplicate" && x.status != "refused" { break }
            }
            if acked.count > 20 { acked.removeFirst(acked.count - 20) }
            if !progressed {
                stalls += 1
                if stalls > 60 { throw EdgeSimulationError("\(item): reports from #\(first.seq) not applied after \(stalls) attempts") }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        if let answer, result == nil, answer < nextSeq, manifest != nil, !pending.contains(where: { $0.seq == answer }) {
            result = .success(manifest!)
        }
        return result
    }

    func dropAcknowledged(through last: Int64) {
        while let p = pending.first, p.seq <= last {
            pending.removeFirst()
            queuedOffline.remove(p.seq)
            acked.append(p)
        }
    }
}
