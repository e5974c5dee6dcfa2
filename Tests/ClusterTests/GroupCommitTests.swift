import Base
import Foundation
import Storage
import Synchronization
import Testing
@testable import Cluster

/// Group commit of concurrent journal appends against a real PostgreSQL: many actors share round
/// trips, each event keeps its own outcome (fenced, duplicate, sequence conflict, appended), and
/// deadlines hold. Outcomes are checked against what the database holds afterwards.
@Suite(.serialized) struct GroupCommitTests {
    static func actor(_ key: String, region: String = "gangnam") -> ActorIdentity {
        ActorIdentity(kind: "counter", key: key, region: region)
    }

    /// Every event in the journal: actor key → [(seq, idempotency key, payload, token)], in seq order.
    static func stored(_ c: PostgresConnection) async throws -> [String: [(seq: Int64, key: String?, payload: [UInt8], token: Int64)]] {
        var out: [String: [(seq: Int64, key: String?, payload: [UInt8], token: Int64)]] = [:]
        for r in try await c.query("SELECT actor_key, seq, idempotency_key, payload, token FROM actor_events ORDER BY actor_key, seq",
                                   purpose: "read back") {
            out[try r.decode(0, as: String.self), default: []].append(
                (try r.decode(1, as: Int64.self), try r.decode(2, as: String?.self), try r.decode(3, as: [UInt8].self),
                 try r.decode(4, as: Int64.self)))
        }
        return out
    }

    /// Holds region `gangnam`'s lease row locked (FOR UPDATE) while `body` runs, so every fenced
    /// append to it waits: the first append's statement blocks and later ones queue behind it.
    static func holdingLease(_ c: PostgresConnection, _ body: () async throws -> Void) async throws {
        try await c.execute("BEGIN", purpose: "begin")
        _ = try await c.query("SELECT token FROM region_leases WHERE region = 'gangnam' FOR UPDATE", purpose: "lock lease")
        do { try await body() } catch { try await c.execute("ROLLBACK", purpose: "rollback"); throw error }
        try await c.execute("COMMIT", purpose: "release lease lock")
    }

    static func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
        let until = ContinuousClock.now + .seconds(20)
        while !condition() {
            guard ContinuousClock.now < until else { Issue.record("timed out waiting until \(what)"); return }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func concurrentActorsShareCommitsAndKeepTheirOrder() async throws {
        try await JournalTests.withJournal { base, c in
            let journal = Journal(pool: base.pool, node: "a", timeout: .seconds(20))
            let actors = 200, perActor = 10
            let outcomes = try await withThrowingTaskGroup(of: [Journal.Appended].self) { group in
                for a in 0 ..< actors {
                    group.addTask {
                        var got: [Journal.Appended] = []
                        for n in 1 ... perActor {   // seq n + 1 only after n was answered, as an actor does
                            got.append(try await journal.append(Self.actor("v-\(a)"), seq: Int64(n), type: "Moved", payload: [UInt8(a % 256), UInt8(n)],
                                                                idempotencyKey: "t:v-\(a)-\(n)", token: FencingToken(1)))
                        }
                        return got
                    }
                }
                var all: [[Journal.Appended]] = []
                for try await got in group { all.append(got) }
                return all
            }
            #expect(outcomes.count == actors)
            #expect(outcomes.allSatisfy { $0 == (1 ... perActor).map { .appended(seq: Int64($0)) } })
            let stored = try await Self.stored(c)
            #expect(stored.count == actors)
            for a in 0 ..< actors {
                let events = stored["v-\(a)"] ?? []
                #expect(events.map(\.seq) == (1 ... Int64(perActor)).map { $0 }, "actor v-\(a)")
                #expect(events.map(\.key) == (1 ... perActor).map { "t:v-\(a)-\($0)" })
                #expect(events.map(\.payload) == (1 ... perActor).map { [UInt8(a % 256), UInt8($0)] })
            }
            let stats = journal.stats
            #expect(stats.appends == actors * perActor)
            #expect(stats.roundTrips < actors * perActor, "group commit saved no round trip: \(stats)")
            #expect(stats.largestBatch > 1 && stats.largestBatch <= Journal.defaultMaxBatch)
            // A copy shares the counters; turned off, every append is its own round trip.
            #expect(journal.stats == stats)
            let off = Journal(pool: base.pool, node: "a", groupCommit: false)
            #expect(try await off.append(Self.actor("v-0"), seq: 11, type: "Moved", payload: [], idempotencyKey: nil, token: FencingToken(1)) == .appended(seq: 11))
            #expect(off.stats.roundTrips == 1 && off.stats.appends == 1)
        }
    }

    @Test func oneBatchGivesEachEventItsOwnOutcome() async throws {
        try await JournalTests.withJournal { base, c in
            try await c.execute(ClusterSchema.ensureRegion, ["seoul"], purpose: "seed")
            _ = try await c.query(ClusterSchema.acquireLease, ["seoul", "z", Int64(0), Int64(60_000)], purpose: "lease to another node")
            let journal = Journal(pool: base.pool, node: "a", timeout: .seconds(20))
            // Already journaled: b's key t:b1 at seq 1, c's seq 1.
            for k in ["b", "c"] {
                #expect(try await journal.append(Self.actor(k), seq: 1, type: "Moved", payload: [1], idempotencyKey: "t:\(k)1",
                                                 token: FencingToken(1)) == .appended(seq: 1))
            }
            let odd = "q\"\\{,} \u{00e9}NULL"
            let allBytes = (0 ... 255).map { UInt8($0) }
            // name, actor, seq, idempotency key, token, payload
            let writes: [(String, ActorIdentity, Int64, String?, UInt64, [UInt8])] = [
                ("ok", Self.actor("a"), 1, "t:a1", 1, [7]),
                ("stale token", Self.actor("f"), 1, "t:f1", 7, [7]),
                ("duplicate key", Self.actor("b"), 2, "t:b1", 1, [9]),
                ("seq taken", Self.actor("c"), 1, "t:c-new", 1, [9]),
                ("other node's region", Self.actor("s", region: "seoul"), 1, nil, 1, [9]),
                ("odd text", Self.actor(odd), 1, "t:" + odd, 1, allBytes),
                ("no key", Self.actor("d"), 1, nil, 1, []),
            ]
            let before = journal.stats
            var results: [String: Result<Journal.Appended, JournalError>] = [:]
            try await Self.holdingLease(c) {
                try await withThrowingTaskGroup(of: (String, Result<Journal.Appended, JournalError>).self) { group in
                    func start(_ name: String, _ id: ActorIdentity, _ seq: Int64, _ key: String?, _ token: UInt64, _ payload: [UInt8]) {
                        group.addTask {
                            do {
                                return (name, .success(try await journal.append(id, seq: seq, type: "Moved", payload: payload,
                                                                                idempotencyKey: key, token: FencingToken(token))))
                            } catch let e as JournalError { return (name, .failure(e)) }
                        }
                    }
                    // The leader: its statement waits for the lease lock; the rest queue behind it.
                    start("leader", Self.actor("l"), 1, "t:l1", 1, [1])
                    try await Self.waitUntil("the leader is writing") { journal.stats.roundTrips == before.roundTrips + 1 }
                    try await Task.sleep(for: .milliseconds(100))
                    for w in writes { start(w.0, w.1, w.2, w.3, w.4, w.5) }
                    try await Self.waitUntil("all appends queued") { journal.stats.appends == before.appends + 1 + writes.count }
                    try await c.execute("COMMIT", purpose: "release lease lock")
                    try await c.execute("BEGIN", purpose: "begin again (holdingLease commits)")
                    for try await (name, r) in group { results[name] = r }
                }
            }
            // One round trip for the leader, one for the whole queued batch.
            #expect(journal.stats.roundTrips == before.roundTrips + 2)
            #expect(journal.stats.largestBatch == writes.count)
            #expect(try results["leader"]?.get() == .appended(seq: 1))
            #expect(try results["ok"]?.get() == .appended(seq: 1))
            #expect(try results["odd text"]?.get() == .appended(seq: 1))
            #expect(try results["no key"]?.get() == .appended(seq: 1))
            #expect(try results["duplicate key"]?.get() == .duplicate(seq: 1))
            func code(_ name: String) -> JournalError.Code? {
                if case .failure(let e)? = results[name] { return e.code } else { return nil }
            }
            #expect(code("stale token") == .fenced)
            #expect(code("other node's region") == .fenced)
            #expect(code("seq taken") == .sequenceConflict)
            // What the database holds.
            let stored = try await Self.stored(c)
            #expect(stored["f"] == nil && stored["s"] == nil)
            #expect(stored["a"]?.map(\.seq) == [1] && stored["d"]?.map(\.seq) == [1] && stored["l"]?.map(\.seq) == [1])
            #expect(stored["b"]?.map(\.seq) == [1] && stored["b"]?.first?.payload == [1])
            #expect(stored["c"]?.map(\.key) == ["t:c1"])
            #expect(stored[odd]?.first?.key == "t:" + odd && stored[odd]?.first?.payload == allBytes && stored[odd]?.first?.token == 1)
            #expect(stored["d"]?.first?.key == nil && stored["d"]?.first?.payload == [])
        }
    }

    @Test func aMissedDeadlineFailsOnlyItsBatchAndTheJournalGoesOn() async throws {
        try await JournalTests.withJournal { base, c in
            let journal = Journal(pool: base.pool, node: "a", timeout: .milliseconds(500))
            var deadlines = 0
            try await Self.holdingLease(c) {
                deadlines = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for k in 0 ..< 5 {
                        group.addTask {
                            do {
                                _ = try await journal.append(Self.actor("late-\(k)"), seq: 1, type: "Moved", payload: [], idempotencyKey: "t:late-\(k)",
                                                             token: FencingToken(1))
                                Issue.record("late-\(k) was answered while its region's lease row was locked")
                                return false
                            } catch is DeadlineExceeded {
                                return true
                            }
                        }
                        if k == 0 { try await Self.waitUntil("the leader is writing") { journal.stats.roundTrips == 1 } }
                    }
                    var n = 0
                    for try await late in group where late { n += 1 }
                    return n
                }
            }
            #expect(deadlines == 5)
            // Every statement sent waited on the lock and was cancelled at its deadline; queued
            // appends that expired were never sent.
            #expect(journal.stats.roundTrips >= 1 && journal.stats.roundTrips <= 5)
            #expect(try await Self.stored(c).isEmpty)
            // Leadership was not lost: the next appends are answered, concurrently too.
            try await withThrowingTaskGroup(of: Journal.Appended.self) { group in
                for k in 0 ..< 20 {
                    group.addTask {
                        try await journal.append(Self.actor("late-\(k)"), seq: 1, type: "Moved", payload: [], idempotencyKey: "t:late-\(k)",
                                                 token: FencingToken(1))
                    }
                }
                for try await r in group { #expect(r == .appended(seq: 1)) }
            }
            #expect(try await Self.stored(c).count == 20)
        }
    }
}
