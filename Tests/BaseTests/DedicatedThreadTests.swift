import Base
import Foundation
import Testing

@Suite struct DedicatedThreadTests {
    struct Boom: Error, Equatable { var code: Int }

    @Test func theBodysResultReachesTheCaller() async throws {
        let sum = try await onDedicatedThread(name: "db-test") { () throws(Boom) -> Int in (1 ... 1_000).reduce(0, +) }
        #expect(sum == 500_500)
    }

    @Test func aThrownErrorReachesTheCallerTyped() async {
        do {
            _ = try await onDedicatedThread(name: "daybreak-test-throw") { () throws(Boom) -> Int in throw Boom(code: 7) }
            Issue.record("no error")
        } catch {
            #expect(error == Boom(code: 7))
        }
    }
}
