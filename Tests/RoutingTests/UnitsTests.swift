import Testing
@testable import Routing

@Suite struct UnitsTests {
    @Test func internalUnitsAreSixtyFourBit() {
        #expect(Distance.max == Int64.max)
    }
}
