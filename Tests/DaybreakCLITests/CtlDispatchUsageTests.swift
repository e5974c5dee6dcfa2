import Base
import Foundation
import Testing

/// `daybreak ctl dispatch` without a cluster: the command line is validated before anything is
/// sent (64 with the usage, naming the item), and an unreachable cluster is 69. The commands
/// against a running region are in Tests/DaybreakNodeTests/CtlDispatchTests.swift.
@Suite struct CtlDispatchUsageTests {
    /// A database that cannot be reached: a wrong command line must fail before trying it.
    static let nowhere = ["--database", "host=/nonexistent-daybreak-socket-dir port=1"]

    @Test(arguments: [
        (["square"], "missing VERB"),
        (["square", "bogus", "o1"], "unknown verb 'bogus'"),
        (["square", "assign", "o1"], "assign: missing COURIER"),
        (["square", "assign", "o1", "truck:7"], "malformed COURIER 'truck:7'"),
        (["square", "reassign", "o1", "rider:"], "malformed COURIER 'rider:'"),
        (["square", "lock", "v1"], "malformed COURIER 'v1'"),
        (["square", "hold", "o1", "o2"], "hold: unexpected extra argument 'o2'"),
        (["square", "replan", "now"], "replan: unexpected extra argument 'now'"),
        (["square", "cancel", "o1", "--reason", "whim"], "--reason must be one of"),
        (["square", "hold", "o1", "--reason", "customerRequest"], "option '--reason' does not apply to 'hold'"),
        (["square", "orders", "--state", "lost"], "unknown state 'lost'"),
        (["square", "orders", "--key", "k"], "option '--key' does not apply to 'orders'"),
        (["square", "hold", "o1", "--at", "tomorrow"], "--at expects ISO-8601"),
        (["square", "manifest", "vehicle:v1", "--utc-offset", "+9h"], "--utc-offset expects"),
        (["square", "orders", "--frobnicate"], "unknown option '--frobnicate'"),
    ])
    func badCommandLinesExit64NamingTheItem(_ args: [String], _ message: String) throws {
        let r = try CLIProcess.run(["ctl", "dispatch"] + args + Self.nowhere)
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(r.stderr.contains("usage: daybreak ctl dispatch REGION VERB"))
    }

    @Test func helpListsTheVerbsAndExitStatuses() throws {
        let r = try CLIProcess.run(["ctl", "dispatch", "--help"])
        #expect(r.status == 0)
        for verb in ["assign", "reassign", "unassign", "hold", "release", "cancel", "lock", "unlock", "replan", "orders", "manifest"] {
            #expect(r.stdout.contains("\n  \(verb) "), "\(verb)")
        }
        for status in ["64", "65", "69"] { #expect(r.stdout.contains("\n  \(status)  ")) }
        #expect(try CLIProcess.run(["ctl", "--help"]).stdout.contains("\n  dispatch "))
    }

    @Test(arguments: [["square", "hold", "o1"], ["square", "orders", "--json"], ["square", "manifest", "rider:r1", "--at", "2024-03-04T10:00:00+09:00"]])
    func anUnreachableClusterExits69(_ args: [String]) throws {
        let r = try CLIProcess.run(["ctl", "dispatch"] + args + Self.nowhere + ["--timeout-ms", "2000"])
        #expect(r.status == 69, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("square: cluster unreachable: "), "\(r.stderr)")
    }
}
