import Base
import Foundation

/// Conversions between `Date` and PostgreSQL's ISO timestamp text. Connections set
/// `TimeZone = 'UTC'` and `DateStyle = 'ISO, YMD'`, so the server writes `2026-11-29 01:23:04.5+00`.
enum PostgresTime {
    static func microseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    static func date(microsecondsSinceEpoch us: Int64) -> Date {
        // Split to keep sub-second precision for dates far from 1970.
        let (s, r) = us.quotientAndRemainder(dividingBy: 1_000_000)
        return Date(timeIntervalSince1970: Double(s) + Double(r) / 1_000_000)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (month 1…12).
    static func days(year: Int, month: Int, day: Int) -> Int {
        Int(CivilDate.days(year: Int64(year), month: Int64(month), day: Int64(day)))
    }

    /// The inverse of `days(year:month:day:)`.
    static func civil(days: Int) -> (year: Int, month: Int, day: Int) {
        let c = CivilDate.civil(days: Int64(days))
        return (Int(c.year), Int(c.month), Int(c.day))
    }

    /// `YYYY-MM-DD HH:MM:SS.ffffff+00` (with ` BC` before year 1).
    static func format(microsecondsSinceEpoch us: Int64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        write(microsecondsSinceEpoch: us, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the text form without building a String (the COPY hot path).
    static func write(microsecondsSinceEpoch us: Int64, into out: inout [UInt8]) {
        var (secs, micro) = us.quotientAndRemainder(dividingBy: 1_000_000)
        if micro < 0 { micro += 1_000_000; secs -= 1 }
        var (days, sod) = secs.quotientAndRemainder(dividingBy: 86_400)
        if sod < 0 { sod += 86_400; days -= 1 }
        let (y, m, d) = civil(days: Int(days))
        func digits(_ v: Int, _ width: Int) {
            var p = 1
            for _ in 1 ..< width { p *= 10 }
            var v = v
            if v >= p * 10 { // wider than `width` (years past 9999)
                for ch in String(v).utf8 { out.append(ch) }
                return
            }
            while p > 0 { out.append(UInt8(48 + v / p)); v %= p; p /= 10 }
        }
        digits(y > 0 ? y : 1 - y, 4); out.append(45)
        digits(m, 2); out.append(45)
        digits(d, 2); out.append(32)
        digits(Int(sod / 3600), 2); out.append(58)
        digits(Int(sod % 3600 / 60), 2); out.append(58)
        digits(Int(sod % 60), 2); out.append(46)
        digits(Int(micro), 6)
        out.append(43); out.append(48); out.append(48)
        if y <= 0 { out.append(contentsOf: " BC".utf8) }
    }

    /// Parses `YYYY-MM-DD[ HH:MM:SS[.f…]][±HH[:MM[:SS]]][ BC]`; nil if malformed.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var i = 0
        let n = bytes.count
        func digits(_ count: Int?) -> Int? {
            var v = 0, k = 0
            while i < n, bytes[i] >= 48, bytes[i] <= 57, count.map({ k < $0 }) ?? true {
                v = v * 10 + Int(bytes[i] - 48); i += 1; k += 1
                if k > 9 { return nil }
            }
            if k == 0 || (count != nil && k != count) { return nil }
            return v
        }
        func expect(_ c: UInt8) -> Bool { if i < n, bytes[i] == c { i += 1; return true }; return false }
        guard let year = digits(nil), expect(45), let month = digits(2), expect(45), let day = digits(2),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var seconds = 0
        var micros = 0
        if expect(32) || expect(84) {
            guard let h = digits(2), expect(58), let mi = digits(2), expect(58), let s = digits(2) else { return nil }
            seconds = h * 3600 + mi * 60 + s
            if expect(46) {
                var scale = 100_000
                while i < n, bytes[i] >= 48, bytes[i] <= 57 {
                    micros += Int(bytes[i] - 48) * scale; scale /= 10; i += 1
                }
            }
        }
        if i < n, bytes[i] == 43 || bytes[i] == 45 {
            let sign = bytes[i] == 45 ? -1 : 1
            i += 1
            guard let oh = digits(2) else { return nil }
            var offset = oh * 3600
            if expect(58) { guard let om = digits(2) else { return nil }; offset += om * 60 }
            if expect(58) { guard let os = digits(2) else { return nil }; offset += os }
            seconds -= sign * offset
        }
        var y = year
        if i + 3 <= n, bytes[i] == 32, bytes[i + 1] == 66, bytes[i + 2] == 67 { y = 1 - year; i += 3 }
        guard i == n else { return nil }
        let total = Int64(days(year: y, month: month, day: day)) * 86_400 + Int64(seconds)
        return total * 1_000_000 + Int64(micros)
    }
}
