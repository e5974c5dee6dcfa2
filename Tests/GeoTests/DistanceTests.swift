import Foundation
import Testing
@testable import Geo

/// Spherical law of cosines: an independent formula to check haversine against.
func lawOfCosinesMetres(_ a: Coordinate, _ b: Coordinate) -> Double {
    let p1 = a.lat * .pi / 180, p2 = b.lat * .pi / 180, dl = (b.lon - a.lon) * .pi / 180
    let c = sin(p1) * sin(p2) + cos(p1) * cos(p2) * cos(dl)
    return GreatCircle.earthRadiusMetres * acos(min(1, max(-1, c)))
}

let cityHall = Coordinate(lat: 37.5663, lon: 126.9779)
let gangnamStation = Coordinate(lat: 37.4979, lon: 127.0276)
let busanStation = Coordinate(lat: 35.1152, lon: 129.0422)

@Suite struct DistanceTests {
    @Test func cityHallToGangnamStationAgreesWithLawOfCosines() {
        let h = GreatCircle.distanceMetres(cityHall, gangnamStation)
        let l = lawOfCosinesMetres(cityHall, gangnamStation)
        #expect(abs(h - l) < 0.01)
        // Computed, not assumed: ~8.78 km crow-fly (the brief's "about 8.9 km" is road-ish folklore).
        #expect(abs(h - 8_778) < 20)
    }

    @Test func seoulToBusanIsAboutThreeHundredTwentyKilometres() {
        let h = GreatCircle.distanceMetres(cityHall, busanStation)
        #expect(abs(h - lawOfCosinesMetres(cityHall, busanStation)) < 0.1)
        #expect((310_000...335_000).contains(h))
    }

    @Test func oneDegreeOfLatitudeIsAbout111Kilometres() {
        let d = GreatCircle.distanceMetres(Coordinate(lat: 37, lon: 127), Coordinate(lat: 38, lon: 127))
        #expect(abs(d - 111_195) < 5)
    }

    @Test func distanceIsSymmetricAndZeroToItself() {
        var g = TestRNG(seed: 7)
        for _ in 0..<500 {
            let a = g.seoulPoint(), b = g.seoulPoint()
            #expect(GreatCircle.distanceMetres(a, b) == GreatCircle.distanceMetres(b, a))
            #expect(GreatCircle.distanceMetres(a, a) == 0)
            #expect(abs(GreatCircle.distanceMetres(a, b) - lawOfCosinesMetres(a, b)) < 0.5)
        }
    }
}

/// A tiny seeded generator for tests (SplitMix64): no global randomness anywhere.
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
    /// A point in Seoul's bounding box.
    mutating func seoulPoint() -> Coordinate {
        Coordinate(lat: Double.random(in: 37.43...37.70, using: &self), lon: Double.random(in: 126.76...127.18, using: &self))
    }
}
