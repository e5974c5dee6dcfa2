import Base
import Cluster
import DaybreakNode
import DispatchPlanning
import Distributed
import Fleet
import Geo
import Messaging
import Storage
import Synchronization
import Testing

/// Failover in the middle of a dawn wave, with the real region dispatcher on two in-process nodes
/// (each its own actor system, ZeroMQ context and journal node id). Node 1 owns the region; dawn
/// orders are placed through node 0. The tick reaches node 1, which journals it and plans the wave
/// on its work thread; the wave's result is never journaled by node 1 (the database refuses node
/// 1's write of it: a trigger stands in for the process dying at that moment), node 1 is shut
/// down, its lease goes to node 0 (token 2). The caller retries the tick with the same key: node 0
/// restores the dispatcher from the journal, sees the tick as a duplicate, plans the wave again
/// and completes it. No order is lost or duplicated: each is created once and assigned once.
@Suite(.serialized) struct DispatchFailoverTests {
    static let logger = Logger(label: "dispatch.failover.test", level: .error)

    @Test func failoverInTheMiddleOfADawnWaveLosesAndDuplicatesNothing() async throws {
        try await DomainTestDatabase.withJournal { _, c, pool in
            typealias F = DispatchFixtures
            let region = F.region.rawValue
            try await c.execute(ClusterSchema.ensureRegion, [region], purpose: "seed")
            _ = try await c.query(ClusterSchema.acquireLease, [region, "b", Int64(0), Int64(60_000)], purpose: "node 1 (b) owns the region")
            // Node 1 (token 1) dies at the moment it would journal the wave's result.
            try await c.executeScript("""
                CREATE FUNCTION die_at_wave() RETURNS trigger AS $$
                BEGIN
                  IF NEW.type = 'dispatcher.workDone' AND NEW.token = 1 THEN RAISE EXCEPTION 'node b died planning the wave'; END IF;
                  RETURN NEW;
                END $$ LANGUAGE plpgsql;
                CREATE TRIGGER die_at_wave BEFORE INSERT ON actor_events FOR EACH ROW EXECUTE FUNCTION die_at_wave();
                """, purpose: "kill switch")

            // Who owns the region now, with which token (both nodes read it, like their lease keepers).
            let owner = Mutex<(node: Int, token: UInt64)>((1, 1))
            var systems: [(ClusterActorSystem, MessagingContext)] = []
            for i in 0..<2 {
                let ctx = try MessagingContext(logger: Self.logger)
                let journal = Journal(pool: pool, node: NodeID(i == 1 ? "b" : "a"))
                let activator = DomainActivator(journal: journal) { r in
                    owner.withLock { o in r == region && o.node == i ? FencingToken(o.token) : nil }
                }
                var config = ClusterActorSystem.Configuration(nodeID: "n\(i)")
                config.defaultTimeout = .seconds(30)
                let system = try await ClusterActorSystem(context: ctx, configuration: config, ownership: StaticRegionOwnership(localNodeID: "n\(i)"),
                                                          activator: activator, logger: Self.logger)
                for kind in DomainNode.kinds { try await kind.registerTargets(system) }
                systems.append((system, ctx))
            }
            let (a, b) = (systems[0].0, systems[1].0)
            for (s, _) in systems { (s.ownership as? StaticRegionOwnership)?.assign(region, to: b.address) }
            try await a.connect(to: b.address)
            try await b.connect(to: a.address)

            var failure: (any Error)?
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await a.run() }
                group.addTask { await b.run() }
                do {
                    let dispatcher = try RegionDispatcher.resolve(id: RegionDispatcher.identity(region: region), using: a)
                    #expect(try await dispatcher.open(try F.config()) == .opened)
                    let ids = (1...5).map { OrderID("dawn-\($0)") }
                    for (i, id) in ids.enumerated() {
                        let r = try await dispatcher.handle(.placeOrder(F.draft(id.rawValue, .dawn), slot: nil, at: F.eve(21, Int64(i))),
                                                            idempotencyKey: "place-\(id)")
                        guard case .placed(.awaitingWave) = r else { Issue.record("\(id): \(r)"); return }
                    }
                    #expect(b.activeActorCount > 0 && a.activeActorCount == 0)

                    // The tick: journaled on node 1, the wave planned there, its result refused: node 1 dies.
                    let tick = DispatchRequest.tick(at: F.at(1, 30))
                    await #expect(throws: (any Error).self) { try await dispatcher.handle(tick, idempotencyKey: "tick-0130") }
                    #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE type = 'dispatcher.workDone'") == 0)
                    await b.shutdown()
                    await systems[1].1.shutdown()
                    try await c.execute(ClusterSchema.releaseLease, [region, "b", Int64(1)], purpose: "b's lease expires")
                    _ = try await c.query(ClusterSchema.acquireLease, [region, "a", Int64(1), Int64(60_000)], purpose: "a takes over (token 2)")
                    owner.withLock { $0 = (0, 2) }
                    (a.ownership as? StaticRegionOwnership)?.assign(region, to: a.address)

                    // The caller retries with the same key: node 0 restores the dispatcher and completes the wave.
                    #expect(try await dispatcher.handle(tick, idempotencyKey: "tick-0130") == .done)
                    #expect(a.activeActorCount > 0)
                    // The hub packs the orders: each goes to its planned courier (Fleet assigns from packed).
                    for (i, id) in ids.enumerated() {
                        let r = try await dispatcher.handle(.site(.packed(site: F.hub, order: id, at: F.at(1, 40 + Int64(i)))), idempotencyKey: "pack-\(id)")
                        #expect(r == .site(.ok), "\(id): \(r)")
                    }
                    let records = try await dispatcher.records()
                    for id in ids {
                        let rec = records.first { $0.order == id }
                        #expect(rec?.courier != nil, "\(id) not assigned: \(String(describing: rec))")
                        let created = try await DomainTestDatabase.count(
                            c, "SELECT count(*) FROM actor_events WHERE actor_kind = 'order' AND actor_key = $1 AND type = 'order.created'", [id.rawValue])
                        let assigned = try await DomainTestDatabase.count(
                            c, "SELECT count(*) FROM actor_events WHERE actor_kind = 'order' AND actor_key = $1 AND type = 'order.assigned'", [id.rawValue])
                        #expect(created == 1 && assigned == 1, "\(id): created \(created), assigned \(assigned)")
                        let order = try OrderActor.resolve(id: OrderActor.identity(id, region: region), using: a)
                        #expect(try await order.state().state.order?.courier == rec?.courier)
                        // The wave's result was journaled once: one "assigned" notification per order.
                        #expect(try await DomainTestDatabase.count(
                            c, "SELECT count(*) FROM outbox WHERE order_id = $1 AND kind = 'assigned'", [id.rawValue]) == 1, "\(id)")
                    }
                    #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE type = 'dispatcher.workDone' AND token = 1") == 0)
                    #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE type = 'dispatcher.workDone' AND token = 2") >= 1)
                } catch { failure = error }
                for (s, _) in systems { await s.shutdown() }
                for (_, ctx) in systems { await ctx.shutdown() }
                await group.waitForAll()
            }
            if let failure { throw failure }
        }
    }
}
