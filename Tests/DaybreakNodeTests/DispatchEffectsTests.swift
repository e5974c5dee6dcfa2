import Cluster
import DaybreakNode
import DispatchPlanning
import Fleet
import Geo
import Storage
import Testing

/// What the dispatcher's effects need of the store, order and courier actors.
@Suite(.serialized) struct DispatchEffectsTests {
    static func store(_ journal: Journal) -> DomainEntity<StoreModel> {
        DomainEntity(identity: StoreActor.identity("mfc-1", region: "gangnam"), token: FencingToken(1), journal: journal, mayWrite: { true })
    }

    @Test func markReadyTakesTheDispatchersCodeAndReplayTakesTheJournaledOne() async throws {
        try await DomainTestDatabase.withJournal { journal, _, _ in
            let s = Self.store(journal)
            let t = Fixtures.seoul(12)
            _ = try await s.handle(StoreEntityTests.open, idempotencyKey: "open")
            for o in ["o-1", "o-2"] as [OrderID] {
                _ = try await s.handle(.reserve(o, lines: [OrderLine(sku: "tofu", quantity: 1)]), idempotencyKey: "r-\(o)")
                _ = try await s.handle(.pick(o), idempotencyKey: "p-\(o)")
            }
            let ready = try await s.handle(.markReady("o-1", at: t, code: "042917", holdUntil: t + 600), idempotencyKey: "ready-1")
            #expect(ready.state.counter?.holds["o-1"]?.code == "042917" && ready.state.counter?.holds["o-1"]?.holdUntil == t + 600)
            // A code in use, or of the wrong length, is refused.
            await #expect(throws: StoreRejection.self) {
                try await s.handle(.markReady("o-2", at: t, code: "042917"), idempotencyKey: "ready-2a")
            }
            await #expect(throws: StoreRejection.self) {
                try await s.handle(.markReady("o-2", at: t, code: "12"), idempotencyKey: "ready-2b")
            }
            for code in ["000000", "999999", "500000"] {
                var probe = ready.state
                let event = try probe.decide(.markReady("o-2", at: t, code: code))
                probe.apply(event)
                #expect(probe.counter?.holds["o-2"]?.code == code)
            }
            // The dispatcher checked the code: handed over; a replayed activation has the same state.
            let done = try await s.handle(.handOverVerified("o-1", at: t + 60), idempotencyKey: "hand-1")
            #expect(done.state.orders["o-1"]?.stage == .pickedUp)
            let again = Self.store(journal)
            #expect(try await again.read().state == done.state)
        }
    }

    @Test func releaseGivesReservedPickedAndHeldGoodsBack() async throws {
        try await DomainTestDatabase.withJournal { journal, _, _ in
            let s = Self.store(journal)
            let t = Fixtures.seoul(12)
            _ = try await s.handle(StoreEntityTests.open, idempotencyKey: "open")
            let line = [OrderLine(sku: "tofu", quantity: 2)]
            _ = try await s.handle(.reserve("o-1", lines: line), idempotencyKey: "r1")
            _ = try await s.handle(.reserve("o-2", lines: line), idempotencyKey: "r2")
            _ = try await s.handle(.pick("o-2"), idempotencyKey: "p2")
            _ = try await s.handle(.reserve("o-3", lines: [OrderLine(sku: "tofu", quantity: 1)]), idempotencyKey: "r3")
            _ = try await s.handle(.pick("o-3"), idempotencyKey: "p3")
            _ = try await s.handle(.markReady("o-3", at: t, code: "123456", holdUntil: t + 600), idempotencyKey: "m3")
            var state = try await s.read().state
            #expect(state.inventory?.onHand["tofu"] == 2 && state.inventory?.reserved("tofu") == 2)
            for o in ["o-1", "o-2", "o-3"] as [OrderID] { state = try await s.handle(.release(o), idempotencyKey: "rel-\(o)").state }
            #expect(state.inventory?.onHand["tofu"] == 5 && state.inventory?.reserved("tofu") == 0 && state.counter?.holds.isEmpty == true)
            #expect(state.orders.values.allSatisfy { $0.stage == .released })
            // Released once: the retry is a duplicate; a second release is refused.
            #expect(try await s.handle(.release("o-1"), idempotencyKey: "rel-o-1").duplicate)
            await #expect(throws: StoreRejection.self) { try await s.handle(.release("o-1"), idempotencyKey: "rel-again") }
            #expect(try await Self.store(journal).read().state == state)
        }
    }

    @Test func dispatcherCommandsWriteNoNotificationOrdinaryOnesDo() async throws {
        try await DomainTestDatabase.withJournal { journal, c, _ in
            func drive(_ id: OrderID, notify: Bool) async throws -> OrderModel {
                let e = DomainEntity<OrderModel>(identity: OrderActor.identity(id, region: "gangnam"), token: FencingToken(1), journal: journal, mayWrite: { true })
                let path: [OrderActorCommand] = [.create(try Fixtures.order(id)), .accept, .allocate("hub-1"), .startPicking, .pack,
                                                 .assign(.vehicle("V-1")), .dispatch, .arrive]
                var last: OrderModel?
                for (i, cmd) in path.enumerated() {
                    last = try await e.handle(OrderCommandEnvelope(cmd, at: Fixtures.seoul(21, Int64(i)), notify: notify), idempotencyKey: "\(i)").state
                }
                #expect(try await e.read().state == last!)
                return last!
            }
            let quiet = try await drive("o-q", notify: false)
            let loud = try await drive("o-l", notify: true)
            #expect(quiet.order?.state == .arrived && loud.order?.state == .arrived)
            #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM outbox WHERE order_id = 'o-q'") == 0)
            #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM outbox WHERE order_id = 'o-l'") == 2)
            // The same stable event types either way.
            let q = try await journal.recover(OrderActor.identity("o-q", region: "gangnam")).events.map(\.type)
            let l = try await journal.recover(OrderActor.identity("o-l", region: "gangnam")).events.map(\.type)
            #expect(q == l)
        }
    }

    @Test func aDevicesReportsApplyOnceAndInSequence() throws {
        var m = CourierModel()
        let v = CourierRef.vehicle("V-1"), t = Fixtures.seoul(9)
        func send(_ r: HandheldReport, _ device: String, _ seq: Int64) throws { m.apply(try m.decide(CourierCommand(r, device: device, seq: seq))) }
        // A gap: nothing applied, the last applied number named.
        #expect(throws: DeviceSequenceError.gap(last: 0)) { try send(.shiftStarted(v, at: t, position: Coordinate(lat: 37.5, lon: 127)), "d1", 2) }
        try send(.shiftStarted(v, at: t, position: Coordinate(lat: 37.5, lon: 127)), "d1", 1)
        #expect(m.status == .idle && m.lastSeq(of: "d1") == 1)
        // A report the courier's own record refuses (a second shift start) still takes its number.
        try send(.shiftStarted(v, at: t, position: Coordinate(lat: 37.5, lon: 127)), "d1", 2)
        #expect(m.lastSeq(of: "d1") == 2 && m.status == .idle)
        #expect(throws: DeviceSequenceError.duplicate(last: 2)) { try send(.position(v, Coordinate(lat: 37.6, lon: 127), at: t + 60), "d1", 2) }
        #expect(m.position == Coordinate(lat: 37.5, lon: 127))
        // Another device of the same courier has its own sequence.
        try send(.position(v, Coordinate(lat: 37.51, lon: 127), at: t + 60), "d2", 1)
        #expect(m.lastSeq(of: "d2") == 1 && m.lastSeq(of: "d1") == 2 && m.position == Coordinate(lat: 37.51, lon: 127))
    }

    @Test func theCourierModelKeepsStatusStopsAndDistance() throws {
        var m = CourierModel()
        let v = CourierRef.vehicle("V-1"), t = Fixtures.seoul(9)
        #expect(throws: CourierRejection.self) { try m.decide(CourierCommand(.position(v, Coordinate(lat: 37.5, lon: 127), at: t))) }
        func send(_ r: HandheldReport) throws { m.apply(try m.decide(CourierCommand(r))) }
        try send(.shiftStarted(v, at: t, position: Coordinate(lat: 37.50, lon: 127.00)))
        #expect(m.status == .idle)
        try send(.position(v, Coordinate(lat: 37.51, lon: 127.00), at: t + 60))
        try send(.position(v, Coordinate(lat: 37.52, lon: 127.00), at: t + 120))
        #expect(abs(m.kilometres - 2 * GreatCircle.distanceMetres(Coordinate(lat: 37.50, lon: 127), Coordinate(lat: 37.51, lon: 127)) / 1000) < 0.001)
        #expect(m.kilometres > 2.2 && m.kilometres < 2.3)
        try send(.pickedUp(v, orders: ["o-1", "o-2"], at: t + 200))
        try send(.arrived(v, stop: .delivery, orders: ["o-1"], at: t + 300))
        try send(.delivered(v, order: "o-1", proof: DeliveryProof(kind: .pin, reference: "x"), at: t + 310))
        #expect(m.status == .working && m.stopsDone == 1 && m.delivered == 1 && m.onBoard == ["o-2"])
        #expect(throws: CourierRejection.self) { try m.decide(CourierCommand(.position(.rider("R-1"), Coordinate(lat: 37.5, lon: 127), at: t))) }
        try send(.breakdown(v, position: Coordinate(lat: 37.52, lon: 127.01), at: t + 400))
        #expect(m.status == .brokenDown)
        try send(.shiftEnded(v, at: t + 500))
        #expect(m.status == .offShift)
    }
}
