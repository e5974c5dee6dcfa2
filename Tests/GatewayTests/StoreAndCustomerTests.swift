import Base
import DispatchPlanning
import Edge
import Fleet
import Foundation
import Gateway
import Geo
import Messaging
import Synchronization
import Testing

/// A store clerk, a customer and a courier's handheld through the gateway: the pick queue, picking
/// and packing, the BOPIS code pushed to the customer's connection, wrong codes, the lock and the
/// staff unlock, stock changes; a changed manifest pushed to the courier's handheld.
@Suite(.serialized) struct StoreAndCustomerTests {
    typealias D = EdgeDeployment

    /// Pushes a client received, kept for the test to look at.
    final class Inbox: Sendable {
        let items = Mutex<[EdgeReply]>([])
        func all() -> [EdgeReply] { items.withLock { $0 } }
    }

    static func listen(_ client: EdgeClient, into inbox: Inbox) async {
        for await batch in client.pushes {
            for m in batch { if let r = try? EdgeReply(bytes: m.first) { inbox.items.withLock { $0.append(r) } } }
        }
    }

    @Test func bopisFromPickQueueToHandoverWithTheCodePushedToTheCustomer() async throws {
        try await D.with { d in
            let shop = try await d.client(try await d.principal(.storefront, user: "storefront:s"))
            let customer = try await d.client(try await d.principal(.customer, user: "customer:app"))
            let store = try await d.client(try await d.principal(.store, "mfc-gangnam-1"))
            let otherStore = try await d.client(try await d.principal(.store, "mfc-gangnam-2"))
            let inbox = Inbox()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await Self.listen(customer, into: inbox) }
                defer { group.cancelAll() }
                let order = WireOrder(id: "bp-1", product: "bopis", destination: WirePosition(lat: 37.5010, lon: 127.0368),
                                      lines: [WireLine(sku: "grocery-chilled", quantity: 2)])
                let placed = try await shop.expect("order.place", PlaceOrderBody(order: order, at: WireTime(D.at(0, 10))), "order.placed", OrderPlacedBody.self)
                #expect(placed.outcome == "awaiting_collection" && placed.site == "mfc-gangnam-1")
                let sub = try await customer.expect("order.subscribe", TokenBody(token: placed.token), "subscribed", SubscribedBody.self)
                #expect(sub.tokenRef == TrackingToken.reference(placed.token))

                // The clerk's queue has it, with its lines; another store's has not.
                let queue = try await store.expect("store.queue", EmptyBody(), "store.queue", PickQueueReplyBody.self)
                #expect(queue.site == "mfc-gangnam-1" && queue.orders.contains { $0.order == "bp-1" && $0.lines == [WireLine(sku: "grocery-chilled", quantity: 2)] })
                let other = try await otherStore.expect("store.queue", EmptyBody(), "store.queue", PickQueueReplyBody.self)
                #expect(!other.orders.contains { $0.order == "bp-1" })
                #expect(try await store.call("store.picking_started", StoreOrderBody(order: "bp-1", at: WireTime(D.at(0, 10, 5)))).type == "ok")
                let ready = try await store.expect("store.packed", StoreOrderBody(order: "bp-1", at: WireTime(D.at(0, 10, 15))), "store.ready", StoreReadyBody.self)
                #expect(ready.code.count >= 6)

                // The code reaches the customer's connection, and only as the token holder's push.
                try await waitUntil("the pickup code is pushed", within: .seconds(15)) {
                    inbox.all().contains { $0.type == "push.notification" }
                }
                let push = try #require(inbox.all().first { $0.type == "push.notification" }).decode(NotificationPushBody.self)
                #expect(push.kind == "ready_for_pickup" && push.code == ready.code && push.tokenRef == sub.tokenRef)

                // Another store cannot hand it over; wrong codes lock it; staff unlock it after checking ID; the right code hands it over.
                #expect(try await otherStore.expectError("store.handover", StoreHandoverBody(order: "bp-1", code: ready.code, at: WireTime(D.at(0, 11)))).code == .forbidden)
                var outcome = ""
                for attempt in 0 ..< 10 where outcome != "locked" {
                    let wrong = String(ready.code.reversed()) == ready.code ? "000000" : String(ready.code.reversed())
                    let r = try await store.expect("store.handover", StoreHandoverBody(order: "bp-1", code: wrong + "\(attempt)", at: WireTime(D.at(0, 11, Int64(attempt + 1)))),
                                                   "store.handover", StoreHandoverReplyBody.self)
                    outcome = r.outcome
                    #expect(["wrong_code", "locked"].contains(r.outcome))
                }
                #expect(outcome == "locked")
                let blocked = try await store.expect("store.handover", StoreHandoverBody(order: "bp-1", code: ready.code, at: WireTime(D.at(0, 11, 20))),
                                                     "store.handover", StoreHandoverReplyBody.self)
                #expect(blocked.outcome == "locked")
                #expect(try await store.expectError("store.unlock", StoreUnlockBody(order: "bp-1", reason: "  ", at: WireTime(D.at(0, 11, 21)))).field == "reason")
                #expect(try await store.call("store.unlock", StoreUnlockBody(order: "bp-1", reason: "ID checked: driving licence", at: WireTime(D.at(0, 11, 22)))).type == "ok")
                let handed = try await store.expect("store.handover", StoreHandoverBody(order: "bp-1", code: ready.code, at: WireTime(D.at(0, 11, 23))),
                                                    "store.handover", StoreHandoverReplyBody.self)
                #expect(handed.outcome == "handed_over")
                let tracking = try await customer.expect("order.track", TokenBody(token: placed.token), "tracking", TrackingBody.self)
                #expect(tracking.state == "picked_up" && tracking.site == "mfc-gangnam-1")

                // Stock: a replenishment and a correction move on-hand; nonsense is refused, named.
                let up = try await store.expect("store.stock", StoreStockBody(sku: "grocery-frozen", quantity: 5, reason: "replenishment", note: "van 2",
                                                                               at: WireTime(D.at(0, 12))), "store.stock", StockReplyBody.self)
                let down = try await store.expect("store.stock", StoreStockBody(sku: "grocery-frozen", quantity: -3, reason: "correction", note: "count",
                                                                                 at: WireTime(D.at(0, 12, 1))), "store.stock", StockReplyBody.self)
                #expect(down.onHand == up.onHand - 3 && down.sku == "grocery-frozen")
                #expect(try await store.expectError("store.stock", StoreStockBody(sku: "grocery-frozen", quantity: 0, reason: "correction", at: WireTime(D.at(0, 12)))).field == "quantity")
                #expect(try await store.expectError("store.stock", StoreStockBody(sku: "grocery-frozen", quantity: 1, reason: "theft", at: WireTime(D.at(0, 12)))).field == "reason")
                #expect(try await store.expectError("store.stock", StoreStockBody(sku: "durian", quantity: 1, reason: "replenishment", at: WireTime(D.at(0, 12)))).code == .notFound)
                let audit = try await d.admin.query("SELECT kind, principal, outcome, detail FROM edge_audit WHERE order_id = 'bp-1' ORDER BY id", purpose: "audit")
                let kinds = try audit.map { try $0.decode(0, as: String.self) }
                #expect(kinds.contains("store.packed") && kinds.contains("store.unlock") && kinds.filter { $0 == "store.handover" }.count >= 3, "\(kinds)")
                #expect(try await d.count("SELECT count(*) FROM edge_audit WHERE strpos(detail, $1) > 0 OR strpos(detail, '37.50') > 0", [placed.token]) == 0)
            }
        }
    }

    @Test func aChangedManifestIsPushedToTheCouriersHandheld() async throws {
        try await D.with { d in
            let shop = try await d.client(try await d.principal(.storefront, user: "storefront:s"))
            let dispatcher = try await d.client(try await d.principal(.dispatcher, "*", user: "dispatcher:all"))
            let placed = try await shop.expect("order.place", PlaceOrderBody(order: WireOrder(id: "mp-1", product: "same_day",
                destination: WirePosition(lat: 37.4979, lon: 127.0276), lines: [WireLine(sku: "grocery-ambient", quantity: 1)]), at: WireTime(D.at(0, 10))),
                "order.placed", OrderPlacedBody.self)
            #expect(placed.outcome == "assigned")
            let orders = try await dispatcher.expect("dispatch.orders", DispatchOrdersBody(region: "gangnam"), "dispatch.orders", DispatchOrdersReplyBody.self)
            let current = try #require(orders.orders.first { $0.order == "mp-1" }?.courier)
            // Another courier of the same fleet kind takes it: its handheld is connected and gets the new manifest pushed.
            let target = current.hasPrefix("vehicle:gangnam-day-van") ? (current == "vehicle:gangnam-day-van-001" ? "vehicle:gangnam-day-van-002" : "vehicle:gangnam-day-van-001")
                                                                      : (current == "vehicle:gangnam-am-ev-001" ? "vehicle:gangnam-am-ev-002" : "vehicle:gangnam-am-ev-001")
            let handheld = try await d.client(try await d.principal(.courier, target))
            let inbox = Inbox()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await Self.listen(handheld, into: inbox) }
                defer { group.cancelAll() }
                #expect(try await handheld.call("hello", HelloBody()).type == "welcome")
                let before = try await handheld.expect("manifest.get", ManifestGetBody(), "manifest", ManifestBody.self).manifest
                #expect(!before.stops.contains { $0.orders.contains("mp-1") })
                #expect(try await dispatcher.call("dispatch.command", DispatchCommandBody(region: "gangnam", command: "reassign", order: "mp-1", courier: target,
                                                                                       key: "move-mp-1", at: WireTime(D.at(0, 10, 5)))).type == "ok")
                try await waitUntil("the new manifest is pushed", within: .seconds(15)) {
                    inbox.all().contains { r in r.type == "push.manifest" && ((try? r.decode(ManifestBody.self).manifest.stops.contains { $0.orders.contains("mp-1") }) ?? false) }
                }
                // Repeating the command with its key changes nothing more.
                #expect(try await dispatcher.call("dispatch.command", DispatchCommandBody(region: "gangnam", command: "reassign", order: "mp-1", courier: target,
                                                                                       key: "move-mp-1", at: WireTime(D.at(0, 10, 5)))).type == "ok")
                #expect(try await d.count("SELECT count(*) FROM actor_events WHERE type = 'dispatcher.command'") == 1)
            }
        }
    }
}
