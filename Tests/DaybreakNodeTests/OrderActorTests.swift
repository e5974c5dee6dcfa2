import Cluster
import DaybreakNode
import Fleet
import Geo
import Storage
import Testing

/// Order actors against a real PostgreSQL: the lifecycle, rejections, idempotency, recovery.
@Suite(.serialized) struct OrderEntityTests {
    static func id(_ key: String) -> ActorIdentity { ActorIdentity(kind: OrderModel.kind, key: key, region: "gangnam") }
    static func entity(_ key: String, _ journal: Journal) -> DomainEntity<OrderModel> {
        DomainEntity(identity: id(key), token: FencingToken(1), journal: journal, mayWrite: { true })
    }
    static func cmd(_ c: OrderActorCommand, _ m: Int64 = 0) -> OrderCommandEnvelope { OrderCommandEnvelope(c, at: Fixtures.seoul(21, m)) }

    @Test func aDeliveryLifecycleJournalsOneStableEventPerTransition() async throws {
        try await DomainTestDatabase.withJournal { journal, _, _ in
            let e = Self.entity("o-1", journal)
            let path: [OrderActorCommand] = [
                .create(try Fixtures.order("o-1")), .accept, .allocate("hub-1"), .startPicking, .pack,
                .assign(.vehicle("V-1")), .dispatch, .arrive, .deliver(DeliveryProof(kind: .pin, reference: "pin-ok")),
            ]
            for (i, c) in path.enumerated() {
                let ack = try await e.handle(Self.cmd(c, Int64(i)), idempotencyKey: "k\(i)")
                #expect(ack.seq == Int64(i + 1) && !ack.duplicate)
            }
            let s = try await e.read().state
            #expect(s.order?.state == .delivered && s.order?.site == "hub-1" && s.order?.courier == .vehicle("V-1") && s.order?.attempts == 1)
            let types = try await journal.recover(Self.id("o-1")).events.map(\.type)
            #expect(types == ["order.created", "order.accepted", "order.allocated", "order.picking_started", "order.packed",
                              "order.assigned", "order.out_for_delivery", "order.arrived", "order.delivered"])
        }
    }

    @Test func anIllegalTransitionIsATypedRejectionAndWritesNothing() async throws {
        try await DomainTestDatabase.withJournal { journal, _, _ in
            let e = Self.entity("o-2", journal)
            _ = try await e.handle(Self.cmd(.create(try Fixtures.order("o-2"))), idempotencyKey: "c")
            do {
                _ = try await e.handle(Self.cmd(.deliver(DeliveryProof(kind: .pin, reference: "x"))), idempotencyKey: "d")
                Issue.record("deliver from created was accepted")
            } catch let r as OrderRejection {
                #expect(r == OrderRejection(order: "o-2", state: .created, command: "deliver", problem: .illegalTransition))
                #expect(r.description.contains("o-2") && r.description.contains("created") && r.description.contains("deliver"))
            }
            // Wrong product: a BOPIS-only command on a delivery order.
            _ = try await e.handle(Self.cmd(.accept), idempotencyKey: "a")
            do {
                _ = try await e.handle(Self.cmd(.handOver), idempotencyKey: "p")
                Issue.record("handOver on a dawn order was accepted")
            } catch let r as OrderRejection {
                #expect(r.problem == .wrongProduct(.dawn) && r.state == .accepted && r.command == "handOver")
            }
            // Before creation, and creating twice.
            await #expect(throws: OrderRejection.self) { try await Self.entity("o-none", journal).handle(Self.cmd(.accept), idempotencyKey: "x") }
            await #expect(throws: OrderRejection.self) { try await e.handle(Self.cmd(.create(try Fixtures.order("o-2"))), idempotencyKey: "c2") }
            #expect(try await journal.recover(Self.id("o-2")).events.map(\.type) == ["order.created", "order.accepted"])
            #expect(try await journal.recover(Self.id("o-none")).events.isEmpty)
            #expect(try await e.read().state.order?.state == .accepted)
        }
    }

    @Test func aRetriedCommandIsAppliedOnceAndARestoredActorHasTheSameState() async throws {
        try await DomainTestDatabase.withJournal { journal, _, _ in
            let e = Self.entity("o-3", journal)
            _ = try await e.handle(Self.cmd(.create(try Fixtures.order("o-3"))), idempotencyKey: "c")
            let first = try await e.handle(Self.cmd(.accept), idempotencyKey: "acc")
            let retry = try await e.handle(Self.cmd(.accept), idempotencyKey: "acc")
            #expect(!first.duplicate && retry.duplicate && retry.seq == first.seq)
            _ = try await e.handle(Self.cmd(.allocate("hub-1")), idempotencyKey: "alloc")
            // A retry from another activation (keys not in its memory) is caught by the journal:
            // `accept` is illegal in `allocated`, yet the retry is answered as the original.
            let other = Self.entity("o-3", journal)
            let late = try await other.handle(Self.cmd(.accept), idempotencyKey: "acc")
            #expect(late.duplicate && late.seq == first.seq)
            // Also across a snapshot.
            try await e.snapshot()
            let afterSnapshot = Self.entity("o-3", journal)
            let late2 = try await afterSnapshot.handle(Self.cmd(.accept), idempotencyKey: "acc")
            #expect(late2.duplicate && late2.seq == first.seq)
            #expect(try await journal.recover(Self.id("o-3")).snapshot?.seq == 3)
            #expect(try await afterSnapshot.read().state == (try await e.read().state))
            #expect(try await other.read().state == (try await e.read().state))
            #expect(try await other.read().seq == 3)
            let all = try await journal.recover(Self.id("o-3")).events
            #expect(all.isEmpty)   // everything is in the snapshot
        }
    }
}
