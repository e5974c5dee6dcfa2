import Testing
import Base
@testable import Messaging

@Suite struct PubSubTests {
    @Test func fanOutDeliversEverythingAfterSubscriptionAndOnlyMatchingTopics() async throws {
        try await withMessagingContext(logger: testLogger) { ctx in
            var roomy = SocketOptions()
            roomy.outboxCapacity = 20_000
            let pub = try await ctx.bindPublisher("tcp://127.0.0.1:*", options: roomy)
            let onlyA = try await ctx.connectSubscriber(pub.endpoint, topics: [bytes("a")])
            let onlyB = try await ctx.connectSubscriber(pub.endpoint, topics: [bytes("b")])
            let both = try await ctx.connectSubscriber(pub.endpoint, topics: [bytes("a"), bytes("b")])
            try await pub.waitForSubscribers(2, topic: bytes("a"), timeout: .seconds(5))
            try await pub.waitForSubscribers(2, topic: bytes("b"), timeout: .seconds(5))

            let n = 20_000
            var all: [Message] = []
            for i in 0..<n {
                let topic = i % 3 == 0 ? "c" : (i % 3 == 1 ? "a" : "b")
                all.append(Message(frames: [bytes(topic), bytes("\(i)")]))
            }
            for chunk in stride(from: 0, to: n, by: 1_000) {
                try pub.publish(contentsOf: Array(all[chunk..<min(n, chunk + 1_000)]))
            }
            func collect(_ s: Subscriber, _ expected: Int) async -> [Message] {
                var got: [Message] = []
                for await batch in s.messages {
                    got += batch
                    if got.count >= expected { break }
                }
                return got
            }
            let wantA = all.filter { $0.first == bytes("a") }
            let wantB = all.filter { $0.first == bytes("b") }
            let wantBoth = all.filter { $0.first != bytes("c") }
            async let gotA = collect(onlyA, wantA.count)
            async let gotB = collect(onlyB, wantB.count)
            async let gotBoth = collect(both, wantBoth.count)
            #expect(await gotA == wantA)
            #expect(await gotB == wantB)
            #expect(await gotBoth == wantBoth)
        }
    }

    @Test func waitForSubscribersTimesOutWithoutSubscribers() async throws {
        try await withMessagingContext(logger: testLogger) { ctx in
            let pub = try await ctx.bindPublisher("inproc://lonely")
            let code = await errorCode { try await pub.waitForSubscribers(1, timeout: .milliseconds(100)) }
            #expect(code == .timeout)
        }
    }

    @Test func aFullOutboxFailsAtOnceAndNothingAcceptedIsLost() async throws {
        try await withMessagingContext(logger: testLogger) { ctx in
            var small = SocketOptions()
            small.outboxCapacity = 50
            small.sendHighWaterMark = 10
            small.receiveHighWaterMark = 10
            small.receiveBufferLimit = 10
            let pub = try await ctx.bindPublisher("inproc://full", options: small)
            let sub = try await ctx.connectSubscriber(pub.endpoint, topics: [[]], options: small)
            try await pub.waitForSubscribers(1, timeout: .seconds(5))

            // Nobody reads: the subscriber buffer, both high-water marks, then the outbox fill up.
            var accepted = 0
            var failure: MessagingError? = nil
            let start = ContinuousClock.now
            while ContinuousClock.now - start < .seconds(5) {
                do throws(MessagingError) {
                    try pub.publish(Message("m\(accepted)"))
                    accepted += 1
                } catch {
                    failure = error
                    break
                }
            }
            #expect(failure?.code == .outboxFull)
            #expect(accepted >= 50 && accepted < 1_000, "accepted \(accepted) before outboxFull")
            // The failed call queued nothing, and every accepted message arrives, in order.
            var got: [Message] = []
            for await batch in sub.messages {
                got += batch
                if got.count >= accepted { break }
            }
            #expect(got == (0..<accepted).map { Message("m\($0)") })
            #expect(await eventually { pub.outboxCount == 0 })
            // Space again: publishing works.
            try pub.publish(Message("after"))
            var after: [Message] = []
            for await batch in sub.messages { after += batch; break }
            #expect(after == [Message("after")])
        }
    }

    @Test func subscribeAndUnsubscribeAtRunTime() async throws {
        try await withMessagingContext(logger: testLogger) { ctx in
            let pub = try await ctx.bindPublisher("inproc://dynamic")
            let sub = try await ctx.connectSubscriber(pub.endpoint, topics: [])
            try await sub.subscribe(bytes("x"))
            try await pub.waitForSubscribers(1, topic: bytes("x"), timeout: .seconds(5))
            try pub.publish(topic: bytes("y"), bytes("ignored"))
            try pub.publish(topic: bytes("x"), bytes("seen"))
            var it = sub.messages.makeAsyncIterator()
            let batch = await it.next()
            #expect(batch == [Message(frames: [bytes("x"), bytes("seen")])])
        }
    }
}

@Suite struct OutboxSpaceTests {
    @Test func aProducerThatWaitsForSpaceDeliversEverythingThroughASmallOutbox() async throws {
        try await withMessagingContext(logger: testLogger) { ctx in
            var small = SocketOptions()
            small.outboxCapacity = 64
            small.sendHighWaterMark = 16
            small.receiveHighWaterMark = 16
            small.receiveBufferLimit = 32
            let pub = try await ctx.bindPublisher("inproc://trickle", options: small)
            let sub = try await ctx.connectSubscriber(pub.endpoint, topics: [[]], options: small)
            try await pub.waitForSubscribers(1, timeout: .seconds(5))
            let n = 5_000
            try await withThrowingTaskGroup(of: [Message].self) { group in
                group.addTask {
                    var got: [Message] = []
                    for await b in sub.messages {
                        got += b
                        if got.count >= n { break }
                    }
                    return got
                }
                var fulls = 0
                var i = 0
                while i < n {
                    do throws(MessagingError) {
                        try pub.publish(Message("\(i)"))
                        i += 1
                    } catch {
                        #expect(error.code == .outboxFull)
                        fulls += 1
                        try await pub.waitForOutboxSpace(8)
                    }
                }
                let got = try await group.next()!
                #expect(got == (0..<n).map { Message("\($0)") })
                #expect(fulls > 0, "the outbox never filled, so waiting was not exercised")
            }
        }
    }

    @Test func waitingForSpaceFailsWithShutdownWhenTheSocketCloses() async throws {
        try await withMessagingContext(logger: testLogger) { ctx in
            var small = SocketOptions()
            small.outboxCapacity = 4
            small.sendHighWaterMark = 1
            small.receiveHighWaterMark = 1
            small.receiveBufferLimit = 1
            small.maxBatch = 1
            let pub = try await ctx.bindPublisher("inproc://stuck", options: small)
            let sub = try await ctx.connectSubscriber(pub.endpoint, topics: [[]], options: small)
            try await pub.waitForSubscribers(1, timeout: .seconds(5))
            // Fill the whole pipeline: publish until the outbox stays full (nobody reads `sub`).
            var i = 0
            while i < 10_000 {
                do throws(MessagingError) {
                    try pub.publish(Message("\(i)"))
                    i += 1
                } catch {
                    if !(await eventually(within: .milliseconds(100)) { pub.outboxCount < 4 }) { break }
                }
            }
            #expect(pub.outboxCount == 4)
            #expect(await errorCode { try await pub.waitForOutboxSpace(5) } == .invalidArgument)
            let waiter = Task { await errorCode { try await pub.waitForOutboxSpace(1) } }
            #expect(await eventually { pub.shared.hasSpaceWaiters.load(ordering: .relaxed) })
            await pub.close()
            #expect(await waiter.value == .shutdown)
            _ = sub
        }
    }
}

@Suite struct NodeShapeTests {
    /// The shape the actor system will use: each node binds a ROUTER for inbound calls and holds a
    /// DEALER to every peer; calls go both ways at once.
    @Test func twoNodesCallEachOtherOverTCP() async throws {
        try await withMessagingContext(logger: testLogger) { a in
            try await withMessagingContext(logger: testLogger) { b in
                let serverA = try await a.bindServer("tcp://127.0.0.1:*")
                let serverB = try await b.bindServer("tcp://127.0.0.1:*")
                let aToB = try await a.connectClient(serverB.endpoint)
                let bToA = try await b.connectClient(serverA.endpoint)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await serverA.serve { Message(frames: [bytes("A")] + $0.message.frames) } }
                    group.addTask { try await serverB.serve { Message(frames: [bytes("B")] + $0.message.frames) } }
                    async let fromA = aToB.request(Message("hi from a"), timeout: .seconds(5))
                    async let fromB = bToA.request(Message("hi from b"), timeout: .seconds(5))
                    #expect(try await fromA.frames == [bytes("B"), bytes("hi from a")])
                    #expect(try await fromB.frames == [bytes("A"), bytes("hi from b")])
                    await serverA.close()
                    await serverB.close()
                    try await group.waitForAll()
                }
            }
        }
    }
}
