import Base
import Messaging
import Testing
@testable import Cluster

/// Hostile input at a live node's ROUTER over tcp: every frame gets a typed answer where a reply
/// is possible, is counted, and the node keeps serving.
@Suite(.serialized) struct FuzzActorSystemTests {
    static func validCall(_ rng: inout SplitMix64) -> [UInt8] {
        let targets = ["TestCounter.add", "TestCounter.node", "TestCounter.echo", "Nope.nothing"]
        let call = CallMessage(correlation: rng.next(), deadlineMillis: UInt32(rng.next() % 2000),
                               actor: ActorIdentity(kind: ["counter", "ghost"][Int(rng.next() % 2)], key: "f\(rng.next() % 8)",
                                                    region: ["r1", "elsewhere"][Int(rng.next() % 2)]),
                               target: targets[Int(rng.next() % 4)],
                               idempotencyKey: rng.next() % 3 == 0 ? .text("k\(rng.next() % 16)") : nil,
                               payload: BinaryValue.array([.int(Int64(rng.next() % 100))]).serialized())
        return try! WireCodec().encode(.call(call))
    }

    /// Random bytes, mutated valid calls (flips, truncation, extension, splices), wrong versions,
    /// unknown types, replies/events sent as requests, multi-frame bodies.
    static func hostile(_ i: Int, _ rng: inout SplitMix64) -> Message {
        var f = validCall(&rng)
        switch i % 9 {
        case 0:
            return Message((0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        case 1:
            for _ in 0...(rng.next() % 4) { f[Int(rng.next() % UInt64(f.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
        case 2:
            f.removeLast(Int(rng.next() % UInt64(f.count)))
        case 3:
            f += (0..<Int(1 + rng.next() % 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 4:
            f[2] = 0; f[3] = UInt8(2 + rng.next() % 200)          // another protocol version
        case 5:
            f[4] = UInt8(7 + rng.next() % 249)                      // unknown message type
        case 6:
            let other = [WireMessage.reply(correlation: 1, payload: []), .pong(correlation: 2, node: "x"),
                         .event(EventMessage(correlation: 3, deadlineMillis: 1, actor: ActorIdentity(kind: "a", key: "b", region: "c"),
                                             target: "t", payload: []))]
            f = try! WireCodec().encode(other[Int(rng.next() % 3)])
        case 7:
            return Message(frames: [f, f])
        default:
            let cut = Int(rng.next() % UInt64(f.count))
            var g = validCall(&rng)
            g.removeFirst(min(cut, g.count))
            f = Array(f[..<cut]) + g                                 // splice of two calls
        }
        return Message(f)
    }

    @Test func thousandsOfHostileFramesGetTypedAnswersAndTheNodeKeepsServing() async throws {
        try await TestCluster.with(nodes: 2, owners: ["r1": 1], configure: { $0.limits = WireLimits(maxMessageBytes: 64 << 10) }) { c in
            let target = c[1].system
            let raw = try await c[0].context.connectClient(target.address.endpoint)
            var rng = SplitMix64(seed: 0xF022)
            var answers: [String: Int] = [:]
            let total = 6_000
            for chunk in stride(from: 0, to: total, by: 300) {
                let messages = (chunk..<min(total, chunk + 300)).map { Self.hostile($0, &rng) }
                let results = try await withThrowingTaskGroup(of: String.self) { group in
                    for m in messages {
                        group.addTask {
                            let reply = try await raw.request(m, timeout: .seconds(5))
                            #expect(reply.count == 1)
                            switch try WireCodec().decode(reply.first) {
                            case .errorReply(_, let code, _): return code.description
                            case .reply: return "reply"
                            case .pong: return "pong"
                            case let other: return "unexpected \(other.type)"
                            }
                        }
                    }
                    var out: [String] = []
                    for try await r in group { out.append(r) }
                    return out
                }
                for r in results { answers[r, default: 0] += 1 }
            }
            // A frame over the wire's limit is not even read: libzmq (ZMQ_MAXMSGSIZE = the limit) drops the
            // sender's connection before allocating it, so it gets no answer.
            await #expect(throws: MessagingError.self) {
                _ = try await raw.request(Message([UInt8](repeating: 0xDB, count: 100 << 10)), timeout: .seconds(2))
            }

            #expect(answers.values.reduce(0, +) == total)
            #expect(answers.keys.allSatisfy { !$0.hasPrefix("unexpected") }, "\(answers)")
            #expect(answers["malformedFrame", default: 0] > 1_000)
            #expect(answers["unsupportedVersion", default: 0] > 300)
            #expect(target.stats.inboundRejected >= answers["malformedFrame", default: 0] + answers["unsupportedVersion", default: 0])
            // Still serving, over the same socket and through the actor system.
            let proxy = try c.counter("after-fuzz", region: "r1", from: 0)
            #expect(try await proxy.add(1) == 1)
            #expect(try await proxy.node() == "n1")
            await raw.close()
        }
    }

    @Test func aWrongVersionGetsAVersionMismatchAtTheCaller() async throws {
        try await TestCluster.with(nodes: 2, owners: ["r1": 1]) { c in
            let raw = try await c[0].context.connectClient(c[1].system.address.endpoint)
            var rng = SplitMix64(seed: 7)
            var f = Self.validCall(&rng)
            f[3] = 9
            let reply = try await raw.request(Message(f), timeout: .seconds(5))
            let decoded = try WireCodec().decode(reply.first)
            guard case .errorReply(let corr, .unsupportedVersion, let text) = decoded else { Issue.record("\(decoded)"); return }
            #expect(corr == ClusterActorSystem.headerCorrelation(f))
            #expect(text.contains("9"))
            #expect(ClusterCallError(reply: .unsupportedVersion, message: text).code == .versionMismatch)
            await raw.close()
        }
    }
}

/// What a caller sees when the peer is not a well-behaved node of this version.
@Suite(.serialized) struct ActorSystemPeerErrorTests {
    /// A fake peer that answers every request with `answer(frame)`.
    static func withFakePeer(_ answer: @escaping @Sendable ([UInt8]) -> Message,
                             _ body: @Sendable (TestCluster, NodeAddress) async throws -> Void) async throws {
        try await TestCluster.with(nodes: 1) { c in
            let fake = try await c[0].context.bindServer("tcp://127.0.0.1:*")
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await fake.serve { answer($0.message.first) } }
                let peer = NodeAddress(id: "fake", endpoint: fake.endpoint)
                c[0].ownership.assign("elsewhere", to: peer)
                try await body(c, peer)
                await fake.close()
                try await group.waitForAll()
            }
        }
    }

    @Test func aReplyOfAnotherProtocolVersionIsVersionMismatch() async throws {
        try await Self.withFakePeer({ frame in
            var reply = try! WireCodec().encode(.reply(correlation: ClusterActorSystem.headerCorrelation(frame), payload: []))
            reply[3] = 2
            return Message(reply)
        }) { c, _ in
            let proxy = try c.counter("v", region: "elsewhere", from: 0)
            _ = await expectCallError(.versionMismatch) { _ = try await proxy.node() }
        }
    }

    @Test func garbageRepliesAreMalformed() async throws {
        try await Self.withFakePeer({ _ in Message([0xDE, 0xAD]) }) { c, _ in
            let proxy = try c.counter("g", region: "elsewhere", from: 0)
            _ = await expectCallError(.malformed) { _ = try await proxy.node() }
        }
    }

    @Test func aFullPendingRequestLimitIsOutboxFullAtOnce() async throws {
        TestGate.named("aFullPendingRequestLimitIsOutboxFullAtOnce").close()
        try await TestCluster.with(nodes: 2, owners: ["r1": 1], configure: { $0.clientOptions.maxPendingRequests = 1 }) { c in
            let proxy = try c.counter("full", region: "r1", from: 0)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await proxy.hold("aFullPendingRequestLimitIsOutboxFullAtOnce") }
                try await eventually("the call is held") { TestGate.named("aFullPendingRequestLimitIsOutboxFullAtOnce").waiting == 1 }
                let start = ContinuousClock.now
                _ = await expectCallError(.outboxFull) { _ = try await proxy.node() }
                #expect(ContinuousClock.now - start < .milliseconds(500))
                TestGate.named("aFullPendingRequestLimitIsOutboxFullAtOnce").open()
                try await group.waitForAll()
            }
        }
        TestGate.named("aFullPendingRequestLimitIsOutboxFullAtOnce").close()
    }
}

@Suite(.serialized) struct FuzzEventTests {
    @Test func hostileEventFramesAreCountedAndGoodEventsStillArrive() async throws {
        try await TestCluster.with(nodes: 1) { c in
            let node = c[0].system
            let raw = try await c[0].context.bindPublisher("tcp://127.0.0.1:*")
            let stream = try await node.subscribe(topic: "t", as: Hello.self)
            try await node.connect(to: NodeAddress(id: "rogue", endpoint: "tcp://127.0.0.1:9", eventEndpoint: raw.endpoint))
            try await raw.waitForSubscribers(1, topic: ClusterActorSystem.topicFrame("t"), timeout: .seconds(5))
            var rng = SplitMix64(seed: 0xE7E7)
            let topic = ClusterActorSystem.topicFrame("t")
            let good = try WireCodec().encode(.event(EventMessage(
                correlation: 1, deadlineMillis: .max, actor: ActorIdentity(kind: "node", key: "rogue", region: "node:rogue"),
                target: "t", payload: try BinaryEncoder().encode(Hello(from: "rogue", n: 1)))))
            var hostile = 0
            for i in 0..<2_000 {
                var f = good
                switch i % 4 {
                case 0: f = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                case 1: f[Int(rng.next() % UInt64(f.count))] ^= 0xFF
                case 2: f.removeLast(1 + Int(rng.next() % UInt64(f.count - 1)))
                default: f = try WireCodec().encode(.ping(correlation: 1, node: "x"))
                }
                if case .event? = try? WireCodec().decode(f) { continue }   // a flip that still decodes is not hostile
                hostile += 1
                try raw.publish(Message(frames: [topic, f]))
            }
            try raw.publish(Message([UInt8](topic)))                        // no envelope at all
            try raw.publish(Message(frames: [topic, good, good]))           // two good events in one message
            var it = stream.makeAsyncIterator()
            #expect(await it.next() == Hello(from: "rogue", n: 1))
            #expect(await it.next() == Hello(from: "rogue", n: 1))
            #expect(node.stats.eventsUndecodable == hostile + 1)
            await raw.close()
        }
    }
}
