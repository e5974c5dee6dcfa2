import Edge
import Foundation
import Gateway
import Geo
import Testing

/// Checkout through the front door: a storefront asks which scheduled slots a destination can
/// have (`slots.offer`), books one, and the room left in that slot goes down by one.
@Suite(.serialized) struct SlotOfferTests {
    typealias D = EdgeDeployment

    @Test func aStorefrontSeesTheFreeSlotsAndABookingTakesOneOfTheirPlaces() async throws {
        try await D.with { d in
            let shop = try await d.client(try await d.principal(.storefront, user: "storefront:s"))
            let courier = try await d.client(try await d.principal(.courier, "vehicle:gangnam-day-van-001"))
            let home = WirePosition(lat: 37.4979, lon: 127.0276)
            let first = try await shop.expect("slots.offer", SlotsOfferBody(destination: home, at: WireTime(D.at(0, 10))), "slots.offered", SlotsOfferedBody.self)
            #expect(first.region == "gangnam")
            let slots = first.slots
            #expect(!slots.isEmpty)
            // Earliest first, each at least the lead (2 h) ahead, two hours long, with room.
            #expect(zip(slots, slots.dropFirst()).allSatisfy { $0.start.instant < $1.start.instant })
            #expect(slots.allSatisfy { $0.start.instant >= D.at(0, 12) && $0.end.instant - $0.start.instant == 7_200 && ($0.remaining ?? 1) > 0 })
            let chosen = try #require(slots.first)

            let placed = try await shop.expect("order.place", PlaceOrderBody(order: WireOrder(id: "slot-1", product: "scheduled", destination: home,
                                                                                              lines: [WireLine(sku: "grocery-ambient", quantity: 1)]),
                                                                            slot: chosen.start, at: WireTime(D.at(0, 10))),
                                               "order.placed", OrderPlacedBody.self)
            #expect(placed.window.from.instant == chosen.start.instant)
            let after = try await shop.expect("slots.offer", SlotsOfferBody(destination: home, at: WireTime(D.at(0, 10))), "slots.offered", SlotsOfferedBody.self)
            let again = try #require(after.slots.first { $0.start.instant == chosen.start.instant })
            if let before = chosen.remaining { #expect(again.remaining == before - 1) } else { #expect(again.remaining == nil) }

            // Fill tomorrow's last slot (the room its offer shows), then one more: refused with the
            // next free slots offered, and the same order placed again for the first of them is
            // booked (a new request, not a replay of the refusal).
            let last = WireTime(D.at(1, 20))
            let room = try #require(slots.first { $0.start.instant == last.instant }?.remaining, "the region sets a slot capacity")
            #expect(room > 0 && room <= 200)
            for i in 0..<room {
                let o = WireOrder(id: "fill-\(i)", product: "scheduled", destination: home, lines: [WireLine(sku: "grocery-ambient", quantity: 1)])
                _ = try await shop.expect("order.place", PlaceOrderBody(order: o, slot: last, at: WireTime(D.at(0, 10))), "order.placed", OrderPlacedBody.self)
            }
            let extra = WireOrder(id: "late-1", product: "scheduled", destination: home, lines: [WireLine(sku: "grocery-ambient", quantity: 1)])
            let full = try await shop.expectError("order.place", PlaceOrderBody(order: extra, slot: last, at: WireTime(D.at(0, 10))))
            #expect(full.code == .refused && full.problem == "slot_full", "\(full)")
            let offered = try #require(full.offeredSlots?.first, "no slot offered")
            #expect(offered.instant == D.at(2, 8))
            let rebooked = try await shop.expect("order.place", PlaceOrderBody(order: extra, slot: offered, at: WireTime(D.at(0, 10))), "order.placed", OrderPlacedBody.self)
            #expect(rebooked.window.from.instant == offered.instant)

            // Who may ask, and bad input.
            #expect(try await courier.expectError("slots.offer", SlotsOfferBody(destination: home, at: WireTime(D.at(0, 10)))).code == .forbidden)
            let outside = try await shop.expectError("slots.offer", SlotsOfferBody(destination: WirePosition(lat: 35.1, lon: 129.0), at: WireTime(D.at(0, 10))))
            #expect(outside.code == .refused && outside.problem == "outside_every_region")
            let bad = try await shop.expectError("slots.offer", SlotsOfferBody(destination: WirePosition(lat: 137, lon: 127), at: WireTime(D.at(0, 10))))
            #expect(bad.code == .invalid && bad.field == "destination")
        }
    }
}
