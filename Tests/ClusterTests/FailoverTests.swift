import Base
import Distributed
import Synchronization
import Foundation
import Messaging
import Storage
import Testing
@testable import Cluster

/// Multi-process failover against real PostgreSQL and ZeroMQ: three `daybreak node` processes
/// own Regions/seoul.json's six regions; a `ClusterClient` in the test process calls their
/// journaled counters. Serialized: each test runs 3+ processes on a 2-core machine.
extension NodeProcessSuites {
    @Suite struct FailoverTests {
        typealias Cluster = NodeCluster

        /// One command per (counter, i): key, amount.
        struct Sent: Hashable { var counter: String; var region: String; var key: String; var amount: Int64 }

        static func commands(perRegion counters: Int, each: Int, tag: String) -> [Sent] {
            var out: [Sent] = []
            for region in Cluster.regions {
                for c in 0..<counters {
                    for i in 0..<each {
                        out.append(Sent(counter: "\(tag)-\(region)-\(c)", region: region, key: "\(tag)-\(region)-\(c)-\(i)", amount: Int64(i + 1)))
                    }
                }
            }
            return out
        }

        /// The arguments of `counter.apply` as the actor system encodes them (one value per argument).
        static func applyArguments(_ amount: Int64, key: String) throws -> [UInt8] {
            var e = ClusterInvocationEncoder()
            try e.recordArgument(RemoteCallArgument(label: nil, name: "command", value: CounterState.Command(amount: amount)))
            try e.recordArgument(RemoteCallArgument(label: "idempotencyKey", name: "idempotencyKey", value: key))
            return e.payload
        }

        @Test func aKilledNodesRegionsAndActorsComeBackWithEveryAcknowledgedCommandExactlyOnce() async throws {
            try await Cluster.with(["n1", "n2", "n3"]) { cluster in
                try await cluster.waitForBalance(over: ["n1", "n2", "n3"])
                let sent = Self.commands(perRegion: 2, each: 5, tag: "k")
                var acked: [String: Int64] = [:]
                for s in sent {
                    let (ack, _) = try await cluster.client.addToCounter(s.counter, region: s.region, amount: s.amount, commandKey: s.key)
                    #expect(!ack.duplicate)
                    acked[s.key] = ack.seq
                }
                // A retry with a used key is answered with the original result (the callee's reply cache, or
                // the journal's key) and changes nothing.
                let again = try await cluster.client.addToCounter(sent[0].counter, region: sent[0].region, amount: 99, commandKey: sent[0].key)
                #expect(again.0.seq == acked[sent[0].key])
                #expect(try await cluster.client.counterState(sent[0].counter, region: sent[0].region).0.state.applied == 5)

                let before = try await cluster.owners()
                let victim = before["gangnam"]!.owner
                let victimRegions = Set(before.filter { $0.value.owner == victim }.keys)
                let killedAt = ContinuousClock.now
                cluster.nodes[victim]!.signal(SIGKILL)
                let live = Set(["n1", "n2", "n3"]).subtracting([victim])

                // Within TTL + margin, every region is owned by a live node again, with a newer token.
                try await cluster.waitUntil("the killed node's regions owned by live nodes", within: .seconds(10)) {
                    let o = try await cluster.owners()
                    return Set(o.keys) == Set(Cluster.regions) && o.values.allSatisfy { live.contains($0.owner) }
                }
                let after = try await cluster.owners()
                for r in victimRegions { #expect(after[r]!.token > before[r]!.token) }

                // Its actors answer again, restored from the journal.
                let expected = Dictionary(grouping: sent, by: \.counter)
                for (counter, cmds) in expected {
                    let (state, _) = try await cluster.client.counterState(counter, region: cmds[0].region, timeout: .seconds(8))
                    #expect(state.state.total == cmds.map(\.amount).reduce(0, +), "\(counter)")
                    #expect(state.state.applied == Int64(cmds.count), "\(counter)")
                }
                let recovered = ContinuousClock.now - killedAt
                #expect(recovered < .seconds(10), "kill → all actors answering took \(recovered)")
                print("failover: kill -9 of \(victim) (\(victimRegions.sorted())) → every actor answering again in \(recovered)")

                // Every acknowledged command is in the journal exactly once.
                let keys = try await cluster.journalKeys()
                for (key, _) in acked { #expect(keys["t:" + key] == 1, "\(key)") }
                #expect(keys.count == sent.count)

                // Retries after the failover still deduplicate (the new activation replayed the keys).
                for s in sent where victimRegions.contains(s.region) {
                    let (ack, _) = try await cluster.client.addToCounter(s.counter, region: s.region, amount: s.amount, commandKey: s.key)
                    #expect(ack.duplicate && ack.seq == acked[s.key], "a new activation knows the key from the journal")
                }
                #expect(try await cluster.journalKeys().count == sent.count)
            }
        }

        @Test func sigtermHandsRegionsOverWithNoFailedCall() async throws {
            try await Cluster.with(["n1", "n2", "n3"]) { cluster in
                try await cluster.waitForBalance(over: ["n1", "n2", "n3"])
                let victim = try await cluster.owners()["east"]!.owner
                let client = cluster.client
                // A caller that never stops during the hand-over: each command gets up to 5 s (retries inside).
                let result = try await withThrowingTaskGroup(of: (acks: [String: Int64], errors: [String], maxAttempts: Int).self) { group in
                    let stop = Flag()
                    group.addTask {
                        var acks: [String: Int64] = [:], errors: [String] = [], maxAttempts = 0
                        var i = 0
                        while !stop.isSet || i < 60 {
                            let region = Cluster.regions[i % Cluster.regions.count]
                            let key = "g-\(i)"
                            do {
                                let (ack, report) = try await client.addToCounter("g-\(region)", region: region, amount: 1, commandKey: key,
                                                                                  timeout: .seconds(5))
                                acks[key] = ack.seq
                                maxAttempts = max(maxAttempts, report.attempts)
                            } catch { errors.append("\(key): \(error)") }
                            i += 1
                        }
                        return (acks, errors, maxAttempts)
                    }
                    try await cluster.waitUntil("some traffic", within: .seconds(5)) {
                        try await cluster.journalKeys().count >= 30
                    }
                    let termAt = ContinuousClock.now
                    cluster.nodes[victim]!.signal(SIGTERM)
                    let status = await cluster.nodes[victim]!.waitForExit(within: .seconds(8))
                    #expect(status == 0, "the node exits cleanly after handing over")
                    let row = try await cluster.connection.query("SELECT status FROM cluster_nodes WHERE id = $1", [victim], purpose: "status")
                    #expect(try row[0].decode(0, as: String.self) == "down", "a node that left marks itself down")
                    try await cluster.waitForBalance(over: Set(["n1", "n2", "n3"]).subtracting([victim]), within: .seconds(5))
                    print("graceful leave of \(victim): regions handed over \(ContinuousClock.now - termAt) after SIGTERM")
                    let n = try await cluster.journalKeys().count
                    try await cluster.waitUntil("traffic after the hand-over", within: .seconds(5)) {
                        try await cluster.journalKeys().count >= n + 30
                    }
                    // The node comes back: the others drain its share to it, again with no failed call.
                    try cluster.start(victim)
                    try await cluster.waitForBalance(over: ["n1", "n2", "n3"], within: .seconds(10))
                    let m = try await cluster.journalKeys().count
                    try await cluster.waitUntil("traffic after the rejoin", within: .seconds(5)) {
                        try await cluster.journalKeys().count >= m + 30
                    }
                    stop.set()
                    return try await group.next()!
                }
                #expect(result.errors.isEmpty, "\(result.errors.prefix(5))")
                let keys = try await cluster.journalKeys()
                for (key, _) in result.acks { #expect(keys["t:" + key] == 1, "\(key)") }
                #expect(keys.count == result.acks.count)
            }
        }

        @Test func aNodeWhoseDatabaseConnectionsAreKilledReconnectsAndTheClusterConverges() async throws {
            try await Cluster.with(["n1", "n2", "n3"]) { cluster in
                try await cluster.waitForBalance(over: ["n1", "n2", "n3"])
                _ = try await cluster.client.addToCounter("db-1", region: "east", amount: 2, commandKey: "db-before")
                let owner = try await cluster.owners()["east"]!.owner
                let killed = try await cluster.connection.query(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
                    ["daybreak-node-\(owner)"], purpose: "terminate the node's connections")
                #expect(try killed[0].decode(0, as: Int64.self) >= 1)
                // Its next statements fail once with connectionLost, then reconnect; whatever it lost
                // meanwhile (a renewal) it gets back through the plan.
                _ = try await cluster.client.addToCounter("db-1", region: "east", amount: 3, commandKey: "db-after")
                try await cluster.waitForBalance(over: ["n1", "n2", "n3"], within: .seconds(10))
                let state = try await cluster.client.counterState("db-1", region: "east")
                #expect(state.0.state.total == 5 && state.0.state.applied == 2)
            }
        }

        /// With `localFence` the node's own lease check (clock estimate) refuses first (`notOwner`); without
        /// it (fault injection) the stale write reaches the database, which fences it. Either way nothing lands.
        @Test(arguments: [false, true])
        func aPausedNodeResumedPastItsLeaseCannotWriteAndStepsDown(localFence: Bool) async throws {
            try await Cluster.with(["n1", "n2", "n3"], extra: localFence ? [] : ["--chaos-skip-local-fence"]) { cluster in
                try await cluster.waitForBalance(over: ["n1", "n2", "n3"])
                let region = "south"
                let (first, _) = try await cluster.client.addToCounter("p-1", region: region, amount: 5, commandKey: "p-before")
                #expect(first.seq == 1)
                try await cluster.client.ownership.refresh()
                let (address, oldToken) = try #require(cluster.client.ownership.lease(ofRegion: region))
                let victim = address.id
                let endpoint = address.endpoint

                cluster.nodes[victim]!.signal(SIGSTOP)
                try await cluster.waitUntil("\(region) taken over while \(victim) is paused", within: .seconds(10)) {
                    guard let o = try await cluster.owners()[region] else { return false }
                    return o.owner != victim
                }
                // The paused node still believes in its lease. A call queued to it now is handled the moment it
                // resumes; with the local check disabled, only the journal stands between it and a stale write.
                let reply = try await withMessagingContext(logger: ClusterTestDatabase.logger) { ctx in
                    let c = try await ctx.connectClient(endpoint)
                    let frame = try WireCodec().encode(.call(CallMessage(
                        correlation: 1, deadlineMillis: 8_000, actor: ActorIdentity(kind: "counter", key: "p-1", region: region),
                        target: "counter.apply", idempotencyKey: .text("p-stale"), payload: try Self.applyArguments(1000, key: "p-stale"))))
                    async let answer = c.request(Message(frame), timeout: .seconds(8))
                    // Resume only once libzmq holds the request (it reaches the node when the handshake completes).
                    let queuedBy = ContinuousClock.now + .seconds(5)
                    while !(c.stats.pendingRequests == 1 && c.stats.outboxed == 0) && ContinuousClock.now < queuedBy {
                        try await Task.sleep(for: .milliseconds(5))
                    }
                    cluster.nodes[victim]!.signal(SIGCONT)
                    let m = try await answer
                    await c.close()
                    return try WireCodec().decode(m.first)
                }
                guard case let .errorReply(_, code, message) = reply else {
                    Issue.record("the stale node answered \(reply) instead of failing")
                    return
                }
                #expect(code == (localFence ? .notOwner : .fenced), "\(message)")

                // The database itself rejects the old token.
                let rows = try await cluster.connection.query(ClusterSchema.appendEvent,
                    ["south", "counter", "p-1", Int64(2), "Added", [UInt8](), "t:p-direct", Int64(oldToken.value), victim], purpose: "stale append")
                #expect(try rows[0].decode(0, as: Bool.self) == false)
                let keys = try await cluster.journalKeys()
                #expect(keys["t:p-stale"] == nil && keys["t:p-direct"] == nil)

                // It stepped down and came back as a new incarnation; the cluster converges again.
                try await cluster.waitForBalance(over: ["n1", "n2", "n3"], within: .seconds(10))
                let state = try await cluster.client.counterState("p-1", region: region)
                #expect(state.0.state.total == 5 && state.0.state.applied == 1)
                if !localFence { #expect(cluster.nodes[victim]!.logText.contains("fenced a write")) }
                #expect(cluster.nodes[victim]!.logText.contains("stopped serving \(region)"))
            }
        }
    }
}

/// A one-way flag shared between tasks.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
