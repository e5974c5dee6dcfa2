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
        try await DomainTestDatabase.withSoloNode(region: "gangnam", prefix: "domnode") { client, c, schema in
            try await OrderActor.registerTargets(on: client.system)
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
        }
    }
}

struct DomainTestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
