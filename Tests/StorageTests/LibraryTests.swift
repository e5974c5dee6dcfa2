import Testing
@testable import Storage

@Suite struct LibraryTests {
    @Test func linkedLibpqIsVersionTwelveOrLater() {
        let major = Int(PostgresClient.libpqVersion.split(separator: ".").first ?? "") ?? 0
        #expect(major >= 12)
    }
}
