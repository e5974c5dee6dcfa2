import Testing
import Base
@testable import Messaging

/// The I/O thread waits in epoll on each socket's ZMQ_FD and looks only at flagged sockets (a wake
/// costs what is ready). A signal it failed to act on would strand a socket: these runs would then
/// time out. Many sockets on one thread, traffic spread over them and bursty, every reply accounted for.
@Suite struct ManySocketsTests {
    @Test func threeHundredClientsOnOneThreadEachGetEveryReply() async throws {
        try await withMessagingContext(logger: testLogger) { ctx in
            let server = try await ctx.bindServer("tcp://127.0.0.1:*")
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.serve { req in Message(frames: [bytes("re")] + req.message.frames) } }
                var clients: [RequestClient] = []
                for _ in 0 ..< 300 { clients.append(try await ctx.connectClient(server.endpoint)) }
                let all = clients
                // Each client: 8 requests in a row; a third of them pause between requests so that
                // the others' replies arrive while they are idle, and wake them later.
                let matched = try await withThrowingTaskGroup(of: Int.self) { tasks in
                    for (c, client) in all.enumerated() {
                        tasks.addTask {
                            var ok = 0
                            for i in 0 ..< 8 {
                                let tag = bytes("c\(c)-r\(i)")
                                let r = try await client.request(Message(tag), timeout: .seconds(20))
                                if r.frames == [bytes("re"), tag] { ok += 1 }
                                if c % 3 == 0 { try await Task.sleep(for: .milliseconds(Int64(c % 7))) }
                            }
                            return ok
                        }
                    }
                    return try await tasks.reduce(0, +)
                }
                #expect(matched == 2_400)
                for c in all { await c.close() }
                await server.close()
                try await group.waitForAll()
            }
        }
    }

    @Test func aSubscriberWhoseReaderLagsResumesAfterTheLastMessageAndLosesNothing() async throws {
        // The publisher sends everything at once and falls silent; the subscriber's consumer is slow,
        // so the I/O thread stops reading (its buffer is full) with messages still in libzmq. Nothing
        // will signal that socket again: it must be looked at when its consumer resumes reading.
        var options = SocketOptions()
        options.maxBatch = 4
        options.receiveBufferLimit = 8
        try await withMessagingContext(logger: testLogger) { ctx in
            let publisher = try await ctx.bindPublisher("tcp://127.0.0.1:*")
            let subscriber = try await ctx.connectSubscriber(publisher.endpoint, topics: [bytes("t")], options: options)
            try await publisher.waitForSubscribers(1, timeout: .seconds(10))
            try publisher.publish(contentsOf: (0 ..< 400).map { Message(frames: [bytes("t"), bytes("m\($0)")]) })
            // A stranded socket would leave this loop waiting: after 20 s the subscriber is closed,
            // which ends the sequence, and the count comes up short.
            let seen = try await withThrowingTaskGroup(of: Int?.self) { group in
                group.addTask {
                    var seen = 0
                    for await batch in subscriber.messages {
                        seen += batch.count
                        if seen >= 400 { break }
                        try await Task.sleep(for: .milliseconds(2))
                    }
                    return seen
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(20))
                    await subscriber.close()
                    return nil
                }
                let first = try await group.next()!
                group.cancelAll()
                if let n = first { return n }
                return try await group.next()! ?? 0
            }
            #expect(seen == 400)
            await subscriber.close()
            await publisher.close()
        }
    }
}
