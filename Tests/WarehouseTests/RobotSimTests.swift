import Testing
@testable import Warehouse

@Suite struct RobotSimTests {
    let layout = VDA5050Layout(mapId: "hub-1")
    func line(_ n: Int) -> [GridCell] { (0..<n).map { GridCell(x: $0, y: 0) } }
    func header() -> VDA5050.Header { VDA5050.Header(timestamp: "2026-07-02T08:00:00.000Z", manufacturer: "daybreak", serialNumber: "amr-1") }
    func sim(seed: UInt64 = 1, timeout: Int64? = 1_000, chargers: Set<GridCell> = []) -> RobotSim {
        let grid = Grid(width: 8, height: 2, passable: Array(repeating: true, count: 16))
        return RobotSim(grid: grid, start: GridCell(x: 0, y: 0), configuration: .init(
            serialNumber: "amr-1", layout: layout, stepMillis: 100, jitterMillis: 30, drainPerMove: 2,
            chargePerSecond: 10, chargeTickMillis: 100, chargers: chargers, connectionTimeoutMillis: timeout, seed: seed))
    }

    @Test func stopsAtTheDecisionPointUntilAnUpdateReleasesMore() {
        var s = sim()
        s.receive(layout.order(line(6), orderId: "o", releasedNodes: 3, header: header()), at: 0)
        #expect(s.driving)
        s.noteContact(at: 900)
        #expect(s.position == GridCell(x: 2, y: 0))
        #expect(!s.driving)
        #expect(s.visited == line(3))
        let st = s.state(header: header())
        #expect(st.lastNodeId == "c2_0" && st.lastNodeSequenceId == 4)
        #expect(st.nodeStates.map(\.nodeId) == ["c3_0", "c4_0", "c5_0"] && st.nodeStates.allSatisfy { !$0.released })
        #expect(st.newBaseRequest == true)
        // The update starts at the decision point (c2_0, sequenceId 4) and releases the rest.
        s.receive(layout.order(Array(line(6)[2...]), orderId: "o", orderUpdateId: 1, firstSequenceId: 4,
                               releasedNodes: 4, header: header()), at: 950)
        #expect(s.errors.isEmpty)
        s.noteContact(at: 1_900)
        #expect(s.position == GridCell(x: 5, y: 0))
        #expect(!s.orderActive)
        #expect(s.state(header: header()).orderUpdateId == 1)
    }

    @Test func anUpdateWhileDrivingTheBaseKeepsItGoing() {
        var s = sim()
        s.receive(layout.order(line(6), orderId: "o", releasedNodes: 3, header: header()), at: 0)
        s.receive(layout.order(Array(line(6)[2...]), orderId: "o", orderUpdateId: 1, firstSequenceId: 4,
                               releasedNodes: 4, header: header()), at: 50)
        s.noteContact(at: 800)
        #expect(s.position == GridCell(x: 5, y: 0))
        #expect(s.visited == line(6))
    }

    @Test func anOlderUpdateIsRefusedWithAnErrorAndTheOrderGoesOn() {
        var s = sim()
        s.receive(layout.order(line(6), orderId: "o", releasedNodes: 3, header: header()), at: 0)
        s.receive(layout.order(Array(line(6)[2...]), orderId: "o", orderUpdateId: 2, firstSequenceId: 4,
                               releasedNodes: 2, header: header()), at: 10)
        s.receive(layout.order(Array(line(6)[2...]), orderId: "o", orderUpdateId: 1, firstSequenceId: 4,
                               releasedNodes: 4, header: header()), at: 20)
        let e = s.errors.first { $0.errorType == VDA5050.ErrorType.orderUpdate }
        #expect(e?.reference("orderUpdateId") == "1")
        #expect(e?.errorDescription?.contains("orderUpdateId") == true)
        s.noteContact(at: 1_000)
        #expect(s.position == GridCell(x: 3, y: 0)) // update 2's base, not update 1's
        #expect(s.state(header: header()).orderUpdateId == 2)
    }

    @Test func aNewOrderIsRefusedWhileAnotherIsActiveAndCancelStopsIt() {
        var s = sim()
        s.receive(layout.order(line(6), orderId: "o", releasedNodes: 6, header: header()), at: 0)
        s.receive(layout.order([GridCell(x: 0, y: 0)], orderId: "p", releasedNodes: 1, header: header()), at: 10)
        #expect(s.errors.contains { $0.errorType == VDA5050.ErrorType.order })
        s.receive(VDA5050.InstantActions(header: header(), actions: [.init(actionType: "cancelOrder", actionId: "c")]), at: 150)
        s.noteContact(at: 1_000)
        #expect(s.position == GridCell(x: 2, y: 0)) // finished the cell it was entering, then stopped
        #expect(!s.orderActive)
        #expect(s.actionStates.first { $0.actionId == "c" }?.actionStatus == .FINISHED)
        s.receive(VDA5050.InstantActions(header: header(), actions: [.init(actionType: "cancelOrder", actionId: "d")]), at: 1_010)
        #expect(s.actionStates.first { $0.actionId == "d" }?.actionStatus == .FAILED)
    }

    @Test func aFatalFaultStopsTheRobotUntilCleared() {
        var s = sim()
        s.receive(layout.order(line(6), orderId: "o", releasedNodes: 6, header: header()), at: 0)
        s.injectFault(description: "left wheel", at: 150)
        s.noteContact(at: 2_000)
        #expect(s.position == GridCell(x: 2, y: 0))
        #expect(!s.driving)
        #expect(s.state(header: header()).hasFatalError)
        s.clearFaults(at: 2_000)
        s.noteContact(at: 3_000)
        #expect(s.position == GridCell(x: 5, y: 0))
        #expect(!s.hasFatalError)
    }

    @Test func lostConnectionFinishesTheBaseAndNeverEntersTheHorizon() {
        var s = sim(timeout: 150)
        s.receive(layout.order(line(8), orderId: "o", releasedNodes: 5, header: header()), at: 0)
        s.advance(to: 200)
        #expect(s.connectionLost)
        #expect(s.driving) // still on its base
        s.advance(to: 10_000)
        #expect(s.position == GridCell(x: 4, y: 0))
        #expect(s.visited == line(5))
        #expect(s.errors.contains { $0.errorType == VDA5050.ErrorType.connectionLost })
        s.noteContact(at: 10_001)
        #expect(!s.connectionLost)
        #expect(!s.errors.contains { $0.errorType == VDA5050.ErrorType.connectionLost })
    }

    @Test func batteryDrainsPerMoveAndChargesOnlyAtACharger() {
        var s = sim(timeout: nil, chargers: [GridCell(x: 3, y: 0)])
        s.receive(VDA5050.InstantActions(header: header(), actions: [.init(actionType: "startCharging", actionId: "x")]), at: 0)
        #expect(!s.charging)
        #expect(s.actionStates.first?.actionStatus == .FAILED)
        s.receive(layout.order(line(4), orderId: "o", releasedNodes: 4, header: header()), at: 0)
        s.advance(to: 1_000)
        #expect(s.battery == 94)
        s.receive(VDA5050.InstantActions(header: header(), actions: [.init(actionType: "startCharging", actionId: "y")]), at: 1_000)
        #expect(s.charging)
        s.advance(to: 1_500)
        #expect(s.battery == 99)
        s.advance(to: 5_000)
        #expect(s.battery == 100)
        #expect(s.state(header: header()).batteryState == .init(batteryCharge: 100, charging: true))
    }

    @Test func theSameSeedGivesTheSameRunAndAnotherSeedOtherDelays() {
        func run(_ seed: UInt64) -> [Int64] {
            var s = sim(seed: seed, timeout: nil)
            s.receive(layout.order(line(8), orderId: "o", releasedNodes: 8, header: header()), at: 0)
            var arrivals: [Int64] = []
            while let t = s.nextEventAt {
                s.advance(to: t)
                arrivals.append(t)
            }
            return arrivals
        }
        #expect(run(7) == run(7))
        #expect(run(7) != run(8))
        #expect(run(7).count == 7)
    }

    @Test func ordersOffTheGridOrNotStartingHereAreRefused() {
        var s = sim()
        s.receive(layout.order([GridCell(x: 1, y: 0), GridCell(x: 2, y: 0)], orderId: "o", releasedNodes: 2, header: header()), at: 0)
        #expect(s.errors.first?.errorType == VDA5050.ErrorType.noRoute)
        s.receive(layout.order([GridCell(x: 0, y: 0), GridCell(x: 0, y: 1), GridCell(x: 0, y: 2)], orderId: "p", releasedNodes: 3, header: header()), at: 0)
        #expect(s.errors.contains { $0.errorDescription?.contains("nodes[2]") == true })
        #expect(!s.orderActive)
    }
}
