import Base
import Foundation
import Testing

@Suite struct CLITests {
    @Test func helpListsTheCommandsAndExitsZero() throws {
        let r = try CLIProcess.run(["--help"])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("usage: daybreak COMMAND"))
        for name in ["version", "solve", "bench"] { #expect(r.stdout.contains("\n  \(name) ")) }
    }

    @Test func versionPrintsTheLinkedLibraries() throws {
        let r = try CLIProcess.run(["version", "--json"])
        #expect(r.status == 0)
        let v = try JSONValue.parse(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(v["daybreak"]?.stringValue == DaybreakVersion.string)
        #expect(v["libzmq"]?.stringValue?.hasPrefix("4.") == true)
        #expect(v["libpq"]?.stringValue?.isEmpty == false)
    }

    @Test(arguments: [["bogus"], ["version", "--bogus"], ["version", "extra"], ["bench"], ["bench", "nope"], []])
    func wrongArgumentsPrintUsageToStderrAndExit64(_ args: [String]) throws {
        let r = try CLIProcess.run(args)
        #expect(r.status == 64)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("usage: "))
    }
}
