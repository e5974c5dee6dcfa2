import Cluster
import DaybreakNode
import DispatchPlanning
import Fleet
import Geo
import Storage
import Synchronization
import Testing

/// A small deterministic dispatcher for the shell's tests: placing a dawn order creates, accepts
/// and reserves it and tells the customer; a tick makes the dawn wave due (one job assigning every
/// unplanned order to rider R-1); the wave's result allocates, picks, packs and assigns each order.
struct FakeMachine: DispatchMachine, Hashable {
    struct Event: Sendable, Hashable, Codable {
        var effects: [DispatchEffect]
        var request: DispatchRequest
    }
    var region: String
    var version = 0
    var orders: [OrderID] = []
    var planned: Set<OrderID> = []

    init(config: String) { region = config }
    var machineConfig: String { region }

    func decide(request: DispatchRequest, entropy: UInt64) -> (event: Event?, response: DispatchResponse) {
        var copy = self
        return copy.transition(request)
    }

    mutating func apply(event: Event) { _ = transition(event.request) }
    static func effects(of event: Event) -> [DispatchEffect] { event.effects }
    static func eventType(of event: Event) -> String { "dispatcher." + event.request.kindName }

    func pendingWork(at: Instant) -> [DispatchWork] {
        let todo = orders.filter { !planned.contains($0) }
        guard !todo.isEmpty else { return [] }
        let v = version, region = RegionID(region)
        return [DispatchWork(kind: .dawnWave, region: region, basedOnVersion: v) { shouldStop in
            FakeMachine.onWave.withLock { $0 }?()
            // Like the solver: stopped before it placed anything, it returns every order unplaced.
            if shouldStop() { return DispatchWorkResult(kind: .dawnWave, basedOnVersion: v, routes: [], unplaced: todo) }
            return DispatchWorkResult(kind: .dawnWave, basedOnVersion: v, routes: [CourierRoutePlan(courier: .rider("R-1"), trips: [todo])],
                                      unplaced: [])
        }]
    }

    /// Called on the work thread while the wave "plans" (tests use it to move the lease away).
    static let onWave = Mutex<(@Sendable () -> Void)?>(nil)

    private mutating func transition(_ request: DispatchRequest) -> (event: Event?, response: DispatchResponse) {
        switch request {
        case .placeOrder(let draft, _, let at):
            guard !orders.contains(draft.id) else {
                return (nil, .placed(.rejected(PlaceOrderRejection(order: draft.id, problem: .duplicateOrder, message: "known"))))
            }
            guard let order = try? Fixtures.order(draft.id, product: draft.product, lines: draft.lines, at: at) else {
                return (nil, .placed(.rejected(PlaceOrderRejection(order: draft.id, problem: .invalidOrder, message: "invalid"))))
            }
            orders.append(draft.id)
            version += 1
            let effects: [DispatchEffect] = [.order(draft.id, .create(order)), .order(draft.id, .accept),
                                             .store("hub-1", .reserve(draft.id, draft.lines)),
                                             .notify(CustomerNotification(order: draft.id, kind: .assigned, at: at))]
            return (Event(effects: effects, request: request), .placed(.awaitingWave(site: "hub-1", window: order.promise)))
        case .tick:
            return (Event(effects: [], request: request), .done)
        case .workDone(let result):
            guard result.basedOnVersion == version else { return (nil, .done) }   // stale
            var effects: [DispatchEffect] = []
            for route in result.routes {
                for o in route.trips.joined() where !planned.contains(o) {
                    planned.insert(o)
                    effects += [.order(o, .allocate("hub-1")), .order(o, .startPicking), .store("hub-1", .pick(o)), .order(o, .pack),
                                .order(o, .assign(route.courier))]
                }
            }
            version += 1
            return (Event(effects: effects, request: request), .done)
        default:
            return (nil, .refused(DispatchCommandError(item: "fake", problem: .invalidState, message: "not in the fake")))
        }
    }
}

/// One "node" of the tests: the order and store entities of region gangnam under one token,
/// reached by the shell's effect runner (what the actor system does on a real node).
actor FakeRegionNode {
    let journal: Journal
    let token: FencingToken
    let mayWrite: @Sendable () -> Bool
    var orders: [OrderID: DomainEntity<OrderModel>] = [:]
    var stores: [SiteID: DomainEntity<StoreModel>] = [:]
    var calls = 0

    init(journal: Journal, token: FencingToken, mayWrite: @escaping @Sendable () -> Bool = { true }) {
        self.journal = journal; self.token = token; self.mayWrite = mayWrite
    }

    func run(_ call: DispatchEffectCall, key: String) async throws {
        calls += 1
        switch call {
        case .order(let o, let command, let at):
            let e = order(o)
            do { _ = try await e.handle(OrderCommandEnvelope(command, at: at, notify: false), idempotencyKey: "o:" + key) } catch is OrderRejection {}
        case .store(let s, let command):
            let e = store(s)
            do { _ = try await e.handle(command, idempotencyKey: "s:" + key) } catch is StoreRejection {}
        }
    }

    func order(_ o: OrderID) -> DomainEntity<OrderModel> {
        if let e = orders[o] { return e }
        let e = DomainEntity<OrderModel>(identity: OrderActor.identity(o, region: "gangnam"), token: token, journal: journal, mayWrite: mayWrite)
        orders[o] = e
        return e
    }

    func store(_ s: SiteID) -> DomainEntity<StoreModel> {
        if let e = stores[s] { return e }
        let e = DomainEntity<StoreModel>(identity: StoreActor.identity(s, region: "gangnam"), token: token, journal: journal, mayWrite: mayWrite)
        stores[s] = e
        return e
    }

    nonisolated func shell(snapshotEvery: Int64 = 200) -> DispatchShell<FakeMachine> {
        DispatchShell<FakeMachine>(identity: RegionDispatcher.identity(region: "gangnam"), token: token, journal: journal, mayWrite: mayWrite,
                                   snapshotEvery: snapshotEvery, runEffect: { [self] call, key in try await self.run(call, key: key) })
    }

    func openStore() async throws {
        _ = try await store("hub-1").handle(.open(site: "hub-1", onHand: ["tofu": 100, "rice": 100], holdSeconds: 3600, codeDigits: 6,
                                                  maxAttempts: 3), idempotencyKey: "open")
    }
}

@Suite(.serialized) struct DispatchShellTests {
    static let dispatcher = RegionDispatcher.identity(region: "gangnam")
    static func draft(_ id: OrderID) -> OrderDraft {
        OrderDraft(id: id, lines: [OrderLine(sku: "tofu", quantity: 1)], destination: Coordinate(lat: 37.5, lon: 127.03), product: .dawn)
    }
    static func place(_ id: OrderID) -> DispatchRequest { .placeOrder(draft(id), slot: nil, at: Fixtures.seoul(21)) }
    static func types(_ journal: Journal, _ id: ActorIdentity) async throws -> [String] {
        try await journal.recover(id).events.map(\.type)
    }

    @Test func theEventIsJournaledBeforeTheReplyAndARetryGetsTheSameReplyOnce() async throws {
        try await DomainTestDatabase.withJournal { journal, c, _ in
            let node = FakeRegionNode(journal: journal, token: FencingToken(1))
            try await node.openStore()
            let shell = node.shell()
            #expect(try await shell.open("gangnam") == .opened)
            #expect(try await shell.open("gangnam") == .alreadyOpen)
            #expect(try await shell.open("other") == .refused("region gangnam is open with another config"))
            let reply = try await shell.handle(Self.place("o-1"), idempotencyKey: "k1")
            guard case .placed(.awaitingWave) = reply else { Issue.record("placed: \(reply)"); return }
            // In the journal when the reply came back.
            #expect(try await Self.types(journal, Self.dispatcher) == ["dispatcher.opened", "dispatcher.placeOrder"])
            // Retried: the same reply, nothing new.
            #expect(try await shell.handle(Self.place("o-1"), idempotencyKey: "k1") == reply)
            // A new request for the same order is decided (and refused) on today's state.
            guard case .placed(.rejected(let r)) = try await shell.handle(Self.place("o-1"), idempotencyKey: "k2") else {
                Issue.record("a second placement was not refused"); return
            }
            #expect(r.problem == .duplicateOrder)
            // Another activation (after a failover) answers the retry from the journal.
            let again = node.shell()
            #expect(try await again.handle(Self.place("o-1"), idempotencyKey: "k1") == reply)
            #expect(try await Self.types(journal, Self.dispatcher) == ["dispatcher.opened", "dispatcher.placeOrder"])
            #expect(try await Self.types(journal, OrderActor.identity("o-1", region: "gangnam")) == ["order.created", "order.accepted"])
            #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM outbox WHERE order_id = 'o-1'") == 1)
        }
    }

    @Test func concurrentRequestsAreJournaledInBatchesAndAnsweredAsIfOneByOne() async throws {
        try await DomainTestDatabase.withJournal { journal, c, _ in
            let node = FakeRegionNode(journal: journal, token: FencingToken(1))
            try await node.openStore()
            let shell = node.shell()
            #expect(try await shell.open("gangnam") == .opened)
            // 200 placements at once (each order twice under two keys, and one key sent twice): every
            // request answered, each order placed once, the duplicate key once, in fewer commits.
            let ids = (0 ..< 100).map { OrderID("b-\($0)") }
            let replies = try await withThrowingTaskGroup(of: (String, DispatchResponse).self) { group in
                for id in ids {
                    group.addTask { (id.rawValue + "/a", try await shell.handle(Self.place(id), idempotencyKey: id.rawValue + "/a")) }
                    group.addTask { (id.rawValue + "/b", try await shell.handle(Self.place(id), idempotencyKey: id.rawValue + "/b")) }
                }
                group.addTask { ("b-0/a again", try await shell.handle(Self.place("b-0"), idempotencyKey: "b-0/a")) }
                var out: [String: DispatchResponse] = [:]
                for try await (k, r) in group { out[k] = r }
                return out
            }
            #expect(replies.count == 201)
            for id in ids {
                let a = replies[id.rawValue + "/a"]!, b = replies[id.rawValue + "/b"]!
                let placed = [a, b].filter { if case .placed(.awaitingWave) = $0 { return true }; return false }
                let refused = [a, b].filter { if case .placed(.rejected(let r)) = $0 { return r.problem == .duplicateOrder }; return false }
                #expect(placed.count == 1 && refused.count == 1, "\(id): \(a) / \(b)")
            }
            #expect(replies["b-0 again"] == nil && replies["b-0/a again"] == replies["b-0/a"])
            let placements = try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE actor_kind = 'dispatcher' AND type = 'dispatcher.placeOrder'")
            #expect(placements == 100)
            let stats = await shell.batchStats
            #expect(stats.batches >= 1 && stats.requests > stats.batches, "\(stats)")
            // Seqs are contiguous and a new activation (recovery from the journal) sees every order.
            let events = try await journal.recover(Self.dispatcher).events
            #expect(events.map(\.seq) == Array(1 ... Int64(events.count)))
            let again = node.shell()
            for id in ids.prefix(5) {
                guard case .placed(.rejected(let r)) = try await again.handle(Self.place(id), idempotencyKey: "fresh-\(id)") else {
                    Issue.record("\(id) unknown after recovery"); continue
                }
                #expect(r.problem == .duplicateOrder)
            }
        }
    }

    @Test func aRetryAfterASnapshotGetsTheJournaledReplyNotTodaysRefusal() async throws {
        try await DomainTestDatabase.withJournal { journal, c, _ in
            let node = FakeRegionNode(journal: journal, token: FencingToken(1))
            try await node.openStore()
            let shell = node.shell(snapshotEvery: 1)
            _ = try await shell.open("gangnam")
            let reply = try await shell.handle(Self.place("o-9"), idempotencyKey: "k9")
            #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_snapshots WHERE actor_kind = 'dispatcher'") == 1)
            // Restored from the snapshot (no replies in memory): today's state would refuse the
            // placement as a duplicate; the retry gets the original reply from the journal.
            let again = node.shell(snapshotEvery: 1)
            #expect(try await again.handle(Self.place("o-9"), idempotencyKey: "k9") == reply)
            guard case .placed(.rejected(let r)) = try await again.handle(Self.place("o-9"), idempotencyKey: "k10") else {
                Issue.record("a new placement of a known order was not refused"); return
            }
            #expect(r.problem == .duplicateOrder)
            #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE actor_kind = 'dispatcher'") == 2)
        }
    }

    @Test func effectsAreAppliedOnceWhenRerunAfterActivation() async throws {
        try await DomainTestDatabase.withJournal { journal, _, _ in
            let node = FakeRegionNode(journal: journal, token: FencingToken(1))
            try await node.openStore()
            let shell = node.shell()
            _ = try await shell.open("gangnam")
            for i in 1...3 { _ = try await shell.handle(Self.place(OrderID("o-\(i)")), idempotencyKey: "p\(i)") }
            let first = await node.calls
            #expect(first == 9)
            // A new activation re-runs the effects of every event since the last snapshot (none): all duplicates.
            let again = node.shell()
            _ = try await again.handle(.tick(at: Fixtures.seoul(22)), idempotencyKey: "t1")
            #expect(await node.calls == 2 * first)
            for i in 1...3 {
                #expect(try await Self.types(journal, OrderActor.identity(OrderID("o-\(i)"), region: "gangnam")) == ["order.created", "order.accepted"])
            }
            let store = try await node.store("hub-1").read().state
            #expect(store.orders.count == 3 && store.inventory?.reserved("tofu") == 3)
            // The order actor wrote no notification of its own (the dispatcher's event did).
            #expect(try await node.order("o-1").read().state.notifications == NotificationState())
        }
    }

    @Test func notificationRowsCommitWithTheEventOrNotAtAll() async throws {
        try await DomainTestDatabase.withJournal { journal, c, _ in
            let node = FakeRegionNode(journal: journal, token: FencingToken(1))
            try await node.openStore()
            let shell = node.shell()
            _ = try await shell.open("gangnam")
            try await c.executeScript("ALTER TABLE outbox RENAME TO outbox_away", purpose: "break outbox")
            await #expect(throws: (any Error).self) { try await shell.handle(Self.place("o-7"), idempotencyKey: "p7") }
            try await c.executeScript("ALTER TABLE outbox_away RENAME TO outbox", purpose: "repair outbox")
            #expect(try await Self.types(journal, Self.dispatcher) == ["dispatcher.opened"])
            #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM outbox") == 0)
            #expect(await node.calls == 0)
            // The keyed retry lands both, once.
            guard case .placed(.awaitingWave) = try await shell.handle(Self.place("o-7"), idempotencyKey: "p7") else {
                Issue.record("retry not placed"); return
            }
            #expect(try await Self.types(journal, Self.dispatcher) == ["dispatcher.opened", "dispatcher.placeOrder"])
            #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM outbox WHERE order_id = 'o-7' AND kind = 'assigned'") == 1)
        }
    }

    /// The owner loses the region while the dawn wave is planning on its work thread; the new
    /// owner (another token) restores the dispatcher from the journal and, on the retried tick,
    /// runs the wave again and completes it: every order created once and assigned once.
    /// A late lease renewal makes the node unable to write for a moment while the wave plans: the
    /// job stops (it must not plan on a lease it may not hold), its cut-short result (nothing placed)
    /// is not journaled, and the wave runs again at once and is journaled once.
    @Test func aJobCutShortByAMomentaryLossOfTheLeaseIsNotJournaledAndRunsAgain() async throws {
        try await DomainTestDatabase.withJournal { journal, c, _ in
            let refusals = Atomic<Int>(0)
            let node = FakeRegionNode(journal: journal, token: FencingToken(1), mayWrite: {
                // Armed by the wave: the next check says no, once.
                if refusals.load(ordering: .relaxed) > 0 { refusals.subtract(1, ordering: .relaxed); return false }
                return true
            })
            try await node.openStore()
            let shell = node.shell(snapshotEvery: 100)
            _ = try await shell.open("gangnam")
            let ids = (1...4).map { OrderID("m-\($0)") }
            for (i, o) in ids.enumerated() { _ = try await shell.handle(Self.place(o), idempotencyKey: "place-\(i)") }
            let armed = Atomic<Bool>(true)
            FakeMachine.onWave.withLock { $0 = { if armed.exchange(false, ordering: .relaxed) { refusals.store(1, ordering: .relaxed) } } }
            defer { FakeMachine.onWave.withLock { $0 = nil } }
            _ = try await shell.handle(.tick(at: Fixtures.seoul(23, 30)), idempotencyKey: "tick")
            try await shell.runWork(at: Fixtures.seoul(23, 30))
            #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE type = 'dispatcher.workDone'") == 1)
            for o in ids {
                let types = try await Self.types(journal, OrderActor.identity(o, region: "gangnam"))
                #expect(types.filter { $0 == "order.assigned" }.count == 1, "\(o): \(types)")
            }
        }
    }

    @Test func failoverInTheMiddleOfADawnWaveLosesAndDuplicatesNothing() async throws {
        try await DomainTestDatabase.withJournal { journal, c, pool in
            let servingA = Atomic<Bool>(true)
            let nodeA = FakeRegionNode(journal: journal, token: FencingToken(1), mayWrite: { servingA.load(ordering: .relaxed) })
            try await nodeA.openStore()
            let a = nodeA.shell(snapshotEvery: 3)
            _ = try await a.open("gangnam")
            let ids = (1...6).map { OrderID("d-\($0)") }
            for (i, o) in ids.enumerated() { _ = try await a.handle(Self.place(o), idempotencyKey: "place-\(i)") }

            // While A's wave plans: A is killed (stops serving), B takes the lease (token 2). A's job,
            // cut short, is not journaled.
            let cc = c
            FakeMachine.onWave.withLock { $0 = { servingA.store(false, ordering: .relaxed) } }
            let tick = DispatchRequest.tick(at: Fixtures.seoul(23, 30))
            _ = try await a.handle(tick, idempotencyKey: "tick-2330")
            try await a.runWork(at: Fixtures.seoul(23, 30))
            #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE type = 'dispatcher.workDone'") == 0)
            FakeMachine.onWave.withLock { $0 = nil }
            try await cc.execute(ClusterSchema.releaseLease, ["gangnam", "a", Int64(1)], purpose: "a dies")
            _ = try await cc.query(ClusterSchema.acquireLease, ["gangnam", "b", Int64(1), Int64(60_000)], purpose: "b takes over")
            let nodeB = FakeRegionNode(journal: Journal(pool: pool, node: "b"), token: FencingToken(2))
            let b = nodeB.shell(snapshotEvery: 3)
            // The gateway retries the tick with the same key: a duplicate, whose work runs now on B.
            #expect(try await b.handle(tick, idempotencyKey: "tick-2330") == .done)
            try await b.runWork(at: Fixtures.seoul(23, 30))
            #expect(await b.unfinishedEffects == 0)

            for o in ids {
                let types = try await Self.types(journal, OrderActor.identity(o, region: "gangnam"))
                #expect(types.filter { $0 == "order.created" }.count == 1, "\(o): \(types)")
                #expect(types.filter { $0 == "order.assigned" }.count == 1, "\(o): \(types)")
                #expect(try await nodeB.order(o).read().state.order?.courier == .rider("R-1"))
            }
            // Every event (recovery reads only those after the snapshot): opened, 6 placements, the tick, one wave.
            let events = "SELECT count(*) FROM actor_events WHERE actor_kind = 'dispatcher'"
            #expect(try await DomainTestDatabase.count(c, events) == 9)
            #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_snapshots WHERE actor_kind = 'dispatcher'") == 1)
            // Nothing more to do: a further tick finds no work.
            _ = try await b.handle(.tick(at: Fixtures.seoul(23, 45)), idempotencyKey: "tick-2345")
            try await b.runWork(at: Fixtures.seoul(23, 45))
            #expect(try await DomainTestDatabase.count(c, events) == 10)
            let store = try await nodeB.store("hub-1").read().state
            #expect(store.orders.values.allSatisfy { $0.stage == .picked } && store.orders.count == 6)
        }
    }
}
