import Testing
import Base
import Messaging
import Warehouse
@testable import Floor

@Suite struct FloorTests {
    @Test func aRobotStopsAtTheLastReleasedNodeAndGoesOnWhenAnUpdateReleasesMore() async throws {
        try await withFloor([RobotSpec(serial: "amr-1", start: GridCell(x: 0, y: 0))]) { link, robots in
            #expect(await link.connectionState(of: "amr-1") == .ONLINE)
            let accepted = try await link.send(layout.order(line(0...5), orderId: "o-1", releasedNodes: 3, header: blankHeader()),
                                               to: "amr-1", timeout: .seconds(2))
            #expect(accepted.orderId == "o-1")
            let stopped = try await link.waitForState(of: "amr-1", timeout: .seconds(5)) { $0.lastNodeId == "c2_0" && !$0.driving }
            #expect(stopped.nodeStates.map(\.nodeId) == ["c3_0", "c4_0", "c5_0"])
            #expect(stopped.nodeStates.allSatisfy { !$0.released })
            #expect(stopped.newBaseRequest == true)
            // It stays at the decision point: a few periodic states later it has not moved.
            let later = try await link.waitForState(of: "amr-1", timeout: .seconds(2)) { $0.header.headerId >= stopped.header.headerId + 3 }
            #expect(later.lastNodeId == "c2_0" && !later.driving)
            try await link.send(layout.order(line(2...5), orderId: "o-1", orderUpdateId: 1, firstSequenceId: 4,
                                             releasedNodes: 4, header: blankHeader()), to: "amr-1", timeout: .seconds(2))
            let done = try await link.waitForState(of: "amr-1", timeout: .seconds(5)) {
                $0.lastNodeId == "c5_0" && !$0.driving && $0.nodeStates.isEmpty && $0.edgeStates.isEmpty
            }
            #expect(done.orderUpdateId == 1)
            #expect(await robots[0].snapshot.visited == line(0...5))
        }
    }

    @Test func anOlderOrderUpdateIdIsRefusedWithAnErrorInState() async throws {
        try await withFloor([RobotSpec(serial: "amr-1", start: GridCell(x: 0, y: 0))]) { link, _ in
            try await link.send(layout.order(line(0...5), orderId: "o-1", releasedNodes: 3, header: blankHeader()),
                                to: "amr-1", timeout: .seconds(2))
            try await link.send(layout.order(line(2...5), orderId: "o-1", orderUpdateId: 2, firstSequenceId: 4,
                                             releasedNodes: 2, header: blankHeader()), to: "amr-1", timeout: .seconds(2))
            do throws(FloorError) {
                try await link.send(layout.order(line(2...5), orderId: "o-1", orderUpdateId: 1, firstSequenceId: 4,
                                                 releasedNodes: 4, header: blankHeader()), to: "amr-1", timeout: .seconds(2))
                Issue.record("an older orderUpdateId was accepted")
            } catch {
                #expect(error.code == .rejected)
                #expect(error.errors.first?.errorType == VDA5050.ErrorType.orderUpdate)
                #expect(error.errors.first?.errorDescription?.contains("orderUpdateId") == true)
            }
            let s = try await link.waitForState(of: "amr-1", timeout: .seconds(5)) { $0.lastNodeId == "c3_0" && !$0.driving }
            #expect(s.orderUpdateId == 2)
            #expect(s.errors.contains { $0.reference("orderUpdateId") == "1" })
        }
    }

    @Test func aMalformedOrderComesBackAsAnErrorNamingTheItem() async throws {
        try await withFloor([RobotSpec(serial: "amr-1", start: GridCell(x: 0, y: 0))]) { link, _ in
            var o = layout.order(line(0...3), orderId: "o-1", releasedNodes: 4, header: blankHeader())
            o.header = VDA5050.Header(timestamp: "2026-07-02T08:00:00.000Z", manufacturer: "daybreak", serialNumber: "amr-1")
            o.nodes[1].sequenceId = 3
            let topic = FloorTopic(manufacturer: "daybreak", serialNumber: "amr-1", topic: .order)
            try await link.sendRaw(FloorFrames.message(topic, VDA5050Codec.encode(o)), to: "amr-1")
            let s = try await link.waitForState(of: "amr-1", timeout: .seconds(2)) { s in
                s.errors.contains { $0.errorType == VDA5050.ErrorType.validation }
            }
            let e = s.errors.first { $0.errorType == VDA5050.ErrorType.validation }
            #expect(e?.errorDescription == "order: nodes[1].sequenceId: node sequenceIds are even, got 3")
            #expect(s.orderId == "" && !s.driving)
            // Bad frames too: a topic for another robot.
            let wrong = FloorTopic(manufacturer: "daybreak", serialNumber: "amr-9", topic: .order)
            try await link.sendRaw(FloorFrames.message(wrong, VDA5050Codec.encode(o)), to: "amr-1")
            _ = try await link.waitForState(of: "amr-1", timeout: .seconds(2)) { s in
                s.errors.contains { $0.errorDescription?.contains("topic.serialNumber") == true }
            }
        }
    }

    @Test func aFatalFaultStopsTheRobotAndStateReportsIt() async throws {
        // Out along row 0 and back along row 1: 16 cells, so the fault lands well before the end.
        let path = line(0...7) + line(0...7, y: 1).reversed()
        try await withFloor([RobotSpec(serial: "amr-1", start: GridCell(x: 0, y: 0), stepMillis: 30)]) { link, robots in
            try await link.send(layout.order(path, orderId: "o-1", releasedNodes: path.count, header: blankHeader()),
                                to: "amr-1", timeout: .seconds(2))
            _ = try await link.waitForState(of: "amr-1", timeout: .seconds(5)) { $0.lastNodeSequenceId >= 4 }
            await robots[0].injectFault(description: "drive unit overheated")
            let faulted = try await link.waitForState(of: "amr-1", timeout: .seconds(5)) { $0.hasFatalError && !$0.driving }
            #expect(faulted.errors.first { $0.errorLevel == .FATAL }?.errorDescription == "drive unit overheated")
            #expect(faulted.lastNodeId != "c0_1")
            #expect(!faulted.nodeStates.isEmpty)
            let later = try await link.waitForState(of: "amr-1", timeout: .seconds(2)) { $0.header.headerId >= faulted.header.headerId + 3 }
            #expect(later.lastNodeId == faulted.lastNodeId && !later.driving)
            await robots[0].clearFaults()
            _ = try await link.waitForState(of: "amr-1", timeout: .seconds(5)) { $0.lastNodeId == "c0_1" && !$0.hasFatalError }
            #expect(await robots[0].snapshot.visited == path)
        }
    }

    @Test func aLostConnectionStopsTheRobotAtTheEndOfItsBaseNeverInTheHorizon() async throws {
        let spec = RobotSpec(serial: "amr-1", start: GridCell(x: 0, y: 0), stepMillis: 40, connectionTimeoutMillis: 120)
        try await withFloor([spec]) { link, robots in
            try await link.send(layout.order(line(0...7), orderId: "o-1", releasedNodes: 5, header: blankHeader()),
                                to: "amr-1", timeout: .seconds(2))
            await link.close()
            let robot = robots[0]
            #expect(await eventually { await robot.snapshot.connectionLost })
            #expect(await eventually { let s = await robot.snapshot; return !s.driving && s.position == GridCell(x: 4, y: 0) })
            let s = await robot.snapshot
            #expect(s.visited == line(0...4))
            #expect(s.nodesAhead.allSatisfy { !$0.released })
            #expect(s.errors.contains { $0.errorType == VDA5050.ErrorType.connectionLost })
            #expect(await eventually { await robot.stats.ackFailures > 0 })
        }
    }

    @Test func batteryDrainsWhileMovingAndChargesOnStartChargingAtACharger() async throws {
        let charger = GridCell(x: 3, y: 0)
        try await withFloor([RobotSpec(serial: "amr-1", start: GridCell(x: 0, y: 0), chargers: [charger])]) { link, _ in
            let charge = VDA5050.InstantActions(header: blankHeader(), actions: [.init(actionType: "startCharging", actionId: "ch-1")])
            do throws(FloorError) {
                try await link.send(charge, to: "amr-1", timeout: .seconds(2))
                Issue.record("charging away from a charger was accepted")
            } catch {
                #expect(error.code == .rejected)
                #expect(error.errors.first?.errorType == VDA5050.ErrorType.action)
            }
            try await link.send(layout.order(line(0...3), orderId: "o-1", releasedNodes: 4, header: blankHeader()),
                                to: "amr-1", timeout: .seconds(2))
            let there = try await link.waitForState(of: "amr-1", timeout: .seconds(5)) { $0.lastNodeId == "c3_0" && !$0.driving }
            #expect(there.batteryState == .init(batteryCharge: 94, charging: false))
            var again = charge
            again.actions[0].actionId = "ch-2"
            let charging = try await link.send(again, to: "amr-1", timeout: .seconds(2))
            #expect(charging.batteryState.charging)
            let full = try await link.waitForState(of: "amr-1", timeout: .seconds(5)) { $0.batteryState.batteryCharge == 100 }
            #expect(full.batteryState.charging)
            let stop = VDA5050.InstantActions(header: blankHeader(), actions: [.init(actionType: "stopCharging", actionId: "ch-3")])
            #expect(try await link.send(stop, to: "amr-1", timeout: .seconds(2)).batteryState.charging == false)
        }
    }

    @Test func severalRobotsThroughOneLinkAtOnce() async throws {
        let specs = (0..<4).map { RobotSpec(serial: "amr-\($0)", start: GridCell(x: 0, y: $0)) }
        try await withFloor(specs) { link, robots in
            #expect(await link.serialNumbers == ["amr-0", "amr-1", "amr-2", "amr-3"])
            try await withThrowingTaskGroup(of: VDA5050.State.self) { group in
                for y in 0..<4 {
                    group.addTask {
                        try await link.send(layout.order(line(0...(3 + y), y: y), orderId: "o-\(y)", releasedNodes: 4 + y,
                                                         header: blankHeader()), to: "amr-\(y)", timeout: .seconds(2))
                        return try await link.waitForState(of: "amr-\(y)", timeout: .seconds(5)) {
                            $0.lastNodeId == "c\(3 + y)_\(y)" && !$0.driving
                        }
                    }
                }
                var finished = 0
                for try await s in group {
                    #expect(s.orderId == "o-\(s.header.serialNumber.last!)")
                    finished += 1
                }
                #expect(finished == 4)
            }
            for (y, r) in robots.enumerated() { #expect(await r.snapshot.visited == line(0...(3 + y), y: y)) }
            do throws(FloorError) {
                try await link.send(layout.order(line(0...1), orderId: "x", releasedNodes: 2, header: blankHeader()),
                                    to: "amr-9", timeout: .milliseconds(100))
                Issue.record("an unknown robot was accepted")
            } catch {
                #expect(error.code == .unknownRobot)
            }
            await robots[2].stop()
            #expect(await eventually { await link.connectionState(of: "amr-2") == .OFFLINE })
            #expect(await link.stats.malformed == 0)
        }
    }
}
