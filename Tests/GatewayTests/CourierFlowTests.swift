import Base
import DispatchPlanning
import Edge
import Fleet
import Foundation
import Gateway
import Geo
import Messaging
import Testing

/// A storefront, a dispatcher, a courier's handheld and a customer do their work through the edge
/// gateway over CURVE, on a real node and PostgreSQL: placement with a token, the courier's
/// manifest, scans, reports with proof, offline replay through another gateway, the audit.
@Suite(.serialized) struct CourierFlowTests {
    typealias D = EdgeDeployment

    static func sameDay(_ id: String) -> WireOrder {
        WireOrder(id: id, product: "same_day", destination: WirePosition(lat: 37.4979, lon: 127.0276), lines: [WireLine(sku: "grocery-ambient", quantity: 1)])
    }

    @Test func aCourierDeliversWithProofAndReplaysThroughAnotherGatewayExactlyOnce() async throws {
        try await D.with(gateways: 2) { d in
            let shop = try await d.client(try await d.principal(.storefront, user: "storefront:shop-1"))
            let dispatcher = try await d.client(try await d.principal(.dispatcher, "gangnam", user: "dispatcher:kim"))
            let placed = try await shop.expect("order.place", PlaceOrderBody(order: Self.sameDay("sd-1"), at: WireTime(D.at(0, 10))),
                                               "order.placed", OrderPlacedBody.self)
            #expect(placed.outcome == "assigned" && placed.token.count == TrackingToken.length && !placed.token.contains("sd-1"))
            let orders = try await dispatcher.expect("dispatch.orders", DispatchOrdersBody(region: "gangnam"), "dispatch.orders", DispatchOrdersReplyBody.self)
            let courierText = try #require(orders.orders.first { $0.order == "sd-1" }?.courier)
            let courier = try #require(EdgeNames.courier(courierText))

            // The courier's handheld: its key names exactly this courier.
            let handheld = try await d.client(try await d.principal(.courier, courierText))
            let welcome = try await handheld.expect("hello", HelloBody(client: "test"), "welcome", WelcomeBody.self)
            #expect(welcome.role == "courier" && welcome.scope == courierText && welcome.version == 1 && welcome.gateway == "gw1")
            let start = D.at(0, 10, 5)
            let here = WirePosition(lat: 37.50, lon: 127.03)
            let ack1 = try await handheld.expect("reports", ReportsBody(device: "hh-1", reports: [
                WireReport(seq: 1, at: WireTime(start), kind: "shift_started", position: here),
            ]), "reports.ack", ReportsAckBody.self)
            #expect(ack1.lastSeq == 1 && ack1.results.map(\.status) == ["applied"])
            let m = try await handheld.expect("manifest.get", ManifestGetBody(), "manifest", ManifestBody.self).manifest
            #expect(m.courier == courierText && m.stops.contains { $0.kind == "pickup" && $0.orders.contains("sd-1") })
            let pickup = try #require(m.stops.first { $0.kind == "pickup" && $0.orders.contains("sd-1") })
            #expect(pickup.labels.contains("DBK:sd-1"))
            // Asking only for something newer: unchanged.
            let same = try await handheld.call("manifest.get", ManifestGetBody(ifNoneMatch: m.etag))
            #expect(same.type == "manifest.unchanged")
            #expect(try await handheld.call("manifest.get", ManifestGetBody(ifNewerThan: m.version)).type == "manifest.unchanged")

            // Scans: this courier's parcel loads; a parcel of no manifest is refused, named.
            let scan = try await handheld.expect("scan", ScanBody(label: "DBK:sd-1"), "scan.ok", ScanOKBody.self)
            #expect(scan.order == "sd-1" && scan.action == "load")
            let foreign = try await handheld.expectError("scan", ScanBody(label: "DBK:sd-other/2"))
            #expect(foreign.code == .notOnManifest && foreign.message.contains("sd-other"))

            // Picked up, arrived, delivered with a photo: one batch.
            let photo = SHA256.hex("photo bytes")
            let batch = ReportsBody(device: "hh-1", reports: [
                WireReport(seq: 2, at: WireTime(D.at(0, 13, 10)), kind: "picked_up", orders: ["sd-1"]),
                WireReport(seq: 3, at: WireTime(D.at(0, 13, 40)), kind: "arrived", stop: "delivery", orders: ["sd-1"]),
                WireReport(seq: 4, at: WireTime(D.at(0, 13, 42)), kind: "delivered", order: "sd-1",
                           proof: WireProof(kind: "photo", reference: "photos/sd-1.jpg", sha256: photo)),
            ])
            let ack = try await handheld.expect("reports", batch, "reports.ack", ReportsAckBody.self)
            #expect(ack.lastSeq == 4 && ack.results.map(\.status) == ["applied", "applied", "applied"], "\(ack.results)")
            #expect(ack.manifest.map { !$0.onBoard.contains("sd-1") } == true)

            // The handheld was offline and replays its whole queue through the other gateway: nothing twice.
            let other = try await d.client(try await d.principal(.courier, courierText, user: "courier:\(courierText):2"), gateway: 1)
            let replay = try await other.expect("reports", ReportsBody(device: "hh-1", reports: Array(batch.reports)), "reports.ack", ReportsAckBody.self)
            #expect(replay.lastSeq == 4 && replay.results.map(\.status) == ["duplicate", "duplicate", "duplicate"], "\(replay.results)")
            // A gap: nothing applied, the last applied number named.
            let gap = try await other.expectError("reports", ReportsBody(device: "hh-1", reports: [
                WireReport(seq: 6, at: WireTime(D.at(0, 14)), kind: "position", position: here)]))
            #expect(gap.code == .sequenceGap && gap.lastSeq == 4)
            // A position with the etag of the manifest it holds: the ack leaves the manifest out
            // while it is unchanged, and says which one is current.
            let first = try await other.expect("reports", ReportsBody(device: "hh-1", reports: [
                WireReport(seq: 5, at: WireTime(D.at(0, 13, 43)), kind: "position", position: here)]), "reports.ack", ReportsAckBody.self)
            let held = try #require(first.manifest?.etag)
            #expect(first.manifestEtag == held)
            let moved = try await other.expect("reports", ReportsBody(device: "hh-1", reports: [
                WireReport(seq: 6, at: WireTime(D.at(0, 13, 43)), kind: "position", position: here)], ifNoneMatch: held), "reports.ack", ReportsAckBody.self)
            #expect(moved.results.map(\.status) == ["applied"] && moved.manifest == nil && moved.manifestEtag == held)
            let stale = try await other.expect("reports", ReportsBody(device: "hh-1", reports: [
                WireReport(seq: 7, at: WireTime(D.at(0, 13, 43)), kind: "position", position: here)], ifNoneMatch: "0000000000000000"),
                "reports.ack", ReportsAckBody.self)
            #expect(stale.manifest?.etag == held && stale.manifestEtag == held)

            // The customer sees the delivery by token, and nothing by a guessed one.
            let customer = try await d.client(try await d.principal(.customer, user: "customer:app"))
            let tracking = try await customer.expect("order.track", TokenBody(token: placed.token), "tracking", TrackingBody.self)
            #expect(tracking.state == "delivered" && tracking.product == "same_day")
            let guessed = try await customer.expectError("order.track", TokenBody(token: TrackingToken.make()))
            #expect(guessed.code == .notFound)

            // Exactly one delivery in the dispatcher's records and in the courier's journal.
            let after = try await dispatcher.expect("dispatch.orders", DispatchOrdersBody(region: "gangnam", states: ["delivered"]),
                                                    "dispatch.orders", DispatchOrdersReplyBody.self)
            #expect(after.orders.map(\.order) == ["sd-1"])
            #expect(try await d.count("SELECT count(*) FROM actor_events WHERE actor_kind = $1 AND actor_key = $2 AND type = 'courier.delivered'",
                                      [courier.kind.rawValue, courier.id]) == 1)

            // The audit: who, what, from where; never the full token.
            let rows = try await d.admin.query("SELECT principal, role, device, gateway, kind, outcome, detail FROM edge_audit WHERE order_id = 'sd-1' ORDER BY id",
                                               purpose: "audit")
            let kinds = try rows.map { try $0.decode(4, as: String.self) }
            #expect(kinds.contains("order.place") && kinds.contains("report.delivered") && kinds.contains("scan"), "\(kinds)")
            let delivered = try #require(rows.first { try $0.decode(4, as: String.self) == "report.delivered" })
            #expect(try delivered.decode(0, as: String.self) == "courier:\(courierText)" && delivered.decode(2, as: String?.self) == "hh-1"
                    && delivered.decode(3, as: String.self) == "gw1")
            #expect(try await d.count("SELECT count(*) FROM edge_audit WHERE kind = 'report.delivered'") == 1, "a replay was audited as applied")
            #expect(try await d.count("SELECT count(*) FROM edge_audit WHERE strpos(detail, $1) > 0", [placed.token]) == 0)
        }
    }
}
