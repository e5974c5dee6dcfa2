import Testing
@testable import Fleet

@Suite struct FleetTests {
    @Test func schemaVersionIsSet() { #expect(FleetDomain.schemaVersion >= 1) }
}
