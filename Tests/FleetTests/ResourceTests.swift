import Testing
import Foundation
import Geo
@testable import Fleet

@Suite struct VehicleTests {
    let dawnShift = ShiftPattern(start: TimeOfDay(1), end: TimeOfDay(8))

    @Test func capacityFitsPerDimension() {
        let van = Capacity(weightGrams: 800_000, volumeMillilitres: 4_000_000, chilledMillilitres: 1_500_000, frozenMillilitres: 500_000)
        #expect(van.fits(Capacity(weightGrams: 800_000, volumeMillilitres: 1, frozenMillilitres: 500_000)))
        #expect(!van.fits(Capacity(weightGrams: 1, volumeMillilitres: 1, frozenMillilitres: 500_001)))
        #expect(van.vector == SIMD4(800_000, 4_000_000, 1_500_000, 500_000))
    }

    @Test func capacityJSONIsInKilogramsAndLitres() throws {
        let c = try JSONDecoder().decode(Capacity.self, from: Data(#"{"weightKg": 700.5, "volumeL": 3500, "chilledL": 1200}"#.utf8))
        #expect(c == Capacity(weightGrams: 700_500, volumeMillilitres: 3_500_000, chilledMillilitres: 1_200_000, frozenMillilitres: 0))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Capacity.self, from: Data(#"{"weightKg": -1}"#.utf8)) }
    }

    @Test func kindsAreCheckedNamingTheUnit() {
        #expect(throws: FleetError.riderKindForVehicle("v1", .eBike)) {
            try Vehicle(id: "v1", kind: .eBike, capacity: .zero, home: "hub", shift: dawnShift)
        }
        #expect(throws: FleetError.vehicleKindForRider("r1", .van)) {
            try Rider(id: "r1", kind: .van, capacity: .zero, store: "s", shift: dawnShift)
        }
        #expect(throws: FleetError.emptyShift("v2")) {
            try Vehicle(id: "v2", kind: .van, capacity: .zero, home: "hub", shift: ShiftPattern(start: TimeOfDay(8), end: TimeOfDay(1)))
        }
    }

    @Test func nightShiftEndsNextMorning() {
        let s = ShiftPattern(start: TimeOfDay(22), end: TimeOfDay(31)).on(monday, .seoul)
        #expect(s.end == seoul(monday + 1, 7))
    }

    @Test func orderLoadUsesItsZone() {
        let o = Order(id: "o", lines: [], weightGrams: 1000, volumeMillilitres: 2000, zone: .frozen, destination: Coordinate(lat: 37.5, lon: 127),
                      region: gangnam, product: .dawn, promise: PromiseWindow(product: .dawn, earliest: seoul(monday, 0), latest: seoul(monday, 7)),
                      createdAt: seoul(monday, 0), state: .created, site: nil, courier: nil, failure: nil, attempts: 0, version: 0)
        #expect(o.load == Capacity(weightGrams: 1000, volumeMillilitres: 2000, chilledMillilitres: 0, frozenMillilitres: 2000))
    }

    @Test func emissionDefaultsAreOrderedAsExpected() {
        let f = EmissionFactors.defaults
        let g = { (k: VehicleKind) in f.grams(k, metres: 1000) }
        #expect(g(.eBike) < g(.motorbike) && g(.motorbike) < g(.evVan) && g(.evVan) < g(.van) && g(.van) < g(.truck))
        #expect(abs(g(.evVan) - 128.6) < 1)
        #expect(f.grams(.van, metres: 10_000) == 3_000)
    }
}

@Suite struct InventoryTests {
    func inv() throws -> Inventory { try Inventory(site: "store-1", onHand: ["milk": 5, "eggs": 2]) }

    @Test func reserveCommitReleaseNeverGoBelowZero() throws {
        var i = try inv()
        try i.reserve("o1", [OrderLine(sku: "milk", quantity: 3)])
        #expect(i.available("milk") == 2)
        #expect(throws: InventoryError(site: "store-1", order: "o2", problem: .insufficient("milk", requested: 3, available: 2))) {
            try i.reserve("o2", [OrderLine(sku: "milk", quantity: 3)])
        }
        try i.commit("o1")
        #expect(i.onHand["milk"] == 2 && i.available("milk") == 2)
        try i.reserve("o3", [OrderLine(sku: "milk", quantity: 2)])
        try i.release("o3")
        #expect(i.available("milk") == 2)
        #expect(throws: InventoryError(site: "store-1", order: "o3", problem: .noReservation)) { try i.commit("o3") }
    }

    @Test func reservationIsAllOrNothing() throws {
        var i = try inv()
        #expect(throws: InventoryError.self) {
            try i.reserve("o1", [OrderLine(sku: "milk", quantity: 1), OrderLine(sku: "eggs", quantity: 3)])
        }
        #expect(i.available("milk") == 5 && i.reservations.isEmpty)
        #expect(throws: InventoryError(site: "store-1", order: "o1", problem: .insufficient("caviar", requested: 1, available: 0))) {
            try i.reserve("o1", [OrderLine(sku: "caviar", quantity: 1)])
        }
        #expect(throws: InventoryError(site: "store-1", order: "o1", problem: .nonPositiveQuantity("milk", 0))) {
            try i.reserve("o1", [OrderLine(sku: "milk", quantity: 0)])
        }
    }

    @Test func repeatedLinesAreSummed() throws {
        var i = try inv()
        #expect(throws: InventoryError.self) {
            try i.reserve("o1", [OrderLine(sku: "eggs", quantity: 2), OrderLine(sku: "eggs", quantity: 1)])
        }
    }

    @Test func countCannotDropBelowReserved() throws {
        var i = try inv()
        try i.reserve("o1", [OrderLine(sku: "milk", quantity: 4)])
        #expect(throws: InventoryError(site: "store-1", order: nil, problem: .countBelowReserved("milk", count: 3, reserved: 4))) {
            try i.setCount("milk", 3)
        }
        try i.setCount("milk", 4)
        #expect(i.available("milk") == 0)
    }

    @Test func randomOperationsKeepAvailabilityNonNegative() throws {
        var i = try Inventory(site: "s", onHand: ["a": 10, "b": 10])
        var g = TestRNG(seed: 5)
        var open: [OrderID] = []
        for n in 0..<2000 {
            let id = OrderID("o\(n)")
            switch Int.random(in: 0..<4, using: &g) {
            case 0, 1:
                if (try? i.reserve(id, [OrderLine(sku: Bool.random(using: &g) ? "a" : "b", quantity: Int.random(in: 1...4, using: &g))])) != nil { open.append(id) }
            case 2: if let o = open.popLast() { try i.commit(o) }
            default:
                if let o = open.popLast() { try i.release(o) }
                try i.restock([OrderLine(sku: "a", quantity: 1)])
            }
            #expect(i.available("a") >= 0 && i.available("b") >= 0 && i.onHand["a"]! >= 0 && i.onHand["b"]! >= 0)
        }
    }

    @Test func roundTripsThroughJSON() throws {
        var i = try inv()
        try i.reserve("o1", [OrderLine(sku: "milk", quantity: 3)])
        let back = try JSONDecoder().decode(Inventory.self, from: try JSONEncoder().encode(i))
        #expect(back == i && back.available("milk") == 2)
    }
}

@Suite struct PickupCounterTests {
    let lines = [OrderLine(sku: "milk", quantity: 1)]

    @Test func codesAreDeterministicForASeedAndSixDigits() throws {
        var a = PickupCounter(store: "s1"), b = PickupCounter(store: "s1")
        var g1 = TestRNG(seed: 1), g2 = TestRNG(seed: 1)
        let c1 = try a.hold("o1", lines: lines, readyAt: seoul(monday, 11), holdUntil: seoul(monday + 2, 11), using: &g1)
        let c2 = try b.hold("o1", lines: lines, readyAt: seoul(monday, 11), holdUntil: seoul(monday + 2, 11), using: &g2)
        #expect(c1 == c2 && c1.count == 6 && c1.allSatisfy(\.isNumber))
    }

    @Test func codesAreUniqueAmongHolds() throws {
        var c = PickupCounter(store: "s1", codeDigits: 4)
        var g = TestRNG(seed: 2)
        var codes = Set<String>()
        for n in 0..<500 { codes.insert(try c.hold(OrderID("o\(n)"), lines: lines, readyAt: seoul(monday, 0), holdUntil: seoul(monday, 1), using: &g)) }
        #expect(codes.count == 500)
    }

    @Test func rightCodeHandsOverWrongCodeCostsAnAttemptThenLocks() throws {
        var c = PickupCounter(store: "s1", maxAttempts: 3)
        var g = TestRNG(seed: 3)
        let code = try c.hold("o1", lines: lines, readyAt: seoul(monday, 11), holdUntil: seoul(monday + 2, 11), using: &g)
        let t = seoul(monday, 12)
        #expect(throws: PickupError(store: "s1", order: "o1", problem: .wrongCode(attemptsLeft: 2))) { try c.handOver("o1", code: "x", at: t) }
        #expect(throws: PickupError(store: "s1", order: "o1", problem: .wrongCode(attemptsLeft: 1))) { try c.handOver("o1", code: "y", at: t) }
        #expect(throws: PickupError(store: "s1", order: "o1", problem: .locked)) { try c.handOver("o1", code: "z", at: t) }
        #expect(throws: PickupError(store: "s1", order: "o1", problem: .locked)) { try c.handOver("o1", code: code, at: t) }
        try c.unlock("o1")
        #expect(try c.handOver("o1", code: code, at: t) == .pickedUp("o1"))
        #expect(throws: PickupError(store: "s1", order: "o1", problem: .unknownOrder)) { try c.handOver("o1", code: code, at: t) }
    }

    @Test func tooEarlyOrTooLateIsRefused() throws {
        var c = PickupCounter(store: "s1")
        var g = TestRNG(seed: 4)
        let code = try c.hold("o1", lines: lines, readyAt: seoul(monday, 11), holdUntil: seoul(monday + 2, 11), using: &g)
        #expect(throws: PickupError(store: "s1", order: "o1", problem: .notReadyYet(readyAt: seoul(monday, 11)))) {
            try c.handOver("o1", code: code, at: seoul(monday, 10))
        }
        #expect(throws: PickupError(store: "s1", order: "o1", problem: .expired(holdUntil: seoul(monday + 2, 11)))) {
            try c.handOver("o1", code: code, at: seoul(monday + 2, 11))
        }
    }

    @Test func noShowReturnsItemsToStock() throws {
        var c = PickupCounter(store: "s1")
        var inv = try Inventory(site: "s1", onHand: ["milk": 1])
        try inv.reserve("o1", lines); try inv.commit("o1")
        var g = TestRNG(seed: 6)
        _ = try c.hold("o1", lines: lines, readyAt: seoul(monday, 11), holdUntil: seoul(monday + 2, 11), using: &g)
        _ = try c.hold("o2", lines: lines, readyAt: seoul(monday, 11), holdUntil: seoul(monday + 3, 11), using: &g)
        #expect(c.expire(at: seoul(monday + 2, 10, 59, 59)).isEmpty)
        let d = c.expire(at: seoul(monday + 2, 11))
        #expect(d == [.noShow("o1", lines: lines)])
        for case .noShow(let o, let l) in d { try inv.restock(l, order: o) }
        #expect(inv.available("milk") == 1 && c.holds.keys.sorted() == ["o2"])
    }

    @Test func pickFinishFollowsTheHourlyRate() {
        let s = Store(id: "a", name: "A", location: Coordinate(lat: 37.5, lon: 127), hours: QuickConfig().storeHours, pickLinesPerHour: 120)
        let t = seoul(monday, 18)
        #expect(s.pickFinish(queuedLines: 0, newLines: 0, at: t) == t)
        #expect(s.pickFinish(queuedLines: 58, newLines: 2, at: t) == t + 1800)
        #expect(s.pickFinish(queuedLines: 0, newLines: 1, at: t) == t + 30)
    }

    @Test func nearestStoreWithinRadius() {
        let a = Store(id: "a", name: "A", location: Coordinate(lat: 37.50, lon: 127.03), hours: QuickConfig().storeHours, pickLinesPerHour: 300)
        let b = Store(id: "b", name: "B", location: Coordinate(lat: 37.52, lon: 127.03), hours: QuickConfig().storeHours, pickLinesPerHour: 300)
        #expect(nearestStore(to: Coordinate(lat: 37.515, lon: 127.03), among: [a, b], maxMetres: 3000)?.id == "b")
        #expect(nearestStore(to: Coordinate(lat: 37.60, lon: 127.03), among: [a, b], maxMetres: 3000) == nil)
    }
}

@Suite struct NotificationPolicyTests {
    let p = NotificationPolicy()
    func w(_ h: Int64, _ m: Int64, _ minutes: Int64 = 60) -> ETAWindow { ETAWindow(earliest: seoul(monday, h, m), latest: seoul(monday, h, m) + minutes * 60) }
    let t = seoul(monday, 2)

    @Test func assignmentNotifiesOnceForTheSameWindow() {
        var s = NotificationState()
        #expect(p.decide(.assigned(w(5, 0)), order: "o", at: t, state: &s).map(\.kind) == [.assigned])
        #expect(p.decide(.assigned(w(5, 0)), order: "o", at: t, state: &s).isEmpty)
    }

    @Test func windowMoveThreshold() {
        var s = NotificationState()
        _ = p.decide(.assigned(w(5, 0)), order: "o", at: t, state: &s)
        #expect(p.decide(.estimate(w(5, 15)), order: "o", at: t, state: &s).isEmpty)         // exactly 15 min: not more than
        #expect(p.decide(.estimate(w(5, 16)), order: "o", at: t, state: &s).map(\.kind) == [.windowChanged])
        #expect(p.decide(.estimate(w(5, 30)), order: "o", at: t, state: &s).isEmpty)         // 14 min from last sent
        #expect(p.decide(.estimate(w(4, 59)), order: "o", at: t, state: &s).map(\.kind) == [.windowChanged]) // earlier too
        #expect(p.decide(.estimate(w(4, 59, 90)), order: "o", at: t, state: &s).map(\.kind) == [.windowChanged]) // end moved 30 min
    }

    @Test func slowDriftStillNotifiesOnceItAddsUp() {
        var s = NotificationState()
        _ = p.decide(.assigned(w(5, 0)), order: "o", at: t, state: &s)
        var sent = 0
        for m in stride(from: Int64(5), through: 20, by: 5) { sent += p.decide(.estimate(w(5, m)), order: "o", at: t, state: &s).count }
        #expect(sent == 1)
    }

    @Test func returningToAnAlreadySentWindowIsDeduplicated() {
        var s = NotificationState()
        _ = p.decide(.assigned(w(5, 0)), order: "o", at: t, state: &s)
        #expect(p.decide(.estimate(w(5, 30)), order: "o", at: t, state: &s).count == 1)
        // Back to 05:00: more than 15 min from 05:30 but the same kind+window was never sent as a change.
        #expect(p.decide(.estimate(w(5, 0)), order: "o", at: t, state: &s).count == 1)
        #expect(p.decide(.estimate(w(5, 30)), order: "o", at: t, state: &s).isEmpty)  // already sent
    }

    @Test func approachingFiresOnceAtTwoStops() {
        var s = NotificationState()
        _ = p.decide(.assigned(w(5, 0)), order: "o", at: t, state: &s)
        #expect(p.decide(.stopsAway(5), order: "o", at: t, state: &s).isEmpty)
        #expect(p.decide(.stopsAway(3), order: "o", at: t, state: &s).isEmpty)
        #expect(p.decide(.stopsAway(2), order: "o", at: t, state: &s).map(\.kind) == [.approaching])
        #expect(p.decide(.stopsAway(1), order: "o", at: t, state: &s).isEmpty)
    }

    @Test func deliveredOnceAndSilenceAfter() {
        var s = NotificationState()
        _ = p.decide(.assigned(w(5, 0)), order: "o", at: t, state: &s)
        #expect(p.decide(.delivered, order: "o", at: t, state: &s).map(\.kind) == [.delivered])
        #expect(p.decide(.delivered, order: "o", at: t, state: &s).isEmpty)
        #expect(p.decide(.estimate(w(9, 0)), order: "o", at: t, state: &s).isEmpty)
    }

    @Test func failureOnceThenASecondAttemptStartsAfresh() {
        var s = NotificationState()
        _ = p.decide(.assigned(w(5, 0)), order: "o", at: t, state: &s)
        _ = p.decide(.stopsAway(2), order: "o", at: t, state: &s)
        let f = p.decide(.failed(.nobodyHome), order: "o", at: t, state: &s)
        #expect(f.map(\.kind) == [.failed] && f[0].failure == .nobodyHome)
        #expect(p.decide(.failed(.nobodyHome), order: "o", at: t, state: &s).isEmpty)
        #expect(p.decide(.assigned(w(5, 0)), order: "o", at: t, state: &s).map(\.kind) == [.assigned])
        #expect(p.decide(.stopsAway(1), order: "o", at: t, state: &s).map(\.kind) == [.approaching])
        #expect(s.attempt == 1)
    }
}
