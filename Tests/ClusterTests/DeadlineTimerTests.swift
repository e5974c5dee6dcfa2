@testable import Cluster
import Base
import Messaging
import Synchronization
import Testing

/// The one timer behind every bounded wait (`withDeadline`, a group commit's waiting append): a
/// deadline still ends a wait whose other side never answers, actions run no earlier than their
/// deadline, and a cancelled one never runs.
@Suite struct DeadlineTimerTests {
    /// Waits (polling, with its own deadline) until `condition` holds.
    static func waitUntil(_ what: String, within: Duration = .seconds(10), _ condition: () -> Bool) async throws {
        let until = ContinuousClock.now + within
        while !condition() {
            guard ContinuousClock.now < until else { Issue.record("not within \(within): \(what)"); return }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func actionsRunAtTheirDeadlinesAndCancelledOnesNever() async throws {
        let timer = DeadlineTimer()
        let start = ContinuousClock.now
        let fired = Mutex<[(Int, Duration)]>([])
        var tickets: [DeadlineTimer.Ticket] = []
        var g = SystemRandomNumberGenerator()
        let delays = (0 ..< 200).map { _ in Int.random(in: 1 ... 300, using: &g) }
        for (i, ms) in delays.enumerated() {
            tickets.append(timer.schedule(after: .milliseconds(ms)) { fired.withLock { $0.append((i, ContinuousClock.now - start)) } })
        }
        // Every third one is cancelled before it can run (the earliest possible deadline is 1 ms away, so
        // some of those may have run already: cancel says which).
        var cancelled: Set<Int> = []
        for i in stride(from: 0, to: delays.count, by: 3) where timer.cancel(tickets[i]) { cancelled.insert(i) }
        #expect(cancelled.count > 50)
        try await Self.waitUntil("all uncancelled actions ran") { fired.withLock { $0.count } == delays.count - cancelled.count }
        let got = fired.withLock { $0 }
        #expect(Set(got.map(\.0)).isDisjoint(with: cancelled), "a cancelled action ran")
        #expect(Set(got.map(\.0)).count == got.count, "an action ran twice")
        for (i, at) in got { #expect(at >= .milliseconds(delays[i]), "action \(i) ran after \(at), before its \(delays[i]) ms") }
        #expect(timer.pending == 0)
        #expect(timer.fired == got.count)
        // A ticket that ran cannot be cancelled any more.
        let ran = got[0].0
        #expect(!timer.cancel(tickets[ran]))
    }

    @Test func anEarlierDeadlineWakesTheSleepingTimer() async throws {
        let timer = DeadlineTimer()
        let late = Atomic<Bool>(false), early = Atomic<Bool>(false)
        _ = timer.schedule(after: .seconds(600)) { late.store(true, ordering: .relaxed) }
        try await Self.waitUntil("the timer sleeps") { timer.pending == 1 }
        let start = ContinuousClock.now
        _ = timer.schedule(after: .milliseconds(20)) { early.store(true, ordering: .relaxed) }
        // Bounds far above the deadline (a busy test machine can hold the cooperative pool for many
        // seconds), far below the 600 s the thread would sleep without being woken.
        try await Self.waitUntil("the 20 ms action ran", within: .seconds(120)) { early.load(ordering: .relaxed) }
        #expect(ContinuousClock.now - start < .seconds(120))
        let lateRan = late.load(ordering: .relaxed)
        #expect(!lateRan)
    }

    @Test func withDeadlineEndsAWaitThatNeverAnswers() async throws {
        let start = ContinuousClock.now
        do {
            _ = try await withDeadline(.milliseconds(150), "a silent peer") { () async throws -> Int in
                try await Task.sleep(for: .seconds(600))   // honours cancellation, like Storage and Messaging
                return 1
            }
            Issue.record("no DeadlineExceeded")
        } catch let e as DeadlineExceeded {
            #expect(e.what == "a silent peer")
        }
        let took = ContinuousClock.now - start
        #expect(took >= .milliseconds(150))
        #expect(took < .seconds(120), "the deadline of 150 ms ended the wait after \(took)")   // generous: a busy machine
    }

    @Test func withDeadlinePassesValuesErrorsAndCancellationThrough() async throws {
        #expect(try await withDeadline(.seconds(5), "quick") { 42 } == 42)
        struct Boom: Error {}
        await #expect(throws: Boom.self) { try await withDeadline(.seconds(5), "fails") { () async throws -> Int in throw Boom() } }
        // The caller's cancellation reaches the body (and is not reported as a deadline).
        let task = Task {
            try await withDeadline(.seconds(60), "cancelled") { () async throws -> Int in
                try await Task.sleep(for: .seconds(60))
                return 1
            }
        }
        task.cancel()
        let r = await task.result
        guard case .failure(let e) = r else { Issue.record("a cancelled wait returned a value"); return }
        #expect(e is CancellationError, "got \(e)")
    }

    /// A request to a peer that never replies fails with `.timeout` at its deadline (the I/O
    /// thread's own deadline heap), not later and not never.
    @Test func aRequestToASilentPeerFailsAtItsDeadline() async throws {
        let context = try MessagingContext(logger: Logger(label: "deadline-test", level: .warning))
        let server = try await context.bindServer("tcp://127.0.0.1:*")   // bound, never served
        let client = try await context.connectClient(server.endpoint)
        let start = ContinuousClock.now
        do {
            _ = try await client.request(Message([1, 2, 3]), timeout: .milliseconds(200))
            Issue.record("a silent peer answered")
        } catch {
            #expect(error.code == .timeout, "got \(error)")
        }
        let took = ContinuousClock.now - start
        #expect(took >= .milliseconds(200) && took < .seconds(120), "took \(took)")   // generous: a busy machine
        await client.close()
        await server.close()
        await context.shutdown()
    }
}
