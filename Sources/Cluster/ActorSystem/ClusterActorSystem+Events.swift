import Messaging

/// One local `subscribe(topic:)`: a bounded stream of event batches.
final class LocalSubscription: Sendable {
    let topic: String
    let topicFrame: [UInt8]
    let continuation: AsyncStream<[EventMessage]>.Continuation

    init(topic: String, continuation: AsyncStream<[EventMessage]>.Continuation) {
        self.topic = topic
        self.topicFrame = ClusterActorSystem.topicFrame(topic)
        self.continuation = continuation
    }

    /// False when the subscriber's buffer is full (the batch is dropped).
    func yield(_ batch: [EventMessage]) -> Bool {
        if case .dropped = continuation.yield(batch) { return false }
        return true
    }

    func finish() { continuation.finish() }
}

/// Events of one topic from every connected node (and this one), decoded as `Event`.
/// Delivered in batches internally (one await per batch); an event that does not decode as
/// `Event` is skipped and counted (`stats.eventsUndecodable`). Ends when the system shuts down.
public struct ClusterEventStream<Event: Decodable & Sendable>: AsyncSequence, Sendable {
    public typealias Element = Event
    let stream: AsyncStream<[EventMessage]>
    let undecodable: @Sendable (Int) -> Void

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<[EventMessage]>.AsyncIterator
        let undecodable: @Sendable (Int) -> Void
        var buffer: [EventMessage] = []
        var index = 0

        public mutating func next() async -> Event? {
            while true {
                while index < buffer.count {
                    let m = buffer[index]
                    index += 1
                    if let v = try? BinaryDecoder().decode(Event.self, from: m.payload) { return v }
                    undecodable(1)
                }
                guard let batch = await base.next() else { return nil }
                buffer = batch
                index = 0
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), undecodable: undecodable)
    }
}

extension ClusterActorSystem {
    /// The first frame of a published event: the topic's UTF-8 and a 0 byte, so ZeroMQ's prefix
    /// filter matches topics exactly ("orders" does not receive "orders-2").
    static func topicFrame(_ topic: String) -> [UInt8] { Array(topic.utf8) + [0] }

    /// Envelopes per ZeroMQ message (`[topic] [envelope]…`): fewer per-message costs on both
    /// sides. Bounded small because ZeroMQ's high-water marks count messages, not events.
    static let eventsPerMessage = 32

    /// A run of event envelopes packed into one frame: `DBPK`, then per envelope a 4-byte
    /// little-endian length and the envelope. One frame per message instead of one per event: with
    /// CURVE, libzmq encrypts and authenticates each frame (one box per frame), so packing cuts that
    /// cost 32-fold. Receivers also take unpacked envelope frames (the format before 2026-12-07).
    static let packMagic: [UInt8] = Array("DBPK".utf8)

    static func pack<C: Collection>(_ envelopes: C) -> [UInt8] where C.Element == [UInt8] {
        var out = packMagic
        out.reserveCapacity(4 + envelopes.reduce(0) { $0 + 4 + $1.count })
        for e in envelopes {
            let n = UInt32(e.count)
            out += [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)]
            out += e
        }
        return out
    }

    /// The envelope frames of a frame: a packed one split (nil: its lengths run past its end), any
    /// other as it is.
    static func unpack(_ frame: [UInt8]) -> [ArraySlice<UInt8>]? {
        guard frame.count >= 4, frame[0] == packMagic[0], frame[1] == packMagic[1], frame[2] == packMagic[2], frame[3] == packMagic[3] else {
            return [frame[...]]
        }
        var out: [ArraySlice<UInt8>] = []
        var i = 4
        while i < frame.count {
            guard frame.count - i >= 4 else { return nil }
            let n = Int(frame[i]) | Int(frame[i + 1]) << 8 | Int(frame[i + 2]) << 16 | Int(frame[i + 3]) << 24
            i += 4
            guard n <= frame.count - i else { return nil }
            out.append(frame[i ..< i + n])
            i += n
        }
        return out
    }

    /// Publishes `event` on `topic` to subscribers on every node (this one included).
    /// Non-blocking; throws `ClusterCallError.outboxFull` when the publisher's bounded outbox is
    /// full (nothing sent), `.badArguments` when the event does not encode or the topic is empty/too long.
    public func publish<Event: Encodable>(topic: String, event: Event) throws {
        try publish(topic: topic, events: [event])
    }

    /// Publishes many events on `topic` with one lock and one wake-up (all or nothing on `outboxFull`).
    /// The way to high rates: ~1 µs per event instead of a wake-up per event.
    public func publish<Event: Encodable>(topic: String, events: [Event]) throws {
        guard !events.isEmpty else { return }
        guard let publisher else { throw ClusterCallError(.badArguments, "\(nodeID) has no event endpoint") }
        let topicFrame = Self.topicFrame(topic)
        let source = ActorIdentity(kind: "node", key: nodeID, region: Self.nodeRegion(nodeID))
        let encoder = BinaryEncoder()
        var envelopes: [EventMessage] = []
        var messages: [Message] = []
        var frames: [[UInt8]] = [topicFrame]
        envelopes.reserveCapacity(events.count)
        messages.reserveCapacity(events.count / Self.eventsPerMessage + 1)
        let first = counters.correlation.wrappingAdd(UInt64(events.count), ordering: .relaxed).newValue &- UInt64(events.count)
        for (i, e) in events.enumerated() {
            let payload: [UInt8]
            do { payload = try encoder.encode(e) } catch { throw ClusterCallError(.badArguments, "event does not encode: \(error)") }
            // Events carry no deadline: 0xFFFFFFFF (Docs/PROTOCOL.md, events over PUB/SUB).
            let m = EventMessage(correlation: first &+ UInt64(i) &+ 1, deadlineMillis: .max, actor: source, target: topic, payload: payload)
            let frame: [UInt8]
            do { frame = try codec.encode(.event(m)) } catch { throw ClusterCallError(.badArguments, "event on \(topic) does not encode: \(error)") }
            envelopes.append(m)
            frames.append(frame)
            if frames.count > Self.eventsPerMessage {
                messages.append(Message(frames: [topicFrame, Self.pack(frames.dropFirst())]))
                frames = [topicFrame]
            }
        }
        if frames.count > 1 { messages.append(Message(frames: [topicFrame, Self.pack(frames.dropFirst())])) }
        do { try publisher.publish(contentsOf: messages) } catch {
            throw error.code == .outboxFull
                ? ClusterCallError(.outboxFull, "event outbox full: \(error.message)")
                : ClusterCallError(.shutdown, "publisher closed: \(error)")
        }
        counters.eventsPublished.wrappingAdd(events.count, ordering: .relaxed)
        deliver([topic: envelopes])
    }

    /// The events published on `topic` by any connected node from now on, decoded as `Event`.
    /// Bounded: `configuration.subscriptionBufferBatches` batches; a subscriber that falls that far
    /// behind loses new batches (counted in `stats.eventsDropped`, logged), others are unaffected.
    /// To know remote publishers see the subscription, use `waitForSubscribers` on their side.
    public func subscribe<Event: Decodable & Sendable>(topic: String, as type: Event.Type = Event.self) async throws -> ClusterEventStream<Event> {
        let (stream, continuation) = AsyncStream.makeStream(of: [EventMessage].self,
                                                            bufferingPolicy: .bufferingOldest(configuration.subscriptionBufferBatches))
        let sub = LocalSubscription(topic: topic, continuation: continuation)
        let id = counters.subscriptionIDs.wrappingAdd(1, ordering: .relaxed).newValue
        let peers = state.withLock { s -> [Subscriber]? in
            if s.closed { return nil }
            s.subscriptions[id] = sub
            return Array(s.peerSubscribers.values)
        }
        guard let peers else { throw ClusterCallError(.shutdown, "actor system of \(nodeID) is shut down") }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscriptions.removeValue(forKey: id) }
        }
        for p in peers { try? await p.subscribe(sub.topicFrame) }
        return ClusterEventStream(stream: stream, undecodable: { [counters] n in
            counters.eventsUndecodable.wrappingAdd(n, ordering: .relaxed)
        })
    }

    /// Waits until `count` subscriptions to `topic` from other nodes reach this node's publisher
    /// (ZeroMQ's slow-joiner handshake); throws `ClusterCallError.timeout`.
    public func waitForSubscribers(_ count: Int, topic: String, timeout: Duration) async throws {
        guard let publisher else { throw ClusterCallError(.badArguments, "\(nodeID) has no event endpoint") }
        do { try await publisher.waitForSubscribers(count, topic: Self.topicFrame(topic), timeout: timeout) } catch {
            throw ClusterCallError(error.code == .timeout ? .timeout : .shutdown, "waiting for \(count) subscribers of \(topic): \(error)")
        }
    }

    /// Hands decoded envelopes to local subscriptions, one batch per topic.
    func deliver(_ byTopic: [String: [EventMessage]]) {
        let subs = state.withLock { s in s.subscriptions.values.filter { byTopic[$0.topic] != nil } }
        for sub in subs {
            let batch = byTopic[sub.topic]!
            if !sub.yield(batch) {
                counters.eventsDropped.wrappingAdd(batch.count, ordering: .relaxed)
                logger.warning("subscriber behind: event batch dropped", ["topic": sub.topic, "events": batch.count])
            }
        }
    }

    /// Reads one peer's publisher until its socket closes.
    func pumpEvents(from node: String, _ subscriber: Subscriber) async {
        for await batch in subscriber.messages {
            var byTopic: [String: [EventMessage]] = [:]
            var bad = 0
            // Batches are usually one topic: collect runs of equal topics, hash once per run.
            var run: [EventMessage] = []
            var good = 0
            for m in batch {
                if m.count < 2 { bad += 1; continue }
                for packed in m.rest {
                  guard let envelopes = Self.unpack(packed) else { bad += 1; continue }
                  for frame in envelopes {
                    guard case .event(let e)? = try? codec.decode(Array(frame)) else { bad += 1; continue }
                    if let first = run.first, first.target != e.target {
                        byTopic[first.target, default: []].append(contentsOf: run)
                        run.removeAll(keepingCapacity: true)
                    }
                    run.append(e)
                    good += 1
                  }
                }
            }
            if !run.isEmpty { byTopic[run[0].target, default: []].append(contentsOf: run) }
            if bad > 0 {
                counters.eventsUndecodable.wrappingAdd(bad, ordering: .relaxed)
                logger.debug("undecodable events", ["from": node, "count": bad])
            }
            counters.eventsReceived.wrappingAdd(good, ordering: .relaxed)
            if !byTopic.isEmpty { deliver(byTopic) }
        }
    }
}

extension ClusterActorSystem {
    /// Waits until the event publisher's outbox has `n` free slots (for producers that prefer
    /// waiting to handling `outboxFull`; the slots are not reserved).
    public func waitForEventOutboxSpace(_ n: Int) async throws {
        guard let publisher else { throw ClusterCallError(.badArguments, "\(nodeID) has no event endpoint") }
        do { try await publisher.waitForOutboxSpace(n) } catch {
            throw ClusterCallError(.shutdown, "publisher closed: \(error)")
        }
    }
}
