import Testing
@testable import Geo

@Suite struct CoordinateTests {
    @Test func validityChecksRanges() {
        #expect(Coordinate(lat: 37.5665, lon: 126.978).isValid)
        #expect(!Coordinate(lat: 91, lon: 0).isValid)
        #expect(!Coordinate(lat: .nan, lon: 0).isValid)
    }
}
