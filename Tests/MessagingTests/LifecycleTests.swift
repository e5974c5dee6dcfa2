import Testing
import Base
@testable import Messaging

@Suite struct LifecycleTests {
    @Test func shutdownWithRequestsInFlightFailsThemAndDoesNotHang() async throws {
        let ctx = try MessagingContext(logger: testLogger)
        let server = try await ctx.bindServer("tcp://127.0.0.1:*")  // never replies
        let dead = try await ctx.connectClient("tcp://127.0.0.1:1")  // nobody there
        let client = try await ctx.connectClient(server.endpoint)
        let pub = try await ctx.bindPublisher("inproc://bye")
        let sub = try await ctx.connectSubscriber(pub.endpoint, topics: [[]])
        try await withThrowingTaskGroup(of: MessagingError.Code?.self) { group in
            for i in 0..<100 {
                let c = i % 2 == 0 ? client : dead
                group.addTask { await errorCode { try await c.request(Message("wait"), timeout: .seconds(60)) } }
            }
            group.addTask {
                for await _ in sub.messages {}
                return .shutdown  // the sequence ended
            }
            group.addTask {
                for await _ in server.requests {}
                return .shutdown
            }
            #expect(await eventually {
                client.shared.pendingRequests.load(ordering: .relaxed) == 50
                    && dead.shared.pendingRequests.load(ordering: .relaxed) == 50
            })
            let start = ContinuousClock.now
            await ctx.shutdown()
            // Not a hang: well under the requests' own deadlines (generous for a loaded CI machine).
            #expect(ContinuousClock.now - start < .seconds(8))
            var codes: [MessagingError.Code?] = []
            for try await c in group { codes.append(c) }
            #expect(codes.count == 102)
            #expect(codes.allSatisfy { $0 == .shutdown })
        }
        // After shutdown everything fails fast with .shutdown.
        #expect(await errorCode { try await client.request(Message("late"), timeout: .seconds(5)) } == .shutdown)
        #expect(await errorCode { try await ctx.bindServer("inproc://after") } == .shutdown)
        await ctx.shutdown()  // idempotent
    }

    @Test func invalidEndpointsGiveTypedErrors() async throws {
        try await withMessagingContext(logger: testLogger) { ctx in
            #expect(await errorCode { try await ctx.bindServer("bogus://nowhere") } == .invalidEndpoint)
            #expect(await errorCode { try await ctx.bindServer("tcp://127.0.0.1") } == .invalidEndpoint)
            #expect(await errorCode { try await ctx.connectClient("not an endpoint") } == .invalidEndpoint)
            do throws(MessagingError) {
                _ = try await ctx.bindPublisher("nope://x")
                Issue.record("bound an invalid endpoint")
            } catch {
                #expect(error.code == .invalidEndpoint)
                #expect(error.errno != nil)
                #expect(error.message.contains("nope://x"))
            }
            let first = try await ctx.bindServer("tcp://127.0.0.1:*")
            #expect(await errorCode { try await ctx.bindServer(first.endpoint) } == .bindFailed)
            var bad = SocketOptions()
            bad.outboxCapacity = 0
            #expect(await errorCode { try await ctx.connectClient("inproc://x", options: bad) } == .invalidArgument)
        }
    }

    @Test func closingASocketEndsItsSequenceAndFailsItsSends() async throws {
        try await withMessagingContext(logger: testLogger) { ctx in
            let server = try await ctx.bindServer("inproc://closing")
            await server.close()
            var it = server.requests.makeAsyncIterator()
            #expect(await it.next() == nil)
            do throws(MessagingError) {
                try server.reply(to: ReplyAddress(routingID: [1], correlationID: 1), Message("x"))
                Issue.record("reply on a closed server succeeded")
            } catch {
                #expect(error.code == .shutdown)
            }
        }
    }
}

@Suite struct RaceTests {
    /// Replies, cancellations and deadlines race for the same requests: each request ends exactly
    /// once (a double resume would crash), with its own reply or a typed error.
    @Test func cancellationsRepliesAndDeadlinesRacingEndEachRequestOnce() async throws {
        try await withMessagingContext(logger: testLogger) { ctx in
            let server = try await ctx.bindServer("inproc://races")
            let client = try await ctx.connectClient(server.endpoint)
            try await withThrowingTaskGroup(of: Void.self) { serving in
                serving.addTask { try await server.serve { $0.message } }
                let outcomes = await withTaskGroup(of: String.self) { group in
                    for i in 0..<2_000 {
                        group.addTask {
                            let task = Task {
                                do throws(MessagingError) {
                                    let r = try await client.request(Message("\(i)"), timeout: .milliseconds(i % 3 == 0 ? 1 : 2_000))
                                    return r == Message("\(i)") ? "ok" : "wrong"
                                } catch {
                                    return "\(error.code)"
                                }
                            }
                            if i % 2 == 0 { task.cancel() }
                            return await task.value
                        }
                    }
                    var counts: [String: Int] = [:]
                    for await o in group { counts[o, default: 0] += 1 }
                    return counts
                }
                #expect(outcomes.values.reduce(0, +) == 2_000)
                #expect(outcomes["wrong"] == nil)
                #expect(Set(outcomes.keys).isSubset(of: ["ok", "cancelled", "timeout"]))
                #expect((outcomes["ok"] ?? 0) > 0)
                #expect(await eventually { client.stats.pendingRequests == 0 && client.stats.outboxed == 0 })
                await server.close()
                try await serving.waitForAll()
            }
        }
    }
}
