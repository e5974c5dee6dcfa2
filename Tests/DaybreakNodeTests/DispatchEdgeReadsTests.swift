import Cluster
import DaybreakNode
import DispatchPlanning
import Fleet
import Foundation
import Geo
import Synchronization
import Testing

/// The edge gateway's node-side calls through the actor system on a real node and PostgreSQL:
/// tracking, pick queue, no-shows, a stock change and an unlock through `handle`, and manifest
/// changes on `manifest.<region>`.
@Suite(.serialized) struct DispatchEdgeReadsTests {
    @Test func trackingPickQueueStockAndManifestFeedThroughTheActorSystem() async throws {
        typealias F = DispatchFixtures
        try await DomainTestDatabase.withSoloNode(region: F.region.rawValue, prefix: "edge") { client, c, schema in
            try await client.connectToNodes()
            let gateway = try await ClusterGateway(client: client, configs: [try F.config()])
            try await gateway.openRegions()
            let stream = try await client.system.subscribe(topic: ManifestChange.topic(region: F.region.rawValue), as: ManifestChange.self)
            let got = ManifestChanges()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }   // the client's event pump
                group.addTask { for await m in stream { got.m.withLock { $0.append(m) } } }
                defer { group.cancelAll() }
                do { try await Self.run(client: client, got: got) } catch {
                    await client.close()
                    throw error
                }
                await client.close()
            }
        }
    }

    static func run(client: ClusterClient, got: ManifestChanges) async throws {
        typealias F = DispatchFixtures
        let d = try RegionDispatcher.resolve(id: RegionDispatcher.identity(region: F.region.rawValue), using: client.system)
        // Same-day orders until a manifest change arrives (the first may beat the subscription to the node).
        var n = 0
        try await NodeHostingTests.waitUntil("a manifest change", within: .seconds(30)) {
            n += 1
            let r = try await d.handle(.placeOrder(F.draft("sd-\(n)", .sameDay), slot: nil, at: F.at(10, Int64(n))), idempotencyKey: "edge/sd-\(n)")
            guard case .placed(.assigned) = r else { Issue.record("sd-\(n): \(r)"); return true }
            try await Task.sleep(for: .milliseconds(200))
            return got.m.withLock { $0.contains { $0.courier.kind == .vehicle && $0.day == F.day } }
        }
        let change = got.m.withLock { $0.first { $0.courier.kind == .vehicle } }!
        let manifest = try await d.manifest(of: change.courier, at: F.at(10, 30))
        #expect(manifest.map { $0.version >= change.version && !$0.stops.isEmpty } == true)

        // Tracking of the first order: its own, with stops away and an ETA; unknown → nil.
        let t = try await d.tracking(order: "sd-1", at: F.at(10, 30))
        #expect(t?.order == "sd-1" && t?.stopsAway != nil && t?.eta != nil && t?.courierPosition == nil)
        #expect(try await d.tracking(order: "nope", at: F.at(10, 30)) == nil)

        // The hub's pick queue has them, by due; the store's has none of them.
        let hub = try await d.pickQueue(site: F.hub, at: F.at(10, 30))
        #expect(Set(hub.map(\.order)).isSuperset(of: (1...n).map { OrderID("sd-\($0)") }))
        #expect(zip(hub, hub.dropFirst()).allSatisfy { $0.due <= $1.due })
        #expect(try await d.pickQueue(site: F.store, at: F.at(10, 30)).isEmpty)
        #expect(try await d.noShows(site: F.store).isEmpty)

        // A stock change through handle: journaled once per key, refused for an unknown SKU.
        let change1 = StockChange(site: F.store, sku: F.sku, quantity: .delta(7), reason: .replenishment, note: "van 3", at: F.at(10, 31))
        let r1 = try await d.handle(.stock(change1), idempotencyKey: "edge/stock-1")
        let r2 = try await d.handle(.stock(change1), idempotencyKey: "edge/stock-1")
        #expect(r1 == .stock(StockLevel(site: F.store, sku: F.sku, onHand: 107, available: 107)) && r2 == r1)
        guard case .refused(let e) = try await d.handle(.stock(StockChange(site: F.store, sku: "durian", quantity: .delta(1), reason: .replenishment,
                                                                            at: F.at(10, 32))), idempotencyKey: "edge/stock-2") else {
            Issue.record("unknown SKU accepted"); return
        }
        #expect(e.problem == .unknownSKU)
        // Unlock of an order that is not locked: refused, typed.
        guard case .refused(let u) = try await d.handle(.unlockCollection("sd-1", staffReason: "ID", at: F.at(10, 33)), idempotencyKey: "edge/unlock") else {
            Issue.record("unlock of a delivery order accepted"); return
        }
        #expect(u.problem == .invalidState)
    }
}

/// Manifest changes seen by the test's subscription.
final class ManifestChanges: Sendable { let m = Mutex<[ManifestChange]>([]) }
