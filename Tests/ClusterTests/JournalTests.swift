import Base
import Foundation
import Storage
import Synchronization
import Testing
@testable import Cluster

/// The journal and `JournaledEntity` against a real PostgreSQL: fencing, idempotency, snapshots,
/// recovery. Skips without a server; fails under DAYBREAK_TEST_REQUIRE_POSTGRES=1.
@Suite(.serialized) struct JournalTests {
    /// A pool on a fresh migrated schema with region "gangnam" leased to node "a" (token 1).
    static func withJournal(sourceLocation: SourceLocation = #_sourceLocation,
                            _ body: (Journal, PostgresConnection) async throws -> Void) async throws {
        let schema = "t_journal_\(UInt32.random(in: 0 ... .max))_\(ProcessInfo.processInfo.processIdentifier)"
        let c: PostgresConnection
        do { c = try await PostgresConnection.connect(PostgresConfiguration(""), logger: ClusterTestDatabase.logger) } catch {
            if ClusterTestDatabase.required { Issue.record("PostgreSQL required but unreachable: \(error)", sourceLocation: sourceLocation) }
            else { print("note: skipping a journal test, PostgreSQL unreachable") }
            return
        }
        let migrations = ClusterSchema.migrations.map { Migration(Int64($0.version), $0.name, sql: $0.sql) }
        _ = try await Migrator(migrations, schema: schema, logger: ClusterTestDatabase.logger).migrate(c)
        try await c.executeScript("SET search_path TO \(schema)", purpose: "use schema")
        try await c.execute(ClusterSchema.ensureRegion, ["gangnam"], purpose: "seed")
        _ = try await c.query(ClusterSchema.acquireLease, ["gangnam", "a", Int64(0), Int64(60_000)], purpose: "lease")
        let pool = PostgresPool(PostgresConfiguration("").withSearchPath(schema), size: 2, logger: ClusterTestDatabase.logger)
        var failure: (any Error)?
        do { try await body(Journal(pool: pool, node: "a"), c) } catch { failure = error }
        await pool.close()
        _ = try? await c.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE", purpose: "drop")
        await c.close()
        if let failure { throw failure }
    }

    static let counter = ActorIdentity(kind: "counter", key: "c-1", region: "gangnam")

    @Test func appendsAreFencedIdempotentAndOrdered() async throws {
        try await Self.withJournal { journal, c in
            let id = Self.counter
            #expect(try await journal.append(id, seq: 1, type: "Added", payload: [1], idempotencyKey: "t:k1", token: FencingToken(1)) == .appended(seq: 1))
            #expect(try await journal.append(id, seq: 2, type: "Added", payload: [9], idempotencyKey: "t:k1", token: FencingToken(1)) == .duplicate(seq: 1))
            await #expect(throws: JournalError.self) {
                try await journal.append(id, seq: 1, type: "Added", payload: [2], idempotencyKey: "t:k2", token: FencingToken(1))
            }
            do {
                _ = try await journal.append(id, seq: 2, type: "Added", payload: [2], idempotencyKey: "t:k2", token: FencingToken(7))
                Issue.record("a stale token was accepted")
            } catch let e as JournalError {
                #expect(e.code == .fenced)
            }
            let r = try await journal.recover(id)
            #expect(r.snapshot == nil && r.events.map(\.seq) == [1] && r.events[0].idempotencyKey == "t:k1" && r.events[0].token == FencingToken(1))
        }
    }

    @Test func stateIsAFoldOfTheJournalAndSurvivesANewActivation() async throws {
        try await Self.withJournal { journal, c in
            let fencedCalls = Mutex(0)
            func activation(_ token: UInt64 = 1, mayWrite: Bool = true) -> JournaledEntity<CounterState> {
                JournaledEntity(identity: Self.counter, token: FencingToken(token), journal: journal, mayWrite: { mayWrite },
                                onFenced: { fencedCalls.withLock { $0 += 1 } })
            }
            let first = activation()
            for (i, amount) in [5, 7, -2].enumerated() {
                let ack = try await first.handle(.init(amount: Int64(amount)), idempotencyKey: "t:c\(i)")
                #expect(ack.seq == Int64(i + 1) && !ack.duplicate)
            }
            // A command the state machine rejects writes nothing.
            await #expect(throws: CounterState.Rejected.self) { try await first.handle(.init(amount: 0), idempotencyKey: "t:bad") }
            try await first.snapshot()
            #expect(try await first.handle(.init(amount: 100), idempotencyKey: "t:c3").seq == 4)

            // A new activation: snapshot (seq 3) + event 4.
            let second = activation()
            let restored = try await second.read()
            #expect(restored.state == CounterState(total: 110, applied: 4) && restored.seq == 4)
            // A retry of a command journaled before the snapshot: the database knows the key.
            let dup = try await second.handle(.init(amount: 5), idempotencyKey: "t:c0")
            #expect(dup.duplicate && dup.seq == 1 && dup.state.total == 110)
            #expect(try await journal.recover(Self.counter).snapshot?.seq == 3)

            // Not serving any more: refused before the database, nothing written.
            await #expect(throws: JournalError.self) { try await activation(mayWrite: false).handle(.init(amount: 1), idempotencyKey: "t:x") }
            // A stale token that the node still believes in: the database fences it and the node is told.
            try await c.execute(ClusterSchema.releaseLease, ["gangnam", "a", Int64(1)], purpose: "release")
            _ = try await c.query(ClusterSchema.acquireLease, ["gangnam", "a", Int64(1), Int64(60_000)], purpose: "re-acquire (token 2)")
            do {
                _ = try await second.handle(.init(amount: 1), idempotencyKey: "t:late")
                Issue.record("a write under token 1 was accepted after token 2 was issued")
            } catch let e as JournalError {
                #expect(e.code == .fenced)
            }
            #expect(fencedCalls.withLock { $0 } == 1)
            let third = activation(2)
            #expect(try await third.handle(.init(amount: 1), idempotencyKey: "t:late").seq == 5)
            #expect(try await journal.recover(Self.counter).events.map(\.seq) == [4, 5])
        }
    }
}

extension JournalTests {
    @Test func snapshotsAreWrittenPeriodicallyAndOldRetriesAreNeverRejected() async throws {
        try await Self.withJournal { journal, _ in
            let first = JournaledEntity<CounterState>(identity: Self.counter, token: FencingToken(1), journal: journal,
                                                      mayWrite: { true }, snapshotEvery: 3)
            for i in 1 ... 7 { _ = try await first.handle(.init(amount: Int64(i)), idempotencyKey: "t:p\(i)") }
            #expect(try await journal.recover(Self.counter).snapshot?.seq == 6)
            // A fresh activation restores from the snapshot, so keys p1…p6 are not in its memory.
            let second = JournaledEntity<CounterState>(identity: Self.counter, token: FencingToken(1), journal: journal, mayWrite: { true })
            #expect(try await second.read().state == CounterState(total: 28, applied: 7))
            // A retry whose command the current state would reject is still answered as the original.
            let retry = try await second.handle(.init(amount: 0), idempotencyKey: "t:p2")
            #expect(retry.duplicate && retry.seq == 2)
            // A retry that the state would accept again is caught by the journal's unique key.
            let again = try await second.handle(.init(amount: 3), idempotencyKey: "t:p3")
            #expect(again.duplicate && again.seq == 3 && again.state.total == 28)
            #expect(try await journal.recover(Self.counter).events.map(\.seq) == [7])
            // A genuinely new invalid command is rejected.
            await #expect(throws: CounterState.Rejected.self) { try await second.handle(.init(amount: 0), idempotencyKey: "t:new") }
        }
    }

    @Test func recentKeysEvictTheOldestFirst() {
        var k = RecentKeys(capacity: 2)
        let early = [k.insert("a", 1), k.insert("b", 2), k.insert("a", 9)]
        #expect(early == [false, false, false])
        let evicted = k.insert("c", 3)
        #expect(evicted)
        #expect(k["a"] == nil && k["b"] == 2 && k["c"] == 3 && k.count == 2)
        let again = k.insert("d", 4)
        #expect(again && k["b"] == nil)
    }
}

extension CounterState {
    init(total: Int64, applied: Int64) { self.init(); self.total = total; self.applied = applied }
}

/// A counter whose events also write a side row (seq, total before the event) in the append's
/// transaction; an amount of 13 makes that write fail.
struct SideRowCounter: EventSourced, Hashable {
    static let kind = "counter"
    struct Unlucky: Error {}
    var counter = CounterState()
    init() {}
    func decide(_ command: CounterState.Command) throws -> CounterState.Event { try counter.decide(command) }
    mutating func apply(_ event: CounterState.Event) { counter.apply(event) }
    static func eventType(of event: CounterState.Event) -> String { "Added" }
    func alsoInTransaction(with event: CounterState.Event, of actor: ActorIdentity) -> Journal.AlsoInTransaction? {
        let before = counter.total, unlucky = event.amount == 13
        return { tx, seq in
            try await tx.execute("INSERT INTO side_rows (actor_key, seq, before) VALUES ($1, $2, $3)", [actor.key, seq, before],
                                 purpose: "side row")
            if unlucky { throw Unlucky() }
        }
    }
}

extension JournalTests {
    @Test func theTransactionalHookRunsOnlyForAnAppendedEventAndFailsItsTransaction() async throws {
        try await Self.withJournal { journal, c in
            try await c.executeScript("CREATE TABLE side_rows (actor_key text, seq bigint, before bigint, PRIMARY KEY (actor_key, seq))",
                                      purpose: "side table")
            func sideRows() async throws -> [[Int64]] {
                try await c.query("SELECT seq, before FROM side_rows ORDER BY seq", purpose: "side rows")
                    .map { [try $0.decode(0, as: Int64.self), try $0.decode(1, as: Int64.self)] }
            }
            let e = JournaledEntity<SideRowCounter>(identity: Self.counter, token: FencingToken(1), journal: journal, mayWrite: { true })
            #expect(try await e.handle(.init(amount: 5), idempotencyKey: "t:h1").seq == 1)
            #expect(try await e.handle(.init(amount: 7), idempotencyKey: "t:h2").seq == 2)
            #expect(try await sideRows() == [[1, 0], [2, 5]])
            // A duplicate (in memory, then one only the journal knows) writes nothing and runs no hook.
            #expect(try await e.handle(.init(amount: 5), idempotencyKey: "t:h1").duplicate)
            let calls = Mutex(0)
            let dup = try await journal.append(Self.counter, seq: 3, type: "Added", payload: [], idempotencyKey: "t:h2", token: FencingToken(1),
                                               alsoInTransaction: { _, _ in calls.withLock { $0 += 1 } })
            #expect(dup == .duplicate(seq: 2) && calls.withLock { $0 } == 0)
            // The hook throws: the event is rolled back with its side row; the error reaches the caller.
            await #expect(throws: SideRowCounter.Unlucky.self) { try await e.handle(.init(amount: 13), idempotencyKey: "t:h3") }
            #expect(try await journal.recover(Self.counter).events.map(\.seq) == [1, 2])
            #expect(try await sideRows() == [[1, 0], [2, 5]])
            #expect(try await e.handle(.init(amount: 1), idempotencyKey: "t:h4").seq == 3)
            // Fenced (stale token): neither the event nor the side row, and the hook is not run.
            try await c.execute(ClusterSchema.releaseLease, ["gangnam", "a", Int64(1)], purpose: "release")
            _ = try await c.query(ClusterSchema.acquireLease, ["gangnam", "a", Int64(1), Int64(60_000)], purpose: "re-acquire (token 2)")
            await #expect(throws: JournalError.self) {
                try await journal.append(Self.counter, seq: 4, type: "Added", payload: [], idempotencyKey: "t:h5", token: FencingToken(1),
                                         alsoInTransaction: { _, _ in calls.withLock { $0 += 1 } })
            }
            do {
                _ = try await e.handle(.init(amount: 2), idempotencyKey: "t:h6")
                Issue.record("a write under token 1 was accepted after token 2 was issued")
            } catch let err as JournalError {
                #expect(err.code == .fenced)
            }
            #expect(calls.withLock { $0 } == 0)
            #expect(try await sideRows() == [[1, 0], [2, 5], [3, 12]])
            #expect(try await journal.recover(Self.counter).events.map(\.seq) == [1, 2, 3])
        }
    }
}
