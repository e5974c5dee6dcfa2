import Base

/// A VDA 5050 message that could not be accepted: `path` names the item (`nodes[2].sequenceId`),
/// `reason` says what was wrong with it. Pure value; `description` is the text a person reads.
public struct VDA5050DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Not JSON at all (the reason gives the byte offset).
        case invalidJSON
        /// A field the v2.1.0 schema requires is absent.
        case missingField
        /// A field has the wrong JSON type (string for integer, …).
        case wrongType
        /// A field has a value outside its range or enum.
        case invalidValue
        /// sequenceIds are not node-even / edge-odd and continuous.
        case sequence
        /// Released after unreleased, or an edge released between unreleased nodes.
        case release
        /// An edge's startNodeId / endNodeId do not match its neighbouring nodes.
        case edgeEnds
        /// An orderUpdateId went backwards for the same orderId (or repeated with other content),
        /// or an update does not start at the decision point.
        case orderUpdate
    }
    public var kind: Kind
    /// Field path inside the message, e.g. `edges[0].startNodeId`; empty for the whole message.
    public var path: String
    public var reason: String
    public init(_ kind: Kind, _ path: String, _ reason: String) {
        self.kind = kind; self.path = path; self.reason = reason
    }
    public var description: String { path.isEmpty ? reason : "\(path): \(reason)" }
}

/// JSON for the VDA 5050 messages: the encoder writes schema field names in schema order; the
/// decoder is strict (required fields, JSON types, enums, ranges, and the order rules of
/// VDA 5050 §6: sequenceId parity and continuity, release order, edge ends). Unknown optional
/// fields are ignored, as JSON schema allows.
public enum VDA5050Codec {
    // MARK: Encoding

    public static func encode(_ o: VDA5050.Order) -> String { orderJSON(o).rendered() }
    public static func encode(_ a: VDA5050.InstantActions) -> String { instantActionsJSON(a).rendered() }
    public static func encode(_ s: VDA5050.State) -> String { stateJSON(s).rendered() }
    public static func encode(_ c: VDA5050.Connection) -> String { connectionJSON(c).rendered() }

    static func header(_ h: VDA5050.Header) -> [(String, JSONValue)] {
        [("headerId", .int(h.headerId)), ("timestamp", .string(h.timestamp)), ("version", .string(h.version)),
         ("manufacturer", .string(h.manufacturer)), ("serialNumber", .string(h.serialNumber))]
    }

    static func action(_ a: VDA5050.Action) -> JSONValue {
        var o: [(String, JSONValue)] = [("actionType", .string(a.actionType)), ("actionId", .string(a.actionId))]
        if let d = a.actionDescription { o.append(("actionDescription", .string(d))) }
        o.append(("blockingType", .string(a.blockingType.rawValue)))
        if !a.actionParameters.isEmpty {
            o.append(("actionParameters", .array(a.actionParameters.map { .object([("key", .string($0.key)), ("value", $0.value)]) })))
        }
        return .object(o)
    }

    static func position(_ p: VDA5050.NodePosition) -> JSONValue {
        var o: [(String, JSONValue)] = [("x", .double(p.x)), ("y", .double(p.y))]
        if let t = p.theta { o.append(("theta", .double(t))) }
        o.append(("mapId", .string(p.mapId)))
        return .object(o)
    }

    public static func orderJSON(_ m: VDA5050.Order) -> JSONValue {
        var o = header(m.header)
        o.append(("orderId", .string(m.orderId)))
        o.append(("orderUpdateId", .int(m.orderUpdateId)))
        o.append(("nodes", .array(m.nodes.map { n in
            var f: [(String, JSONValue)] = [("nodeId", .string(n.nodeId)), ("sequenceId", .int(n.sequenceId)), ("released", .bool(n.released))]
            if let p = n.nodePosition { f.append(("nodePosition", position(p))) }
            f.append(("actions", .array(n.actions.map(action))))
            return .object(f)
        })))
        o.append(("edges", .array(m.edges.map { e in
            var f: [(String, JSONValue)] = [("edgeId", .string(e.edgeId)), ("sequenceId", .int(e.sequenceId)), ("released", .bool(e.released)),
                                            ("startNodeId", .string(e.startNodeId)), ("endNodeId", .string(e.endNodeId))]
            if let s = e.maxSpeed { f.append(("maxSpeed", .double(s))) }
            f.append(("actions", .array(e.actions.map(action))))
            return .object(f)
        })))
        return .object(o)
    }

    public static func instantActionsJSON(_ m: VDA5050.InstantActions) -> JSONValue {
        .object(header(m.header) + [("actions", .array(m.actions.map(action)))])
    }

    public static func connectionJSON(_ m: VDA5050.Connection) -> JSONValue {
        .object(header(m.header) + [("connectionState", .string(m.connectionState.rawValue))])
    }

    public static func stateJSON(_ s: VDA5050.State) -> JSONValue {
        var o = header(s.header)
        o.append(("orderId", .string(s.orderId)))
        o.append(("orderUpdateId", .int(s.orderUpdateId)))
        o.append(("lastNodeId", .string(s.lastNodeId)))
        o.append(("lastNodeSequenceId", .int(s.lastNodeSequenceId)))
        o.append(("driving", .bool(s.driving)))
        if let p = s.paused { o.append(("paused", .bool(p))) }
        if let b = s.newBaseRequest { o.append(("newBaseRequest", .bool(b))) }
        o.append(("operatingMode", .string(s.operatingMode.rawValue)))
        o.append(("nodeStates", .array(s.nodeStates.map { n in
            var f: [(String, JSONValue)] = [("nodeId", .string(n.nodeId)), ("sequenceId", .int(n.sequenceId)), ("released", .bool(n.released))]
            if let p = n.nodePosition { f.append(("nodePosition", position(p))) }
            return .object(f)
        })))
        o.append(("edgeStates", .array(s.edgeStates.map {
            .object([("edgeId", .string($0.edgeId)), ("sequenceId", .int($0.sequenceId)), ("released", .bool($0.released))])
        })))
        if let p = s.agvPosition {
            o.append(("agvPosition", .object([("x", .double(p.x)), ("y", .double(p.y)), ("theta", .double(p.theta)),
                                              ("mapId", .string(p.mapId)), ("positionInitialized", .bool(p.positionInitialized))])))
        }
        o.append(("actionStates", .array(s.actionStates.map { a in
            var f: [(String, JSONValue)] = [("actionId", .string(a.actionId))]
            if let t = a.actionType { f.append(("actionType", .string(t))) }
            f.append(("actionStatus", .string(a.actionStatus.rawValue)))
            if let r = a.resultDescription { f.append(("resultDescription", .string(r))) }
            return .object(f)
        })))
        o.append(("batteryState", .object([("batteryCharge", .double(s.batteryState.batteryCharge)),
                                           ("charging", .bool(s.batteryState.charging))])))
        o.append(("errors", .array(s.errors.map { e in
            var f: [(String, JSONValue)] = [("errorType", .string(e.errorType))]
            if !e.errorReferences.isEmpty {
                f.append(("errorReferences", .array(e.errorReferences.map {
                    .object([("referenceKey", .string($0.referenceKey)), ("referenceValue", .string($0.referenceValue))])
                })))
            }
            if let d = e.errorDescription { f.append(("errorDescription", .string(d))) }
            f.append(("errorLevel", .string(e.errorLevel.rawValue)))
            return .object(f)
        })))
        o.append(("safetyState", .object([("eStop", .string(s.safetyState.eStop.rawValue)),
                                          ("fieldViolation", .bool(s.safetyState.fieldViolation))])))
        return .object(o)
    }

    // MARK: Decoding

    public static func decodeOrder(_ text: String) throws(VDA5050DecodingError) -> VDA5050.Order {
        let r = try root(text)
        let order = VDA5050.Order(
            header: try header(r), orderId: try r.string("orderId"),
            orderUpdateId: try r.int("orderUpdateId", min: 0),
            nodes: try r.array("nodes") { (n: Obj) throws(VDA5050DecodingError) in
                VDA5050.Node(nodeId: try n.string("nodeId"), sequenceId: try n.int("sequenceId", min: 0),
                             released: try n.bool("released"),
                             nodePosition: try n.optionalObject("nodePosition") { p throws(VDA5050DecodingError) in try position(p) },
                             actions: try n.array("actions") { a throws(VDA5050DecodingError) in try action(a) })
            },
            edges: try r.array("edges") { (e: Obj) throws(VDA5050DecodingError) in
                VDA5050.Edge(edgeId: try e.string("edgeId"), sequenceId: try e.int("sequenceId", min: 0),
                             released: try e.bool("released"), startNodeId: try e.string("startNodeId"),
                             endNodeId: try e.string("endNodeId"), maxSpeed: try e.optionalDouble("maxSpeed"),
                             actions: try e.array("actions") { a throws(VDA5050DecodingError) in try action(a) })
            })
        try validate(order)
        return order
    }

    public static func decodeInstantActions(_ text: String) throws(VDA5050DecodingError) -> VDA5050.InstantActions {
        let r = try root(text)
        return VDA5050.InstantActions(header: try header(r),
                                      actions: try r.array("actions") { a throws(VDA5050DecodingError) in try action(a) })
    }

    public static func decodeConnection(_ text: String) throws(VDA5050DecodingError) -> VDA5050.Connection {
        let r = try root(text)
        return VDA5050.Connection(header: try header(r), connectionState: try r.enumeration("connectionState"))
    }

    public static func decodeState(_ text: String) throws(VDA5050DecodingError) -> VDA5050.State {
        let r = try root(text)
        return VDA5050.State(
            header: try header(r), orderId: try r.string("orderId"), orderUpdateId: try r.int("orderUpdateId", min: 0),
            lastNodeId: try r.string("lastNodeId"), lastNodeSequenceId: try r.int("lastNodeSequenceId", min: 0),
            driving: try r.bool("driving"), paused: try r.optionalBool("paused"),
            newBaseRequest: try r.optionalBool("newBaseRequest"), operatingMode: try r.enumeration("operatingMode"),
            nodeStates: try r.array("nodeStates") { (n: Obj) throws(VDA5050DecodingError) in
                VDA5050.NodeState(nodeId: try n.string("nodeId"), sequenceId: try n.int("sequenceId", min: 0),
                                  released: try n.bool("released"),
                                  nodePosition: try n.optionalObject("nodePosition") { p throws(VDA5050DecodingError) in try position(p) })
            },
            edgeStates: try r.array("edgeStates") { (e: Obj) throws(VDA5050DecodingError) in
                VDA5050.EdgeState(edgeId: try e.string("edgeId"), sequenceId: try e.int("sequenceId", min: 0),
                                  released: try e.bool("released"))
            },
            agvPosition: try r.optionalObject("agvPosition") { (p: Obj) throws(VDA5050DecodingError) in
                VDA5050.AGVPosition(x: try p.double("x"), y: try p.double("y"), theta: try p.double("theta"),
                                    mapId: try p.string("mapId"), positionInitialized: try p.bool("positionInitialized"))
            },
            actionStates: try r.array("actionStates") { (a: Obj) throws(VDA5050DecodingError) in
                VDA5050.ActionState(actionId: try a.string("actionId"), actionType: try a.optionalString("actionType"),
                                    actionStatus: try a.enumeration("actionStatus"),
                                    resultDescription: try a.optionalString("resultDescription"))
            },
            batteryState: try r.object("batteryState") { (b: Obj) throws(VDA5050DecodingError) in
                VDA5050.BatteryState(batteryCharge: try b.double("batteryCharge"), charging: try b.bool("charging"))
            },
            errors: try r.array("errors") { (e: Obj) throws(VDA5050DecodingError) in
                VDA5050.AGVError(errorType: try e.string("errorType"), errorLevel: try e.enumeration("errorLevel"),
                                 errorDescription: try e.optionalString("errorDescription"),
                                 errorReferences: try e.optionalArray("errorReferences") { (x: Obj) throws(VDA5050DecodingError) in
                                     VDA5050.ErrorReference(try x.string("referenceKey"), try x.string("referenceValue"))
                                 } ?? [])
            },
            safetyState: try r.object("safetyState") { (s: Obj) throws(VDA5050DecodingError) in
                VDA5050.SafetyState(eStop: try s.enumeration("eStop"), fieldViolation: try s.bool("fieldViolation"))
            })
    }

    // MARK: Order rules

    /// The structural rules of VDA 5050 §6 for one order message: at least one node; edges =
    /// nodes − 1; node sequenceIds even, edge sequenceIds odd, continuous (node, edge, node, …);
    /// the first node released; nothing released after something unreleased; an edge released only
    /// between released nodes; every edge starts at the node before it and ends at the node after.
    public static func validate(_ o: VDA5050.Order) throws(VDA5050DecodingError) {
        guard !o.nodes.isEmpty else { throw .init(.invalidValue, "nodes", "an order needs at least one node") }
        guard o.edges.count == o.nodes.count - 1 else {
            throw .init(.sequence, "edges", "\(o.nodes.count) node(s) need \(o.nodes.count - 1) edge(s), got \(o.edges.count)")
        }
        let first = o.nodes[0].sequenceId
        for (i, n) in o.nodes.enumerated() {
            if n.sequenceId % 2 != 0 {
                throw .init(.sequence, "nodes[\(i)].sequenceId", "node sequenceIds are even, got \(n.sequenceId)")
            }
            if n.sequenceId != first + 2 * i {
                throw .init(.sequence, "nodes[\(i)].sequenceId", "expected \(first + 2 * i) (continuous after \(first)), got \(n.sequenceId)")
            }
        }
        for (i, e) in o.edges.enumerated() {
            if e.sequenceId % 2 != 1 {
                throw .init(.sequence, "edges[\(i)].sequenceId", "edge sequenceIds are odd, got \(e.sequenceId)")
            }
            if e.sequenceId != first + 2 * i + 1 {
                throw .init(.sequence, "edges[\(i)].sequenceId", "expected \(first + 2 * i + 1) (between nodes[\(i)] and nodes[\(i + 1)]), got \(e.sequenceId)")
            }
            if e.startNodeId != o.nodes[i].nodeId {
                throw .init(.edgeEnds, "edges[\(i)].startNodeId", "is \"\(e.startNodeId)\" but the node before it is \"\(o.nodes[i].nodeId)\"")
            }
            if e.endNodeId != o.nodes[i + 1].nodeId {
                throw .init(.edgeEnds, "edges[\(i)].endNodeId", "is \"\(e.endNodeId)\" but the node after it is \"\(o.nodes[i + 1].nodeId)\"")
            }
        }
        guard o.nodes[0].released else {
            throw .init(.release, "nodes[0].released", "the first node of an order is always released")
        }
        // Walk node, edge, node, … in sequence order: once unreleased, never released again.
        var firstUnreleased: String? = nil
        for i in 0..<o.nodes.count {
            let n = o.nodes[i]
            if n.released, let u = firstUnreleased {
                throw .init(.release, "nodes[\(i)].released", "released node \"\(n.nodeId)\" follows the unreleased \(u)")
            }
            if !n.released, firstUnreleased == nil { firstUnreleased = "nodes[\(i)]" }
            guard i < o.edges.count else { break }
            let e = o.edges[i]
            if e.released, let u = firstUnreleased {
                throw .init(.release, "edges[\(i)].released", "released edge \"\(e.edgeId)\" follows the unreleased \(u)")
            }
            if e.released, !o.nodes[i + 1].released {
                throw .init(.release, "edges[\(i)].released", "released edge \"\(e.edgeId)\" ends at the unreleased node \"\(o.nodes[i + 1].nodeId)\"")
            }
            if !e.released, firstUnreleased == nil { firstUnreleased = "edges[\(i)]" }
        }
    }

    /// What to do with `incoming` given the order the robot holds (`current`, nil when none),
    /// following VDA 5050 §6.6: same orderId and a higher orderUpdateId is an update (it must
    /// start at the current decision point, same nodeId and sequenceId); a lower one is refused;
    /// the same one is ignored if the content is the same and refused otherwise.
    public enum UpdateDecision: Sendable, Equatable {
        case newOrder
        case update
        case ignoreDuplicate
    }

    public static func classify(_ incoming: VDA5050.Order, current: VDA5050.Order?,
                                decisionPoint: VDA5050.Node?) throws(VDA5050DecodingError) -> UpdateDecision {
        guard let current, current.orderId == incoming.orderId else { return .newOrder }
        if incoming.orderUpdateId < current.orderUpdateId {
            throw .init(.orderUpdate, "orderUpdateId",
                        "\(incoming.orderUpdateId) goes backwards: order \"\(incoming.orderId)\" is at update \(current.orderUpdateId)")
        }
        if incoming.orderUpdateId == current.orderUpdateId {
            if incoming.sameContent(as: current) { return .ignoreDuplicate }
            throw .init(.orderUpdate, "orderUpdateId",
                        "\(incoming.orderUpdateId) was already received for order \"\(incoming.orderId)\" with other nodes or edges")
        }
        if let dp = decisionPoint {
            let n = incoming.nodes[0]
            if n.nodeId != dp.nodeId || n.sequenceId != dp.sequenceId {
                throw .init(.orderUpdate, "nodes[0]",
                            "an update must start at the decision point \"\(dp.nodeId)\" (sequenceId \(dp.sequenceId)), got \"\(n.nodeId)\" (sequenceId \(n.sequenceId))")
            }
        }
        return .update
    }

    // MARK: Decoding helpers

    static func root(_ text: String) throws(VDA5050DecodingError) -> Obj {
        let v: JSONValue
        do { v = try JSONValue.parse(text) } catch { throw .init(.invalidJSON, "", "not JSON: \(error)") }
        guard case .object(let fields) = v else { throw .init(.wrongType, "", "expected an object, got \(kind(v))") }
        return Obj(fields: fields, path: "")
    }

    static func header(_ r: Obj) throws(VDA5050DecodingError) -> VDA5050.Header {
        let ts = try r.string("timestamp")
        if !looksLikeTimestamp(ts) {
            throw .init(.invalidValue, r.sub("timestamp"), "expected ISO 8601 date-time (YYYY-MM-DDTHH:mm:ss.ffZ), got \"\(ts)\"")
        }
        return VDA5050.Header(headerId: try r.int("headerId", min: 0), timestamp: ts, version: try r.string("version"),
                              manufacturer: try r.string("manufacturer"), serialNumber: try r.string("serialNumber"))
    }

    static func looksLikeTimestamp(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count >= 20 else { return false }
        func digits(_ r: Range<Int>) -> Bool { r.allSatisfy { b[$0] >= 0x30 && b[$0] <= 0x39 } }
        return digits(0..<4) && b[4] == 0x2D && digits(5..<7) && b[7] == 0x2D && digits(8..<10)
            && (b[10] == 0x54 || b[10] == 0x74) && digits(11..<13) && b[13] == 0x3A && digits(14..<16)
            && b[16] == 0x3A && digits(17..<19)
            && (b.last == 0x5A || b.last == 0x7A || b[b.count - 6] == 0x2B || b[b.count - 6] == 0x2D)
    }

    static func action(_ a: Obj) throws(VDA5050DecodingError) -> VDA5050.Action {
        VDA5050.Action(actionType: try a.string("actionType"), actionId: try a.string("actionId"),
                       blockingType: try a.enumeration("blockingType"),
                       actionDescription: try a.optionalString("actionDescription"),
                       actionParameters: try a.optionalArray("actionParameters") { (p: Obj) throws(VDA5050DecodingError) in
                           let value = try p.value("value")
                           if value == .null { throw .init(.wrongType, p.sub("value"), "expected array, boolean, number, string or object, got null") }
                           return VDA5050.ActionParameter(key: try p.string("key"), value: value)
                       } ?? [])
    }

    static func position(_ p: Obj) throws(VDA5050DecodingError) -> VDA5050.NodePosition {
        let theta = try p.optionalDouble("theta")
        if let t = theta, abs(t) > 3.14159265359 {
            throw .init(.invalidValue, p.sub("theta"), "must be within ±π, got \(t)")
        }
        return VDA5050.NodePosition(x: try p.double("x"), y: try p.double("y"), theta: theta, mapId: try p.string("mapId"))
    }

    static func kind(_ v: JSONValue) -> String {
        switch v {
        case .null: "null"
        case .bool: "boolean"
        case .int: "integer"
        case .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// A JSON object with the path that leads to it, for error messages.
    struct Obj {
        let fields: [(String, JSONValue)]
        let path: String

        func sub(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
        func lookup(_ key: String) -> JSONValue? { fields.first(where: { $0.0 == key })?.1 }

        func value(_ key: String) throws(VDA5050DecodingError) -> JSONValue {
            guard let v = lookup(key) else { throw .init(.missingField, sub(key), "required field is missing") }
            return v
        }
        func wrong(_ key: String, _ expected: String, _ v: JSONValue) -> VDA5050DecodingError {
            .init(.wrongType, sub(key), "expected \(expected), got \(VDA5050Codec.kind(v))")
        }

        func string(_ key: String) throws(VDA5050DecodingError) -> String {
            let v = try value(key)
            guard case .string(let s) = v else { throw wrong(key, "string", v) }
            return s
        }
        func optionalString(_ key: String) throws(VDA5050DecodingError) -> String? {
            guard lookup(key) != nil else { return nil }
            return try string(key)
        }
        func int(_ key: String, min: Int? = nil) throws(VDA5050DecodingError) -> Int {
            let v = try value(key)
            guard case .int(let i) = v else { throw wrong(key, "integer", v) }
            if let min, i < min { throw .init(.invalidValue, sub(key), "must be ≥ \(min), got \(i)") }
            return i
        }
        func double(_ key: String) throws(VDA5050DecodingError) -> Double {
            let v = try value(key)
            guard let d = v.doubleValue else { throw wrong(key, "number", v) }
            return d
        }
        func optionalDouble(_ key: String) throws(VDA5050DecodingError) -> Double? {
            guard lookup(key) != nil else { return nil }
            return try double(key)
        }
        func bool(_ key: String) throws(VDA5050DecodingError) -> Bool {
            let v = try value(key)
            guard case .bool(let b) = v else { throw wrong(key, "boolean", v) }
            return b
        }
        func optionalBool(_ key: String) throws(VDA5050DecodingError) -> Bool? {
            guard lookup(key) != nil else { return nil }
            return try bool(key)
        }
        func enumeration<E: RawRepresentable & CaseIterable>(_ key: String) throws(VDA5050DecodingError) -> E where E.RawValue == String {
            let s = try string(key)
            guard let e = E(rawValue: s) else {
                throw .init(.invalidValue, sub(key), "\"\(s)\" is not one of \(E.allCases.map { $0.rawValue }.joined(separator: ", "))")
            }
            return e
        }
        func object<T>(_ key: String, _ body: (Obj) throws(VDA5050DecodingError) -> T) throws(VDA5050DecodingError) -> T {
            let v = try value(key)
            guard case .object(let f) = v else { throw wrong(key, "object", v) }
            return try body(Obj(fields: f, path: sub(key)))
        }
        func optionalObject<T>(_ key: String, _ body: (Obj) throws(VDA5050DecodingError) -> T) throws(VDA5050DecodingError) -> T? {
            guard lookup(key) != nil else { return nil }
            return try object(key, body)
        }
        func array<T>(_ key: String, _ body: (Obj) throws(VDA5050DecodingError) -> T) throws(VDA5050DecodingError) -> [T] {
            let v = try value(key)
            guard case .array(let items) = v else { throw wrong(key, "array", v) }
            var out: [T] = []
            out.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                let p = "\(sub(key))[\(i)]"
                guard case .object(let f) = item else {
                    throw .init(.wrongType, p, "expected object, got \(VDA5050Codec.kind(item))")
                }
                out.append(try body(Obj(fields: f, path: p)))
            }
            return out
        }
        func optionalArray<T>(_ key: String, _ body: (Obj) throws(VDA5050DecodingError) -> T) throws(VDA5050DecodingError) -> [T]? {
            guard lookup(key) != nil else { return nil }
            return try array(key, body)
        }
    }
}
