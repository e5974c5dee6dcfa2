import Base

/// One floor robot as a pure state machine that executes VDA 5050 orders on a `Grid`.
///
/// Time is a value (milliseconds on any monotonic scale the caller chooses); randomness is a
/// seeded SplitMix64; the same inputs at the same times give the same states. The robot:
/// - drives one cell per move, along released edges only, each move taking `stepMillis` plus a
///   seeded random delay in `0...jitterMillis`; it stops at the last released node (the decision
///   point) until an update extends the base, and never drives into the horizon;
/// - keeps VDA 5050's order-update rules (`VDA5050Codec.classify`): an older `orderUpdateId` is
///   refused with an `orderUpdateError` in `errors` while the current order goes on;
/// - drains `drainPerMove` percent of battery per move; `startCharging` on a charger cell charges
///   at `chargePerSecond` up to 100 % and holds the robot still until `stopCharging`;
/// - stops while a FATAL error is active (`injectFault`), finishing the move it is in, until cleared;
/// - notes every message from fleet control (`noteContact`); silent beyond
///   `connectionTimeoutMillis`, it reports `connectionLost` and carries on to the end of its
///   released base, where it stops (there is nothing else it could do without fleet control).
public struct RobotSim: Sendable {
    public struct Configuration: Sendable {
        public var manufacturer: String
        public var serialNumber: String
        public var layout: VDA5050Layout
        public var stepMillis: Int64
        public var jitterMillis: Int64
        public var drainPerMove: Double
        public var chargePerSecond: Double
        /// Charging adds `chargePerSecond × chargeTickMillis / 1000` percent every `chargeTickMillis`.
        public var chargeTickMillis: Int64
        public var chargers: Set<GridCell>
        /// nil: never consider fleet control lost.
        public var connectionTimeoutMillis: Int64?
        public var seed: UInt64
        public init(manufacturer: String = "daybreak", serialNumber: String, layout: VDA5050Layout,
                    stepMillis: Int64 = 100, jitterMillis: Int64 = 20, drainPerMove: Double = 0.5,
                    chargePerSecond: Double = 5, chargeTickMillis: Int64 = 1_000, chargers: Set<GridCell> = [],
                    connectionTimeoutMillis: Int64? = 3_000, seed: UInt64 = 1) {
            self.manufacturer = manufacturer; self.serialNumber = serialNumber; self.layout = layout
            self.stepMillis = stepMillis; self.jitterMillis = jitterMillis; self.drainPerMove = drainPerMove
            self.chargePerSecond = chargePerSecond; self.chargeTickMillis = max(1, chargeTickMillis); self.chargers = chargers
            self.connectionTimeoutMillis = connectionTimeoutMillis; self.seed = seed
        }
    }

    /// A move in progress: along `edge` to `node`, arriving at `arrivesAt`.
    public struct Move: Sendable, Equatable {
        public var edge: VDA5050.Edge
        public var node: VDA5050.Node
        public var from: GridCell
        public var to: GridCell
        public var startedAt: Int64
        public var arrivesAt: Int64
    }

    public let grid: Grid
    public let configuration: Configuration
    public private(set) var now: Int64
    public private(set) var position: GridCell
    public private(set) var battery: Double
    public private(set) var charging = false
    public private(set) var paused = false
    public private(set) var move: Move?
    /// The order as last accepted (the base already driven is kept as received).
    public private(set) var order: VDA5050.Order?
    public private(set) var lastNodeId: String
    public private(set) var lastNodeSequenceId = 0
    /// Nodes still ahead (sequenceId > lastNodeSequenceId), base then horizon.
    public private(set) var nodesAhead: [VDA5050.Node] = []
    /// Edges still ahead, the one being driven first.
    public private(set) var edgesAhead: [VDA5050.Edge] = []
    public private(set) var errors: [VDA5050.AGVError] = []
    public private(set) var actionStates: [VDA5050.ActionState] = []
    public private(set) var cancelled = false
    public private(set) var lastContact: Int64
    public private(set) var connectionLost = false
    /// Every cell reached, in order (the start cell first): what tests check against the horizon.
    public private(set) var visited: [GridCell]
    /// Bumped on every change fleet control should hear about (publish a state when it moves).
    public private(set) var revision = 0
    private var pendingCancel: String? = nil
    private var lastChargeAt: Int64
    private var rng: SplitMix64

    public init(grid: Grid, start: GridCell, battery: Double = 100, configuration: Configuration, at now: Int64 = 0) {
        precondition(grid.isFree(start), "robot \(configuration.serialNumber) starts on blocked cell \(start)")
        self.grid = grid
        self.configuration = configuration
        self.now = now
        self.position = start
        self.battery = battery
        self.lastNodeId = VDA5050Layout.nodeId(start)
        self.lastContact = now
        self.lastChargeAt = now
        self.visited = [start]
        self.rng = SplitMix64(seed: configuration.seed)
    }

    public var driving: Bool { move != nil }
    public var hasFatalError: Bool { errors.contains { $0.errorLevel == .FATAL } }
    /// Whether an order still has nodes or edges to go (VDA 5050: not idle).
    public var orderActive: Bool { !nodesAhead.isEmpty || !edgesAhead.isEmpty }
    /// The last released node ahead, or the last node reached when none is ahead.
    public var decisionPoint: VDA5050.Node? {
        if let n = nodesAhead.last(where: \.released) { return n }
        guard order != nil else { return nil }
        return order?.nodes.first(where: { $0.sequenceId == lastNodeSequenceId })
            ?? VDA5050.Node(nodeId: lastNodeId, sequenceId: lastNodeSequenceId, released: true)
    }

    // MARK: - Inputs

    /// Fleet control was heard from (any message or acknowledgement).
    public mutating func noteContact(at t: Int64) {
        advance(to: t)
        lastContact = t
        if connectionLost {
            connectionLost = false
            errors.removeAll { $0.errorType == VDA5050.ErrorType.connectionLost }
            changed()
        }
    }

    /// An order or order update from fleet control (already structurally valid: the codec checks that).
    public mutating func receive(_ incoming: VDA5050.Order, at t: Int64) {
        noteContact(at: t)
        changed() // a state answers every order, accepted or not
        let refs = [VDA5050.ErrorReference("orderId", incoming.orderId),
                    VDA5050.ErrorReference("orderUpdateId", String(incoming.orderUpdateId))]
        let decision: VDA5050Codec.UpdateDecision
        do {
            decision = try VDA5050Codec.classify(incoming, current: order, decisionPoint: decisionPoint)
        } catch {
            report(VDA5050.ErrorType.orderUpdate, .WARNING, error.description, refs)
            return
        }
        switch decision {
        case .ignoreDuplicate:
            return
        case .newOrder:
            if orderActive {
                report(VDA5050.ErrorType.order, .WARNING,
                       "order \"\(order?.orderId ?? "")\" is still active; a new orderId is accepted only when idle", refs)
                return
            }
            if let problem = routeProblem(incoming) {
                report(problem.0, .WARNING, problem.1, refs)
                return
            }
            let first = incoming.nodes[0]
            guard VDA5050Layout.cell(nodeId: first.nodeId) == position else {
                report(VDA5050.ErrorType.noRoute, .WARNING,
                       "nodes[0] \"\(first.nodeId)\" is not where the robot is (\(VDA5050Layout.nodeId(position)))",
                       refs + [.init("nodeId", first.nodeId)])
                return
            }
            clearOrderErrors()
            order = incoming
            cancelled = false
            pendingCancel = nil
            lastNodeId = first.nodeId
            lastNodeSequenceId = first.sequenceId
            nodesAhead = Array(incoming.nodes.dropFirst())
            edgesAhead = incoming.edges
            // Action states are kept until a new order: reset them to this order's actions.
            actionStates = first.actions.map { .init(actionId: $0.actionId, actionType: $0.actionType, actionStatus: .FINISHED) }
            for n in nodesAhead { waiting(n.actions) }
            for e in edgesAhead { waiting(e.actions) }
        case .update:
            if cancelled {
                report(VDA5050.ErrorType.order, .WARNING,
                       "order \"\(incoming.orderId)\" was cancelled; updates to it are refused", refs)
                return
            }
            if let problem = routeProblem(incoming) {
                report(problem.0, .WARNING, problem.1, refs)
                return
            }
            clearOrderErrors()
            let stitch = incoming.nodes[0].sequenceId
            // Keep what is ahead up to the decision point, replace the horizon with the update.
            nodesAhead = nodesAhead.filter { $0.sequenceId < stitch } + incoming.nodes.filter { $0.sequenceId > lastNodeSequenceId }
            edgesAhead = edgesAhead.filter { $0.sequenceId < stitch } + incoming.edges
            actionStates.removeAll { $0.actionStatus == .WAITING }
            for n in nodesAhead { waiting(n.actions) }
            for e in edgesAhead where e.edgeId != move?.edge.edgeId { waiting(e.actions) }
            var merged = incoming
            merged.nodes = (order?.nodes.filter { $0.sequenceId < stitch } ?? []) + incoming.nodes
            merged.edges = (order?.edges.filter { $0.sequenceId < stitch } ?? []) + incoming.edges
            order = merged
        }
        tryStart(at: now)
    }

    /// Instant actions from fleet control.
    public mutating func receive(_ m: VDA5050.InstantActions, at t: Int64) {
        noteContact(at: t)
        changed()
        for a in m.actions {
            actionStates.removeAll { $0.actionId == a.actionId }
            guard let kind = VDA5050.InstantActionType(rawValue: a.actionType) else {
                fail(a, "actionType \"\(a.actionType)\" is not supported")
                continue
            }
            switch kind {
            case .cancelOrder:
                guard orderActive, !cancelled else {
                    report(VDA5050.ErrorType.noOrderToCancel, .WARNING, "cancelOrder: there is no active order",
                           [.init("actionId", a.actionId)])
                    setAction(a, .FAILED, "no order to cancel")
                    continue
                }
                cancelled = true
                if move != nil {
                    pendingCancel = a.actionId // finish the cell being entered, then stop
                    setAction(a, .RUNNING)
                } else {
                    dropRemainingOrder()
                    setAction(a, .FINISHED)
                }
            case .startPause:
                paused = true
                setAction(a, .FINISHED)
            case .stopPause:
                paused = false
                setAction(a, .FINISHED)
            case .startCharging:
                if move != nil { fail(a, "startCharging while driving"); continue }
                if !configuration.chargers.contains(position) {
                    fail(a, "startCharging at \(VDA5050Layout.nodeId(position)), which is not a charger")
                    continue
                }
                charging = true
                lastChargeAt = now
                setAction(a, .FINISHED)
            case .stopCharging:
                charging = false
                setAction(a, .FINISHED)
            case .stateRequest:
                setAction(a, .FINISHED)
            }
        }
        tryStart(at: now)
    }

    /// A message from fleet control that failed to decode or validate: reported as a
    /// `validationError` naming the item, kept until the next accepted order.
    public mutating func reject(_ error: VDA5050DecodingError, topic: String, at t: Int64) {
        noteContact(at: t)
        report(VDA5050.ErrorType.validation, .WARNING, "\(topic): \(error.description)", [.init("topic", topic)])
    }

    /// Fault injection: a FATAL error stops the robot (after the cell it is entering) until cleared.
    public mutating func injectFault(errorType: String = "driveFault", description: String, at t: Int64) {
        advance(to: t)
        report(errorType, .FATAL, description, [.init("nodeId", lastNodeId)])
    }

    /// Clears FATAL errors (all, or those of `errorType`); the robot goes on with its base.
    public mutating func clearFaults(errorType: String? = nil, at t: Int64) {
        advance(to: t)
        let before = errors.count
        errors.removeAll { $0.errorLevel == .FATAL && (errorType == nil || $0.errorType == errorType) }
        if errors.count != before { changed() }
        tryStart(at: now)
    }

    // MARK: - Time

    /// When something will happen without any input: an arrival, the connection timeout, a charge
    /// increment (every `chargeTickMillis` while charging below 100 %). nil: nothing until a message comes.
    public var nextEventAt: Int64? {
        var t: Int64? = move?.arrivesAt
        if let limit = configuration.connectionTimeoutMillis, !connectionLost {
            t = min(t ?? .max, lastContact + limit + 1)
        }
        if charging, battery < 100 { t = min(t ?? .max, lastChargeAt + configuration.chargeTickMillis) }
        return t
    }

    /// Runs the robot up to time `t`: arrivals in order (each next move starts when the previous
    /// one arrived, so the result does not depend on how often this is called), charging, the
    /// connection timeout.
    public mutating func advance(to t: Int64) {
        guard t > now else { return }
        while let m = move, m.arrivesAt <= t {
            arrive(m)
            tryStart(at: m.arrivesAt)
        }
        if charging, battery < 100 {
            let tick = configuration.chargeTickMillis
            let steps = (t - lastChargeAt) / tick
            if steps > 0 {
                battery = min(100, battery + Double(steps * tick) / 1_000 * configuration.chargePerSecond)
                lastChargeAt += steps * tick
                changed()
            }
        } else {
            lastChargeAt = t
        }
        if let limit = configuration.connectionTimeoutMillis, !connectionLost, t - lastContact > limit {
            connectionLost = true
            report(VDA5050.ErrorType.connectionLost, .WARNING,
                   "no message from fleet control for \(t - lastContact) ms; stopping at the end of the released base", [])
        }
        now = t
    }

    // MARK: - State

    public func state(header: VDA5050.Header) -> VDA5050.State {
        let p = configuration.layout.position(position)
        let heading: Double = move.map { m in
            m.to.x > m.from.x ? 0 : m.to.x < m.from.x ? 3.14159265359 : m.to.y > m.from.y ? 1.5707963268 : -1.5707963268
        } ?? 0
        return VDA5050.State(
            header: header, orderId: order?.orderId ?? "", orderUpdateId: order?.orderUpdateId ?? 0,
            lastNodeId: lastNodeId, lastNodeSequenceId: lastNodeSequenceId, driving: driving, paused: paused,
            newBaseRequest: newBaseRequest, operatingMode: .AUTOMATIC,
            nodeStates: nodesAhead.map { .init(nodeId: $0.nodeId, sequenceId: $0.sequenceId, released: $0.released, nodePosition: $0.nodePosition) },
            edgeStates: edgesAhead.map { .init(edgeId: $0.edgeId, sequenceId: $0.sequenceId, released: $0.released) },
            agvPosition: .init(x: p.x, y: p.y, theta: heading, mapId: p.mapId),
            actionStates: actionStates,
            batteryState: .init(batteryCharge: (battery * 10).rounded() / 10, charging: charging),
            errors: errors, safetyState: .init())
    }

    /// True when at most one released edge is left and the horizon is not empty: the robot asks
    /// for more base before it has to stop.
    public var newBaseRequest: Bool {
        edgesAhead.filter(\.released).count <= 1 && nodesAhead.contains { !$0.released }
    }

    // MARK: - Internals

    private mutating func changed() { revision &+= 1 }

    private mutating func report(_ type: String, _ level: VDA5050.ErrorLevel, _ text: String, _ refs: [VDA5050.ErrorReference]) {
        errors.removeAll { $0.errorType == type && $0.errorReferences == refs && $0.errorLevel == level }
        errors.append(.init(errorType: type, errorLevel: level, errorDescription: text, errorReferences: refs))
        changed()
    }

    /// Errors about orders and messages stay until an order is accepted (VDA 5050 §6.6).
    private mutating func clearOrderErrors() {
        let transient: Set<String> = [VDA5050.ErrorType.validation, VDA5050.ErrorType.orderUpdate,
                                      VDA5050.ErrorType.order, VDA5050.ErrorType.noRoute]
        errors.removeAll { $0.errorLevel == .WARNING && transient.contains($0.errorType) }
    }

    private mutating func waiting(_ actions: [VDA5050.Action]) {
        for a in actions where !actionStates.contains(where: { $0.actionId == a.actionId }) {
            actionStates.append(.init(actionId: a.actionId, actionType: a.actionType, actionStatus: .WAITING))
        }
    }

    private mutating func setAction(_ a: VDA5050.Action, _ s: VDA5050.ActionStatus, _ result: String? = nil) {
        setAction(a.actionId, type: a.actionType, s, result)
    }

    private mutating func setAction(_ id: String, type: String?, _ s: VDA5050.ActionStatus, _ result: String? = nil) {
        if let i = actionStates.firstIndex(where: { $0.actionId == id }) {
            actionStates[i].actionStatus = s
            if let result { actionStates[i].resultDescription = result }
        } else {
            actionStates.append(.init(actionId: id, actionType: type, actionStatus: s, resultDescription: result))
        }
        changed()
    }

    private mutating func fail(_ a: VDA5050.Action, _ why: String) {
        report(VDA5050.ErrorType.action, .WARNING, why, [.init("actionId", a.actionId)])
        setAction(a, .FAILED, why)
    }

    /// Nodes must name free cells of this grid; edges must join 4-neighbours; positions, when
    /// given, must be on this map at the node's cell. Returns (errorType, description) or nil.
    private func routeProblem(_ o: VDA5050.Order) -> (String, String)? {
        for (i, n) in o.nodes.enumerated() {
            guard let c = VDA5050Layout.cell(nodeId: n.nodeId) else {
                return (VDA5050.ErrorType.validation, "nodes[\(i)].nodeId: \"\(n.nodeId)\" is not a cell id of the form c<x>_<y>")
            }
            guard grid.isFree(c) else {
                return (VDA5050.ErrorType.noRoute, "nodes[\(i)].nodeId: cell \(c) is off the grid or blocked")
            }
            if let p = n.nodePosition {
                let expected = configuration.layout.position(c)
                if p.mapId != expected.mapId {
                    return (VDA5050.ErrorType.validation, "nodes[\(i)].nodePosition.mapId: \"\(p.mapId)\", the robot is on map \"\(expected.mapId)\"")
                }
                let tolerance = configuration.layout.cellSize / 4
                if abs(p.x - expected.x) > tolerance || abs(p.y - expected.y) > tolerance {
                    return (VDA5050.ErrorType.validation, "nodes[\(i)].nodePosition: (\(p.x), \(p.y)) is not at cell \(c) (\(expected.x), \(expected.y))")
                }
            }
        }
        for (i, e) in o.edges.enumerated() {
            let a = VDA5050Layout.cell(nodeId: e.startNodeId)!, b = VDA5050Layout.cell(nodeId: e.endNodeId)!
            if abs(a.x - b.x) + abs(a.y - b.y) != 1 {
                return (VDA5050.ErrorType.noRoute, "edges[\(i)]: \(a) and \(b) are not 4-neighbours")
            }
        }
        return nil
    }

    private mutating func dropRemainingOrder() {
        for n in nodesAhead { for a in n.actions { setAction(a.actionId, type: a.actionType, .FAILED, "order cancelled") } }
        for e in edgesAhead { for a in e.actions { setAction(a.actionId, type: a.actionType, .FAILED, "order cancelled") } }
        nodesAhead = []
        edgesAhead = []
        changed()
    }

    /// Starts the next move at time `t` when everything allows it.
    private mutating func tryStart(at t: Int64) {
        guard move == nil, !paused, !charging, !hasFatalError, !cancelled,
              let e = edgesAhead.first, e.released,
              let n = nodesAhead.first, n.released, n.sequenceId == e.sequenceId + 1,
              let to = VDA5050Layout.cell(nodeId: n.nodeId) else { return }
        if battery < configuration.drainPerMove {
            if !errors.contains(where: { $0.errorType == VDA5050.ErrorType.batteryLow }) {
                report(VDA5050.ErrorType.batteryLow, .WARNING, "battery \(battery) % is too low to move", [])
            }
            return
        }
        let jitter = configuration.jitterMillis > 0 ? Int64(rng.next() % UInt64(configuration.jitterMillis + 1)) : 0
        move = Move(edge: e, node: n, from: position, to: to, startedAt: t, arrivesAt: t + configuration.stepMillis + jitter)
        for a in e.actions { setAction(a.actionId, type: a.actionType, .FINISHED) }
        changed()
    }

    private mutating func arrive(_ m: Move) {
        move = nil
        position = m.to
        visited.append(m.to)
        battery = max(0, battery - configuration.drainPerMove)
        lastNodeId = m.node.nodeId
        lastNodeSequenceId = m.node.sequenceId
        edgesAhead.removeAll { $0.sequenceId <= m.edge.sequenceId }
        nodesAhead.removeAll { $0.sequenceId <= m.node.sequenceId }
        // Node actions are not simulated: they finish on arrival.
        for a in m.node.actions { setAction(a.actionId, type: a.actionType, .FINISHED) }
        if let id = pendingCancel {
            pendingCancel = nil
            dropRemainingOrder()
            setAction(id, type: VDA5050.InstantActionType.cancelOrder.rawValue, .FINISHED)
        }
        changed()
    }
}
