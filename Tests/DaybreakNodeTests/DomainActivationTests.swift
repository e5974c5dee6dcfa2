import Base
import Cluster
import DaybreakNode
import Distributed
import Fleet
import Geo
import Messaging
import Storage
import Synchronization
import Testing

/// The domain actors through the actor system: two in-process nodes, region "gangnam" owned by
/// node 1 (the only one with a write token). A call made on node 0 runs on node 1, the owner.
@Suite(.serialized) struct DomainActivationTests {
    static let logger = Logger(label: "domain.test", level: .warning)

    static func withTwoNodes(_ journal: Journal, _ body: (ClusterActorSystem, ClusterActorSystem) async throws -> Void) async throws {
        var systems: [(ClusterActorSystem, MessagingContext)] = []
        for i in 0..<2 {
            let ctx = try MessagingContext(logger: logger)
            let ownership = StaticRegionOwnership(localNodeID: "n\(i)")
            let owner = i == 1
            let activator = DomainActivator(journal: journal) { region in owner && region == "gangnam" ? FencingToken(1) : nil }
            let system = try await ClusterActorSystem(context: ctx, configuration: .init(nodeID: "n\(i)"), ownership: ownership,
                                                      activator: activator, logger: logger)
            try await OrderActor.registerTargets(on: system)
            try await StoreActor.registerTargets(on: system)
            systems.append((system, ctx))
        }
        let (a, b) = (systems[0].0, systems[1].0)
        for (s, _) in systems {
            (s.ownership as? StaticRegionOwnership)?.assign("gangnam", to: b.address)
        }
        try await a.connect(to: b.address)
        try await b.connect(to: a.address)
        var failure: (any Error)?
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await a.run() }
            group.addTask { await b.run() }
            do { try await body(a, b) } catch { failure = error }
            for (s, _) in systems { await s.shutdown() }
            for (_, c) in systems { await c.shutdown() }
            await group.waitForAll()
        }
        if let failure { throw failure }
    }

    @Test func anOrderIsActivatedOnItsRegionsOwnerAndRejectionsComeBackTyped() async throws {
        try await DomainTestDatabase.withJournal { journal, c, _ in
            try await Self.withTwoNodes(journal) { a, b in
                let order = try OrderActor.resolve(id: OrderActor.identity("o-40", region: "gangnam"), using: a)
                let t = Fixtures.seoul(21)
                await #expect(throws: OrderRejection.self) {
                    try await order.send(.create(try Fixtures.order("o-41")), at: t, idempotencyKey: "create-other")
                }
                let created = try await order.send(.create(try Fixtures.order("o-40")), at: t, idempotencyKey: "create")
                #expect(created.seq == 1 && created.state.order?.state == .created)
                #expect(b.activeActorCount == 1 && a.activeActorCount == 0)
                // A typed rejection across the wire.
                do {
                    _ = try await order.send(.dispatch, at: t, idempotencyKey: "go")
                    Issue.record("dispatch from created accepted")
                } catch let r as OrderRejection {
                    #expect(r.order == "o-40" && r.state == .created && r.command == "dispatch" && r.problem == .illegalTransition)
                }
                _ = try await order.send(.accept, at: t + 1, idempotencyKey: "acc")
                #expect(try await order.send(.accept, at: t + 1, idempotencyKey: "acc").duplicate)
                #expect(try await order.state().state.order?.state == .accepted)
                #expect(try await journal.recover(OrderActor.identity("o-40", region: "gangnam")).events.map(\.type) == ["order.created", "order.accepted"])

                // A store on the same owner: BOPIS handover with a wrong code is a typed rejection.
                let store = try StoreActor.resolve(id: StoreActor.identity("mfc-1", region: "gangnam"), using: a)
                _ = try await store.send(StoreEntityTests.open, idempotencyKey: "open")
                _ = try await store.send(.reserve("o-40", lines: [OrderLine(sku: "tofu", quantity: 1)]), idempotencyKey: "r")
                _ = try await store.send(.pick("o-40"), idempotencyKey: "p")
                let ready = try await store.send(.markReady("o-40", at: t), idempotencyKey: "ready")
                let code = try #require(ready.state.counter?.holds["o-40"]?.code)
                let wrong = code == "000000" ? "000001" : "000000"
                do {
                    _ = try await store.send(.handOver("o-40", code: wrong, at: t + 10), idempotencyKey: "h1")
                    Issue.record("wrong code accepted")
                } catch let r as StoreRejection { #expect(r.problem == .wrongCode(attemptsLeft: 1)) }
                do {
                    _ = try await store.send(.handOver("o-40", code: wrong, at: t + 20), idempotencyKey: "h2")
                    Issue.record("wrong code accepted")
                } catch let r as StoreRejection { #expect(r.problem == .locked) }
                do {
                    _ = try await store.send(.handOver("o-40", code: code, at: t + 30), idempotencyKey: "h3")
                    Issue.record("handover after lockout accepted")
                } catch let r as StoreRejection { #expect(r.problem == .locked) }
                #expect(try await store.expireHolds(at: t + 10, idempotencyKey: "exp-1").isEmpty)
                #expect(try await store.expireHolds(at: t + 3600, idempotencyKey: "exp-2") == ["o-40"])
                #expect(b.activeActorCount == 2 && a.activeActorCount == 0)
                _ = c
            }
        }
    }
}

extension DomainActivationTests {
    /// The outbox drained on the owner reaches a subscriber on another node through the cluster
    /// event stream; a failed drain in between loses nothing and duplicates nothing.
    @Test func outboxNotificationsReachSubscribersOnTheEventStream() async throws {
        try await DomainTestDatabase.withJournal { journal, _, pool in
            try await Self.withTwoNodes(journal) { a, b in
                let stream = try await a.subscribe(topic: OrderModel.notificationTopic(region: "gangnam"), as: OutboxEnvelope.self)
                try await b.waitForSubscribers(1, topic: OrderModel.notificationTopic(region: "gangnam"), timeout: .seconds(5))
                let order = try OrderActor.resolve(id: OrderActor.identity("o-50", region: "gangnam"), using: a)
                let t = Fixtures.seoul(21)
                let path: [OrderActorCommand] = [.create(try Fixtures.order("o-50")), .accept, .allocate("hub-1"), .startPicking, .pack,
                                                 .assign(.rider("R-1")), .dispatch, .arrive]
                for (i, c) in path.enumerated() { _ = try await order.send(c, at: t + Int64(i), idempotencyKey: "p\(i)") }

                struct Down: Error {}
                let publisher = OutboxPublisher(pool: pool)
                await #expect(throws: Down.self) { try await publisher.drainOnce { _, _ in throw Down() } }
                #expect(try await publisher.drainOnce { topic, env in try b.publish(topic: topic, event: env) } == 2)
                #expect(try await publisher.drainOnce { topic, env in try b.publish(topic: topic, event: env) } == 0)

                let got = try await withDeadline(.seconds(10), "two notifications on the stream") {
                    var seen: [OutboxEnvelope] = []
                    for try await env in stream {
                        seen.append(env)
                        if seen.count == 2 { break }
                    }
                    return seen
                }
                let kinds = got.map(\.kind), ids = got.map(\.id)
                #expect(kinds == ["assigned", "approaching"] && Set(ids).count == 2)
            }
        }
    }
}
