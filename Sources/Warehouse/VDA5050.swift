import Base

/// The part of VDA 5050 v2.1.0 that Daybreak speaks with its floor robots (Docs/VDA5050.md).
///
/// Field names are the schema's, exactly (camelCase, enum values in capitals). Only what Daybreak
/// uses is carried, but every message carries all the fields its v2.1.0 schema requires, so what
/// the codec writes validates against the schema. Pure values: no clock, no I/O.
public enum VDA5050 {
    /// The protocol version written into every header ("[Major].[Minor].[Patch]").
    public static let version = "2.1.0"
    /// The major version as it appears in topics (`uagv/v2/<manufacturer>/<serial>/<topic>`).
    public static let majorVersion = "v2"
    /// The interface name of the topic (the schema's own examples use `uagv`).
    public static let interfaceName = "uagv"

    /// The header every message starts with. `headerId` counts per topic and sender.
    public struct Header: Sendable, Equatable {
        public var headerId: Int
        /// ISO 8601 UTC, e.g. `2026-07-02T08:15:00.120Z` (see `VDA5050.timestamp(unixMillis:)`).
        public var timestamp: String
        public var version: String
        public var manufacturer: String
        public var serialNumber: String
        public init(headerId: Int = 0, timestamp: String = "", version: String = VDA5050.version,
                    manufacturer: String, serialNumber: String) {
            self.headerId = headerId
            self.timestamp = timestamp
            self.version = version
            self.manufacturer = manufacturer
            self.serialNumber = serialNumber
        }
    }

    /// The four topics Daybreak uses.
    public enum Topic: String, Sendable, CaseIterable {
        case order, instantActions, state, connection
    }

    // MARK: - Actions

    public enum BlockingType: String, Sendable, CaseIterable { case NONE, SOFT, HARD }

    public struct ActionParameter: Sendable, Equatable {
        public var key: String
        /// Any JSON value but null (the schema allows array, boolean, number, string, object).
        public var value: JSONValue
        public init(key: String, value: JSONValue) { self.key = key; self.value = value }
    }

    public struct Action: Sendable, Equatable {
        public var actionType: String
        public var actionId: String
        public var actionDescription: String?
        public var blockingType: BlockingType
        public var actionParameters: [ActionParameter]
        public init(actionType: String, actionId: String, blockingType: BlockingType = .NONE,
                    actionDescription: String? = nil, actionParameters: [ActionParameter] = []) {
            self.actionType = actionType
            self.actionId = actionId
            self.actionDescription = actionDescription
            self.blockingType = blockingType
            self.actionParameters = actionParameters
        }
    }

    /// The instant action types the simulator understands; others are answered FAILED.
    public enum InstantActionType: String, Sendable, CaseIterable {
        case cancelOrder, startPause, stopPause, startCharging, stopCharging, stateRequest
    }

    // MARK: - Order

    public struct NodePosition: Sendable, Equatable {
        public var x: Double
        public var y: Double
        public var theta: Double?
        public var mapId: String
        public init(x: Double, y: Double, theta: Double? = nil, mapId: String) {
            self.x = x; self.y = y; self.theta = theta; self.mapId = mapId
        }
    }

    public struct Node: Sendable, Equatable {
        public var nodeId: String
        /// Even: nodes and edges share one counter (node 0, edge 1, node 2, …).
        public var sequenceId: Int
        public var released: Bool
        public var nodePosition: NodePosition?
        public var actions: [Action]
        public init(nodeId: String, sequenceId: Int, released: Bool, nodePosition: NodePosition? = nil,
                    actions: [Action] = []) {
            self.nodeId = nodeId; self.sequenceId = sequenceId; self.released = released
            self.nodePosition = nodePosition; self.actions = actions
        }
    }

    public struct Edge: Sendable, Equatable {
        public var edgeId: String
        /// Odd: between the sequenceIds of its start and end nodes.
        public var sequenceId: Int
        public var released: Bool
        public var startNodeId: String
        public var endNodeId: String
        /// m/s; optional.
        public var maxSpeed: Double?
        public var actions: [Action]
        public init(edgeId: String, sequenceId: Int, released: Bool, startNodeId: String, endNodeId: String,
                    maxSpeed: Double? = nil, actions: [Action] = []) {
            self.edgeId = edgeId; self.sequenceId = sequenceId; self.released = released
            self.startNodeId = startNodeId; self.endNodeId = endNodeId
            self.maxSpeed = maxSpeed; self.actions = actions
        }
    }

    /// An order or an order update (same `orderId`, higher `orderUpdateId`). Released nodes and
    /// edges are the base, unreleased ones the horizon.
    public struct Order: Sendable, Equatable {
        public var header: Header
        public var orderId: String
        public var orderUpdateId: Int
        public var nodes: [Node]
        public var edges: [Edge]
        public init(header: Header, orderId: String, orderUpdateId: Int, nodes: [Node], edges: [Edge]) {
            self.header = header; self.orderId = orderId; self.orderUpdateId = orderUpdateId
            self.nodes = nodes; self.edges = edges
        }

        /// The last released node: where the robot must stop unless the base grows.
        public var decisionPoint: Node? { nodes.last(where: \.released) }
        /// Whether nodes and edges equal `other`'s (what a resend with the same update id must match).
        public func sameContent(as other: Order) -> Bool { nodes == other.nodes && edges == other.edges }
    }

    public struct InstantActions: Sendable, Equatable {
        public var header: Header
        public var actions: [Action]
        public init(header: Header, actions: [Action]) { self.header = header; self.actions = actions }
    }

    // MARK: - Connection

    public enum ConnectionState: String, Sendable, CaseIterable { case ONLINE, OFFLINE, CONNECTIONBROKEN }

    public struct Connection: Sendable, Equatable {
        public var header: Header
        public var connectionState: ConnectionState
        public init(header: Header, connectionState: ConnectionState) {
            self.header = header; self.connectionState = connectionState
        }
    }

    // MARK: - State

    public struct NodeState: Sendable, Equatable {
        public var nodeId: String
        public var sequenceId: Int
        public var released: Bool
        public var nodePosition: NodePosition?
        public init(nodeId: String, sequenceId: Int, released: Bool, nodePosition: NodePosition? = nil) {
            self.nodeId = nodeId; self.sequenceId = sequenceId; self.released = released; self.nodePosition = nodePosition
        }
    }

    public struct EdgeState: Sendable, Equatable {
        public var edgeId: String
        public var sequenceId: Int
        public var released: Bool
        public init(edgeId: String, sequenceId: Int, released: Bool) {
            self.edgeId = edgeId; self.sequenceId = sequenceId; self.released = released
        }
    }

    public enum ActionStatus: String, Sendable, CaseIterable { case WAITING, INITIALIZING, RUNNING, FINISHED, FAILED }

    public struct ActionState: Sendable, Equatable {
        public var actionId: String
        public var actionType: String?
        public var actionStatus: ActionStatus
        public var resultDescription: String?
        public init(actionId: String, actionType: String? = nil, actionStatus: ActionStatus, resultDescription: String? = nil) {
            self.actionId = actionId; self.actionType = actionType
            self.actionStatus = actionStatus; self.resultDescription = resultDescription
        }
    }

    public struct BatteryState: Sendable, Equatable {
        /// State of charge in percent.
        public var batteryCharge: Double
        public var charging: Bool
        public init(batteryCharge: Double, charging: Bool) { self.batteryCharge = batteryCharge; self.charging = charging }
    }

    public enum ErrorLevel: String, Sendable, CaseIterable { case WARNING, FATAL }

    public struct ErrorReference: Sendable, Equatable {
        public var referenceKey: String
        public var referenceValue: String
        public init(_ key: String, _ value: String) { referenceKey = key; referenceValue = value }
    }

    /// One entry of `state.errors` (named apart from Swift's `Error`).
    public struct AGVError: Sendable, Equatable {
        public var errorType: String
        public var errorLevel: ErrorLevel
        public var errorDescription: String?
        public var errorReferences: [ErrorReference]
        public init(errorType: String, errorLevel: ErrorLevel, errorDescription: String? = nil,
                    errorReferences: [ErrorReference] = []) {
            self.errorType = errorType; self.errorLevel = errorLevel
            self.errorDescription = errorDescription; self.errorReferences = errorReferences
        }
        /// The value of reference `key`, if present.
        public func reference(_ key: String) -> String? {
            errorReferences.first(where: { $0.referenceKey == key })?.referenceValue
        }
    }

    public enum OperatingMode: String, Sendable, CaseIterable { case AUTOMATIC, SEMIAUTOMATIC, MANUAL, SERVICE, TEACHIN }
    public enum EStop: String, Sendable, CaseIterable { case AUTOACK, MANUAL, REMOTE, NONE }

    public struct SafetyState: Sendable, Equatable {
        public var eStop: EStop
        public var fieldViolation: Bool
        public init(eStop: EStop = .NONE, fieldViolation: Bool = false) { self.eStop = eStop; self.fieldViolation = fieldViolation }
    }

    public struct AGVPosition: Sendable, Equatable {
        public var x: Double
        public var y: Double
        public var theta: Double
        public var mapId: String
        public var positionInitialized: Bool
        public init(x: Double, y: Double, theta: Double, mapId: String, positionInitialized: Bool = true) {
            self.x = x; self.y = y; self.theta = theta; self.mapId = mapId; self.positionInitialized = positionInitialized
        }
    }

    public struct State: Sendable, Equatable {
        public var header: Header
        /// Empty when the robot has never had an order.
        public var orderId: String
        public var orderUpdateId: Int
        public var lastNodeId: String
        public var lastNodeSequenceId: Int
        public var driving: Bool
        public var paused: Bool?
        public var newBaseRequest: Bool?
        public var operatingMode: OperatingMode
        /// Nodes still to traverse (the last reached one is not listed).
        public var nodeStates: [NodeState]
        /// Edges still to traverse, the one being driven included.
        public var edgeStates: [EdgeState]
        public var agvPosition: AGVPosition?
        public var actionStates: [ActionState]
        public var batteryState: BatteryState
        public var errors: [AGVError]
        public var safetyState: SafetyState
        public init(header: Header, orderId: String, orderUpdateId: Int, lastNodeId: String, lastNodeSequenceId: Int,
                    driving: Bool, paused: Bool? = nil, newBaseRequest: Bool? = nil,
                    operatingMode: OperatingMode = .AUTOMATIC, nodeStates: [NodeState], edgeStates: [EdgeState],
                    agvPosition: AGVPosition? = nil, actionStates: [ActionState], batteryState: BatteryState,
                    errors: [AGVError], safetyState: SafetyState = .init()) {
            self.header = header; self.orderId = orderId; self.orderUpdateId = orderUpdateId
            self.lastNodeId = lastNodeId; self.lastNodeSequenceId = lastNodeSequenceId
            self.driving = driving; self.paused = paused; self.newBaseRequest = newBaseRequest
            self.operatingMode = operatingMode; self.nodeStates = nodeStates; self.edgeStates = edgeStates
            self.agvPosition = agvPosition; self.actionStates = actionStates; self.batteryState = batteryState
            self.errors = errors; self.safetyState = safetyState
        }

        /// Whether any FATAL error is active.
        public var hasFatalError: Bool { errors.contains { $0.errorLevel == .FATAL } }
    }

    /// The error types Daybreak's robots report (v2.1 names where the standard has one).
    public enum ErrorType {
        /// A message failed validation (the description names the field); v2.1 `validationError`.
        public static let validation = "validationError"
        /// An update with a lower `orderUpdateId`, or the same one with other content; v2.1 `orderUpdateError`.
        public static let orderUpdate = "orderUpdateError"
        /// A new order while another is active, or an update of a cancelled order; v2.1 `orderError`.
        public static let order = "orderError"
        /// An order whose nodes are not free cells or whose edges do not join 4-neighbours; v2.1 `noRouteError`.
        public static let noRoute = "noRouteError"
        /// `cancelOrder` with no active order.
        public static let noOrderToCancel = "noOrderToCancel"
        /// An instant action the robot cannot do now (startCharging away from a charger, an unknown type).
        public static let action = "actionError"
        /// Battery too low to make the next move.
        public static let batteryLow = "batteryLowError"
        /// Fleet control was silent beyond the connection timeout (cleared by the next message).
        public static let connectionLost = "connectionLost"
    }

    // MARK: - Timestamps

    /// `YYYY-MM-DDTHH:mm:ss.fffZ` for milliseconds since 1970 (UTC). Pure: the caller reads the clock.
    public static func timestamp(unixMillis: Int64) -> String {
        let ms = Int(((unixMillis % 1000) + 1000) % 1000)
        let secs = (unixMillis - Int64(ms)) / 1000
        let days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
        let sod = Int(secs - days * 86_400)
        let c = CivilDate.civil(days: days)
        let y = Int(c.year), m = Int(c.month), d = Int(c.day)
        func pad(_ v: Int, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(sod / 3600, 2)):\(pad(sod / 60 % 60, 2)):\(pad(sod % 60, 2)).\(pad(ms, 3))Z"
    }
}

// MARK: - Grid cells as VDA 5050 nodes

/// How grid cells become VDA 5050 nodes: node `c<x>_<y>`, position `x·cellSize, y·cellSize` metres
/// on map `mapId` (the site), edge `c<x1>_<y1>-c<x2>_<y2>`.
public struct VDA5050Layout: Sendable, Equatable {
    public var mapId: String
    /// Metres per cell.
    public var cellSize: Double
    public init(mapId: String, cellSize: Double = 1.0) {
        self.mapId = mapId
        self.cellSize = cellSize
    }

    public static func nodeId(_ c: GridCell) -> String { "c\(c.x)_\(c.y)" }

    /// The cell a node id names, or nil when it is not of the form `c<x>_<y>` with x, y ≥ 0.
    public static func cell(nodeId: String) -> GridCell? {
        guard nodeId.hasPrefix("c") else { return nil }
        let parts = nodeId.dropFirst().split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2, let x = Int(parts[0]), let y = Int(parts[1]), x >= 0, y >= 0,
              parts[0].allSatisfy(\.isASCII), parts[1].allSatisfy(\.isASCII) else { return nil }
        return GridCell(x: x, y: y)
    }

    public static func edgeId(_ a: GridCell, _ b: GridCell) -> String { "\(nodeId(a))-\(nodeId(b))" }

    public func position(_ c: GridCell) -> VDA5050.NodePosition {
        VDA5050.NodePosition(x: Double(c.x) * cellSize, y: Double(c.y) * cellSize, mapId: mapId)
    }

    public func node(_ c: GridCell, sequenceId: Int, released: Bool) -> VDA5050.Node {
        VDA5050.Node(nodeId: Self.nodeId(c), sequenceId: sequenceId, released: released, nodePosition: position(c))
    }

    /// Nodes and edges along `path` (consecutive 4-neighbours), the first node at
    /// `firstSequenceId` (even), the first `releasedNodes` nodes (and the edges between them) released.
    public func route(_ path: [GridCell], firstSequenceId: Int = 0, releasedNodes: Int) -> (nodes: [VDA5050.Node], edges: [VDA5050.Edge]) {
        var nodes: [VDA5050.Node] = []
        var edges: [VDA5050.Edge] = []
        for (i, c) in path.enumerated() {
            let seq = firstSequenceId + 2 * i
            if i > 0 {
                let p = path[i - 1]
                edges.append(VDA5050.Edge(edgeId: Self.edgeId(p, c), sequenceId: seq - 1, released: i < releasedNodes,
                                          startNodeId: Self.nodeId(p), endNodeId: Self.nodeId(c)))
            }
            nodes.append(node(c, sequenceId: seq, released: i < releasedNodes))
        }
        return (nodes, edges)
    }

    /// A whole order along `path`.
    public func order(_ path: [GridCell], orderId: String, orderUpdateId: Int = 0, firstSequenceId: Int = 0,
                      releasedNodes: Int, header: VDA5050.Header) -> VDA5050.Order {
        let r = route(path, firstSequenceId: firstSequenceId, releasedNodes: releasedNodes)
        return VDA5050.Order(header: header, orderId: orderId, orderUpdateId: orderUpdateId, nodes: r.nodes, edges: r.edges)
    }
}
