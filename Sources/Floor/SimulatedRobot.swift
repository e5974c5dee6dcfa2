import Base
import Messaging
import Warehouse

/// A `RobotSim` on the network: a DEALER connected to fleet control's `RobotLink`, speaking
/// VDA 5050 (Docs/VDA5050.md).
///
/// - On start it sends `connection` ONLINE and a state; afterwards a state on every change of the
///   simulation and at least every `stateInterval`; `connection` OFFLINE on `stop()`.
/// - Orders and instant actions arrive as pushes; a message that fails to parse or validate
///   becomes a `validationError` in the robot's state, naming the item.
/// - Every acknowledgement or message from fleet control counts as contact; silent beyond the
///   simulation's `connectionTimeoutMillis`, the robot reports `connectionLost` and stops at the
///   end of its released base.
/// - Time: `.realTime` maps wall-clock milliseconds onto simulation time (each move then takes
///   `stepMillis` plus the seeded jitter of real time); `.driven` moves only on `advance(byMillis:)`.
///
/// Isolation: an actor. `run()` owns three child tasks (receive, send, clock) and returns after
/// `stop()` or when its task is cancelled; nothing outlives it. Outgoing messages wait in a queue
/// of `outboxLimit`, newest kept (a state supersedes the one before); each send has `ackTimeout`.
public actor SimulatedRobot {
    public enum Clocking: Sendable {
        /// Simulation time follows the wall clock; the clock task looks at the simulation at
        /// least every `maxSleep` (and exactly when its next event is due).
        case realTime(maxSleep: Duration)
        /// Simulation time moves only with `advance(byMillis:)`.
        case driven
    }

    public struct Configuration: Sendable {
        public var fleetEndpoint: String
        public var clocking: Clocking
        public var stateInterval: Duration
        public var ackTimeout: Duration
        public var outboxLimit: Int
        public var socket: SocketOptions
        public init(fleetEndpoint: String, clocking: Clocking = .realTime(maxSleep: .milliseconds(20)),
                    stateInterval: Duration = .seconds(1), ackTimeout: Duration = .milliseconds(500), outboxLimit: Int = 16) {
            self.fleetEndpoint = fleetEndpoint
            self.clocking = clocking
            self.stateInterval = stateInterval
            self.ackTimeout = ackTimeout
            self.outboxLimit = outboxLimit
            var o = SocketOptions()
            o.receivePushes = true
            o.maxMessageSize = 1 << 20
            o.sendHighWaterMark = 64
            o.receiveHighWaterMark = 64
            o.receiveBufferLimit = 1_024
            o.receiveBufferBytes = 8 << 20
            o.maxPendingRequests = 64
            o.outboxCapacity = 256
            socket = o
        }
    }

    public struct Stats: Sendable, Equatable {
        public var statesSent = 0
        public var acked = 0
        public var ackFailures = 0
        /// Messages dropped from the full outgoing queue (older states superseded by newer).
        public var superseded = 0
        public var received = 0
        public var rejected = 0
    }

    private var sim: RobotSim
    private let context: MessagingContext
    private let configuration: Configuration
    private let origin = ContinuousClock.now
    private let simOrigin: Int64
    private var drivenNow: Int64
    private var headerIds: [VDA5050.Topic: Int] = [:]
    private var publishedRevision = -1
    private var lastStateAt: Int64 = .min
    private let outbox: AsyncStream<Message>
    private let outboxInput: AsyncStream<Message>.Continuation
    private var started = false
    private var stopping = false
    /// Finished by `stop()`: the driven clock waits on it instead of polling.
    private let stopSignal: AsyncStream<Void>
    private let stopInput: AsyncStream<Void>.Continuation
    public private(set) var stats = Stats()

    public init(context: MessagingContext, sim: RobotSim, configuration: Configuration) {
        self.context = context
        self.sim = sim
        self.configuration = configuration
        self.simOrigin = sim.now
        self.serialNumber = sim.configuration.serialNumber
        self.drivenNow = sim.now
        (outbox, outboxInput) = AsyncStream.makeStream(of: Message.self, bufferingPolicy: .bufferingNewest(max(1, configuration.outboxLimit)))
        (stopSignal, stopInput) = AsyncStream.makeStream(of: Void.self)
    }

    /// The robot's serial number (its name on the link).
    public nonisolated let serialNumber: String

    /// The simulation as it is now (a value: inspect it freely).
    public var snapshot: RobotSim { sim }

    /// Connects, announces ONLINE and runs until `stop()` or cancellation.
    public func run() async throws(FloorError) {
        guard !started else { throw FloorError(.closed, "robot \(sim.configuration.serialNumber) is already running") }
        started = true
        let client: RequestClient
        do {
            client = try await context.connectClient(configuration.fleetEndpoint, options: configuration.socket)
        } catch {
            throw FloorError(.messaging, "robot \(sim.configuration.serialNumber) connecting to \(configuration.fleetEndpoint): \(error)")
        }
        enqueue(connection(.ONLINE))
        publish(force: true)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.receiveLoop(client) }
            group.addTask { await self.sendLoop(client) }
            group.addTask { await self.clockLoop() }
            _ = await group.next() // the clock ends first: on stop() or cancellation
            outboxInput.finish()
            if stopping, !Task.isCancelled {
                _ = try? await client.request(connection(.OFFLINE), timeout: configuration.ackTimeout)
            }
            await client.close()
            group.cancelAll()
        }
    }

    /// Ends `run()` after telling fleet control OFFLINE.
    public func stop() {
        stopping = true
        stopInput.finish()
    }

    /// Moves simulation time on by `ms` (`.driven` clocking only; ignored otherwise).
    public func advance(byMillis ms: Int64) {
        guard case .driven = configuration.clocking else { return }
        drivenNow += ms
        sim.advance(to: drivenNow)
        publish()
    }

    /// Fault injection: a FATAL error; the robot stops after the cell it is entering.
    public func injectFault(errorType: String = "driveFault", description: String) {
        sim.injectFault(errorType: errorType, description: description, at: now())
        publish()
    }

    public func clearFaults() {
        sim.clearFaults(at: now())
        publish()
    }

    // MARK: - Loops

    private func receiveLoop(_ client: RequestClient) async {
        for await batch in client.pushes {
            for m in batch { handle(m) }
        }
    }

    private func sendLoop(_ client: RequestClient) async {
        for await m in outbox {
            do {
                _ = try await client.request(m, timeout: configuration.ackTimeout)
                stats.acked += 1
                sim.noteContact(at: now())
                publish()
            } catch {
                stats.ackFailures += 1
            }
        }
    }

    private func clockLoop() async {
        if case .driven = configuration.clocking {
            // Time moves only with advance(byMillis:), which steps the simulation itself: nothing
            // to look at here until stop() (or cancellation, which ends the wait too).
            for await _ in stopSignal {}
            return
        }
        let interval = Self.millis(configuration.stateInterval)
        while !stopping, !Task.isCancelled {
            let t = now()
            sim.advance(to: t)
            publish()
            var sleep: Int64
            switch configuration.clocking {
            case .realTime(let maxSleep):
                let next = min(sim.nextEventAt ?? .max, lastStateAt == .min ? t : lastStateAt &+ interval)
                sleep = min(max(1, next - t), max(1, Self.millis(maxSleep)))
            case .driven:
                return   // handled above
            }
            do { try await Task.sleep(for: .milliseconds(sleep)) } catch { return }
        }
    }

    // MARK: - Internals

    private func now() -> Int64 {
        switch configuration.clocking {
        case .realTime: simOrigin + Self.millis(ContinuousClock.now - origin)
        case .driven: drivenNow
        }
    }

    static func millis(_ d: Duration) -> Int64 {
        let c = d.components
        return c.seconds * 1000 + c.attoseconds / 1_000_000_000_000_000
    }

    private func handle(_ m: Message) {
        stats.received += 1
        let t = now()
        var topicName = "frames"
        do throws(VDA5050DecodingError) {
            let (topic, json) = try FloorFrames.parse(m)
            topicName = topic.topic.rawValue
            if topic.serialNumber != sim.configuration.serialNumber {
                throw VDA5050DecodingError(.invalidValue, "topic.serialNumber", "\"\(topic.serialNumber)\" is not this robot (\(sim.configuration.serialNumber))")
            }
            switch topic.topic {
            case .order:
                let o = try VDA5050Codec.decodeOrder(json)
                try FloorFrames.checkHeader(o.header, against: topic)
                sim.receive(o, at: t)
            case .instantActions:
                let a = try VDA5050Codec.decodeInstantActions(json)
                try FloorFrames.checkHeader(a.header, against: topic)
                sim.receive(a, at: t)
            case .state, .connection:
                throw VDA5050DecodingError(.invalidValue, "topic.topic", "\(topic.topic.rawValue) goes to fleet control, not to robots")
            }
        } catch {
            stats.rejected += 1
            sim.reject(error, topic: topicName, at: t)
        }
        publish()
    }

    private func header(_ topic: VDA5050.Topic) -> VDA5050.Header {
        let id = headerIds[topic, default: -1] + 1
        headerIds[topic] = id
        return VDA5050.Header(headerId: id, timestamp: wallTimestamp(), manufacturer: sim.configuration.manufacturer,
                              serialNumber: sim.configuration.serialNumber)
    }

    private func topic(_ t: VDA5050.Topic) -> FloorTopic {
        FloorTopic(manufacturer: sim.configuration.manufacturer, serialNumber: sim.configuration.serialNumber, topic: t)
    }

    private func connection(_ c: VDA5050.ConnectionState) -> Message {
        FloorFrames.message(topic(.connection), VDA5050Codec.encode(VDA5050.Connection(header: header(.connection), connectionState: c)))
    }

    /// Queues a state when the simulation changed, the interval has passed, or `force`.
    private func publish(force: Bool = false) {
        let t = now()
        let due = lastStateAt == .min || t - lastStateAt >= Self.millis(configuration.stateInterval)
        guard force || due || sim.revision != publishedRevision else { return }
        publishedRevision = sim.revision
        lastStateAt = t
        stats.statesSent += 1
        enqueue(FloorFrames.message(topic(.state), VDA5050Codec.encode(sim.state(header: header(.state)))))
    }

    private func enqueue(_ m: Message) {
        if case .dropped = outboxInput.yield(m) { stats.superseded += 1 }
    }
}
