import Testing
import Base
import Messaging
import Warehouse
@testable import Floor

@Suite struct DrivenRobotTests {
    /// `.driven` clocking: simulation time moves only with `advance(byMillis:)`, and `stop()` ends
    /// `run()` at once (the clock waits on the stop signal; it does not poll).
    @Test func aDrivenRobotMovesOnlyWhenAdvancedAndStopsWhenAsked() async throws {
        try await withMessagingContext(logger: testLogger) { ctx in
            let link = try await RobotLink.bind(ctx)
            let grid = Grid(width: 8, height: 4, passable: Array(repeating: true, count: 32))
            let sim = RobotSim(grid: grid, start: GridCell(x: 0, y: 0), configuration: .init(
                serialNumber: "amr-d", layout: layout, stepMillis: 100, jitterMillis: 0, drainPerMove: 0.1,
                chargePerSecond: 40, chargeTickMillis: 50, chargers: [], connectionTimeoutMillis: 3_600_000, seed: 1))
            let robot = SimulatedRobot(context: ctx, sim: sim, configuration: .init(
                fleetEndpoint: link.endpoint, clocking: .driven, stateInterval: .milliseconds(100), ackTimeout: .milliseconds(500)))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await link.run() }
                group.addTask { try await robot.run() }
                _ = try await link.waitForState(of: "amr-d", timeout: .seconds(5)) { _ in true }
                try await link.send(layout.order(line(0...3), orderId: "o-d", releasedNodes: 4, header: blankHeader()),
                                    to: "amr-d", timeout: .seconds(5))
                #expect(await robot.snapshot.visited == [GridCell(x: 0, y: 0)], "moved without time moving")
                for _ in 0 ..< 20 { await robot.advance(byMillis: 100) }
                let done = try await link.waitForState(of: "amr-d", timeout: .seconds(5)) { $0.lastNodeId == "c3_0" && !$0.driving }
                #expect(done.orderId == "o-d")
                #expect(await robot.snapshot.visited == line(0...3))
                await robot.stop()
                let offline = await eventually(within: .seconds(5)) { await link.connectionState(of: "amr-d") == .OFFLINE }
                #expect(offline, "run() did not end with OFFLINE after stop()")
                await link.close()
                try await group.waitForAll()
            }
        }
    }
}
