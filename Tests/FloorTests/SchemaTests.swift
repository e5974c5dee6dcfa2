import Foundation
import Testing
import Base
import Warehouse
@testable import Floor

/// Checks what Daybreak writes against the VDA 5050 v2.1.0 schemas (copied in Fixtures/vda5050):
/// every `required` field present, JSON types as declared, enum values allowed — a tiny checker of
/// the schema keywords these four schemas use, not a full JSON Schema validator.
@Suite struct SchemaTests {
    func schema(_ name: String) throws -> JSONValue {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/vda5050/\(name)", withExtension: "schema"))
        return try JSONValue.parse(String(contentsOf: url, encoding: .utf8))
    }

    func typeMatches(_ v: JSONValue, _ t: String) -> Bool {
        switch (t, v) {
        case ("string", .string), ("boolean", .bool), ("integer", .int), ("number", .int), ("number", .double),
             ("array", .array), ("object", .object), ("null", .null): true
        default: false
        }
    }

    /// Problems of `value` against `schema`, each naming its path.
    func check(_ value: JSONValue, _ schema: JSONValue, root: JSONValue, path: String = "") -> [String] {
        var s = schema
        if case .string(let ref)? = schema["$ref"], ref.hasPrefix("#/definitions/"),
           let d = root["definitions"]?[String(ref.dropFirst("#/definitions/".count))] { s = d }
        var problems: [String] = []
        switch s["type"] {
        case .string(let t)?:
            if !typeMatches(value, t) { return ["\(path): expected \(t)"] }
        case .array(let ts)?:
            if !ts.contains(where: { $0.stringValue.map { typeMatches(value, $0) } ?? false }) { return ["\(path): wrong type"] }
        default: break
        }
        if case .array(let allowed)? = s["enum"], !allowed.contains(value) { problems.append("\(path): \(value.rendered()) not in enum") }
        if case .array(let req)? = s["required"] {
            for case .string(let k) in req where value[k] == nil { problems.append("\(path).\(k): required field missing") }
        }
        if case .object(let props)? = s["properties"], case .object(let fields) = value {
            for (k, v) in fields { if let ps = props.first(where: { $0.0 == k })?.1 { problems += check(v, ps, root: root, path: "\(path).\(k)") } }
        }
        if let items = s["items"], case .array(let elements) = value {
            for (i, e) in elements.enumerated() { problems += check(e, items, root: root, path: "\(path)[\(i)]") }
        }
        return problems
    }

    func header() -> VDA5050.Header {
        VDA5050.Header(headerId: 3, timestamp: VDA5050.timestamp(unixMillis: 1_782_980_100_120), manufacturer: "daybreak", serialNumber: "amr-1")
    }

    @Test func theCheckerCatchesAMissingRequiredField() throws {
        let s = try schema("connection")
        let bad = try JSONValue.parse(#"{"headerId":1,"timestamp":"2026-07-02T08:15:00.12Z","version":"2.1.0","manufacturer":"d"}"#)
        #expect(check(bad, s, root: s).sorted() == [".connectionState: required field missing", ".serialNumber: required field missing"])
    }

    @Test func aStateFromTheSimulatorHasEverythingTheSchemaRequires() throws {
        let grid = Grid(width: 6, height: 1, passable: Array(repeating: true, count: 6))
        let layout = VDA5050Layout(mapId: "hub-1")
        var sim = RobotSim(grid: grid, start: GridCell(x: 0, y: 0), configuration: .init(serialNumber: "amr-1", layout: layout))
        var order = layout.order((0...5).map { GridCell(x: $0, y: 0) }, orderId: "o-1", releasedNodes: 3, header: header())
        order.nodes[2].actions = [.init(actionType: "drop", actionId: "a-1", blockingType: .HARD,
                                        actionParameters: [.init(key: "lpn", value: "TOTE-9")])]
        sim.receive(order, at: 0)
        sim.receive(VDA5050.InstantActions(header: header(), actions: [.init(actionType: "startCharging", actionId: "x")]), at: 10)
        sim.injectFault(description: "bumper", at: 20)
        sim.advance(to: 120)
        let s = try schema("state")
        let state = VDA5050Codec.stateJSON(sim.state(header: header()))
        #expect(check(state, s, root: s) == [])
        #expect(state["errors"].map { if case .array(let a) = $0 { a.count } else { 0 } } == 2)
    }

    @Test func ordersInstantActionsAndConnectionsHaveEverythingTheSchemaRequires() throws {
        let layout = VDA5050Layout(mapId: "hub-1", cellSize: 1.2)
        var order = layout.order((0...3).map { GridCell(x: $0, y: 1) }, orderId: "o-1", releasedNodes: 2, header: header())
        order.nodes[1].actions = [.init(actionType: "pick", actionId: "a-1", blockingType: .SOFT,
                                        actionParameters: [.init(key: "depth", value: 2)])]
        order.edges[0].maxSpeed = 1.5
        let o = try schema("order")
        #expect(check(VDA5050Codec.orderJSON(order), o, root: o) == [])
        let ia = try schema("instantActions")
        let actions = VDA5050.InstantActions(header: header(), actions: VDA5050.InstantActionType.allCases.map {
            .init(actionType: $0.rawValue, actionId: "id-\($0.rawValue)")
        })
        #expect(check(VDA5050Codec.instantActionsJSON(actions), ia, root: ia) == [])
        let c = try schema("connection")
        for st in VDA5050.ConnectionState.allCases {
            #expect(check(VDA5050Codec.connectionJSON(.init(header: header(), connectionState: st)), c, root: c) == [])
        }
    }
}
