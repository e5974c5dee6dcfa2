import Base
import Cluster
import DaybreakNode
import Fleet
import Foundation
import Geo
import Storage
import Testing

/// `NodeService` (what `daybreak node` runs) with `DomainNode.extensions()`, in process, against a
/// real PostgreSQL: it migrates the outbox, hosts `order/…` in its region, and its outbox publisher
/// drains the notification (delivery on the event stream is `DomainActivationTests`').
@Suite struct NodeHostingTests {
    /// Polls `condition` until it holds or `timeout` passes (a deadline, not a guessed sleep).
    static func waitUntil(_ what: String, within timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
        let until = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < until else { throw DomainTestError("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test func aNodeHostsOrdersAndPublishesTheirNotifications() async throws {
        let schema = "t_domnode_\(UInt32.random(in: 0 ... .max))_\(ProcessInfo.processInfo.processIdentifier)"
        let c: PostgresConnection
        do { c = try await PostgresConnection.connect(PostgresConfiguration(""), logger: DomainTestDatabase.logger) } catch {
            if DomainTestDatabase.required { Issue.record("PostgreSQL required but unreachable: \(error)") }
            return
        }
        var cfg = NodeConfiguration(id: "solo", listen: "tcp://127.0.0.1:*", regions: ["gangnam"], schema: schema,
                                    heartbeatInterval: .milliseconds(100), ttl: .seconds(1))
        cfg.events = "tcp://127.0.0.1:*"
        cfg.statementTimeout = .seconds(5)
        let service = NodeService(cfg, logger: DomainTestDatabase.logger, extensions: DomainNode.extensions(drainEvery: .milliseconds(50)))
        var failure: (any Error)?
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                defer { group.cancelAll() }
                try await Self.waitUntil("the node to serve gangnam") { service.servingRegions().count == 1 }

                let client = try await ClusterClient(database: PostgresConfiguration("").withSearchPath(schema), logger: DomainTestDatabase.logger)
                try await OrderActor.registerTargets(on: client.system)

                do {
                    let order = try OrderActor.resolve(id: OrderActor.identity("o-60", region: "gangnam"), using: client.system)
                    let t = Fixtures.seoul(21)
                    let path: [OrderActorCommand] = [.create(try Fixtures.order("o-60")), .accept, .allocate("hub-1"), .startPicking, .pack,
                                                     .assign(.vehicle("V-9"))]
                    for (i, cmd) in path.enumerated() {
                        let key = "o-60-\(i)"
                        _ = try await client.call(key: .text(key), retriable: true, timeout: .seconds(10)) {
                            try await order.send(cmd, at: t + Int64(i), idempotencyKey: key)
                        }
                    }
                    let state = try await client.call(key: nil, retriable: true, timeout: .seconds(10)) { try await order.state() }.0
                    #expect(state.state.order?.state == .assigned && state.seq == 6)

                    // The node's outbox publisher drains the row.
                    try await c.executeScript("SET search_path TO \(schema)", purpose: "use schema")
                    try await Self.waitUntil("the outbox row to be sent") {
                        try await DomainTestDatabase.count(c, "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL AND order_id = 'o-60'") == 1
                    }
                    #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM outbox") == 1)
                    #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE actor_kind = 'order'") == 6)
                } catch {
                    await client.close()
                    throw error
                }
                await client.close()
            }
        } catch { failure = error }
        _ = try? await c.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE", purpose: "drop")
        await c.close()
        if let failure { throw failure }
    }
}

struct DomainTestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
