import Geo
@testable import Fleet

/// 2024-03-04 (a Monday) as a Seoul local day.
let monday = Instant(epochSeconds: 1_709_478_000).localDay(.seoul)   // 2024-03-04T00:00+09:00
func seoul(_ day: LocalDay, _ h: Int64, _ m: Int64 = 0, _ s: Int64 = 0) -> Instant { .local(day, Time.hm(h, m) + s, .seoul) }
let gangnam: RegionID = "gangnam"
let config = ProductConfig(region: gangnam)

struct TestRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
