import Foundation
import Testing
import Base
@testable import Warehouse

@Suite struct VDA5050CodecTests {
    let layout = VDA5050Layout(mapId: "hub-1", cellSize: 1.5)
    func header(_ id: Int = 7) -> VDA5050.Header {
        VDA5050.Header(headerId: id, timestamp: "2026-07-02T08:15:00.120Z", manufacturer: "daybreak", serialNumber: "amr-1")
    }
    /// c0_0 → c1_0 → c2_0 → c3_0: nodes 0, 2, 4, 6 and edges 1, 3, 5; the first three nodes released.
    func order() -> VDA5050.Order {
        var o = layout.order([GridCell(x: 0, y: 0), GridCell(x: 1, y: 0), GridCell(x: 2, y: 0), GridCell(x: 3, y: 0)],
                             orderId: "o-1", releasedNodes: 3, header: header())
        o.nodes[1].actions = [VDA5050.Action(actionType: "pick", actionId: "a-1", blockingType: .HARD,
                                             actionParameters: [.init(key: "lpn", value: "TOTE-9"), .init(key: "depth", value: 2)])]
        return o
    }
    func orderText() -> String { VDA5050Codec.encode(order()) }

    func decodeError(_ text: String) -> VDA5050DecodingError? {
        do { _ = try VDA5050Codec.decodeOrder(text); return nil } catch { return error }
    }

    @Test func nodesAreNamedByCellAndPlacedInMetres() {
        let n = layout.node(GridCell(x: 3, y: 2), sequenceId: 4, released: true)
        #expect(n.nodeId == "c3_2")
        #expect(n.nodePosition == VDA5050.NodePosition(x: 4.5, y: 3.0, mapId: "hub-1"))
        #expect(VDA5050Layout.cell(nodeId: "c3_2") == GridCell(x: 3, y: 2))
        #expect(VDA5050Layout.cell(nodeId: "c3") == nil)
        #expect(VDA5050Layout.cell(nodeId: "x3_2") == nil)
        #expect(VDA5050Layout.cell(nodeId: "c-1_2") == nil)
    }

    @Test func timestampsAreISO8601UTC() {
        #expect(VDA5050.timestamp(unixMillis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(VDA5050.timestamp(unixMillis: 1_782_980_100_120) == "2026-07-02T08:15:00.120Z")
        #expect(VDA5050.timestamp(unixMillis: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
    }

    @Test func orderRoundTrips() throws {
        let o = order()
        let text = VDA5050Codec.encode(o)
        #expect(text.hasPrefix(#"{"headerId":7,"timestamp":"2026-07-02T08:15:00.120Z","version":"2.1.0""#))
        #expect(try VDA5050Codec.decodeOrder(text) == o)
        #expect(o.decisionPoint?.nodeId == "c2_0")
    }

    @Test func instantActionsStateAndConnectionRoundTrip() throws {
        let a = VDA5050.InstantActions(header: header(), actions: [
            VDA5050.Action(actionType: "startCharging", actionId: "ch-1"),
            VDA5050.Action(actionType: "cancelOrder", actionId: "c-1", blockingType: .HARD, actionDescription: "stop"),
        ])
        #expect(try VDA5050Codec.decodeInstantActions(VDA5050Codec.encode(a)) == a)
        let c = VDA5050.Connection(header: header(), connectionState: .CONNECTIONBROKEN)
        #expect(try VDA5050Codec.decodeConnection(VDA5050Codec.encode(c)) == c)
        let s = VDA5050.State(
            header: header(), orderId: "o-1", orderUpdateId: 2, lastNodeId: "c1_0", lastNodeSequenceId: 2, driving: true,
            paused: false, newBaseRequest: true,
            nodeStates: [.init(nodeId: "c2_0", sequenceId: 4, released: true, nodePosition: layout.position(GridCell(x: 2, y: 0)))],
            edgeStates: [.init(edgeId: "c1_0-c2_0", sequenceId: 3, released: true)],
            agvPosition: .init(x: 1.5, y: 0, theta: 0, mapId: "hub-1"),
            actionStates: [.init(actionId: "a-1", actionType: "pick", actionStatus: .FINISHED, resultDescription: "ok")],
            batteryState: .init(batteryCharge: 87.5, charging: false),
            errors: [.init(errorType: "driveFault", errorLevel: .FATAL, errorDescription: "wheel", errorReferences: [.init("nodeId", "c1_0")])])
        #expect(try VDA5050Codec.decodeState(VDA5050Codec.encode(s)) == s)
    }

    @Test func missingRequiredFieldIsNamed() {
        let e = decodeError(orderText().replacingFirst(#""orderUpdateId":0,"#, with: ""))
        #expect(e?.kind == .missingField)
        #expect(e?.path == "orderUpdateId")
        let nested = decodeError(orderText().replacingFirst(#""sequenceId":2,"released":true,"#, with: #""sequenceId":2,"#))
        #expect(nested?.kind == .missingField)
        #expect(nested?.description == "nodes[1].released: required field is missing")
    }

    @Test func wrongTypeIsNamed() {
        let e = decodeError(orderText().replacingFirst(#""sequenceId":4,"#, with: #""sequenceId":"4","#))
        #expect(e?.kind == .wrongType)
        #expect(e?.description == "nodes[2].sequenceId: expected integer, got string")
        let x = decodeError(orderText().replacingFirst(#""x":1.5"#, with: #""x":true"#))
        #expect(x?.path == "nodes[1].nodePosition.x")
    }

    @Test func badEnumValueIsNamed() {
        let e = decodeError(orderText().replacingFirst(#""blockingType":"HARD""#, with: #""blockingType":"SOMETIMES""#))
        #expect(e?.kind == .invalidValue)
        #expect(e?.path == "nodes[1].actions[0].blockingType")
        #expect(e?.reason.contains("NONE, SOFT, HARD") == true)
    }

    @Test func notJSONAndBadTimestampAreRefused() {
        #expect(decodeError("{\"headerId\": 1,")?.kind == .invalidJSON)
        #expect(decodeError("[1]")?.kind == .wrongType)
        let t = decodeError(orderText().replacingFirst("2026-07-02T08:15:00.120Z", with: "yesterday"))
        #expect(t?.path == "timestamp")
    }

    @Test func nodeSequenceIdsMustBeEven() {
        let e = decodeError(orderText().replacingFirst(#""sequenceId":2,"#, with: #""sequenceId":3,"#))
        #expect(e?.kind == .sequence)
        #expect(e?.path == "nodes[1].sequenceId")
        #expect(e?.reason.contains("even") == true)
    }

    @Test func edgeSequenceIdsMustBeOdd() {
        let e = decodeError(orderText().replacingFirst(#""sequenceId":3,"#, with: #""sequenceId":2,"#))
        #expect(e?.kind == .sequence)
        #expect(e?.path == "edges[1].sequenceId")
        #expect(e?.reason.contains("odd") == true)
    }

    @Test func sequenceIdsMustBeContinuousAndEdgesOneFewer() {
        var o = order()
        o.nodes[3].sequenceId = 8
        #expect(decodeError(VDA5050Codec.encode(o))?.path == "nodes[3].sequenceId")
        var p = order()
        p.edges.removeLast()
        #expect(decodeError(VDA5050Codec.encode(p))?.path == "edges")
    }

    @Test func releasedNodeAfterUnreleasedIsRefused() {
        var o = order()
        o.nodes[2].released = false
        o.edges[1].released = false
        o.nodes[3].released = true
        let e = decodeError(VDA5050Codec.encode(o))
        #expect(e?.kind == .release)
        #expect(e?.path == "nodes[3].released")
        var p = order()
        p.edges[2].released = true // released edge into the unreleased nodes[3]
        #expect(decodeError(VDA5050Codec.encode(p))?.path == "edges[2].released")
        var q = order()
        q.nodes[0].released = false
        #expect(decodeError(VDA5050Codec.encode(q))?.path == "nodes[0].released")
    }

    @Test func edgeEndsMustMatchNeighbouringNodes() {
        var o = order()
        o.edges[1].startNodeId = "c0_0"
        let e = decodeError(VDA5050Codec.encode(o))
        #expect(e?.kind == .edgeEnds)
        #expect(e?.path == "edges[1].startNodeId")
        var p = order()
        p.edges[0].endNodeId = "c2_0"
        #expect(decodeError(VDA5050Codec.encode(p))?.path == "edges[0].endNodeId")
    }

    @Test func orderUpdateIdGoingBackwardsIsRefused() throws {
        var current = order()
        current.orderUpdateId = 3
        var older = order()
        older.orderUpdateId = 2
        do {
            _ = try VDA5050Codec.classify(older, current: current, decisionPoint: current.decisionPoint)
            Issue.record("an older orderUpdateId was accepted")
        } catch {
            #expect(error.kind == .orderUpdate)
            #expect(error.path == "orderUpdateId")
            #expect(error.reason.contains("goes backwards"))
        }
        #expect(try VDA5050Codec.classify(current, current: current, decisionPoint: nil) == .ignoreDuplicate)
        var other = current
        other.nodes[3].released = true
        other.edges[2].released = true
        #expect(throws: VDA5050DecodingError.self) { try VDA5050Codec.classify(other, current: current, decisionPoint: nil) }
        var newer = layout.order([GridCell(x: 2, y: 0), GridCell(x: 3, y: 0)], orderId: "o-1", orderUpdateId: 4,
                                 firstSequenceId: 4, releasedNodes: 2, header: header())
        #expect(try VDA5050Codec.classify(newer, current: current, decisionPoint: current.decisionPoint) == .update)
        newer.nodes[0].sequenceId = 6
        newer.nodes[1].sequenceId = 8
        newer.edges[0].sequenceId = 7
        #expect(throws: VDA5050DecodingError.self) { try VDA5050Codec.classify(newer, current: current, decisionPoint: current.decisionPoint) }
        let fresh = layout.order([GridCell(x: 0, y: 0)], orderId: "o-2", releasedNodes: 1, header: header())
        #expect(try VDA5050Codec.classify(fresh, current: current, decisionPoint: nil) == .newOrder)
    }
}

extension String {
    /// The text with the first occurrence of `target` replaced (tests fail loudly if it is absent).
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = range(of: target) else {
            Issue.record("\"\(target)\" not in \(self)")
            return self
        }
        return replacingCharacters(in: r, with: replacement)
    }
}
