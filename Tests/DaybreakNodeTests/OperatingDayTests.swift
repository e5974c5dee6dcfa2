import Base
import Cluster
import DaybreakNode
import DispatchPlanning
import Fleet
import Foundation
import Geo
import Storage
import Testing

/// A deployment that keeps its operating days itself: nodes with the deployment's files (Seoul's
/// regions and operations, from the repository) open their regions' service days, do what is due
/// on their clock, and roll the days over — with no client opening anything.
enum Operating {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var regionsFile: String { root.appendingPathComponent("Regions/seoul.json").path }
    static var operationsFile: String { root.appendingPathComponent("Regions/seoul-operations.json").path }
    static let off = UTCOffset.seoul
    static let day = LocalDay(isoDate: "2026-12-02")!
    /// Local time on `day + d`.
    static func at(_ d: Int64, _ h: Int64, _ m: Int64 = 0) -> Instant { .local(day + d, Time.hm(h, m), off) }

    static func config(clock: ClockMode = .driven, start: Instant, budgets: RegionDispatchConfig.Budgets? = nil,
                       wallNow: (@Sendable () -> Instant)? = nil) throws -> OperatingConfig {
        let (city, ops) = try OperatingConfig.load(regionsFile: regionsFile, operationsFile: operationsFile)
        var c = OperatingConfig(city: city, operations: ops, clock: clock, clockStart: start)
        c.budgets = budgets ?? RegionDispatchConfig.Budgets(dawnWaveIterations: 300, dawnWaveTimeLimitSeconds: 5, reoptimiseIterations: 10)
        if let wallNow { c.wallNow = wallNow }
        return c
    }

    /// A node as `daybreak node --operations …` runs it, quick to notice a dead peer.
    static func node(_ id: String, regions: [String], schema: String, operating: OperatingConfig) -> NodeService {
        var cfg = NodeConfiguration(id: NodeID(id), listen: "tcp://127.0.0.1:*", regions: regions.map { RegionKey($0) }, schema: schema,
                                    heartbeatInterval: .milliseconds(100), ttl: .seconds(1))
        cfg.events = "tcp://127.0.0.1:*"
        cfg.statementTimeout = .seconds(5)
        return NodeService(cfg, logger: DomainTestDatabase.logger, extensions: DomainNode.extensions(operating: operating, drainEvery: .milliseconds(50)))
    }

    /// In-process nodes `ids` serving `regions` with `operating`, a client and a gateway (with the
    /// deployment's driven clock when it is driven) for `body`; everything stopped and dropped after.
    static func withDeployment(ids: [String], regions: [String], operating: OperatingConfig, prefix: String,
                               _ body: (ClusterGateway, ClusterClient, PostgresPool, PostgresConnection, String) async throws -> Void) async throws {
        try await DomainTestDatabase.withSchema(prefix: prefix) { c, schema in
            let services = ids.map { node($0, regions: regions, schema: schema, operating: operating) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for s in services { group.addTask { try await s.run() } }
                defer { group.cancelAll() }
                try await NodeHostingTests.waitUntil("every region served", within: .seconds(20)) {
                    services.reduce(0) { $0 + $1.servingRegions().count } == regions.count
                }
                let database = PostgresConfiguration("").withSearchPath(schema)
                let client = try await ClusterClient(database: database, logger: DomainTestDatabase.logger)
                let pool = PostgresPool(database, size: 2, logger: DomainTestDatabase.logger)
                try await c.executeScript("SET search_path TO \(schema)", purpose: "use schema")
                do {
                    try await client.connectToNodes()
                    let configs = try regions.map { try operating.dayConfig(region: RegionID($0), day: day) }
                    let gateway = try await ClusterGateway(client: client, configs: configs, drivenClock: operating.clock == .driven ? pool : nil,
                                                           principal: "test")
                    try await withThrowingTaskGroup(of: Void.self) { inner in
                        inner.addTask { await gateway.run() }
                        defer { inner.cancelAll() }
                        do { try await body(gateway, client, pool, c, schema) } catch {
                            await client.close()
                            throw error
                        }
                        await client.close()
                    }
                } catch {
                    await client.close()
                    await pool.close()
                    throw error
                }
                await pool.close()
            }
        }
    }

    /// Deterministic points inside `region`'s polygon.
    static func points(in region: RegionID, _ n: Int, operating: OperatingConfig, seed: UInt64 = 1) -> [Coordinate] {
        let shape = operating.city.regions.region(id: region.rawValue)!
        var s = seed, out: [Coordinate] = []
        while out.count < n {
            s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let a = Double((s >> 33) % 10_000) / 10_000
            s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let b = Double((s >> 33) % 10_000) / 10_000
            let p = Coordinate(lat: 37.42 + 0.3 * a, lon: 126.76 + 0.45 * b)
            if shape.contains(p) { out.append(p) }
        }
        return out
    }

    static func draft(_ id: String, _ product: Product, _ p: Coordinate) -> OrderDraft {
        OrderDraft(id: OrderID(id), lines: [OrderLine(sku: NightOrders.catalogue.items.keys.sorted()[0], quantity: 1)], destination: p, product: product)
    }

    /// The service day the order directory holds for `order`.
    static func directoryDay(_ c: PostgresConnection, _ order: String) async throws -> String? {
        try await c.query("SELECT to_char(day, 'YYYY-MM-DD') FROM dispatch_orders WHERE order_id = $1", [order], purpose: "directory").first?
            .decode(0, as: String.self)
    }

    static func advance(_ gateway: ClusterGateway, regions: [String], to t: Instant) async throws {
        for r in regions { try await gateway.advance(region: RegionID(r), to: t) }
    }
}

@Suite(.serialized) struct OperatingDayTests {
    typealias O = Operating

    /// Two nodes, nobody opening anything: dawn orders placed before the cutoff, the clock advanced
    /// past it, and each owner plans its region's wave by itself; every order is on one manifest.
    @Test func aTwoNodeClusterPlansTheDawnWaveByItself() async throws {
        let regions = ["gangnam", "south"]
        let operating = try O.config(start: O.at(-1, 18))
        try await O.withDeployment(ids: ["a", "b"], regions: regions, operating: operating, prefix: "opwave") { gateway, _, _, c, _ in
            var placed: [(OrderID, RegionID)] = []
            for r in regions {
                for (i, p) in O.points(in: RegionID(r), 4, operating: operating).enumerated() {
                    let outcome = try await gateway.placeOrder(O.draft("\(r)-dawn-\(i)", .dawn, p), slot: nil, at: O.at(-1, 19, Int64(i)))
                    guard case .awaitingWave = outcome else { Issue.record("\(r) dawn \(i): \(outcome)"); continue }
                    placed.append((OrderID("\(r)-dawn-\(i)"), RegionID(r)))
                }
            }
            #expect(placed.count == 8)
            // Nothing is planned before the cutoff.
            try await O.advance(gateway, regions: regions, to: O.at(-1, 22, 55))
            for r in regions { #expect(try await gateway.records(region: RegionID(r)).allSatisfy { $0.courier == nil }) }
            try await O.advance(gateway, regions: regions, to: O.at(-1, 23, 5))
            for (order, region) in placed {
                let rec = try #require(try await gateway.records(region: region).first { $0.order == order })
                let courier = try #require(rec.courier, "\(order) has no courier after the cutoff")
                guard case .success(let m) = try await gateway.manifest(of: courier, at: O.at(0, 0, 30)) else { Issue.record("no manifest"); continue }
                #expect(m.stops.filter { $0.kind == .delivery && $0.orders == [order] }.count == 1, "\(order) on \(courier.id)'s manifest once")
                #expect(try await O.directoryDay(c, order.rawValue) == "2026-12-02")
            }
            // The wave is planned once per region (one result journaled per day's wave).
            #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE actor_kind = 'dispatch-day' AND actor_key = '2026-12-02' AND idempotency_key LIKE '%/work/dawnWave/%'") == 2)
            #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM outbox WHERE kind = 'assigned'") == 8)
        }
    }

    /// A wall clock (injected: it starts at 09:00 and runs in real time) with a 1 s re-optimisation
    /// interval: the owner re-optimises on its own, with no tick from anybody.
    @Test func aWallClockClusterReoptimisesOnItsOwn() async throws {
        let t0 = ContinuousClock.now, start = O.at(0, 9)
        let now: @Sendable () -> Instant = { start + Int64((ContinuousClock.now - t0) / .seconds(1)) }
        let operating = try O.config(clock: .wall, start: start,
                                     budgets: .init(dawnWaveIterations: 100, dawnWaveTimeLimitSeconds: 2, reoptimiseIterations: 5,
                                                    reoptimiseEverySeconds: 1, reoptimiseTimeLimitSeconds: 0.5),
                                     wallNow: now)
        try await O.withDeployment(ids: ["a"], regions: ["gangnam"], operating: operating, prefix: "opwall") { gateway, client, _, c, _ in
            try await RegionDispatcher.registerTargets(on: client.system)
            let d = try RegionDispatcher.resolve(id: RegionDispatcher.identity(region: "gangnam"), using: client.system)
            try await NodeHostingTests.waitUntil("the day open with its wave planned", within: .seconds(20)) {
                (try? await d.status(now: nil).days.first { $0.day == O.day }?.dawnWavePlanned) == true
            }
            let workDone = "SELECT count(*) FROM actor_events WHERE actor_kind = 'dispatch-day' AND actor_key = '2026-12-02' AND type = 'dispatcher.workDone'"
            let before = try await DomainTestDatabase.count(c, workDone)
            for (i, p) in O.points(in: "gangnam", 5, operating: operating, seed: 3).enumerated() {
                let outcome = try await gateway.placeOrder(O.draft("sd-\(i)", .sameDay, p), slot: nil, at: now())
                guard case .assigned = outcome else { Issue.record("same-day \(i): \(outcome)"); continue }
            }
            try await NodeHostingTests.waitUntil("a re-optimisation journaled by the owner", within: .seconds(20)) {
                try await DomainTestDatabase.count(c, workDone) > before
            }
            // The dispatcher's own tick keys: no client ticked.
            #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE type = 'dispatcher.tick' AND idempotency_key NOT LIKE 'gangnam/%/tick/%'") == 0)
        }
    }

    /// A new owner is asked about twenty orders of one day at once, before it has loaded that day:
    /// it restores the day once (one journal writer) and answers every request.
    @Test func aNewOwnerRestoresADayOnceUnderABurstOfRequests() async throws {
        let operating = try O.config(start: O.at(0, 9))
        try await DomainTestDatabase.withSchema(prefix: "opburst") { c, schema in
            let a = O.node("a", regions: ["gangnam"], schema: schema, operating: operating)
            let b = O.node("b", regions: ["gangnam"], schema: schema, operating: operating)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await a.run() }
                defer { group.cancelAll() }
                try await NodeHostingTests.waitUntil("a serves gangnam", within: .seconds(20)) { a.servingRegions().count == 1 }
                group.addTask { try await b.run() }
                let database = PostgresConfiguration("").withSearchPath(schema)
                let client = try await ClusterClient(database: database, logger: DomainTestDatabase.logger)
                let pool = PostgresPool(database, size: 2, logger: DomainTestDatabase.logger)
                do {
                    try await client.connectToNodes()
                    let gateway = try await ClusterGateway(client: client, configs: [try operating.dayConfig(region: "gangnam", day: O.day)],
                                                           drivenClock: pool, principal: "test")
                    let slot = O.at(4, 14)
                    var ids: [OrderID] = []
                    for (i, p) in O.points(in: "gangnam", 20, operating: operating, seed: 9).enumerated() {
                        guard case .assigned(_, let site, _, _) = try await gateway.placeOrder(O.draft("burst-\(i)", .scheduled, p), slot: slot, at: O.at(0, 9, 30)) else {
                            Issue.record("burst-\(i) not taken"); continue
                        }
                        #expect(site == "hub-dawn")
                        ids.append(OrderID("burst-\(i)"))
                    }
                    // The owner leaves; b takes the region over with nothing loaded.
                    a.requestLeave()
                    try await NodeHostingTests.waitUntil("b serves gangnam", within: .seconds(20)) { b.servingRegions().count == 1 }
                    let replies = try await withThrowingTaskGroup(of: Result<SiteReply, DispatchCommandError>.self) { burst in
                        for id in ids { burst.addTask { try await gateway.siteReport(.pickingStarted(site: "hub-dawn", order: id, at: O.at(0, 10))) } }
                        var out: [Result<SiteReply, DispatchCommandError>] = []
                        for try await r in burst { out.append(r) }
                        return out
                    }
                    #expect(replies.count == ids.count && replies.allSatisfy { if case .success = $0 { true } else { false } }, "\(replies)")
                    let iso = (O.day + 4).isoDate
                    try await c.executeScript("SET search_path TO \(schema)", purpose: "use schema")
                    #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE actor_kind = 'dispatch-day' AND actor_key = $1 AND type = 'dispatcher.site'", [iso]) == Int64(ids.count))
                    await client.close()
                    await pool.close()
                } catch {
                    await client.close()
                    await pool.close()
                    throw error
                }
            }
        }
    }

    /// A BOPIS order held at the counter and never collected: its hold expires when the clock
    /// passes it, and the stock returns, with no client call on the order.
    @Test func aBopisHoldExpiresAndItsStockReturnsByItself() async throws {
        let operating = try O.config(start: O.at(0, 9))
        try await O.withDeployment(ids: ["a"], regions: ["gangnam"], operating: operating, prefix: "ophold") { gateway, client, _, _, _ in
            let config = try operating.dayConfig(region: "gangnam", day: O.day)
            let store = try #require(config.sites.first { $0.kind == .store })
            let p = Coordinate(lat: store.location.lat + 0.002, lon: store.location.lon + 0.002)
            let draft = OrderDraft(id: "bopis-1", lines: [OrderLine(sku: NightOrders.catalogue.items.keys.sorted()[0], quantity: 4)],
                                   destination: p, product: .bopis)
            guard case .awaitingCollection(let site, _) = try await gateway.placeOrder(draft, slot: nil, at: O.at(0, 10)) else {
                Issue.record("BOPIS not accepted"); return
            }
            guard case .success(.readyForCollection(_, let holdUntil)) = try await gateway.siteReport(.packed(site: site, order: "bopis-1", at: O.at(0, 10, 40))) else {
                Issue.record("not ready for collection"); return
            }
            try await StoreActor.registerTargets(on: client.system)
            let storeActor = try StoreActor.resolve(id: StoreActor.identity(site, region: "gangnam", day: O.day), using: client.system)
            let sku = draft.lines[0].sku
            #expect(try await storeActor.state().state.inventory?.onHand[sku] == operating.stockPerSKU - 4)
            try await gateway.advance(region: "gangnam", to: holdUntil - 300)
            #expect(try await gateway.records(region: "gangnam").first { $0.order == "bopis-1" }?.state == .readyForPickup)
            try await gateway.advance(region: "gangnam", to: holdUntil + 300)
            #expect(try await gateway.records(region: "gangnam").first { $0.order == "bopis-1" }?.state == .returned)
            #expect(try await storeActor.state().state.inventory?.onHand[sku] == operating.stockPerSKU)
        }
    }
}

/// A `daybreak node` child process (the built binary), its log in a temporary file.
/// Invariant: `process` is started in init and afterwards only signalled and read (Process allows that from any thread).
final class NodeChild: @unchecked Sendable {
    let id: String
    let process = Process()
    let log: URL

    init(_ id: String, schema: String, arguments: [String]) throws {
        guard let binary = CtlChild.binary else { throw CtlChild.NotBuilt() }
        self.id = id
        log = FileManager.default.temporaryDirectory.appendingPathComponent("daybreak-\(schema)-\(id).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = binary
        process.arguments = ["node", "--id", id, "--listen", "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*", "--schema", schema,
                             "--heartbeat-ms", "100", "--ttl-ms", "1000", "--insecure"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
    }

    func kill(_ signal: Int32) { _ = Foundation.kill(process.processIdentifier, signal) }

    /// Stops it (SIGTERM, then SIGKILL after 10 s) and waits for it.
    func stop() async {
        guard process.isRunning else { return }
        kill(SIGTERM)
        let until = ContinuousClock.now + .seconds(10)
        while process.isRunning && ContinuousClock.now < until { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(SIGKILL) }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
    }
}

/// Node processes (`daybreak node --operations … --clock driven`), killed for real.
@Suite(.serialized) struct OperatingDayProcessTests {
    typealias O = Operating

    /// The owner of a region is SIGKILLed while it plans the dawn wave: the new owner plans it, the
    /// wave's result is journaled once, and every order is created once, planned once, notified once.
    @Test func theOwnerKilledWhilePlanningTheWaveLeavesItPlannedExactlyOnce() async throws {
        guard CtlChild.binary != nil else { Issue.record("the daybreak binary is not built next to the tests"); return }
        try await DomainTestDatabase.withSchema(prefix: "opkill") { c, schema in
            _ = try await Migrator(DomainSchema.allMigrations, schema: schema, logger: DomainTestDatabase.logger).migrate(c)
            try await c.executeScript("SET search_path TO \(schema)", purpose: "use schema")
            let operating = try O.config(start: O.at(-1, 18))
            _ = try await DeploymentClock.ensure(mode: .driven, start: O.at(-1, 18), offset: .seoul, on: c, who: "the test")
            // A wave long enough to kill its node in the middle of it.
            let flags = ["--regions", O.regionsFile, "--operations", O.operationsFile, "--clock", "driven",
                         "--dawn-wave-seconds", "6", "--dawn-wave-iterations", "100000000"]
            let nodes = try ["n1", "n2"].map { try NodeChild($0, schema: schema, arguments: flags) }
            let database = PostgresConfiguration("").withSearchPath(schema)
            let client = try await ClusterClient(database: database, logger: DomainTestDatabase.logger)
            let pool = PostgresPool(database, size: 2, logger: DomainTestDatabase.logger)
            do {
                let regions = operating.regions
                try await NodeHostingTests.waitUntil("every region owned", within: .seconds(30)) {
                    try await client.ownership.refresh()
                    return regions.allSatisfy { client.ownership.owner(ofRegion: $0.rawValue) != nil }
                }
                try await client.connectToNodes()
                let gateway = try await ClusterGateway(client: client, configs: try regions.map { try operating.dayConfig(region: $0, day: O.day) },
                                                       drivenClock: pool, principal: "test")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await gateway.run() }
                    defer { group.cancelAll() }
                    var orders: [OrderID] = []
                    for (i, p) in O.points(in: "gangnam", 30, operating: operating, seed: 11).enumerated() {
                        let id = OrderID("k-\(i)")
                        guard case .awaitingWave = try await gateway.placeOrder(O.draft(id.rawValue, .dawn, p), slot: nil, at: O.at(-1, 19, Int64(i))) else {
                            Issue.record("\(id) not accepted"); continue
                        }
                        orders.append(id)
                    }
                    let owner = try #require(client.ownership.owner(ofRegion: "gangnam")?.id)
                    try await RegionDispatcher.registerTargets(on: client.system)
                    let d = try RegionDispatcher.resolve(id: RegionDispatcher.identity(region: "gangnam"), using: client.system)
                    try await withThrowingTaskGroup(of: Void.self) { advance in
                        advance.addTask { try await gateway.advance(region: "gangnam", to: O.at(-1, 23, 5)) }
                        try await NodeHostingTests.waitUntil("the owner planning the wave", within: .seconds(30)) {
                            (try? await ClusterCall.$timeout.withValue(.seconds(2)) { try await d.status(now: nil) })?
                                .days.contains { $0.day == O.day && $0.running == "dawnWave" } == true
                        }
                        nodes.first { $0.id == owner }!.kill(SIGKILL)
                        try await advance.waitForAll()
                    }
                    try await client.ownership.refresh()
                    #expect(client.ownership.owner(ofRegion: "gangnam")?.id != owner)
                    let waves = "SELECT count(*) FROM actor_events WHERE region = 'gangnam' AND actor_kind = 'dispatch-day' AND actor_key = '2026-12-02' AND idempotency_key LIKE '%/work/dawnWave/%'"
                    #expect(try await DomainTestDatabase.count(c, waves) == 1)
                    let records = try await gateway.records(region: "gangnam")
                    var onManifests: [OrderID: Int] = [:]
                    for courier in Set(records.compactMap(\.courier)) {
                        guard case .success(let m) = try await gateway.manifest(of: courier, at: O.at(0, 0, 30)) else { continue }
                        for stop in m.stops where stop.kind == .delivery { onManifests[stop.orders[0], default: 0] += 1 }
                    }
                    for id in orders {
                        #expect(records.first { $0.order == id }?.courier != nil, "\(id) planned")
                        #expect(onManifests[id] == 1, "\(id) on one manifest once")
                        #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE actor_kind = 'order' AND actor_key = $1 AND type = 'order.created'", [id.rawValue]) == 1)
                        #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM outbox WHERE order_id = $1 AND kind = 'assigned'", [id.rawValue]) == 1)
                    }
                    await client.close()
                }
            } catch {
                await client.close()
                await pool.close()
                for n in nodes { await n.stop() }
                throw error
            }
            await pool.close()
            for n in nodes { await n.stop() }
        }
    }

    /// A node started with the other clock mode is refused before it joins, saying which mode the
    /// deployment has and how to start it.
    @Test func aNodeWithTheOtherClockModeIsRefused() async throws {
        guard CtlChild.binary != nil else { Issue.record("the daybreak binary is not built next to the tests"); return }
        try await DomainTestDatabase.withSchema(prefix: "opmode") { c, schema in
            _ = try await Migrator(DomainSchema.allMigrations, schema: schema, logger: DomainTestDatabase.logger).migrate(c)
            try await c.executeScript("SET search_path TO \(schema)", purpose: "use schema")
            _ = try await DeploymentClock.ensure(mode: .driven, start: O.at(0, 9), offset: .seoul, on: c, who: "the test")
            let r = try await CtlChild.run(["node", "--id", "w1", "--listen", "tcp://127.0.0.1:*", "--regions", O.regionsFile, "--schema", schema,
                                            "--operations", O.operationsFile, "--clock", "wall", "--insecure"])
            #expect(r.status == 65, "\(r.stderr)")
            #expect(r.stderr.contains("--clock wall") && r.stderr.contains("clock is driven") && r.stderr.contains("start it with --clock driven"), "\(r.stderr)")
            #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM cluster_nodes") == 0, "the refused node never joined")
        }
    }
}

/// Three service days in a row on one node: orders of every delivery product placed around each
/// cutoff and rollover, couriers' handhelds working their manifests, one van's last delivery
/// reported after midnight. Every order ends delivered in exactly one day; none is lost.
@Suite(.serialized) struct ThreeServiceDaysTests {
    typealias O = Operating

    struct Placement { var id: String; var product: Product; var at: Instant; var slot: Instant?; var point: Coordinate }

    /// Couriers acting on their manifests as handhelds would, through the gateway.
    struct Handhelds {
        let gateway: ClusterGateway
        let homes: [CourierRef: Coordinate]
        var started: Set<String> = []
        /// Delivery reports of this order are held until `heldUntil`.
        var held: (order: OrderID, until: Instant)?
        var heldReportedAt: Instant?

        /// When each courier reaches its next stop: the stop's ETA as the manifest said right after
        /// the courier's previous report (a manifest read later re-plans from where it last reported).
        var reaches: [CourierRef: Instant] = [:]

        mutating func work(_ courier: CourierRef, at t: Instant) async throws {
            guard case .success(var m) = try await gateway.manifest(of: courier, at: t), let first = m.stops.first else { return }
            let shiftKey = "\(courier.id)@\(t.localDay(.seoul))"
            if m.status == .offShift || !started.contains(shiftKey) {
                guard first.eta <= t + 3600 else { return }
                if m.status == .offShift {
                    guard case .success(let after) = try await gateway.report(.shiftStarted(courier, at: t, position: homes[courier]!)) else { return }
                    m = after
                }
                started.insert(shiftKey)
                reaches[courier] = m.stops.first?.eta
            }
            var steps = 0
            while let stop = m.stops.first, (reaches[courier] ?? stop.eta) <= t, steps < 50 {
                steps += 1
                let reached = reaches[courier] ?? stop.eta
                let at = max(reached, stop.notBefore ?? reached)
                guard at <= t else { return }
                let report: HandheldReport
                switch stop.kind {
                case .pickup: report = .pickedUp(courier, orders: stop.orders, at: at)
                case .delivery:
                    if let h = held, h.order == stop.orders[0], t < h.until { return }
                    let when = held?.order == stop.orders[0] ? t : at
                    if held?.order == stop.orders[0] { heldReportedAt = when }
                    report = .delivered(courier, order: stop.orders[0], proof: DeliveryProof(kind: .leftAtDoor, reference: "photo-\(stop.orders[0])"), at: when)
                case .returnToBase: report = .returned(courier, at: at)
                }
                switch try await gateway.report(report) {
                case .success(let next): m = next; reaches[courier] = next.stops.first?.eta
                case .failure(let e): Issue.record("\(courier.id) \(report): \(e)"); return
                }
            }
        }
    }

    @Test func threeDaysInARowEndEveryOrderInExactlyOneDay() async throws {
        let operating = try O.config(start: O.at(-1, 20))
        let calendar = try #require(operating.calendar(region: "gangnam"))
        try await O.withDeployment(ids: ["a"], regions: ["gangnam"], operating: operating, prefix: "op3days") { gateway, _, _, c, _ in
            let config = try operating.dayConfig(region: "gangnam", day: O.day)
            var homes: [CourierRef: Coordinate] = [:]
            for k in config.couriers { homes[k.ref] = config.site(k.home)!.location }
            let store = config.sites.first { $0.kind == .store }!.location
            var points = O.points(in: "gangnam", 40, operating: operating, seed: 5).makeIterator()
            var plan: [Placement] = []
            for d: Int64 in 0...2 {
                func add(_ p: String, _ product: Product, _ at: Instant, slot: Instant? = nil, point: Coordinate? = nil) {
                    plan.append(Placement(id: "\(p)-\(d)", product: product, at: at, slot: slot, point: point ?? points.next()!))
                }
                add("dawn-early", .dawn, O.at(d - 1, 21))          // tonight → day d
                add("sameday-am", .sameDay, O.at(d, 10))            // before the cutoff → day d
                add("quick", .quick, O.at(d, 15), point: Coordinate(lat: store.lat + 0.004, lon: store.lon + 0.003))
                if d < 2 {
                    add("dawn-late", .dawn, O.at(d - 1, 23, 30))    // after the cutoff → the night after: day d + 1
                    add("sameday-pm", .sameDay, O.at(d, 12, 30))    // after the cutoff → day d + 1
                    add("scheduled", .scheduled, O.at(d, 9), slot: O.at(d + 1, 16))
                }
            }
            plan.sort { $0.at < $1.at }
            var hands = Handhelds(gateway: gateway, homes: homes)
            // The first same-day van delivery is reported only after midnight: it must end in its own day.
            hands.held = (OrderID("sameday-am-0"), O.at(1, 0, 10))
            var accepted: [String: LocalDay] = [:]
            var next = plan.makeIterator(), pending = next.next()
            var t = O.at(-1, 20, 30)
            while t <= O.at(3, 1) {
                while let p = pending, p.at <= t {
                    let outcome = try await gateway.placeOrder(O.draft(p.id, p.product, p.point), slot: p.slot, at: p.at)
                    if case .rejected(let r) = outcome { Issue.record("\(p.id): \(r)") } else {
                        accepted[p.id] = calendar.serviceDay(product: p.product, at: p.at, slot: p.slot)
                    }
                    pending = next.next()
                }
                try await gateway.advance(region: "gangnam", to: t)
                let open = try await gateway.records(region: "gangnam").filter { !$0.state.isTerminal }
                for courier in Set(open.compactMap(\.courier)).sorted(by: { $0.id < $1.id }) { try await hands.work(courier, at: t) }
                t = t + 1800
            }
            #expect(accepted.count == plan.count)
            #expect(hands.heldReportedAt.map { $0 >= O.at(1, 0, 10) } == true, "the held delivery was reported after midnight")
            let records = try await gateway.records(region: "gangnam")
            let ids = records.map(\.order.rawValue)
            #expect(Set(ids).count == ids.count, "an order is in two days: \(ids.sorted())")
            for (id, day) in accepted {
                let rec = records.first { $0.order.rawValue == id }
                #expect(rec?.state == .delivered, "\(id): \(String(describing: rec?.state))")
                #expect(try await O.directoryDay(c, id) == day.isoDate, "\(id) belongs to \(day.isoDate)")
                #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE actor_kind = 'order' AND actor_key = $1 AND type = 'order.delivered'", [id]) == 1)
            }
            // The three days are settled and closed; their journals hold their own orders only.
            for d: Int64 in 0...2 {
                let iso = (O.day + d).isoDate
                #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM dispatch_days WHERE region = 'gangnam' AND day = $1::date AND closed_at IS NOT NULL", [iso]) == 1, "\(iso) settled")
                let inDay = accepted.filter { $0.value.isoDate == iso }.count
                #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE actor_kind = 'dispatch-day' AND actor_key = $1 AND type = 'dispatcher.placeOrder'", [iso]) == Int64(inDay))
            }
        }
    }
}
