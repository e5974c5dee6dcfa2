import Testing
import Base
import Messaging
import Warehouse
@testable import Floor

/// Who may speak for a robot on the link: an allow-list, a bound on the robots tracked, and on a
/// CURVE link the key's User-Id `robot:<serial>`. A refused peer changes nothing the link knows.
@Suite struct RobotLinkAuthorityTests {
    func robot(_ ctx: MessagingContext, _ link: RobotLink, _ serial: String, x: Int, socket: SocketOptions? = nil) -> SimulatedRobot {
        let grid = Grid(width: 8, height: 4, passable: Array(repeating: true, count: 32))
        let sim = RobotSim(grid: grid, start: GridCell(x: x, y: 0), configuration: .init(
            serialNumber: serial, layout: layout, stepMillis: 15, jitterMillis: 0, drainPerMove: 0.1,
            chargePerSecond: 40, chargeTickMillis: 50, chargers: [], connectionTimeoutMillis: 60_000, seed: 1))
        var c = SimulatedRobot.Configuration(fleetEndpoint: link.endpoint, stateInterval: .milliseconds(30), ackTimeout: .milliseconds(300))
        if let socket { c.socket = socket }
        return SimulatedRobot(context: ctx, sim: sim, configuration: c)
    }

    func run(_ link: RobotLink, _ robots: [SimulatedRobot], _ body: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await link.run() }
            for r in robots { group.addTask { try await r.run() } }
            do { try await body() } catch { group.cancelAll(); throw error }
            group.cancelAll()
        }
    }

    @Test func onlyAllowedSerialNumbersAndAtMostMaxRobotsAreTracked() async throws {
        try await withMessagingContext(logger: testLogger) { ctx in
            var config = RobotLink.Configuration()
            config.allowedRobots = ["amr-1", "amr-2", "amr-3"]
            config.maxRobots = 2
            let link = try await RobotLink.bind(ctx, configuration: config)
            let robots = [robot(ctx, link, "amr-1", x: 0), robot(ctx, link, "amr-2", x: 2), robot(ctx, link, "amr-3", x: 4),
                          robot(ctx, link, "intruder", x: 6)]
            try await run(link, robots) {
                func known() async -> [String] {
                    var out: [String] = []
                    for serial in ["amr-1", "amr-2", "amr-3", "intruder"] where await link.state(of: serial) != nil { out.append(serial) }
                    return out
                }
                // Two allowed robots report their state; the third allowed one is past maxRobots and
                // the intruder is not allowed: both refused, neither tracked.
                let settled = await eventually(within: .seconds(5)) {
                    let stats = await link.stats
                    let tracked = await link.robotCount
                    let reported = await known()
                    return stats.refused >= 2 && tracked == 2 && reported.count == 2
                }
                let stats = await link.stats, tracked = await link.robotCount, states = await known()
                #expect(settled, "refused \(stats.refused), tracked \(tracked), states \(states)")
                #expect(!states.contains("intruder") && tracked == 2)
            }
        }
    }

    @Test func onACurveLinkAKeySpeaksOnlyForItsOwnRobot() async throws {
        let authority = try CurveKeyTable()
        let server = try CurveKeyPair.generate()
        let honest = try CurveKeyPair.generate(), impostor = try CurveKeyPair.generate()
        try authority.grant(honest.publicKey, as: try CurveIdentity(userID: "robot:amr-1", role: "robot"))
        // A valid robot key, but of another robot: it must not speak for amr-1.
        try authority.grant(impostor.publicKey, as: try CurveIdentity(userID: "robot:amr-9", role: "robot"))
        try await withMessagingContext(logger: testLogger, curveAuthority: authority) { ctx in
            var config = RobotLink.Configuration()
            config.socket.curveServer = try CurveServer(keyPair: server, domain: "floor")
            let link = try await RobotLink.bind(ctx, configuration: config)
            func socket(_ k: CurveKeyPair) throws -> SocketOptions {
                var o = SimulatedRobot.Configuration(fleetEndpoint: link.endpoint).socket
                o.curveClient = try CurveClient(serverPublicKey: server.publicKey, keyPair: k)
                return o
            }
            let robots = [robot(ctx, link, "amr-1", x: 0, socket: try socket(honest)),
                          robot(ctx, link, "amr-2", x: 4, socket: try socket(impostor))]
            try await run(link, robots) {
                _ = try await link.waitForState(of: "amr-1", timeout: .seconds(5)) { _ in true }
                let refused = await eventually(within: .seconds(5)) { await link.stats.refused > 0 }
                #expect(refused)
                #expect(await link.stats.lastRefused?.contains("robot:amr-9 may not speak for robot amr-2") == true)
                #expect(await link.state(of: "amr-2") == nil)
            }
        }
    }
}
