import Base
import Testing

@Suite struct CivilDateTests {
    /// Counts days from 1970-01-01 by walking the calendar one day at a time (the rule written out:
    /// leap years divisible by 4, except centuries not divisible by 400) and compares both ways.
    @Test func agreesWithACalendarWalkedDayByDay() {
        func leap(_ y: Int64) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }
        let lengths: [Int64] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        var (y, m, d): (Int64, Int64, Int64) = (1970, 1, 1)
        for n in Int64(0) ..< 150_000 {   // to the year 2380, through 2000 and 2100
            #expect(CivilDate.days(year: y, month: m, day: d) == n)
            let c = CivilDate.civil(days: n)
            #expect(c.year == y && c.month == m && c.day == d)
            if n % 10_000 == 0 { #expect(CivilDate.isValid(year: y, month: m, day: d)) }
            let len = m == 2 && leap(y) ? 29 : lengths[Int(m - 1)]
            d += 1
            if d > len { d = 1; m += 1 }
            if m > 12 { m = 1; y += 1 }
        }
    }

    @Test func daysBeforeTheEpochAndDatesThatDoNotExist() {
        #expect(CivilDate.days(year: 1969, month: 12, day: 31) == -1)
        #expect(CivilDate.civil(days: -1) == (1969, 12, 31))
        #expect(!CivilDate.isValid(year: 2026, month: 2, day: 29))
        #expect(CivilDate.isValid(year: 2024, month: 2, day: 29))
        #expect(!CivilDate.isValid(year: 2026, month: 4, day: 31))
        #expect(!CivilDate.isValid(year: 2026, month: 13, day: 1))
    }
}
