import Base
import Cluster
import DispatchPlanning
import Edge
import Fleet
import Foundation
import Gateway
import Geo
import Messaging
import Storage
import Testing

/// The simulated day's adapter (`EdgeSimulationGateway`) against a real gateway and node: every
/// actor with its own key; a courier's handheld goes offline, keeps working from its manifest,
/// queues its reports, comes back and replays them (once each), re-sending a tail of acknowledged
/// reports that the gateway answers `duplicate`.
@Suite(.serialized) struct EdgeSimulationGatewayTests {
    typealias D = EdgeDeployment

    @Test func anOfflineHandheldReplaysItsQueueOnceAndTheResentTailIsSuppressed() async throws {
        try await D.with { d in
            let configs = d.gateway.cluster.configs
            let keys = try EdgeSimulationGateway.Keys.generate(configs: configs)
            for p in keys.principals {
                _ = try await d.admin.execute(PrincipalDirectory.upsert, [p.publicKey, p.user, p.role.rawValue, p.scope], purpose: "principal")
            }
            try await waitUntil("the gateway knows every key", within: .seconds(10)) {
                keys.principals.allSatisfy { d.gateway.server.knows(publicKey: $0.publicKey) }
            }
            // Every courier of gangnam offline 10:20–10:50 (only the one with the order matters).
            let offline = OfflineSchedule(windows: Dictionary(uniqueKeysWithValues: configs.flatMap(\.couriers).map { ($0.ref, D.at(0, 10, 20) ..< D.at(0, 10, 50)) }))
            let edge = try await EdgeSimulationGateway.connect(endpoint: d.gateway.server.endpoint, serverKey: d.gateway.server.publicKey,
                                                               context: d.context, keys: keys, configs: configs,
                                                               options: .init(offset: D.offset, offline: offline))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await edge.run() }
                defer { group.cancelAll() }
                var inner: (any Error)?
                do {
                    try await edge.greet()
                    let draft = OrderDraft(id: OrderID("sd-sim-1"), lines: [OrderLine(sku: SKU("grocery-ambient"), quantity: 1)],
                                           destination: Coordinate(lat: 37.4979, lon: 127.0276), product: .sameDay)
                    guard case .assigned(let courier, _, _, _) = try await edge.placeOrder(draft, slot: nil, at: D.at(0, 10)) else {
                        Issue.record("the same-day order was not assigned")
                        throw CancellationError()
                    }
                    let here = Coordinate(lat: 37.50, lon: 127.03)
                    // Online: shift started (seq 1), a position (seq 2).
                    let m0 = try await edge.report(.shiftStarted(courier, at: D.at(0, 10, 5), position: here)).get()
                    #expect(m0.stops.contains { $0.orders.contains(draft.id) })
                    _ = try await edge.report(.position(courier, here, at: D.at(0, 10, 10))).get()
                    // Offline: answers from the handheld's own manifest; nothing reaches the gateway.
                    let before = d.gateway.server.counters.reportsApplied.load(ordering: .relaxed)
                    for minute in [25, 30, 35] as [Int64] {
                        let m = try await edge.report(.position(courier, Coordinate(lat: 37.50, lon: 127.03 + Double(minute) * 1e-4), at: D.at(0, 10, minute))).get()
                        #expect(m == m0 || m.version == m0.version)
                    }
                    _ = try await edge.manifest(of: courier, at: D.at(0, 10, 40)).get()
                    #expect(d.gateway.server.counters.reportsApplied.load(ordering: .relaxed) == before)
                    #expect(edge.counts.replayed == 0)
                    // Back online: the tail (seq 1–2) again, then the queue (3–5), then this report (6).
                    _ = try await edge.report(.position(courier, here, at: D.at(0, 10, 55))).get()
                    let c = edge.counts
                    #expect(c.replayed == 3, "\(c)")
                    #expect(c.duplicates == 2, "\(c)")
                    #expect(d.gateway.server.counters.reportsApplied.load(ordering: .relaxed) == before + 4)
                    #expect(d.gateway.server.counters.reportsDuplicate.load(ordering: .relaxed) == 2)
                    // Applied once each: the courier's journal holds six reports of this device, no more.
                    let sql = "SELECT count(*) FROM edge_audit WHERE device = $1 AND kind LIKE 'report.%'"
                    try await waitUntil("six reports audited", within: .seconds(10)) { try await d.count(sql, ["hh-\(courier.id)"]) >= 6 }
                    #expect(try await d.count(sql, ["hh-\(courier.id)"]) == 6)
                    // The dispatcher's records, the clock.
                    try await edge.advance(region: RegionID("gangnam"), to: D.at(0, 11))
                    try await edge.advance(region: RegionID("gangnam"), to: D.at(0, 11))
                    let records = try await edge.records(region: RegionID("gangnam"))
                    // (Re-optimised at the advance: it may have moved to another van.)
                    #expect(records.first { $0.order == draft.id }?.courier != nil)
                } catch { inner = error }
                await edge.close()
                if let inner { throw inner }
            }
        }
    }
}
