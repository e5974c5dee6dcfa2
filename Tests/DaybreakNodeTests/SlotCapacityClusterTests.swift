import Cluster
import DaybreakNode
import DispatchPlanning
import Fleet
import Geo
import Testing

/// Slot capacity on a running node, across service days: each day's dispatcher holds its own
/// slots' bookings, and a full slot's offer counts the bookings of the region's other open days.
@Suite(.serialized) struct SlotCapacityClusterTests {
    typealias O = Operating

    @Test func aFullSlotOffersTheNextFreeSlotsOfLaterServiceDays() async throws {
        var operating = try O.config(start: O.at(0, 9))
        operating.operations.products.scheduled?.slotCapacity = 1
        try await O.withDeployment(ids: ["a"], regions: ["gangnam"], operating: operating, prefix: "opslot") { gateway, _, _, c, _ in
            let points = O.points(in: "gangnam", 4, operating: operating, seed: 3)
            let at = O.at(0, 9, 30)
            func place(_ id: String, _ i: Int, _ slot: Instant) async throws -> PlaceOrderOutcome {
                try await gateway.placeOrder(O.draft(id, .scheduled, points[i]), slot: slot, at: at)
            }
            // The last slot of tomorrow, and the first of the day after (its day opens for it).
            guard case .assigned = try await place("slot-a", 0, O.at(1, 20)) else { Issue.record("slot-a not taken"); return }
            guard case .assigned = try await place("slot-c", 2, O.at(2, 8)) else { Issue.record("slot-c not taken"); return }
            #expect(try await O.directoryDay(c, "slot-a") == (O.day + 1).isoDate)
            #expect(try await O.directoryDay(c, "slot-c") == (O.day + 2).isoDate)

            // Tomorrow 20:00 is full; the day after's 08:00 is taken by slot-c, held by another day.
            guard case .rejected(let r) = try await place("slot-b", 1, O.at(1, 20)) else { Issue.record("a full slot was booked"); return }
            #expect(r.problem == .slotFull, "\(r)")
            #expect(r.offeredSlots == [O.at(2, 10), O.at(2, 12), O.at(2, 14)], "\(r.offeredSlots ?? [])")
            #expect(try await O.directoryDay(c, "slot-b") == nil, "a refused order is in no day")

            // The customer takes the first offer.
            guard case .assigned(_, _, _, let w) = try await place("slot-b", 1, r.offeredSlots![0]) else { Issue.record("the offer was refused"); return }
            #expect(w.earliest == O.at(2, 10))
        }
    }
}
