/// Proleptic Gregorian dates ↔ days since 1970-01-01 (Howard Hinnant's `days_from_civil` and
/// `civil_from_days`: eras of 400 years, years starting in March so the leap day ends them).
/// The one copy for every module above `Base` (Geo, which depends on nothing, keeps its own).
public enum CivilDate {
    /// Days since 1970-01-01 of year-month-day (month 1…12; a day past the month's end rolls over).
    public static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date of a day since 1970-01-01.
    public static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Whether year-month-day exists (2026-02-30 does not).
    public static func isValid(year: Int64, month: Int64, day: Int64) -> Bool {
        guard (1 ... 12).contains(month), (1 ... 31).contains(day) else { return false }
        let back = civil(days: days(year: year, month: month, day: day))
        return back.year == year && back.month == month && back.day == day
    }
}
