import Testing
import Base
import Messaging
import Warehouse
@testable import Floor

let testLogger = Logger(label: "floor-test", level: .warning)
let layout = VDA5050Layout(mapId: "hub-1")

func line(_ xs: ClosedRange<Int>, y: Int = 0) -> [GridCell] { xs.map { GridCell(x: $0, y: y) } }

/// A placeholder header: `RobotLink.send` fills it in.
func blankHeader() -> VDA5050.Header { VDA5050.Header(manufacturer: "daybreak", serialNumber: "") }

struct RobotSpec: Sendable {
    var serial: String
    var start: GridCell
    var stepMillis: Int64 = 15
    var connectionTimeoutMillis: Int64 = 400
    var chargers: Set<GridCell> = []
}

/// Waits until `condition` holds or `timeout` passes; never a fixed sleep (it re-checks every ms).
func eventually(within timeout: Duration = .seconds(5), _ condition: () async -> Bool) async -> Bool {
    let end = ContinuousClock.now + timeout
    while ContinuousClock.now < end {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return await condition()
}

/// How the simulated robots of a test run: the quick defaults of the link tests, or the controller
/// tests' (battery that lasts, fewer periodic states, a longer queue).
struct RobotTuning: Sendable {
    var jitterMillis: Int64 = 5
    var drainPerMove: Double = 2
    var maxSleep: Duration = .milliseconds(10)
    var stateInterval: Duration = .milliseconds(40)
    var ackTimeout: Duration = .milliseconds(100)
    var outboxLimit = 16
    static let controller = RobotTuning(jitterMillis: 3, drainPerMove: 0.1, maxSleep: .milliseconds(5),
                                        stateInterval: .milliseconds(100), ackTimeout: .milliseconds(200), outboxLimit: 256)
}

/// A link at fleet control and simulated robots on `grid` (an 8×4 open grid by default) over tcp,
/// all running until `body` returns; then everything is cancelled and the context shut down.
func withFloor(_ specs: [RobotSpec], grid: Grid = Grid(width: 8, height: 4, passable: Array(repeating: true, count: 32)),
               vdaLayout: VDA5050Layout = layout, link linkConfiguration: RobotLink.Configuration = .init(),
               tuning: RobotTuning = .init(), _ body: (RobotLink, [SimulatedRobot]) async throws -> Void) async throws {
    try await withMessagingContext(logger: testLogger) { ctx in
        let link = try await RobotLink.bind(ctx, configuration: linkConfiguration)
        let robots = specs.enumerated().map { i, s in
            let sim = RobotSim(grid: grid, start: s.start, configuration: .init(
                serialNumber: s.serial, layout: vdaLayout, stepMillis: s.stepMillis, jitterMillis: tuning.jitterMillis,
                drainPerMove: tuning.drainPerMove, chargePerSecond: 40, chargeTickMillis: 50, chargers: s.chargers,
                connectionTimeoutMillis: s.connectionTimeoutMillis, seed: UInt64(i + 1)))
            return SimulatedRobot(context: ctx, sim: sim, configuration: .init(
                fleetEndpoint: link.endpoint, clocking: .realTime(maxSleep: tuning.maxSleep),
                stateInterval: tuning.stateInterval, ackTimeout: tuning.ackTimeout, outboxLimit: tuning.outboxLimit))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await link.run() }
            for r in robots { group.addTask { try await r.run() } }
            for r in robots {
                _ = try await link.waitForState(of: r.serialNumber, timeout: .seconds(5)) { _ in true }
            }
            do {
                try await body(link, robots)
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }
}
