import Base
import Cluster
import DaybreakNode
import DispatchPlanning
import Fleet
import Foundation
import Geo
import Messaging
import Storage
import Synchronization
import Testing

/// A node with a CURVE key, as `daybreak node --key` runs it, attacked from outside: no key, an
/// unknown key, a courier's key (valid at the edge, not at a node), an operator calling what only
/// nodes may call. Each gets nothing or a typed refusal, and the journal does not move.
@Suite(.serialized) struct NodeSecurityTests {
    typealias O = Operating

    struct Keys {
        let node = try! CurveKeyPair.generate()
        let gateway = try! CurveKeyPair.generate()
        let operatorKey = try! CurveKeyPair.generate()
        let courier = try! CurveKeyPair.generate()
        let stranger = try! CurveKeyPair.generate()
    }

    static func secureNode(_ schema: String, operating: OperatingConfig, key: CurveKeyPair) -> NodeService {
        var cfg = NodeConfiguration(id: NodeID("s1"), listen: "tcp://127.0.0.1:*", regions: [RegionKey("gangnam")], schema: schema,
                                    heartbeatInterval: .milliseconds(100), ttl: .seconds(1))
        cfg.events = "tcp://127.0.0.1:*"
        cfg.statementTimeout = .seconds(5)
        cfg.curve = key
        cfg.principalsRefresh = .milliseconds(200)
        return NodeService(cfg, logger: DomainTestDatabase.logger, extensions: DomainNode.extensions(operating: operating, drainEvery: .milliseconds(50)))
    }

    /// A fresh schema with `principals` admitted, a secure node serving gangnam in it, and `body`
    /// once it serves; the node is stopped and the schema dropped afterwards.
    static func withSecureNode(prefix: String, node key: CurveKeyPair, principals: [(CurveKeyPair, String, String)],
                               _ body: (NodeService, PostgresConnection, String) async throws -> Void) async throws {
        let operating = try O.config(start: O.at(0, 9))
        try await DomainTestDatabase.withSchema(prefix: prefix) { c, schema in
            _ = try await Migrator(DomainSchema.allMigrations, schema: schema, logger: DomainTestDatabase.logger).migrate(c)
            try await c.executeScript("SET search_path TO \(schema)", purpose: "use schema")
            for (k, user, role) in principals {
                _ = try await c.execute(PrincipalDirectory.upsert, [k.publicKey, user, role, ""], purpose: "principal")
            }
            let node = Self.secureNode(schema, operating: operating, key: key)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await node.run() }
                defer { group.cancelAll() }
                try await NodeHostingTests.waitUntil("the node serves gangnam", within: .seconds(20)) { node.servingRegions().count == 1 }
                try await body(node, c, schema)
            }
        }
    }

    /// Events an eavesdropper received (shared with its listening tasks).
    final class Heard: Sendable { let n = Atomic<Int>(0) }

    @Test func outsidersGetNothingFromANodesPortsAndTheBopisTheftFailsAtBothSteps() async throws {
        let keys = Keys()
        let operating = try O.config(start: O.at(0, 9))
        try await Self.withSecureNode(prefix: "secure", node: keys.node, principals: [
            (keys.gateway, "gateway:test", "gateway"), (keys.operatorKey, "operator:test", "operator"),
            (keys.courier, "courier:vehicle:gangnam-day-van-001", "courier")]) { _, c, schema in
            do {
                let database = PostgresConfiguration("").withSearchPath(schema)
                func client(_ key: CurveKeyPair?) async throws -> ClusterClient {
                    let c = try await ClusterClient(database: database, curve: key, attemptTimeout: .milliseconds(700), logger: DomainTestDatabase.logger)
                    try await RegionDispatcher.registerTargets(on: c.system)
                    try await OrderActor.registerTargets(on: c.system)
                    return c
                }
                let gatewayClient = try await client(keys.gateway)
                let pool = PostgresPool(database, size: 2, logger: DomainTestDatabase.logger)
                var outsiders: [ClusterClient] = []
                do {
                    try await gatewayClient.connectToNodes()
                    let gateway = try await ClusterGateway(client: gatewayClient, configs: [try operating.dayConfig(region: "gangnam", day: O.day)],
                                                           drivenClock: pool, principal: "test")
                    try await withThrowingTaskGroup(of: Void.self) { pump in
                        pump.addTask { await gateway.run() }
                        defer { pump.cancelAll() }
                        // An outsider listening on the event port, with no key and with an unknown key.
                        let eavesdroppers = try await [client(nil), client(keys.stranger)]
                        outsiders += eavesdroppers
                        let heard = Heard()
                        try await withThrowingTaskGroup(of: Void.self) { ears in
                            for e in eavesdroppers {
                                try? await e.connectToNodes()
                                let stream = try await e.system.subscribe(topic: OrderModel.notificationTopic(region: "gangnam"), as: OutboxEnvelope.self)
                                ears.addTask { await e.run() }
                                ears.addTask { for await _ in stream { heard.n.add(1, ordering: .relaxed) } }
                            }
                            defer { ears.cancelAll() }

                            // A customer's BOPIS order, packed: its code goes out as a notification.
                            let config = try operating.dayConfig(region: "gangnam", day: O.day)
                            let store = try #require(config.sites.first { $0.kind == .store })
                            let draft = OrderDraft(id: "bopis-s", lines: [OrderLine(sku: NightOrders.catalogue.items.keys.sorted()[0], quantity: 1)],
                                                   destination: Coordinate(lat: store.location.lat + 0.002, lon: store.location.lon + 0.002), product: .bopis)
                            guard case .awaitingCollection(let site, _) = try await gateway.placeOrder(draft, slot: nil, at: O.at(0, 10)) else {
                                Issue.record("BOPIS not accepted"); return
                            }
                            guard case .success(.readyForCollection(let code, _)) = try await gateway.siteReport(.packed(site: site, order: "bopis-s", at: O.at(0, 10, 30))) else {
                                Issue.record("not ready"); return
                            }
                            // The gateway (a principal of the node's event port) hears the notifications...
                            var received: [CustomerNotification] = []
                            try await NodeHostingTests.waitUntil("the gateway hears the pickup code", within: .seconds(10)) {
                                received += try await gateway.drainNotifications()
                                return received.contains { $0.kind == .readyForPickup && $0.order == "bopis-s" }
                            }
                            // ...the eavesdroppers hear nothing (step 1 of the theft: the code cannot be read).
                            #expect(heard.n.load(ordering: .relaxed) == 0)

                            // Step 2: collecting with the code (which an outsider would not have) — refused to every outsider.
                            for (who, key) in [("no key", nil), ("an unknown key", keys.stranger), ("a courier's key", keys.courier)] as [(String, CurveKeyPair?)] {
                                let outsider = try await client(key)
                                outsiders.append(outsider)
                                let d = try RegionDispatcher.resolve(id: RegionDispatcher.identity(region: "gangnam"), using: outsider.system)
                                do {
                                    let r = try await ClusterCall.$timeout.withValue(.seconds(2)) {
                                        try await d.handle(.collect("bopis-s", code: code, at: O.at(0, 11)), idempotencyKey: "theft-\(who)")
                                    }
                                    Issue.record("\(who): the node answered a collection: \(r)")
                                } catch let e as ClusterCallError {
                                    #expect([.timeout, .nodeDown].contains(e.code), "\(who): \(e)")
                                }
                            }
                            #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE idempotency_key LIKE '%theft-%' OR type IN ('dispatcher.collect', 'store.handed_over', 'store.code_rejected')") == 0,
                                    "an outsider's call reached the journal")
                            #expect(try await gateway.records(region: "gangnam").first { $0.order == "bopis-s" }?.state == .readyForPickup)

                            // An operator is a principal of the call port, but may not read an order's journal (addresses, lines).
                            let operatorClient = try await client(keys.operatorKey)
                            outsiders.append(operatorClient)
                            let order = try OrderActor.resolve(id: OrderActor.identity("bopis-s", region: "gangnam"), using: operatorClient.system)
                            do {
                                _ = try await ClusterCall.$timeout.withValue(.seconds(5)) { try await order.state() }
                                Issue.record("an operator read an order's journal")
                            } catch let e as ClusterCallError {
                                #expect(e.remoteCode == .forbidden, "\(e)")
                            }
                            // ...while what an operator is for still works (the dispatcher's status).
                            let status = try await ClusterCall.$timeout.withValue(.seconds(5)) {
                                try await RegionDispatcher.resolve(id: RegionDispatcher.identity(region: "gangnam"), using: operatorClient.system).status(now: nil)
                            }
                            #expect(status.openOrders == 1)
                        }
                    }
                } catch {
                    for o in outsiders { await o.close() }
                    await gatewayClient.close()
                    await pool.close()
                    throw error
                }
                for o in outsiders { await o.close() }
                await gatewayClient.close()
                await pool.close()
            }
        }
    }

    /// The resident memory of this process (the node runs in it), in bytes.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first { !$0.isEmpty } ?? "") else { return 0 }
        return kb * 1024
    }

    /// A principal floods the node's call port with 10 MB frames: each costs the sender its
    /// connection before the node allocates it, the node's memory stays under a bound, and it keeps
    /// serving. (Bound: 150 MB of growth for 20 frames, 200 MB sent; the sender's own copies of two
    /// frames in flight are part of it.)
    @Test func aFloodOfTenMegabyteFramesLeavesTheNodesMemoryBoundedWhileItServes() async throws {
        let keys = Keys()
        try await Self.withSecureNode(prefix: "flood", node: keys.node, principals: [(keys.gateway, "gateway:flood", "gateway")]) { node, _, schema in
            do {
                let endpoint = try #require(node.endpoint)
                try await withMessagingContext(logger: DomainTestDatabase.logger) { ctx in
                    var options = SocketOptions()
                    options.curveClient = try CurveClient(serverPublicKey: keys.node.publicKey, keyPair: keys.gateway)
                    let raw = try await ctx.connectClient(endpoint, options: options)
                    let before = Self.residentBytes()
                    var peak = before
                    let frame = Message([UInt8](repeating: 0x5A, count: 10_000_000))
                    for _ in 0..<10 {
                        await withTaskGroup(of: Void.self) { burst in
                            for _ in 0..<2 { burst.addTask { _ = try? await raw.request(frame, timeout: .milliseconds(600)) } }
                        }
                        peak = max(peak, Self.residentBytes())
                    }
                    await raw.close()
                    #expect(peak - before < 150_000_000, "resident memory grew by \(peak - before) bytes under the flood")
                }
                // Still serving: a gateway call answers.
                let client = try await ClusterClient(database: PostgresConfiguration("").withSearchPath(schema), curve: keys.gateway,
                                                     attemptTimeout: .seconds(2), logger: DomainTestDatabase.logger)
                try await RegionDispatcher.registerTargets(on: client.system)
                let status = try? await ClusterCall.$timeout.withValue(.seconds(5)) {
                    try await RegionDispatcher.resolve(id: RegionDispatcher.identity(region: "gangnam"), using: client.system).status(now: nil)
                }
                await client.close()
                #expect(status?.days.isEmpty == false, "the node answers after the flood")
            }
        }
    }

    /// Rotating an operator's key without downtime: a second key for the same user id works beside
    /// the first; once the first is revoked it gets nothing, and the second still works.
    @Test func aKeyIsRotatedWithTwoKeysValidInBetween() async throws {
        let keys = Keys()
        let next = try CurveKeyPair.generate()
        try await Self.withSecureNode(prefix: "rotate", node: keys.node, principals: [(keys.operatorKey, "operator:kim", "operator")]) { _, c, schema in
            do {
                let database = PostgresConfiguration("").withSearchPath(schema)
                func answers(_ key: CurveKeyPair) async -> Bool {
                    guard let client = try? await ClusterClient(database: database, curve: key, attemptTimeout: .milliseconds(700), logger: DomainTestDatabase.logger)
                    else { return false }
                    _ = try? await RegionDispatcher.registerTargets(on: client.system)
                    let d = try? RegionDispatcher.resolve(id: RegionDispatcher.identity(region: "gangnam"), using: client.system)
                    let ok = await (try? ClusterCall.$timeout.withValue(.seconds(2)) { try await d?.status(now: nil) }) != nil
                    await client.close()
                    return ok
                }
                #expect(await answers(keys.operatorKey))
                #expect(!(await answers(next)), "a key nobody added")
                _ = try await c.execute(PrincipalDirectory.upsert, [next.publicKey, "operator:kim", "operator", ""], purpose: "new key")
                try await NodeHostingTests.waitUntil("the new key admitted", within: .seconds(10)) { await answers(next) }
                #expect(await answers(keys.operatorKey), "both keys valid during the rotation")
                _ = try await c.execute(PrincipalDirectory.revokeOthers, ["operator:kim", next.publicKey], purpose: "rotation done")
                try await NodeHostingTests.waitUntil("the old key refused", within: .seconds(10)) { await !answers(keys.operatorKey) }
                #expect(await answers(next))
            }
        }
    }
}
