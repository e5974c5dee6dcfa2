import Testing
import Foundation
import Geo
@testable import Fleet

@Suite struct SlotBookTests {
    @Test func offerSkipsPastTooSoonAndFullSlots() throws {
        var book = SlotBook(region: gangnam, defaultCapacity: 1)
        let t = seoul(monday, 9, 30)
        let offered = book.offer(orderedAt: t, config: config)
        // Today: 12:00 is the first slot at least 2 h ahead; 7 slots a day for days 0…7 minus 08:00 and 10:00 today.
        #expect(offered.first == seoul(monday, 12))
        #expect(offered.count == 8 * 7 - 2)
        try book.book("o1", seoul(monday, 12))
        #expect(book.offer(orderedAt: t, config: config).first == seoul(monday, 14))
        #expect(throws: SlotError(region: gangnam, order: "o2", slot: seoul(monday, 12), problem: .full)) { try book.book("o2", seoul(monday, 12)) }
        #expect(throws: SlotError(region: gangnam, order: "o1", slot: seoul(monday, 14), problem: .alreadyBooked)) { try book.book("o1", seoul(monday, 14)) }
        try book.release("o1")
        #expect(book.remaining(seoul(monday, 12)) == 1)
        #expect(throws: SlotError(region: gangnam, order: "o1", slot: nil, problem: .notBooked)) { try book.release("o1") }
    }

    @Test func capacityCannotDropBelowBookings() throws {
        var book = SlotBook(region: gangnam, defaultCapacity: 5)
        try book.book("a", seoul(monday, 18)); try book.book("b", seoul(monday, 18))
        #expect(throws: SlotError.self) { try book.setCapacity(seoul(monday, 18), 1) }
        try book.setCapacity(seoul(monday, 18), 2)
        #expect(book.remaining(seoul(monday, 18)) == 0)
        let back = try JSONDecoder().decode(SlotBook.self, from: try JSONEncoder().encode(book))
        #expect(back == book)
    }

    @Test func noScheduledProductNoSlots() {
        var c = config; c.scheduled = nil
        #expect(SlotBook(region: gangnam, defaultCapacity: 9).offer(orderedAt: seoul(monday, 9), config: c).isEmpty)
    }
}

@Suite struct DawnWaveTests {
    @Test func wavesAreOnTheDeliveryMorning() throws {
        let d = DawnConfig(waves: [TimeOfDay(2), TimeOfDay(1, 30)])
        #expect(d.waveDepartures(for: monday + 1, .seoul) == [seoul(monday + 1, 1, 30), seoul(monday + 1, 2)])
    }
    @Test func aWaveAfterTheWindowIsRejected() {
        let bad = minimal.replacingOccurrences(of: "\"windowEnd\": \"07:00\"", with: "\"windowEnd\": \"07:00\", \"waves\": [\"07:30\"]")
        #expect(loadError(bad)?.item == "products.dawn.waves")
    }
}

@Suite struct OrderReplayTests {
    let catalogue = Catalogue([CatalogueItem(sku: "tofu", name: "Tofu", unitWeightGrams: 300, unitVolumeMillilitres: 400, zone: .chilled)])

    func fresh() throws -> Order {
        try Order.create(OrderDraft(id: "o7", lines: [OrderLine(sku: "tofu", quantity: 1)], destination: Coordinate(lat: 37.5, lon: 127.03), product: .dawn),
                         at: seoul(monday, 21), catalogue: catalogue, locate: { _ in gangnam }, configs: [gangnam: config])
    }

    @Test func replayingTheJournalRebuildsTheSameOrder() throws {
        var live = try fresh()
        var journal: [OrderEvent] = []
        let t = seoul(monday + 1, 2)
        for c: OrderCommand in [.accept, .allocate("hub-dawn"), .startPicking, .pack, .assign(.vehicle("v1")), .dispatch, .arrive,
                                .fail(.accessDenied), .assign(.vehicle("v2")), .dispatch, .arrive, .deliver(DeliveryProof(kind: .photo, reference: "p"))] {
            journal += try live.apply(c, at: t)
        }
        // Through JSON, as the journal stores it.
        let stored = try JSONDecoder().decode([OrderEvent].self, from: try JSONEncoder().encode(journal))
        var recovered = try fresh()
        try recovered.replay(stored)
        #expect(recovered == live)
    }

    @Test func replayRejectsAnIllegalHistoryNamingTheEvent() throws {
        var o = try fresh()
        let t = seoul(monday, 22)
        let skip = OrderEvent(type: "order.packed", order: "o7", at: t, from: .created, to: .packed)
        #expect(throws: OrderReplayError(order: "o7", index: 0, problem: .notInTable(type: "order.packed", from: .created, to: .packed))) {
            try o.replay([skip])
        }
        let gap = OrderEvent(type: "order.allocated", order: "o7", at: t, from: .accepted, to: .allocated)
        #expect(throws: OrderReplayError(order: "o7", index: 0, problem: .fromMismatch(expected: .created, found: .accepted))) {
            try o.replay([gap])
        }
        let other = OrderEvent(type: "order.accepted", order: "o8", at: t, from: .created, to: .accepted)
        #expect(throws: OrderReplayError(order: "o7", index: 0, problem: .wrongOrder("o8"))) { try o.replay([other]) }
        let odd = OrderEvent(type: "order.teleported", order: "o7", at: t, from: .created, to: .accepted)
        #expect(throws: OrderReplayError(order: "o7", index: 0, problem: .unknownType("order.teleported"))) { try o.replay([odd]) }
    }
}
