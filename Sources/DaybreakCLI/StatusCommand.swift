import Base
import Cluster
import DaybreakNode
import DispatchPlanning
import Foundation
import Geo
import Storage

// `daybreak status`: the deployment at a glance — nodes, region owners, the clock, each region's
// service days, open orders per state and the next due work.
let statusCommand = Command(
    name: "status",
    summary: "Show a running deployment: nodes, region owners, the clock, service days, open orders and the next due work.",
    usage: "[--json] [--ttl-ms N] [--timeout-ms N] [--database CONNINFO] [--schema NAME]",
    options: databaseOptions + [
        .value("ttl-ms", "N", "a node silent longer than this shows as down (default 3000)"),
        .value("timeout-ms", "N", "how long to wait for each region's owner (default 5000)"),
        .flag("json", "print one JSON object {clock, nodes, regions}"),
    ]
) { args in
    let ttl = Int64(try args.int("ttl-ms", default: 3_000, range: 1 ... 3_600_000))
    let timeout = Duration.milliseconds(try args.int("timeout-ms", default: 5_000, range: 1 ... 600_000))
    let config = try databaseConfiguration(args)
    let logger = Logger(label: "status", level: .error)
    let client: ClusterClient
    do { client = try await ClusterClient(database: config, curve: try clientIdentity(args), logger: logger) } catch {
        printErr("daybreak status: \(error)")
        return ExitStatus.unavailable
    }
    do {
        var out = try await deploymentStatus(client: client, config: config, ttl: ttl, timeout: timeout, logger: logger)
        await client.close()
        // The edge gateway `daybreak up` runs, as deployment.json records it.
        if args.string("database") == nil, let d = try? Deployment.read(dataDir: args.string("data", default: Deployment.defaultDataDir)), let g = d.gateway {
            let alive = isDeploymentGateway(pid: g.pid, name: g.name)
            out.text += "\n\ngateway \(g.name)  \(g.listen)  key \(g.publicKey)  " + (alive ? "alive (pid \(g.pid))" : "not running")
            if case .object(var fields) = out.json {
                fields.append(("gateway", .object([("name", .string(g.name)), ("endpoint", .string(g.listen)), ("public_key", .string(g.publicKey)),
                                                   ("pid", .int(Int(g.pid))), ("alive", .bool(alive))])))
                out.json = .object(fields)
            }
        }
        print(args.flag("json") ? out.json.rendered() : out.text)
        return ExitStatus.ok
    } catch {
        await client.close()
        printErr("daybreak status: \(error)")
        return ExitStatus.unavailable
    }
}

struct DeploymentStatus {
    var json: JSONValue
    var text: String
}

func deploymentStatus(client: ClusterClient, config: PostgresConfiguration, ttl: Int64, timeout: Duration, logger: Logger) async throws -> DeploymentStatus {
    let conn = try await PostgresConnection.connect(config, logger: logger)
    let results: [PostgresRows]
    let setting: ClockSetting?
    do {
        results = try await withDeadline(.seconds(5), "read cluster") {
            try await conn.pipeline([PostgresStatement(ClusterSchema.readNodes), PostgresStatement(ClusterSchema.readLeases)], purpose: "read cluster")
        }
        setting = try await DeploymentClock.read(conn)
        await conn.close()
    } catch {
        await conn.close()
        throw error
    }
    let off = setting?.offset ?? .utc
    let now = setting?.now()
    var nodesJSON: [JSONValue] = []
    var lines: [String] = []
    lines.append("clock: " + (setting.map { "\($0.mode.rawValue), \(DeploymentClock.iso($0.now(), off))" } ?? "not set (no node has started)"))
    lines.append("")
    lines.append("NODE            STATUS  ENDPOINT")
    for r in results[0] {
        let id = try r.decode(0, as: String.self), endpoint = try r.decode(1, as: String.self)
        let beat = try r.decode(3, as: Int64.self), status = try r.decode(4, as: String.self), dbNow = try r.decode(5, as: Int64.self)
        let up = status == "alive" && dbNow - beat <= ttl * 1_000
        nodesJSON.append(.object([("id", .string(id)), ("status", .string(up ? "up" : "down")), ("endpoint", .string(endpoint))]))
        lines.append(padRight(id, 15) + " " + padRight(up ? "up" : "down", 7) + " " + endpoint)
    }
    try await RegionDispatcher.registerTargets(on: client.system)
    try? await client.connectToNodes()
    var regionsJSON: [JSONValue] = []
    lines.append("")
    lines.append("REGION          OWNER   DAY         OPEN ORDERS  NEXT DUE")
    for r in results[1] {
        let region = try r.decode(0, as: String.self), owner = try r.decode(1, as: String?.self)
        let expires = try r.decode(3, as: Int64.self), dbNow = try r.decode(4, as: Int64.self)
        let held = owner != nil && expires > dbNow ? owner : nil
        var status: RegionStatus?
        var problem: String?
        if held != nil {
            do {
                let d = try RegionDispatcher.resolve(id: RegionDispatcher.identity(region: region), using: client.system)
                status = try await ClusterCall.$timeout.withValue(timeout) { try await d.status(now: now) }
            } catch { problem = "\(error)" }
        } else {
            problem = "no owner"
        }
        let day = status?.operatingDay ?? status?.days.first?.day
        var fields: [(String, JSONValue)] = [("id", .string(region)), ("owner", held.map(JSONValue.string) ?? .null),
                                             ("day", day.map { .string($0.isoDate) } ?? .null),
                                             ("open_orders", status.map { .int($0.openOrders) } ?? .null)]
        if let status {
            fields.append(("next_due", status.nextDue.map { .object([("kind", .string($0.kind.rawValue)), ("at", .string(DeploymentClock.iso($0.at, off)))]) } ?? .null))
            fields.append(("days", .array(status.days.map { d in
                .object([("day", .string(d.day.isoDate)), ("orders", .int(d.orders)), ("dawn_wave_planned", .bool(d.dawnWavePlanned)),
                         ("settled", .bool(d.settled)),
                         ("open_orders", .object(d.openOrders.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.int($0.value)) })),
                         ("next_due", d.nextDue.map { .object([("kind", .string($0.kind.rawValue)), ("at", .string(DeploymentClock.iso($0.at, off)))]) } ?? .null)])
            })))
        }
        if let problem { fields.append(("error", .string(problem))) }
        regionsJSON.append(.object(fields))
        let next = status?.nextDue.map { "\($0.kind.rawValue) at \(DeploymentClock.iso($0.at, off))" } ?? (problem.map { "(\($0))" } ?? "-")
        lines.append(padRight(region, 15) + " " + padRight(held ?? "-", 7) + " " + padRight(day?.isoDate ?? "-", 11) + " "
                     + padRight(status.map { String($0.openOrders) } ?? "-", 12) + " " + next)
        for d in status?.days ?? [] where !d.openOrders.isEmpty {
            lines.append("    \(d.day.isoDate): " + d.openOrders.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
    }
    let clockJSON: JSONValue = setting.map { s in
        .object([("mode", .string(s.mode.rawValue)), ("now", .string(DeploymentClock.iso(s.now(), off)))])
    } ?? .null
    return DeploymentStatus(json: .object([("clock", clockJSON), ("nodes", .array(nodesJSON)), ("regions", .array(regionsJSON))]),
                            text: lines.joined(separator: "\n"))
}

func padRight(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
