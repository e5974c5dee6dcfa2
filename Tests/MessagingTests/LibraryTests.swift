import Testing
@testable import Messaging

@Suite struct LibraryTests {
    @Test func linkedLibzmqIsVersionFourOrLater() {
        let major = Int(ZeroMQ.version.split(separator: ".").first ?? "") ?? 0
        #expect(major >= 4)
    }
}
