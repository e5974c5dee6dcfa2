import Testing
import Geo
@testable import Fleet

@Suite struct DawnPromiseTests {
    @Test func mondaySanity() { #expect(seoul(monday, 0).secondsOfLocalDay(.seoul) == 0) }

    @Test func beforeCutoffGoesOutTonight() throws {
        let w = try promise(for: .dawn, orderedAt: seoul(monday, 22, 59), config: config)
        #expect(w.earliest == seoul(monday + 1, 0) && w.latest == seoul(monday + 1, 7) && !w.rolledOver)
        let last = try promise(for: .dawn, orderedAt: seoul(monday, 22, 59, 59), config: config)
        #expect(last.latest == seoul(monday + 1, 7))
    }

    @Test func atCutoffRollsToTheNextNight() throws {
        let w = try promise(for: .dawn, orderedAt: seoul(monday, 23, 0), config: config)
        #expect(w.earliest == seoul(monday + 2, 0) && w.latest == seoul(monday + 2, 7) && w.rolledOver)
    }

    @Test func afterCutoffRollsToTheNextNight() throws {
        let w = try promise(for: .dawn, orderedAt: seoul(monday, 23, 1), config: config)
        #expect(w.latest == seoul(monday + 2, 7) && w.rolledOver)
    }

    @Test func justAfterMidnightIsTomorrowMorning() throws {
        // 00:30 Tuesday: tonight's (Tuesday→Wednesday) wave, not the one already on the road.
        let w = try promise(for: .dawn, orderedAt: seoul(monday + 1, 0, 30), config: config)
        #expect(w.earliest == seoul(monday + 2, 0) && w.latest == seoul(monday + 2, 7) && !w.rolledOver)
    }

    @Test func lastSecondOfDayRollsAcrossTheMonthLikeAnyOther() throws {
        // 2024-02-29 23:59:59 (leap day) → 2024-03-02 dawn.
        let leap = monday + (-4)
        let w = try promise(for: .dawn, orderedAt: seoul(leap, 23, 59, 59), config: config)
        #expect(w.latest == seoul(monday + (-2), 7))
    }

    @Test func notOfferedNamesTheRegion() {
        var c = config; c.dawn = nil
        #expect(throws: PromiseError(region: gangnam, product: .dawn, reason: .notOffered)) {
            try promise(for: .dawn, orderedAt: seoul(monday, 10), config: c)
        }
    }
}

@Suite struct SameDayPromiseTests {
    @Test func beforeNoonIsToday() throws {
        let w = try promise(for: .sameDay, orderedAt: seoul(monday, 11, 59), config: config)
        #expect(w.earliest == seoul(monday, 14) && w.latest == seoul(monday, 22) && !w.rolledOver)
    }
    @Test func atNoonIsTomorrow() throws {
        let w = try promise(for: .sameDay, orderedAt: seoul(monday, 12, 0), config: config)
        #expect(w.earliest == seoul(monday + 1, 14) && w.rolledOver)
    }
    @Test func afterNoonIsTomorrow() throws {
        let w = try promise(for: .sameDay, orderedAt: seoul(monday, 12, 1), config: config)
        #expect(w.latest == seoul(monday + 1, 22) && w.rolledOver)
    }
    @Test func justAfterMidnightIsToday() throws {
        let w = try promise(for: .sameDay, orderedAt: seoul(monday, 0, 30), config: config)
        #expect(w.earliest == seoul(monday, 14))
    }
}

@Suite struct QuickPromiseTests {
    @Test func thirtyToSixtyMinutesWhileOpen() throws {
        let t = seoul(monday, 18, 10)
        let w = try promise(for: .quick, orderedAt: t, config: config)
        #expect(w.earliest == t + 1800 && w.latest == t + 3600)
    }
    @Test func closedBeforeOpeningSaysWhenItOpens() {
        #expect(throws: PromiseError(region: gangnam, product: .quick, reason: .storeClosed(nextOpening: seoul(monday, 10)))) {
            try promise(for: .quick, orderedAt: seoul(monday, 9, 59), config: config)
        }
    }
    @Test func tooCloseToClosingIsRefused() {
        // Closes 23:00; latest delivery 23:01 would be after closing.
        #expect(throws: PromiseError(region: gangnam, product: .quick, reason: .storeClosed(nextOpening: seoul(monday + 1, 10)))) {
            try promise(for: .quick, orderedAt: seoul(monday, 22, 1), config: config)
        }
        #expect((try? promise(for: .quick, orderedAt: seoul(monday, 22, 0), config: config)) != nil)
    }
    @Test func storeOpenPastMidnight() throws {
        let late = OpeningHours(open: TimeOfDay(10), close: TimeOfDay(26))   // closes 02:00
        let w = try promise(for: .quick, orderedAt: seoul(monday + 1, 0, 30), config: config, storeHours: late)
        #expect(w.latest == seoul(monday + 1, 1, 30))
        #expect(throws: PromiseError.self) { try promise(for: .quick, orderedAt: seoul(monday + 1, 1, 30), config: config, storeHours: late) }
    }
}

@Suite struct ScheduledPromiseTests {
    @Test func aFutureOfferedSlotIsTheWindow() throws {
        let w = try promise(for: .scheduled, orderedAt: seoul(monday, 9), slot: seoul(monday, 12), config: config)
        #expect(w.earliest == seoul(monday, 12) && w.latest == seoul(monday, 14))
    }
    @Test func leadTimeIsEnforced() {
        #expect(throws: PromiseError(region: gangnam, product: .scheduled,
                                     reason: .slotTooSoon(start: seoul(monday, 12), earliestAllowed: seoul(monday, 12, 1)))) {
            try promise(for: .scheduled, orderedAt: seoul(monday, 10, 1), slot: seoul(monday, 12), config: config)
        }
    }
    @Test func pastSlotAndMissingSlotAndOddStart() {
        #expect(throws: PromiseError(region: gangnam, product: .scheduled, reason: .slotInThePast(start: seoul(monday, 8)))) {
            try promise(for: .scheduled, orderedAt: seoul(monday, 9), slot: seoul(monday, 8), config: config)
        }
        #expect(throws: PromiseError(region: gangnam, product: .scheduled, reason: .slotRequired)) {
            try promise(for: .scheduled, orderedAt: seoul(monday, 9), config: config)
        }
        #expect(throws: PromiseError(region: gangnam, product: .scheduled, reason: .slotNotOffered(start: seoul(monday, 13)))) {
            try promise(for: .scheduled, orderedAt: seoul(monday, 9), slot: seoul(monday, 13), config: config)
        }
    }
    @Test func nextDaySlotAcrossMidnightAndHorizon() throws {
        let w = try promise(for: .scheduled, orderedAt: seoul(monday, 23, 30), slot: seoul(monday + 1, 8), config: config)
        #expect(w.latest == seoul(monday + 1, 10))
        #expect((try? promise(for: .scheduled, orderedAt: seoul(monday, 9), slot: seoul(monday + 7, 8), config: config)) != nil)
        #expect(throws: PromiseError(region: gangnam, product: .scheduled,
                                     reason: .slotBeyondHorizon(start: seoul(monday + 8, 8), lastDay: monday + 7))) {
            try promise(for: .scheduled, orderedAt: seoul(monday, 9), slot: seoul(monday + 8, 8), config: config)
        }
    }
    @Test func slotOnlyForScheduled() {
        #expect(throws: PromiseError(region: gangnam, product: .dawn, reason: .slotNotForThisProduct)) {
            try promise(for: .dawn, orderedAt: seoul(monday, 9), slot: seoul(monday, 12), config: config)
        }
    }
}

@Suite struct BopisPromiseTests {
    @Test func readyWithinTwoHoursHeldFortyEight() throws {
        let w = try promise(for: .bopis, orderedAt: seoul(monday, 11), config: config)
        #expect(w.latest == seoul(monday, 13) && w.holdUntil == seoul(monday + 2, 13) && !w.rolledOver)
    }
    @Test func orderedAfterHoursStartsAtOpening() throws {
        let w = try promise(for: .bopis, orderedAt: seoul(monday, 21), config: config)   // closes 22:00
        #expect(w.latest == seoul(monday + 1, 12) && w.rolledOver)
        let night = try promise(for: .bopis, orderedAt: seoul(monday + 1, 3), config: config)
        #expect(night.latest == seoul(monday + 1, 12))
    }
}
