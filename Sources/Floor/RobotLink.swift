import Base
import Messaging
import Warehouse

/// Fleet control's end of the floor link: one ROUTER that every robot's DEALER connects to
/// (Docs/VDA5050.md, "Pattern").
///
/// Robots speak first: a robot's `connection` and `state` messages arrive as requests; the link
/// learns the robot's routing id from them (by the serial number in the topic), acknowledges each
/// one (the acknowledgement is the robot's proof that fleet control is alive) and keeps the latest
/// state. Orders and instant actions go to a robot as pushes (correlation id 0) to its routing id;
/// `send` then waits, with a deadline, for the robot's state that answers them.
///
/// Isolation: an actor; `run()` consumes the socket and must be running (in a task the caller
/// owns) for anything to arrive. Bounded: the socket's outbox and receive buffer, and at most
/// `maxWaiters` concurrent waits.
public actor RobotLink {
    public struct Configuration: Sendable {
        /// Socket options of the ROUTER: 1 MiB frames, 256 messages queued per robot, rate limit
        /// 500 messages/s per robot (burst 1000).
        public var socket: SocketOptions
        /// A robot silent this long reads as CONNECTIONBROKEN (robots send state at least every
        /// few seconds; this plays the MQTT broker's last will).
        public var silenceLimit: Duration = .seconds(5)
        /// Most `send`/`waitForState` calls waiting at once; more fail with `.busy`.
        public var maxWaiters = 4_096
        /// Who may speak for a serial number. nil: any robot (a plaintext link on a trusted floor
        /// network); otherwise only these serial numbers are accepted.
        public var allowedRobots: Set<String>? = nil
        /// Most robots one link tracks; a message from a new serial number past it is refused (a
        /// peer inventing serial numbers cannot grow the table without bound).
        public var maxRobots = 10_000
        /// States kept in `recordedStates` (in arrival order), for checking trajectories in tests
        /// and benches; 0 keeps none. Past the limit, newer states are not recorded.
        public var recordLimit = 0
        public init() {
            var o = SocketOptions()
            o.maxMessageSize = 1 << 20
            o.sendHighWaterMark = 256
            o.receiveHighWaterMark = 256
            o.outboxCapacity = 4_096
            o.receiveBufferLimit = 10_000
            o.receiveBufferBytes = 32 << 20
            o.requestRateLimit = RequestRateLimit(perSecond: 500, burst: 1_000)
            socket = o
        }
    }

    /// Counters of what arrived.
    public struct Stats: Sendable, Equatable {
        public var states = 0
        public var connections = 0
        /// Messages that failed to parse or validate (the robot is acknowledged anyway).
        public var malformed = 0
        /// The last such failure, naming the item.
        public var lastMalformed: String?
        /// Acknowledgements not sent because the outbox was full.
        public var acksDropped = 0
        /// Messages refused for who sent them: a serial number not allowed, past `maxRobots`, or
        /// (CURVE) a key whose User-Id is not `robot:<serial>`.
        public var refused = 0
        /// The last refusal, naming the serial number and why.
        public var lastRefused: String?
    }

    struct Robot {
        var manufacturer: String
        var routingID: [UInt8]
        var state: VDA5050.State?
        var connection: VDA5050.ConnectionState = .ONLINE
        var lastHeard: ContinuousClock.Instant
        var headerIds: [VDA5050.Topic: Int] = [:]
    }

    typealias Predicate = @Sendable (VDA5050.State) -> Bool
    enum Wait {
        case registered(String, Predicate)
        case pending(String, Predicate, CheckedContinuation<VDA5050.State?, Never>)
        case done(VDA5050.State?)
    }

    private let server: RequestServer
    private let configuration: Configuration
    /// The bound endpoint (port resolved): what robots connect to.
    public nonisolated let endpoint: String
    private var robots: [String: Robot] = [:]
    private var waits: [UInt64: Wait] = [:]
    private var nextWait: UInt64 = 0
    private var closed = false
    public private(set) var stats = Stats()

    /// One state as it arrived: its position in the arrival order of this link is its index in
    /// `recordedStates`.
    public struct RecordedState: Sendable, Equatable {
        public var serialNumber: String
        public var lastNodeId: String
        public var driving: Bool
        public var fatal: Bool
    }
    /// Every state received, in arrival order, up to `Configuration.recordLimit`.
    public private(set) var recordedStates: [RecordedState] = []

    private init(server: RequestServer, configuration: Configuration) {
        self.server = server
        self.configuration = configuration
        self.endpoint = server.endpoint
    }

    /// Binds the link (`tcp://127.0.0.1:*` picks a free port; see `endpoint`).
    public static func bind(_ context: MessagingContext, endpoint: String = "tcp://127.0.0.1:*",
                            configuration: Configuration = .init()) async throws(FloorError) -> RobotLink {
        do {
            let server = try await context.bindServer(endpoint, options: configuration.socket)
            return RobotLink(server: server, configuration: configuration)
        } catch {
            throw FloorError(.messaging, "binding the robot link at \(endpoint): \(error)")
        }
    }

    /// Receives until `close()`. Run it in a task you own (a task group child).
    public func run() async {
        for await batch in server.requests {
            var acks: [Reply] = []
            acks.reserveCapacity(batch.count)
            for r in batch {
                receive(r)
                acks.append(Reply(to: r.replyAddress, Message("ack")))
            }
            do { try server.reply(contentsOf: acks) } catch { stats.acksDropped += acks.count }
        }
        finishAllWaits()
    }

    /// Closes the socket: `run()` ends, waits fail with `.closed`, robots stop hearing from fleet control.
    public func close() async {
        closed = true
        await server.close()
        finishAllWaits()
    }

    // MARK: - Commands

    /// Sends an order (or order update) to robot `serialNumber` and waits for the state that
    /// answers it. The header is filled here (headerId per robot and topic, timestamp, version,
    /// manufacturer, serial number). Returns the state showing the order (orderId and
    /// orderUpdateId); throws `.rejected` with the robot's errors about it, `.unknownRobot`,
    /// `.timeout`, `.busy`, `.closed`.
    @discardableResult
    public func send(_ order: VDA5050.Order, to serialNumber: String, timeout: Duration) async throws(FloorError) -> VDA5050.State {
        var o = order
        o.header = try header(serialNumber, .order)
        let before = robots[serialNumber]?.state?.header.headerId ?? -1
        // The update the robot had of this order before this one: a state still showing a newer one
        // does not answer an older update (its refusal does).
        let known = robots[serialNumber]?.state.flatMap { $0.orderId == order.orderId ? $0.orderUpdateId : nil } ?? -1
        try push(serialNumber, .order, VDA5050Codec.encode(o))
        let orderId = o.orderId, update = String(o.orderUpdateId), updateId = o.orderUpdateId
        @Sendable func refusals(_ s: VDA5050.State) -> [VDA5050.AGVError] {
            s.errors.filter { $0.reference("orderId") == orderId && $0.reference("orderUpdateId") == update }
        }
        let s = try await waitForState(of: serialNumber, timeout: timeout) { s in
            s.header.headerId > before
                && (!refusals(s).isEmpty
                    || (s.orderId == orderId && (s.orderUpdateId == updateId || (s.orderUpdateId > updateId && known < updateId))))
        }
        let refused = refusals(s)
        if !refused.isEmpty {
            throw FloorError(.rejected, "robot \(serialNumber) refused order \(orderId) update \(update)", errors: refused)
        }
        return s
    }

    /// Sends instant actions and waits for the state that lists every one of them past WAITING.
    /// Throws `.rejected` (with the errors about them) when any of them FAILED.
    @discardableResult
    public func send(_ actions: VDA5050.InstantActions, to serialNumber: String, timeout: Duration) async throws(FloorError) -> VDA5050.State {
        var m = actions
        m.header = try header(serialNumber, .instantActions)
        let before = robots[serialNumber]?.state?.header.headerId ?? -1
        try push(serialNumber, .instantActions, VDA5050Codec.encode(m))
        let ids = Set(m.actions.map(\.actionId))
        let s = try await waitForState(of: serialNumber, timeout: timeout) { s in
            s.header.headerId > before
                && ids.allSatisfy { id in s.actionStates.contains { $0.actionId == id && $0.actionStatus != .WAITING } }
        }
        let failed = Set(s.actionStates.filter { ids.contains($0.actionId) && $0.actionStatus == .FAILED }.map(\.actionId))
        if !failed.isEmpty {
            let errs = s.errors.filter { e in e.reference("actionId").map(failed.contains) ?? false }
            throw FloorError(.rejected, "robot \(serialNumber) failed action(s) \(failed.sorted().joined(separator: ", "))", errors: errs)
        }
        return s
    }

    /// Sends raw frames to a robot (for tests of bad input): `[topic][body]` as given.
    public func sendRaw(_ message: Message, to serialNumber: String) throws(FloorError) {
        guard let r = robots[serialNumber] else { throw FloorError(.unknownRobot, "no robot \(serialNumber) on this link") }
        do { try server.reply(to: ReplyAddress(routingID: r.routingID, correlationID: 0), message) }
        catch { throw FloorError(error.code == .outboxFull ? .busy : .closed, "\(error)") }
    }

    // MARK: - Observing

    /// Serial numbers of the robots heard from, sorted.
    public var serialNumbers: [String] { robots.keys.sorted() }

    /// The latest state of a robot.
    public func state(of serialNumber: String) -> VDA5050.State? { robots[serialNumber]?.state }

    /// How many robots the link tracks (at most `Configuration.maxRobots`).
    public var robotCount: Int { robots.count }

    /// The robot's connection as fleet control sees it: its last `connection` message, or
    /// CONNECTIONBROKEN when it has been silent beyond `silenceLimit`. nil: never heard from.
    public func connectionState(of serialNumber: String) -> VDA5050.ConnectionState? {
        guard let r = robots[serialNumber] else { return nil }
        if r.connection == .ONLINE, ContinuousClock.now - r.lastHeard > configuration.silenceLimit { return .CONNECTIONBROKEN }
        return r.connection
    }

    /// Waits until robot `serialNumber` (known yet or not) reports a state satisfying `predicate`;
    /// returns at once if its latest state does. `.timeout` at the deadline, `.closed` on close.
    public func waitForState(of serialNumber: String, timeout: Duration,
                             where predicate: @escaping @Sendable (VDA5050.State) -> Bool) async throws(FloorError) -> VDA5050.State {
        if let s = robots[serialNumber]?.state, predicate(s) { return s }
        if closed { throw FloorError(.closed, "robot link closed") }
        guard waits.count < configuration.maxWaiters else {
            throw FloorError(.busy, "\(configuration.maxWaiters) waits already pending")
        }
        nextWait &+= 1
        let id = nextWait
        waits[id] = .registered(serialNumber, predicate)
        let result = await withTaskGroup(of: VDA5050.State?.self) { group in
            group.addTask { await self.suspend(id) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                await self.expire(id)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        if let result { return result }
        if closed { throw FloorError(.closed, "robot link closed while waiting for \(serialNumber)") }
        throw FloorError(.timeout, "no matching state from robot \(serialNumber) within \(timeout)")
    }

    // MARK: - Internals

    private func header(_ serial: String, _ topic: VDA5050.Topic) throws(FloorError) -> VDA5050.Header {
        if closed { throw FloorError(.closed, "robot link closed") }
        guard var r = robots[serial] else { throw FloorError(.unknownRobot, "no robot \(serial) on this link") }
        let id = r.headerIds[topic, default: -1] + 1
        r.headerIds[topic] = id
        robots[serial] = r
        return VDA5050.Header(headerId: id, timestamp: wallTimestamp(), manufacturer: r.manufacturer, serialNumber: serial)
    }

    private func push(_ serial: String, _ topic: VDA5050.Topic, _ json: String) throws(FloorError) {
        guard let r = robots[serial] else { throw FloorError(.unknownRobot, "no robot \(serial) on this link") }
        let t = FloorTopic(manufacturer: r.manufacturer, serialNumber: serial, topic: topic)
        try sendRaw(FloorFrames.message(t, json), to: serial)
    }

    private func receive(_ r: IncomingRequest) {
        do throws(VDA5050DecodingError) {
            let (topic, json) = try FloorFrames.parse(r.message)
            if let why = refusal(topic.serialNumber, peer: r.peer) {
                stats.refused += 1
                stats.lastRefused = "\(topic.serialNumber): \(why)"
                return
            }
            switch topic.topic {
            case .state:
                let s = try VDA5050Codec.decodeState(json)
                try FloorFrames.checkHeader(s.header, against: topic)
                heard(topic, r.replyAddress.routingID)
                robots[topic.serialNumber]?.state = s
                stats.states += 1
                if recordedStates.count < configuration.recordLimit {
                    recordedStates.append(RecordedState(serialNumber: topic.serialNumber, lastNodeId: s.lastNodeId,
                                                        driving: s.driving, fatal: s.hasFatalError))
                }
                deliver(s, serial: topic.serialNumber)
            case .connection:
                let c = try VDA5050Codec.decodeConnection(json)
                try FloorFrames.checkHeader(c.header, against: topic)
                heard(topic, r.replyAddress.routingID)
                robots[topic.serialNumber]?.connection = c.connectionState
                stats.connections += 1
            case .order, .instantActions:
                throw VDA5050DecodingError(.invalidValue, "topic.topic", "\(topic.topic.rawValue) goes to robots, not to fleet control")
            }
        } catch {
            stats.malformed += 1
            stats.lastMalformed = error.description
        }
    }

    /// Why a message speaking for `serial` is refused, or nil. On a CURVE link (`peer` set) the
    /// key's User-Id must be `robot:<serial>`: a robot speaks only for itself, so no peer can take
    /// over another robot's routing id or report its state.
    func refusal(_ serial: String, peer: PeerIdentity?) -> String? {
        if let allowed = configuration.allowedRobots, !allowed.contains(serial) { return "not a robot of this link" }
        if let peer, peer.userID != "robot:\(serial)" { return "the key of \(peer.userID) may not speak for robot \(serial)" }
        if robots[serial] == nil, robots.count >= configuration.maxRobots { return "\(configuration.maxRobots) robots already on this link" }
        return nil
    }

    private func heard(_ t: FloorTopic, _ routingID: [UInt8]) {
        if var r = robots[t.serialNumber] {
            r.routingID = routingID
            r.manufacturer = t.manufacturer
            r.lastHeard = .now
            robots[t.serialNumber] = r
        } else {
            robots[t.serialNumber] = Robot(manufacturer: t.manufacturer, routingID: routingID, lastHeard: .now)
        }
    }

    private func deliver(_ s: VDA5050.State, serial: String) {
        for (id, w) in waits {
            switch w {
            case .registered(let sn, let p) where sn == serial && p(s):
                waits[id] = .done(s)
            case .pending(let sn, let p, let k) where sn == serial && p(s):
                waits[id] = nil
                k.resume(returning: s)
            default:
                break
            }
        }
    }

    private func suspend(_ id: UInt64) async -> VDA5050.State? {
        await withCheckedContinuation { (k: CheckedContinuation<VDA5050.State?, Never>) in
            switch waits[id] {
            case .registered(let sn, let p):
                waits[id] = .pending(sn, p, k)
            case .done(let s):
                waits[id] = nil
                k.resume(returning: s)
            case .pending, nil:
                k.resume(returning: nil)
            }
        }
    }

    private func expire(_ id: UInt64) {
        switch waits[id] {
        case .registered: waits[id] = .done(nil)
        case .pending(_, _, let k):
            waits[id] = nil
            k.resume(returning: nil)
        case .done, nil: break
        }
    }

    private func finishAllWaits() {
        closed = true
        for (id, w) in waits {
            switch w {
            case .registered: waits[id] = .done(nil)
            case .pending(_, _, let k):
                waits[id] = nil
                k.resume(returning: nil)
            case .done: break
            }
        }
    }
}
