import Testing
import CZeroMQ
import Base
import Synchronization
@testable import Messaging

@Suite struct HostileTrafficTests {
    /// A raw peer floods 10 MB frames at a server that takes at most 1 MiB: libzmq reads each
    /// frame's size from its header and drops the connection before allocating it. Memory stays
    /// bounded and a normal client keeps getting replies throughout.
    @Test func oversizedFramesCostTheSenderItsConnectionAndNeverReachTheServer() async throws {
        // Stated bound: the flood offers 1 GB; the process may grow by at most 256 MiB while it lasts
        // (the 10 MB the flooder sends from is allocated before the baseline is taken).
        let bound = 256 << 20
        let big = UnsafeMutableRawBufferPointer.allocate(byteCount: 10 << 20, alignment: 16)
        defer { big.deallocate() }
        big.initializeMemory(as: UInt8.self, repeating: 0x5a)
        let raw = RawContext()  // closed before `big` is freed (defers run in reverse)
        defer { raw.close() }

        try await withMessagingContext(logger: testLogger) { ctx in
            var options = SocketOptions()
            options.maxMessageSize = 1 << 20
            let server = try await ctx.bindServer("tcp://127.0.0.1:*", options: options)
            final class Seen: Sendable {
                let largest = Atomic<Int>(0), served = Atomic<Int>(0)
            }
            let seen = Seen()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await server.serve { r in
                        let n = r.message.byteCount
                        if n > seen.largest.load(ordering: .relaxed) { seen.largest.store(n, ordering: .relaxed) }
                        seen.served.wrappingAdd(1, ordering: .relaxed)
                        // Never echo a big one: if the limit failed, this test must fail, not
                        // fill memory with replies the flooder does not read.
                        return n <= 1_024 ? r.message : Message("too big")
                    }
                }
                try await withMessagingContext(logger: testLogger) { remote in
                    let client = try await remote.connectClient(server.endpoint)
                    let flooder = raw.socket(ZMQ_DEALER)
                    flooder.set(ZMQ_RECONNECT_IVL, 10)
                    flooder.set(ZMQ_SNDHWM, 4)
                    flooder.set(ZMQ_RCVHWM, 4)
                    #expect(zmq_socket_monitor(flooder.h, "inproc://flood-monitor", ZMQ_EVENT_DISCONNECTED) == 0)
                    let monitor = raw.socket(ZMQ_PAIR)
                    monitor.connect("inproc://flood-monitor")
                    flooder.connect(server.endpoint)

                    func sendBig() -> Bool {
                        var header = UInt64(7).littleEndian
                        guard zmq_send(flooder.h, &header, 8, ZMQ_DONTWAIT | ZMQ_SNDMORE) == 8 else { return false }
                        var m = zmq_msg_t()
                        // Zero-copy from one constant buffer: the flooder itself costs no memory per frame.
                        zmq_msg_init_data(&m, big.baseAddress, big.count, nil, nil)
                        let rc = zmq_msg_send(&m, flooder.h, ZMQ_DONTWAIT)
                        if rc < 0 { zmq_msg_close(&m) }
                        return rc >= 0
                    }

                    let baseline = residentBytes()
                    var peak = baseline, sent = 0, disconnects = 0, normal = 0
                    let end = ContinuousClock.now + .seconds(30)
                    while sent < 100 && ContinuousClock.now < end {
                        if sendBig() {
                            sent += 1
                            if sent % 10 == 0 {
                                let r = try await client.request(Message("normal \(sent)"), timeout: .seconds(5))
                                #expect(r == Message("normal \(sent)"))
                                normal += 1
                            }
                        } else {
                            await Task.yield()
                        }
                        while monitor.receive() != nil { disconnects += 1 }
                        peak = max(peak, residentBytes())
                    }
                    #expect(sent == 100, "the flood stalled after \(sent) frames")
                    // Every delivered frame cost the flooder its connection.
                    #expect(await eventually(within: .seconds(10)) {
                        while monitor.receive() != nil { disconnects += 1 }
                        return disconnects >= 10
                    }, "\(disconnects) disconnects")
                    #expect(peak - baseline < bound, "RSS grew \((peak - baseline) >> 20) MiB from \(baseline >> 20) MiB")
                    #expect(try await client.request(Message("after"), timeout: .seconds(5)) == Message("after"))
                    #expect(seen.served.load(ordering: .relaxed) == normal + 1)
                    #expect(seen.largest.load(ordering: .relaxed) <= 1 << 20)
                }
                await server.close()
                try await group.waitForAll()
            }
        }
    }

    /// A subscriber that never reads does not hold back one that does: after the grace period the
    /// publisher sends past its full queue, counts the episode and names it in a warning.
    @Test func aStalledSubscriberIsDroppedFromWhileAFastOneGetsEverything() async throws {
        let capture = CapturingLogSink()
        let logger = Logger(label: "test", level: .warning, sink: capture)
        let raw = RawContext()
        defer { raw.close() }
        try await withMessagingContext(logger: logger) { ctx in
            var options = SocketOptions()
            options.sendHighWaterMark = 200
            options.outboxCapacity = 100_000
            options.slowSubscribers = .drop(after: .milliseconds(300))
            let pub = try await ctx.bindPublisher("tcp://127.0.0.1:*", options: options)
            let port = pub.endpoint.split(separator: ":").last!
            // The stalled subscriber connects from 127.0.0.2, so the log can be checked for it.
            let stalled = raw.socket(ZMQ_SUB)
            stalled.set(ZMQ_RCVHWM, 100)
            stalled.set(ZMQ_SUBSCRIBE, bytes: [])
            stalled.connect("tcp://127.0.0.2:0;127.0.0.1:\(port)")
            try await pub.waitForSubscribers(1, timeout: .seconds(5))
            try await withMessagingContext(logger: testLogger) { remote in
                let fast = try await remote.connectSubscriber(pub.endpoint, topics: [[]])
                try await pub.waitForSubscribers(2, timeout: .seconds(5))
                let n = 30_000
                let payload = [UInt8](repeating: 0x42, count: 1_000)
                final class Progress: Sendable {
                    let got = Atomic<Int>(0), outOfOrder = Atomic<Int>(0)
                }
                let progress = Progress()
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        var got = 0
                        for await batch in fast.messages {
                            for m in batch {
                                if m.first != bytes("\(got)") { progress.outOfOrder.wrappingAdd(1, ordering: .relaxed) }
                                got += 1
                            }
                            progress.got.store(got, ordering: .relaxed)
                        }
                    }
                    // Publish everything within a deadline (back pressure would hold it back for
                    // good: polled, so the test fails instead of hanging).
                    var i = 0
                    let end = ContinuousClock.now + .seconds(30)
                    while i < n && ContinuousClock.now < end {
                        let chunk = (i..<min(n, i + 500)).map { Message(frames: [bytes("\($0)"), payload]) }
                        do throws(MessagingError) {
                            try pub.publish(contentsOf: chunk)
                            i += chunk.count
                        } catch {
                            #expect(error.code == .outboxFull)
                            _ = await eventually(within: .seconds(1)) { pub.outboxCount <= options.outboxCapacity - 500 }
                        }
                    }
                    #expect(i == n, "the publisher was held back: \(i) of \(n) published in 30 s")
                    #expect(await eventually(within: .seconds(30)) { progress.got.load(ordering: .relaxed) >= n },
                            "the fast subscriber got \(progress.got.load(ordering: .relaxed)) of \(n)")
                    #expect(progress.got.load(ordering: .relaxed) == n)
                    #expect(progress.outOfOrder.load(ordering: .relaxed) == 0)
                    group.cancelAll()
                }
                #expect(pub.stats.slowSubscriberEpisodes >= 1)
                #expect(pub.stats.eventsDroppedForSlowSubscribers > 0)
                let behind = capture.captured.filter { $0.message.contains("fell behind") }
                #expect(!behind.isEmpty)
                #expect(behind.allSatisfy { $0.level == .warning && $0.message.contains("subscriber at 127.0.0.2:") },
                        "\(behind.map(\.message))")
                // When it goes away, the last line says how many events it missed.
                stalled.close()
                #expect(await eventually(within: .seconds(10)) {
                    capture.captured.contains { $0.message.contains("subscriber at 127.0.0.2:") && $0.message.contains("events dropped")
                        && $0.fields.contains { $0.0 == "dropped" && (Int($0.1) ?? 0) > 0 } }
                }, "\(capture.captured.map(\.message))")
            }
        }
    }

    @Test func inprocPublishersKeepBackPressureByDefault() {
        #expect(SlowSubscriberPolicy.automatic(for: "inproc://events") == .backpressure)
        #expect(SlowSubscriberPolicy.automatic(for: "tcp://127.0.0.1:5555") == .drop(after: .milliseconds(200)))
        #expect(SlowSubscriberPolicy.automatic(for: "ipc:///tmp/x") == .drop(after: .milliseconds(200)))
    }

    @Test func aPeerOverItsRateLimitIsDroppedAndCountedWhileOthersAreServed() async throws {
        try await withMessagingContext(logger: testLogger) { ctx in
            var options = SocketOptions()
            options.requestRateLimit = RequestRateLimit(perSecond: 0.5, burst: 10)
            let server = try await ctx.bindServer("tcp://127.0.0.1:*", options: options)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.serve { $0.message } }
                let greedy = try await ctx.connectClient(server.endpoint)
                let answered = await withTaskGroup(of: Bool.self) { tasks in
                    for i in 0..<30 {
                        tasks.addTask { (try? await greedy.request(Message("\(i)"), timeout: .seconds(4))) != nil }
                    }
                    return await tasks.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                // The burst, plus at most what 0.5/s refills while the 4 s deadlines run.
                #expect(answered >= 10 && answered <= 12, "answered \(answered)")
                #expect(server.stats.rateLimited == 30 - answered)
                // Another peer has its own bucket.
                let polite = try await ctx.connectClient(server.endpoint)
                #expect(try await polite.request(Message("hi"), timeout: .seconds(5)) == Message("hi"))
                await server.close()
                try await group.waitForAll()
            }
        }
    }

    @Test func theReceiveBufferIsBoundedInBytesToo() async throws {
        try await withMessagingContext(logger: testLogger) { ctx in
            var options = SocketOptions()
            options.receiveBufferBytes = 1_000
            options.maxBatch = 1
            let server = try await ctx.bindServer("inproc://bytes", options: options)
            let client = try await ctx.connectClient(server.endpoint)
            let payload = [UInt8](repeating: 1, count: 600)
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<20 {
                    group.addTask {
                        try await client.request(Message(frames: [bytes("\(i)"), payload]), timeout: .seconds(10)).frames
                            == [bytes("\(i)"), payload]
                    }
                }
                // Nobody consumes: reading stops once 1,000 bytes are buffered (two requests).
                #expect(await eventually { server.channel.bufferedCount == 2 })
                #expect(server.channel.bufferedBytes >= 1_000 && server.channel.bufferedCount == 2)
                group.addTask {
                    try await server.serve { $0.message }
                    return true
                }
                var ok = 0
                for _ in 0..<20 { if try await group.next() == true { ok += 1 } }
                #expect(ok == 20)
                await server.close()
                try await group.waitForAll()
            }
        }
    }
}

@Suite struct LimiterTests {
    @Test func oneLinePerKeyPerWindowWithTheSuppressedCount() {
        var l = LogLimiter(window: 10, capacity: 3)
        #expect(l.admit("a", now: 0) == 0)
        #expect(l.admit("a", now: 5) == nil)
        #expect(l.admit("a", now: 9) == nil)
        #expect(l.admit("b", now: 9) == 0)
        #expect(l.admit("a", now: 10) == 2)
        #expect(l.admit("a", now: 11) == nil)
        // Bounded: a flood of new keys shares one overflow line once the table is full of live keys.
        #expect(l.admit("c", now: 12) == 0)
        #expect(l.admit("d", now: 12) == 0)
        #expect(l.admit("e", now: 12) == nil)
        #expect(l.entries.count <= 4)
        // Expired keys make room.
        #expect(l.admit("f", now: 100) == 0)
        #expect(l.entries.count <= 4)
    }

    @Test func tokenBucketsRefillAtTheirRateUpToTheBurst() {
        var b = TokenBuckets<Int>(rate: 2, burst: 3)
        let s: UInt64 = 1_000_000_000
        func takes(_ key: Int, at now: UInt64, _ n: Int) -> [Bool] { (0..<n).map { _ in b.take(key, now: now) } }
        #expect(takes(1, at: 0, 4) == [true, true, true, false])
        #expect(takes(2, at: 0, 1) == [true])              // another key, its own bucket
        #expect(takes(1, at: s / 2, 2) == [true, false])   // one token after half a second
        #expect(takes(1, at: 10 * s, 4) == [true, true, true, false])  // never more than the burst
        b.prune(100 * s)
        #expect(b.buckets.isEmpty)                          // full buckets are forgotten
    }
}
