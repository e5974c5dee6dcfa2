@testable import DispatchPlanning
import Base
import Fleet
import Foundation
import Geo
import Testing

/// Scheduled slots with a capacity: checkout books a slot while it has room, refuses a full one
/// and offers the next free ones; a cancellation frees its place; the count survives replay.
@Suite struct LiveSlotTests {
    typealias L = Live

    static func config(capacity: Int?) -> RegionDispatchConfig {
        var c = L.config()
        c.products.scheduled?.slotCapacity = capacity
        return c
    }

    static func slot(_ d: Int64, _ h: Int64) -> Instant { .local(L.day + d, Time.hm(h), L.off) }

    /// Brute force: every slot start of the horizon, in time order, that is after `full`,
    /// promisable at `at`, and holds fewer than `capacity` of the orders `booked` lists.
    static func expectedOffer(after full: Instant, at: Instant, booked: [Instant: Int], capacity: Int, config: ProductConfig) -> [Instant] {
        let s = config.scheduled!
        var all: [Instant] = []
        for d in 0...s.horizonDays + 1 {
            for t in s.slotStarts { all.append(.local(at.localDay(L.off) + d, t.seconds, L.off)) }
        }
        return Array(all.sorted().filter { x in
            x > full && (booked[x] ?? 0) < capacity && (try? promise(for: .scheduled, orderedAt: at, slot: x, config: config)) != nil
        }.prefix(3))
    }

    @Test func aFullSlotIsRefusedWithTheNextFreeSlotsOffered() throws {
        let config = Self.config(capacity: 2)
        var h = Harness(config)
        var pts = L.Points(s: 11)
        var booked: [Instant: Int] = [:]
        func place(_ id: String, _ slot: Instant) -> PlaceOrderOutcome {
            let p = pts.next()
            return h.place(L.draft(id, .scheduled, p.lat, p.lon), at: L.at(9), slot: slot)
        }
        // Fill 14:00 and 16:00.
        for (i, s) in [Self.slot(0, 14), Self.slot(0, 14), Self.slot(0, 16), Self.slot(0, 16)].enumerated() {
            guard case .assigned = place("s-\(i)", s) else { Issue.record("s-\(i) not assigned"); continue }
            booked[s, default: 0] += 1
        }
        #expect(h.state.slotBookings() == booked)

        guard case .rejected(let r) = place("late", Self.slot(0, 14)) else { Issue.record("a full slot was booked"); return }
        #expect(r.problem == .slotFull)
        #expect(r.message.contains("14:00") && r.message.contains("full"), "\(r.message)")
        let expected = Self.expectedOffer(after: Self.slot(0, 14), at: L.at(9), booked: booked, capacity: 2, config: config.products)
        #expect(r.offeredSlots == expected)
        #expect(r.offeredSlots == [Self.slot(0, 18), Self.slot(0, 20), Self.slot(1, 8)])
        #expect(h.state.knows(order: "late") == false, "a refused order leaves nothing behind")

        // The customer takes the first offer: it is booked.
        guard case .assigned(_, _, _, let w) = place("late", r.offeredSlots![0]) else { Issue.record("the offered slot was refused"); return }
        #expect(w.earliest == Self.slot(0, 18))

        // A cancellation frees its place in the slot.
        guard case .done = h.send(.cancelOrder("s-0", reason: .customerRequest, at: L.at(9, 30))) else { Issue.record("cancel refused"); return }
        #expect(h.state.slotBookings()[Self.slot(0, 14)] == 1)
        guard case .assigned = place("again", Self.slot(0, 14)) else { Issue.record("the freed place was not offered"); return }

        // Rebuilt from its journal, the state counts the same bookings.
        h.checkReplay()
        var replayed = RegionDispatchState(config: config)
        for e in h.events { replayed.apply(e) }
        #expect(replayed.slotBookings() == h.state.slotBookings())
    }

    /// Random bookings against brute force: whatever is booked, the offer is exactly the first
    /// free, promisable slots after the full one.
    @Test func offersAgreeWithBruteForce() {
        let config = Self.config(capacity: 1)
        var rng = SplitMix64(seed: 7)
        for round in 0..<20 {
            let state = RegionDispatchState(config: config)
            var others: [Instant: Int] = [:]
            for d in 0...3 { for hour in stride(from: 8, through: 20, by: 2) where rng.next() % 3 == 0 { others[Self.slot(Int64(d), Int64(hour))] = 1 } }
            let at = L.at(Int64(6 + round % 10))
            let full = Self.slot(Int64(round % 3), 14)
            let got = state.nextFreeSlots(after: full, orderedAt: at, others: others)
            #expect(got == Self.expectedOffer(after: full, at: at, booked: others, capacity: 1, config: config.products), "round \(round)")
        }
    }

    @Test func withoutACapacityNothingIsRefusedForTheSlot() {
        var h = Harness(Self.config(capacity: nil))
        var pts = L.Points(s: 5)
        for i in 0..<6 {
            let p = pts.next()
            let o = h.place(L.draft("n-\(i)", .scheduled, p.lat, p.lon), at: L.at(9), slot: Self.slot(0, 14))
            if case .rejected(let r) = o { #expect(r.problem != .slotFull, "\(r)") }
        }
        #expect(h.state.slotBook() == nil)
    }

    @Test func aSlotCapacityBelowOneIsABadOperationsFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("Regions/seoul-operations.json"), encoding: .utf8)
        let broken = text.replacingOccurrences(of: "\"horizonDays\": 6", with: "\"horizonDays\": 6, \"slotCapacity\": 0")
        #expect(broken != text)
        do {
            _ = try OperationsConfig.load(Data(broken.utf8))
            Issue.record("a zero slot capacity was accepted")
        } catch {
            #expect("\(error)".contains("scheduled.slotCapacity"), "\(error)")
        }
    }
}
