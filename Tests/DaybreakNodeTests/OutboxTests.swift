import Cluster
import DaybreakNode
import Fleet
import Geo
import Storage
import Synchronization
import Testing

/// The transactional outbox: a notification row exists iff its event does; the publisher drains
/// it, a failure leaves the row for the next drain, and each row is published (marked) once.
@Suite(.serialized) struct OutboxTests {
    static let unsent = "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
    static let rows = "SELECT count(*) FROM outbox"

    /// An order `key` taken to `packed` (no notifications yet).
    static func packed(_ key: String, _ journal: Journal) async throws -> DomainEntity<OrderModel> {
        let e = OrderEntityTests.entity(key, journal)
        for (i, c) in [OrderActorCommand.create(try Fixtures.order(OrderID(key))), .accept, .allocate("hub-1"), .startPicking, .pack].enumerated() {
            _ = try await e.handle(OrderEntityTests.cmd(c, Int64(i)), idempotencyKey: "\(key)-\(i)")
        }
        return e
    }

    @Test func aNotificationIsWrittenWithItsEventAndSurvivesAFailedPublish() async throws {
        try await DomainTestDatabase.withJournal { journal, c, pool in
            let e = try await Self.packed("o-10", journal)
            #expect(try await DomainTestDatabase.count(c, Self.rows) == 0)
            _ = try await e.handle(OrderEntityTests.cmd(.assign(.vehicle("V-1")), 10), idempotencyKey: "assign")
            #expect(try await DomainTestDatabase.count(c, Self.unsent) == 1)
            let seq = try await c.query("SELECT event_seq, kind, topic FROM outbox", purpose: "row")[0]
            #expect(try seq.decode(0, as: Int64.self) == 6 && seq.decode(1, as: String.self) == "assigned" && seq.decode(2, as: String.self) == "notify.gangnam")

            // Failure injected between the event and its publication: the drain fails, nothing is marked.
            struct BusDown: Error {}
            let publisher = OutboxPublisher(pool: pool)
            await #expect(throws: BusDown.self) { try await publisher.drainOnce { _, _ in throw BusDown() } }
            #expect(try await DomainTestDatabase.count(c, Self.unsent) == 1)

            // The next drain publishes it; later drains publish nothing more: exactly once.
            let published = Mutex<[OutboxEnvelope]>([])
            let record: @Sendable (String, OutboxEnvelope) throws -> Void = { _, env in published.withLock { $0.append(env) } }
            #expect(try await publisher.drainOnce(record) == 1)
            #expect(try await publisher.drainOnce(record) == 0)
            let got = published.withLock { $0 }
            #expect(got.count == 1 && got[0].order == "o-10" && got[0].kind == "assigned")
            let n = try BinaryDecoder().decode(CustomerNotification.self, from: got[0].payload)
            #expect(n.kind == .assigned && n.order == "o-10" && n.window != nil)
            #expect(try await DomainTestDatabase.count(c, Self.unsent) == 0)

            // A retry of the command and a re-assignment in the same window add no row (dedup).
            #expect(try await e.handle(OrderEntityTests.cmd(.assign(.vehicle("V-1")), 10), idempotencyKey: "assign").duplicate)
            _ = try await e.handle(OrderEntityTests.cmd(.assign(.vehicle("V-2")), 11), idempotencyKey: "reassign")
            #expect(try await DomainTestDatabase.count(c, Self.rows) == 1)
            // Delivery: approaching (arrive) and delivered, one row each.
            for (i, cmd) in [OrderActorCommand.dispatch, .arrive, .deliver(DeliveryProof(kind: .photo, reference: "p1"))].enumerated() {
                _ = try await e.handle(OrderEntityTests.cmd(cmd, 20 + Int64(i)), idempotencyKey: "d\(i)")
            }
            #expect(try await DomainTestDatabase.count(c, Self.rows) == 3)
            #expect(try await publisher.drainOnce(record) == 2)
            #expect(published.withLock { $0.map(\.kind) } == ["assigned", "approaching", "delivered"])
        }
    }

    @Test func theEventAndItsRowCommitTogetherOrNotAtAll() async throws {
        try await DomainTestDatabase.withJournal { journal, c, _ in
            let e = try await Self.packed("o-11", journal)
            // The outbox insert fails (table gone): the event is rolled back with it.
            try await c.executeScript("ALTER TABLE outbox RENAME TO outbox_away", purpose: "break outbox")
            await #expect(throws: (any Error).self) {
                try await e.handle(OrderEntityTests.cmd(.assign(.vehicle("V-1")), 10), idempotencyKey: "assign")
            }
            try await c.executeScript("ALTER TABLE outbox_away RENAME TO outbox", purpose: "repair outbox")
            #expect(try await journal.recover(OrderEntityTests.id("o-11")).events.count == 5)
            #expect(try await DomainTestDatabase.count(c, Self.rows) == 0)
            // The retry with the same key lands both, once.
            let ack = try await e.handle(OrderEntityTests.cmd(.assign(.vehicle("V-1")), 10), idempotencyKey: "assign")
            #expect(ack.seq == 6 && !ack.duplicate)
            #expect(try await DomainTestDatabase.count(c, Self.rows) == 1)

            _ = try await e.handle(OrderEntityTests.cmd(.dispatch, 11), idempotencyKey: "go")
            // A fenced writer (stale token) writes neither the event nor the row.
            try await c.execute(ClusterSchema.releaseLease, ["gangnam", "a", Int64(1)], purpose: "release")
            _ = try await c.query(ClusterSchema.acquireLease, ["gangnam", "a", Int64(1), Int64(60_000)], purpose: "re-acquire (token 2)")
            do {
                _ = try await e.handle(OrderEntityTests.cmd(.arrive, 12), idempotencyKey: "arrive")
                Issue.record("a write under token 1 was accepted after token 2 was issued")
            } catch let err as JournalError {
                #expect(err.code == .fenced)
            }
            #expect(try await DomainTestDatabase.count(c, Self.rows) == 1)
            #expect(try await journal.recover(OrderEntityTests.id("o-11")).events.count == 7)
        }
    }
}
