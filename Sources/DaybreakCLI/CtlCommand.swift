import Base
import Cluster
import Foundation
import Storage

// `daybreak ctl …`: operator commands against a running cluster (through its database).
let ctlCommand = Command(
    name: "ctl",
    summary: "Inspect and call a running cluster.",
    usage: "cluster|call|dispatch|clock|keys|audit [OPTIONS]",
    subcommands: [ctlClusterCommand, ctlCallCommand, ctlDispatchCommand, ctlClockCommand, ctlKeysCommand, ctlAuditCommand]
)

let databaseOptions: [OptionSpec] = [
    .value("database", "CONNINFO", "libpq conninfo or URI; default: the deployment in --data, else the PG* environment"),
    .value("schema", "NAME", "schema of the cluster tables; default: the deployment's, else the current schema"),
    .value("data", "DIR", "directory of a `daybreak up` deployment whose database and schema to use when --database is not given (default .daybreak)"),
    .value("identity", "FILE", "your CURVE secret key file (an operator's), required by nodes that serve CURVE; default: DIR/keys/operator.key of the deployment (ctl dispatch through a gateway: a dispatcher's, default DIR/keys/dispatcher.key)"),
]

/// The database an operator command talks to: `--database` when given; else the deployment that
/// `daybreak up` records in DIR/deployment.json (DIR: `--data`, default .daybreak), when there is one;
/// else the PG* environment. An explicit `--schema` wins over the deployment's. An explicit `--data`
/// without a deployment is an error (66), as is a malformed deployment file (65, naming the field).
func databaseConfiguration(_ args: ParsedArguments) throws -> PostgresConfiguration {
    var conninfo = args.string("database")
    var schema = args.string("schema")
    if conninfo == nil {
        let dir = args.string("data", default: Deployment.defaultDataDir)
        if let d = try Deployment.read(dataDir: dir) {
            conninfo = d.database
            schema = schema ?? d.schema
        } else if args.string("data") != nil {
            throw CommandFailure(message: "no deployment in \(Deployment.absolute(dir)) (no \(Deployment.fileName)): is `daybreak up --data \(dir)` running?",
                                 status: ExitStatus.noInput)
        }
    }
    let c = PostgresConfiguration(conninfo ?? "", applicationName: "daybreak-ctl")
    guard let schema else { return c }
    guard isPlainIdentifier(schema) else { throw UsageError("--schema must match [a-z_][a-z0-9_]*, got '\(schema)'") }
    return c.withSearchPath(schema)
}

let ctlClusterCommand = Command(
    name: "cluster",
    summary: "Print the cluster's nodes and region owners.",
    usage: "[--data DIR | --database CONNINFO] [--schema NAME] [--ttl-ms N] [--json]",
    options: databaseOptions + [
        .value("ttl-ms", "N", "a node silent longer than this shows as down (default 3000)"),
        .flag("json", "print one JSON object {nodes:[…], regions:[…]}"),
    ]
) { args in
    let ttl = Int64(try args.int("ttl-ms", default: 3_000, range: 1 ... 3_600_000))
    let config: PostgresConfiguration
    do { config = try databaseConfiguration(args) } catch let f as CommandFailure {
        printErr("daybreak ctl cluster: \(f.message)")
        return f.status
    }
    let conn: PostgresConnection
    do { conn = try await PostgresConnection.connect(config, logger: Logger(label: "ctl", level: .warning)) } catch {
        printErr("daybreak ctl cluster: \(error)")
        return ExitStatus.unavailable
    }
    let results = try await withDeadline(.seconds(5), "read cluster") {
        try await conn.pipeline([PostgresStatement(ClusterSchema.readNodes), PostgresStatement(ClusterSchema.readLeases)],
                                purpose: "read cluster")
    }
    await conn.close()
    func iso(_ us: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date(timeIntervalSince1970: Double(us) / 1e6))
    }
    var nodes: [JSONValue] = [], regions: [JSONValue] = []
    var lines = ["NODE            STATUS  ENDPOINT                     LAST HEARTBEAT"]
    for r in results[0] {
        let id = try r.decode(0, as: String.self), endpoint = try r.decode(1, as: String.self)
        let beat = try r.decode(3, as: Int64.self), status = try r.decode(4, as: String.self), now = try r.decode(5, as: Int64.self)
        let up = status == "alive" && now - beat <= ttl * 1_000
        nodes.append(.object([("id", .string(id)), ("endpoint", .string(endpoint)), ("status", .string(up ? "up" : "down")),
                              ("last_heartbeat", .string(iso(beat)))]))
        lines.append(id.padding(toLength: 15, withPad: " ", startingAt: 0) + " " + (up ? "up  " : "down") + "    "
                     + endpoint.padding(toLength: 28, withPad: " ", startingAt: 0) + " " + iso(beat))
    }
    lines.append("")
    lines.append("REGION          OWNER           TOKEN")
    for r in results[1] {
        let region = try r.decode(0, as: String.self), owner = try r.decode(1, as: String?.self)
        let token = try r.decode(2, as: Int64.self), expires = try r.decode(3, as: Int64.self), now = try r.decode(4, as: Int64.self)
        let held = owner != nil && expires > now ? owner : nil
        regions.append(.object([("id", .string(region)), ("owner", held.map(JSONValue.string) ?? .null), ("token", .int(Int(token)))]))
        lines.append(region.padding(toLength: 15, withPad: " ", startingAt: 0) + " "
                     + (held ?? "-").padding(toLength: 15, withPad: " ", startingAt: 0) + " " + String(token))
    }
    if args.flag("json") {
        print(JSONValue.object([("nodes", .array(nodes)), ("regions", .array(regions))]).rendered())
    } else {
        print(lines.joined(separator: "\n"))
    }
    return ExitStatus.ok
}

let ctlCallCommand = Command(
    name: "call",
    summary: "Call a journaled actor: find its region's owner and send the command (retries within the deadline).",
    usage: "--actor KIND/KEY@REGION --command add:N|state [--key IDEMPOTENCY-KEY] [--timeout-ms N] [--data DIR | --database CONNINFO] [--schema NAME]",
    options: databaseOptions + [
        .value("actor", "KIND/KEY@REGION", "the actor, e.g. counter/c1@gangnam (required)"),
        .value("command", "add:N|state", "add N to a counter, or read its state (required)"),
        .value("key", "KEY", "idempotency key of the command (default: a random one)"),
        .value("timeout-ms", "N", "overall deadline including retries (default 10000)"),
    ]
) { args in
    guard let actorText = args.string("actor"), let slash = actorText.firstIndex(of: "/"), let at = actorText.lastIndex(of: "@"), slash < at else {
        throw UsageError("--actor must look like KIND/KEY@REGION")
    }
    let kind = String(actorText[..<slash]), key = String(actorText[actorText.index(after: slash)..<at])
    let region = String(actorText[actorText.index(after: at)...])
    _ = try checkIdentifier(key, "--actor KEY", maxBytes: WireLimits.default.maxIdentifierBytes)
    _ = try checkIdentifier(region, "--actor REGION", maxBytes: WireLimits.default.maxIdentifierBytes)
    if let k = args.string("key") { _ = try checkIdentifier(k, "--key", maxBytes: WireLimits.default.maxIdentifierBytes) }
    guard kind == CounterState.kind else { throw UsageError("only the '\(CounterState.kind)' kind is callable from ctl, got '\(displayed(kind))'") }
    guard let command = args.string("command") else { throw UsageError("missing --command") }
    let timeout = Duration.milliseconds(try args.int("timeout-ms", default: 10_000, range: 1 ... 3_600_000))
    let database: PostgresConfiguration
    do { database = try databaseConfiguration(args) } catch let f as CommandFailure {
        printErr("daybreak ctl call: \(f.message)")
        return f.status
    }
    let client = try await ClusterClient(database: database, curve: try clientIdentity(args), logger: Logger(label: "ctl", level: .warning))
    do {
        let ack: CommandAck<CounterState>
        if command == "state" {
            ack = try await client.counterState(key, region: region, timeout: timeout).0
        } else if command.hasPrefix("add:"), let n = Int64(command.dropFirst(4)) {
            let commandKey = args.string("key") ?? UUID().uuidString.lowercased()
            ack = try await client.addToCounter(key, region: region, amount: n, commandKey: commandKey, timeout: timeout).0
        } else {
            await client.close()
            throw UsageError("--command must be add:N or state")
        }
        await client.close()
        print(JSONValue.object([("seq", .int(Int(ack.seq))), ("duplicate", .bool(ack.duplicate)),
                                ("total", .int(Int(ack.state.total))), ("applied", .int(Int(ack.state.applied)))]).rendered())
        return ExitStatus.ok
    } catch let e as ClusterCallError {
        await client.close()
        printErr("daybreak ctl call: \(e)")
        return ExitStatus.unavailable
    }
}
