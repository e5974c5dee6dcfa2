import Base
import Cluster
import DaybreakNode
import DispatchPlanning
import Edge
import Fleet
import Geo
import Messaging
import Storage

/// A whole `daybreak gateway` process: the deployment's principals admit this gateway's key as a
/// `gateway` (it writes itself into `principals`: whoever holds the database holds the
/// deployment anyway), a cluster client with that key, the `ClusterGateway` over it, and the edge
/// server. `run()` serves until `close()`.
public final class EdgeGatewayService: Sendable {
    public let server: EdgeServer
    public let cluster: ClusterGateway
    let pool: PostgresPool

    public struct Options: Sendable {
        public var listen: String
        public var keyPair: CurveKeyPair
        public var name: String
        public var database: PostgresConfiguration
        public var operating: OperatingConfig
        /// How long to wait for every region to be owned before serving (0: do not wait).
        public var waitForRegions: Duration = .seconds(60)
        public var principalRefresh: Duration = .seconds(1)
        /// How often the nodes re-read the principals (`NodeConfiguration.principalsRefresh`): a new
        /// gateway key waits this long (plus 0.5 s) before calling them.
        public var nodePrincipalsRefresh: Duration = .seconds(2)
        /// The regions served through this gateway (nil: every region of the operations file).
        public var regions: [RegionID]? = nil
        public var socket: SocketOptions = .edge
        public init(listen: String, keyPair: CurveKeyPair, name: String, database: PostgresConfiguration, operating: OperatingConfig) {
            self.listen = listen; self.keyPair = keyPair; self.name = name; self.database = database; self.operating = operating
        }
    }

    init(server: EdgeServer, cluster: ClusterGateway, pool: PostgresPool) { self.server = server; self.cluster = cluster; self.pool = pool }

    public static func start(_ o: Options, logger: Logger) async throws -> EdgeGatewayService {
        let pool = PostgresPool(o.database, size: 4, acquireTimeout: .seconds(5), logger: logger)
        var client: ClusterClient?
        do {
            let known = try await withDeadline(.seconds(10), "register the gateway's key") { () -> Bool in
                let rows = try await pool.query("SELECT 1 FROM principals WHERE public_key = $1 AND role = 'gateway' AND revoked_at IS NULL",
                                                [o.keyPair.publicKey], purpose: "is the gateway's key known")
                if !rows.isEmpty { return true }
                _ = try await pool.execute(PrincipalDirectory.upsert, [o.keyPair.publicKey, "gateway:\(o.name)", Principal.gateway, ""],
                                           purpose: "register the gateway's key")
                return false
            }
            // Nodes re-read the principals every `principalsRefresh` (2 s by default): a key they have not
            // read yet is refused at the handshake, and libzmq does not retry a refused handshake.
            if !known { try await Task.sleep(for: o.nodePrincipalsRefresh + .milliseconds(500)) }
            let c = try await ClusterClient(database: o.database, curve: o.keyPair, attemptTimeout: .seconds(2), logger: logger)
            client = c
            let day = o.operating.wallNow().localDay(o.operating.operations.offset)
            let configs = try (o.regions ?? o.operating.regions).map { try o.operating.dayConfig(region: $0, day: day) }
            if o.waitForRegions > .zero {
                let until = ContinuousClock.now + o.waitForRegions
                while true {
                    try? await c.ownership.refresh()
                    let missing = configs.filter { c.ownership.owner(ofRegion: $0.region.rawValue) == nil }.map(\.region.rawValue)
                    if missing.isEmpty { break }
                    if ContinuousClock.now >= until {
                        throw ClusterGatewayError("regions not owned within \(o.waitForRegions): \(missing.sorted().joined(separator: ", "))")
                    }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            try await c.connectToNodes()
            let gateway = try await ClusterGateway(client: c, configs: configs, drivenClock: pool, principal: "gateway:\(o.name)", directory: pool)
            var config = EdgeServer.Configuration(listen: o.listen, keyPair: o.keyPair, name: o.name, offset: o.operating.operations.offset)
            config.principalRefresh = o.principalRefresh
            config.socket = o.socket
            let server = try await EdgeServer.start(config, cluster: gateway, pool: pool, logger: logger)
            return EdgeGatewayService(server: server, cluster: gateway, pool: pool)
        } catch {
            await client?.close()
            await pool.close()
            throw error
        }
    }

    public func run() async { await server.run() }

    public func close() async {
        await server.close()
        await pool.close()
    }
}
