@testable import DispatchPlanning
import Fleet
import Foundation
import Geo
import Testing

/// The service-day rule (`ServiceCalendar`) and the schedule a shell runs (`nextDue`, `isSettled`,
/// `claim`), on the hand-built square region.
@Suite struct LiveScheduleTests {
    typealias L = Live

    // MARK: - Service days

    @Test func dawnOrdersBeforeTheCutoffGoOutTheComingNightAndAfterItTheNightAfter() {
        let cal = ServiceCalendar(config: L.config())
        #expect(cal.serviceDay(product: .dawn, at: L.eve(22, 59), slot: nil) == L.day)
        #expect(cal.serviceDay(product: .dawn, at: L.eve(23, 0), slot: nil) == L.day + 1)
        // 00:30 is before that day's cutoff: the coming night is the next morning.
        #expect(cal.serviceDay(product: .dawn, at: L.at(0, 30), slot: nil) == L.day + 1)
        #expect(cal.serviceDay(product: .sameDay, at: L.at(11, 59), slot: nil) == L.day)
        #expect(cal.serviceDay(product: .sameDay, at: L.at(12, 0), slot: nil) == L.day + 1)
        #expect(cal.serviceDay(product: .scheduled, at: L.at(9), slot: .local(L.day + 3, Time.hm(16), L.off)) == L.day + 3)
        #expect(cal.serviceDay(product: .quick, at: L.at(23, 30), slot: nil) == L.day)
        #expect(cal.serviceDay(product: .bopis, at: L.at(10), slot: nil) == L.day)
        #expect(cal.daysToOpen(at: L.at(15)) == [L.day, L.day + 1])
    }

    @Test func aLaterRolloverKeepsAfterMidnightOrdersOnTheOperatingDay() {
        let cal = ServiceCalendar(config: L.config(), rollover: TimeOfDay(4))
        #expect(cal.operatingDay(at: .local(L.day + 1, Time.hm(1, 30), L.off)) == L.day)
        #expect(cal.operatingDay(at: .local(L.day + 1, Time.hm(4), L.off)) == L.day + 1)
        #expect(cal.nextRollover(after: .local(L.day + 1, Time.hm(1, 30), L.off)) == .local(L.day + 1, Time.hm(4), L.off))
        #expect(cal.nextRollover(after: .local(L.day + 1, Time.hm(4), L.off)) == .local(L.day + 2, Time.hm(4), L.off))
        #expect(cal.serviceDay(product: .quick, at: .local(L.day + 1, Time.hm(0, 30), L.off), slot: nil) == L.day)
    }

    /// The calendar agrees with the promise Fleet makes: for every product and every quarter hour of
    /// two days, the day an order is sent to is the day its promised window is on.
    @Test func theCalendarSendsEveryOrderToTheDayOfItsPromise() throws {
        let config = L.config()
        let cal = ServiceCalendar(config: config)
        var checked = 0
        for q in 0..<(2 * 96) {
            let t = Instant.local(L.day + (-1), Int64(q) * 900, L.off)
            for product in [Product.dawn, .sameDay, .scheduled] {
                let slot: Instant? = product == .scheduled ? .local(t.localDay(L.off) + 2, Time.hm(14), L.off) : nil
                guard let p = try? promise(for: product, orderedAt: t, slot: slot, config: config.products) else { continue }
                #expect(cal.serviceDay(product: product, at: t, slot: slot) == p.earliest.localDay(L.off), "\(product) at \(t)")
                checked += 1
            }
        }
        #expect(checked > 500)
    }

    @Test func isoDatesRoundTripAndImpossibleDatesAreRefused() {
        for i in stride(from: Int64(-719_000), through: 2_900_000, by: 997) {   // years 1 to 9900
            let d = LocalDay(index: i)
            #expect(LocalDay(isoDate: d.isoDate) == d)
        }
        #expect(LocalDay(isoDate: "2026-12-02")?.isoDate == "2026-12-02")
        for bad in ["2026-02-30", "2026-13-01", "2026-1-01", "20261201", "2026-12-02x", "", "abcd-ef-gh", "2026-00-10"] {
            #expect(LocalDay(isoDate: bad) == nil, "\(bad)")
        }
    }

    // MARK: - What is due

    @Test func theDawnCutoffIsDueAndNothingHappensBeforeIt() throws {
        var h = Harness(L.config())
        #expect(h.state.nextDue(after: nil) == DueWork(at: L.eve(23), kind: .dawnWave))
        for i in 0..<4 { _ = h.place(L.draft("d\(i)", .dawn, 37.52 + Double(i) * 0.01, 127.05), at: L.eve(20)) }
        let due = try #require(h.state.nextDue(after: L.eve(20)))
        #expect(due == DueWork(at: L.eve(23), kind: .dawnWave))
        // Before the cutoff a tick changes nothing and no work is pending: nothing is due earlier.
        #expect(h.state.decide(.tick(at: L.eve(22, 55))).event == nil)
        #expect(h.state.pendingWork(at: L.eve(22, 55)).isEmpty)
        // At the cutoff the wave is pending; once its result is in, the wave is no longer due.
        h.send(.tick(at: L.eve(23)))
        let jobs = h.state.pendingWork(at: L.eve(23))
        #expect(jobs.map(\.kind) == [.dawnWave])
        h.send(.workDone(jobs[0].run { false }))
        #expect(h.state.dawnWavePlanned)
        #expect(h.state.nextDue(after: L.eve(23))?.kind != .dawnWave)
    }

    @Test func anOverdueWaveIsRetriedSoonAndAFreshOwnerDoesItAtOnce() {
        let h = Harness(L.config())
        // A tick at 23:10 that did not get the wave planned (e.g. its node died): retried a minute later.
        #expect(h.state.nextDue(after: L.eve(23, 10)) == DueWork(at: L.eve(23, 10) + RegionDispatchState.retrySeconds, kind: .dawnWave))
        // A new owner knows no last tick: the cutoff (past) is due at once.
        #expect(h.state.nextDue(after: nil)?.at == L.eve(23))
    }

    @Test func aHeldBopisOrderExpiresAtItsHoldAndItsStockReturns() throws {
        var h = Harness(L.config(couriers: L.riders))
        let wave = h.state.dawnCutoff!
        h.send(.tick(at: wave))
        for job in h.state.pendingWork(at: wave) { h.send(.workDone(job.run { false })) }
        guard case .awaitingCollection(let site, _) = h.place(L.draft("b1", .bopis, 37.55, 127.031, quantity: 3), at: L.at(10)) else {
            Issue.record("BOPIS not accepted"); return
        }
        let stockBefore = h.state.inventories[site]!.available(L.apple)
        guard case .site(.readyForCollection(_, let holdUntil)) = h.send(.site(.packed(site: site, order: "b1", at: L.at(11)))) else {
            Issue.record("not ready"); return
        }
        let due = try #require(h.state.nextDue(after: L.at(11)))
        #expect(due == DueWork(at: holdUntil, kind: .holdExpiry))
        #expect(h.state.decide(.tick(at: holdUntil - 60)).event?.effects.contains { if case .store(_, .noShow) = $0 { true } else { false } } != true)
        h.send(.tick(at: holdUntil))
        #expect(h.state.records().first { $0.order == "b1" }?.state == .returned)
        #expect(h.state.inventories[site]!.available(L.apple) == stockBefore + 3)
        #expect(h.state.nextDue(after: holdUntil)?.kind != .holdExpiry)
    }

    @Test func workOnTheRoadIsRefreshedEveryFiveMinutesAndAChangedPlanIsReoptimised() throws {
        var h = Harness(L.config())
        h.send(.tick(at: L.eve(23)))
        for job in h.state.pendingWork(at: L.eve(23)) { h.send(.workDone(job.run { false })) }
        #expect(h.state.nextDue(after: L.eve(23)) == nil, "an empty day with its wave planned has nothing due")
        _ = h.place(L.draft("s1", .sameDay, 37.53, 127.02), at: L.at(9))
        _ = h.place(L.draft("s2", .sameDay, 37.57, 127.07), at: L.at(9, 5))
        // The plan changed and was never re-optimised: due at once.
        #expect(h.state.nextDue(after: L.at(9, 5)) == DueWork(at: L.at(9, 5) + 1, kind: .reoptimise))
        let jobs = h.state.pendingWork(at: L.at(9, 10))
        #expect(jobs.map(\.kind) == [.reoptimise])
        h.send(.workDone(jobs[0].run { false }))
        // Looked at: the next re-optimisation waits for the interval, the ETA refresh for its cadence.
        let next = try #require(h.state.nextDue(after: L.at(9, 10)))
        #expect(next == DueWork(at: L.at(9, 10) + RegionDispatchState.refreshEverySeconds, kind: .etaRefresh))
    }

    @Test func aDayIsSettledOnlyWhenEveryOrderIsFinalAndEveryShiftIsOver() {
        var h = Harness(L.config(couriers: L.riders))
        let cutoff = h.state.dawnCutoff!
        h.send(.tick(at: cutoff))
        for job in h.state.pendingWork(at: cutoff) { h.send(.workDone(job.run { false })) }
        #expect(!h.state.isSettled(at: L.at(23)), "riders still on shift")
        #expect(h.state.isSettled(at: .local(L.day + 1, Time.hm(0, 30), L.off)))
        _ = h.place(L.draft("q1", .quick, 37.551, 127.031), at: L.at(20))
        #expect(!h.state.isSettled(at: .local(L.day + 2, 0, L.off)), "an order is still open")
    }

    @Test func aCourierOnAnActiveShiftIsClaimedByItsDayBeforeAnyOther() {
        var today = Harness(L.config())
        let tomorrow = RegionDispatchState(config: { var c = L.config(); c.serviceDay = L.day + 1
            c.couriers = c.couriers.map { var k = $0; k.shiftStart = k.shiftStart + Time.secondsPerDay; k.shiftEnd = k.shiftEnd + Time.secondsPerDay; return k }
            return c }())
        let dayVan = CourierRef.vehicle("day-1")
        // 22:50: today's day van is on shift; tomorrow's starts at 13:00 tomorrow.
        #expect(today.state.claim(courier: dayVan, at: L.at(22, 20))! < tomorrow.claim(courier: dayVan, at: L.at(22, 20))!)
        // Overtime with a parcel on board after the shift end: still today's.
        guard case .assigned(let van, _, _, _) = today.place(L.draft("late-1", .sameDay, 37.53, 127.02), at: L.at(9)) else {
            Issue.record("not assigned"); return
        }
        _ = today.handheld(.shiftStarted(van, at: L.at(7), position: Coordinate(lat: 37.55, lon: 126.96)))
        _ = today.handheld(.pickedUp(van, orders: ["late-1"], at: L.at(14)))
        let shiftEnd = L.config().couriers.first { $0.ref == van }!.shiftEnd
        #expect(today.state.claim(courier: van, at: shiftEnd + 600) == 0)
        // Delivered and home, the shift never ended by the handheld: the next day's shift wins the next morning.
        _ = today.handheld(.delivered(van, order: "late-1", proof: DeliveryProof(kind: .pin, reference: "pin-ok"), at: shiftEnd + 900))
        _ = today.handheld(.returned(van, at: shiftEnd + 1800))
        let nextMorning = Instant.local(L.day + 1, Time.hm(12, 55), L.off)
        #expect(today.state.claim(courier: van, at: nextMorning)! > tomorrow.claim(courier: van, at: nextMorning)!)
        // An ended shift loses to any shift still to come.
        _ = today.handheld(.shiftEnded(dayVan, at: L.at(22, 45)))
        #expect(today.state.claim(courier: dayVan, at: L.at(23))! > tomorrow.claim(courier: dayVan, at: L.at(23))!)
        #expect(today.state.claim(courier: .rider("nobody"), at: L.at(10)) == nil)
    }
}
