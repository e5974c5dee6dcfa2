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
