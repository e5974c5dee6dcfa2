import Base
import Cluster
import DaybreakNode
import Edge
import Foundation
import Fleet
import Geo
import Messaging
import Storage

// `daybreak ctl keys add|list|revoke`: the deployment's principals (table `principals`): who may
// connect to a gateway (couriers' handhelds, stores, storefronts, customers' apps, dispatchers,
// clocks, observers) or to the nodes (gateways, operators), with which role and scope.

/// The database options without `--identity` (principals are read and written in the database only).
let principalDatabaseOptions = databaseOptions.filter { $0.name != "identity" }

let ctlKeysCommand = Command(
    name: "keys",
    summary: "Admit, list and revoke the keys of principals (edge roles, gateways, operators).",
    usage: "add|list|revoke [OPTIONS]",
    subcommands: [ctlKeysAddCommand, ctlKeysListCommand, ctlKeysRevokeCommand]
)

/// Roles `ctl keys add` admits: the edge roles, plus gateways and operators (node ports).
let ctlKeyRoles = EdgeRole.allCases.map(\.rawValue) + [Principal.gateway, Principal.operatorRole]

let ctlKeysAddCommand = Command(
    name: "add",
    summary: "Admit a key: generate a pair (or take --public-key) and record the principal with its role and scope.",
    usage: """
        --role ROLE [--courier vehicle:ID|rider:ID | --site SITE | --regions R1,R2|*] [--user NAME] [--public-key Z85 | --out FILE]

        roles and their scope:
          courier      --courier vehicle:ID or rider:ID (one courier of the operations file)
          store        --site SITE (a store or hub of the regions file)
          dispatcher   --regions '*' or R1,R2 (regions of the regions file)
          storefront, customer, clock, observer, gateway, operator: no scope
        Without --public-key a pair is generated: the secret goes to --out FILE (mode 0600, FILE.pub beside it)
        or, without --out, is printed (public key first line, secret second). The user id defaults to ROLE:SCOPE
        (ROLE:<first 8 characters of the key> for roles without a scope). Re-adding a key updates it and revives it.

        exit status: 0 admitted; 64 bad command line or malformed scope; 65 a courier/site/region the deployment
        does not have, or a file that cannot be written; 66 --data without a deployment; 69 database unreachable
        """,
    options: principalDatabaseOptions + [
        .value("role", "ROLE", ctlKeyRoles.joined(separator: "|") + " (required)"),
        .value("courier", "vehicle:ID|rider:ID", "courier only: the courier the handheld acts for"),
        .value("site", "SITE", "store only: the store's or hub's site id"),
        .value("regions", "R1,R2|*", "dispatcher only: the regions it may act on ('*': all)"),
        .value("user", "NAME", "the principal's user id (default ROLE:SCOPE)"),
        .value("public-key", "Z85", "admit this public key (40 Z85 characters) instead of generating a pair"),
        .value("out", "FILE", "write the generated secret key to FILE (0600) and the public key to FILE.pub; print only the public key"),
        .value("regions-file", "FILE", "check the scope against this city file (default: the deployment's)"),
        .value("operations", "FILE", "check the scope against this operations file (default: the deployment's, else <regions-file>-operations.json)"),
    ]
) { args in
    try await reportingFailures("ctl keys add") {
        let request = try CtlKeyRequest(args)
        if let inventory = try DeploymentInventory.load(args) { try request.check(against: inventory) }
        let config = try databaseConfiguration(args)
        var pair: CurveKeyPair?
        var publicKey = request.publicKey ?? ""
        if request.publicKey == nil {
            let p: CurveKeyPair
            do { p = try CurveKeyPair.generate() } catch { throw CommandFailure(message: "cannot generate a key pair: \(error)", status: ExitStatus.software) }
            if let out = request.out {
                do {
                    try CurveKeyFile.writeSecret(p, to: out)
                    try CurveKeyFile.writePublic(p.publicKey, to: out + ".pub", overwrite: true)
                } catch {
                    throw CommandFailure(message: "--out \(out): \(error)", status: ExitStatus.dataError)
                }
            }
            pair = p
            publicKey = p.publicKey
        }
        let user = request.user ?? request.defaultUser(publicKey: publicKey)
        try await withPrincipalsConnection(config) { conn in
            _ = try await conn.execute(PrincipalDirectory.upsert, [publicKey, user, request.role, request.scope], purpose: "admit a key")
        }
        printErr("admitted \(user) (\(request.role)\(request.scope.isEmpty ? "" : ", \(request.scope)"))")
        print(publicKey)
        if let pair, request.out == nil { print(pair.secretKey) }
        return ExitStatus.ok
    }
}

let ctlKeysListCommand = Command(
    name: "list",
    summary: "List the principals' keys (public keys only), revoked ones marked revoked.",
    usage: "[--json] [--data DIR | --database CONNINFO] [--schema NAME]",
    options: principalDatabaseOptions + [.flag("json", "one JSON object per line")]
) { args in
    try await reportingFailures("ctl keys list") {
        let config = try databaseConfiguration(args)
        let rows = try await withPrincipalsConnection(config) { conn in
            try await conn.query(PrincipalDirectory.list, purpose: "list principals")
        }
        var table = [["USER", "ROLE", "SCOPE", "PUBLIC KEY", "CREATED (UTC)", "STATUS"]]
        var lines: [String] = []
        for r in rows {
            let key = try r.decode(0, as: String.self), user = try r.decode(1, as: String.self)
            let role = try r.decode(2, as: String.self), scope = try r.decode(3, as: String.self)
            let created = try r.decode(4, as: Int64.self), revoked = try r.decode(5, as: Int64?.self)
            let createdText = CtlDispatchFormat.iso(Instant(epochSeconds: created / 1_000_000), .utc)
            let revokedText = revoked.map { CtlDispatchFormat.iso(Instant(epochSeconds: $0 / 1_000_000), .utc) }
            lines.append(JSONValue.object([("user", .string(user)), ("role", .string(role)), ("scope", .string(scope)), ("public_key", .string(key)),
                                           ("created_at", .string(createdText)), ("status", .string(revoked == nil ? "active" : "revoked")),
                                           ("revoked_at", revokedText.map(JSONValue.string) ?? .null)]).rendered())
            table.append([user, role, scope.isEmpty ? "-" : scope, key, CtlDispatchFormat.short(Instant(epochSeconds: created / 1_000_000), .utc),
                          revokedText.map { "revoked \($0)" } ?? "active"])
        }
        if args.flag("json") {
            if !lines.isEmpty { print(lines.joined(separator: "\n")) }
        } else {
            let live = rows.count - table.dropFirst().filter { $0[5] != "active" }.count
            print(CtlDispatchFormat.table(table) + "\(rows.count) key\(rows.count == 1 ? "" : "s") (\(live) active)", terminator: "\n")
        }
        return ExitStatus.ok
    }
}

let ctlKeysRevokeCommand = Command(
    name: "revoke",
    summary: "Revoke a key (or every key of a user): gateways and nodes refuse it within their refresh period.",
    usage: "PUBLIC_KEY | --user USER [--data DIR | --database CONNINFO] [--schema NAME]",
    options: principalDatabaseOptions + [.value("user", "USER", "revoke every live key of this user id")],
    maxPositionals: 1
) { args in
    try await reportingFailures("ctl keys revoke") {
        let key = args.positionals.first, user = args.string("user")
        guard (key == nil) != (user == nil) else { throw UsageError("give exactly one of PUBLIC_KEY or --user USER") }
        if let key {
            do { try CurveKeyPair.validate(key, named: "PUBLIC_KEY") } catch { throw UsageError("PUBLIC_KEY '\(displayed(key))' is not a 40-character Z85 key") }
        }
        if let user { _ = try checkIdentifier(user, "--user", maxBytes: 200) }
        let config = try databaseConfiguration(args)
        let (revoked, known) = try await withPrincipalsConnection(config) { conn in
            let n = key != nil ? try await conn.execute(PrincipalDirectory.revokeKey, [key!], purpose: "revoke a key")
                               : try await conn.execute(PrincipalDirectory.revokeOthers, [user!, ""], purpose: "revoke a user's keys")
            let sql = key != nil ? "SELECT count(*) FROM principals WHERE public_key = $1" : "SELECT count(*) FROM principals WHERE user_id = $1"
            let total = try await conn.query(sql, [key ?? user!], purpose: "count keys")[0].decode(0, as: Int64.self)
            return (n, total)
        }
        let what = key.map { "key \($0)" } ?? "user \(user!)"
        guard known > 0 else { throw CommandFailure(message: "no principal with \(what) (see `daybreak ctl keys list`)", status: ExitStatus.dataError) }
        print("revoked \(revoked) key\(revoked == 1 ? "" : "s") of \(what)\(revoked == 0 ? " (already revoked)" : "")")
        return ExitStatus.ok
    }
}

/// Connects (69 when the database cannot be reached), runs `body`, closes.
func withPrincipalsConnection<R: Sendable>(_ config: PostgresConfiguration, _ body: (PostgresConnection) async throws -> R) async throws -> R {
    let conn: PostgresConnection
    do {
        conn = try await withDeadline(.seconds(10), "connect to the database") {
            try await PostgresConnection.connect(config, logger: Logger(label: "ctl", level: .warning))
        }
    } catch {
        throw CommandFailure(message: "database unreachable: \(error)", status: ExitStatus.unavailable)
    }
    do {
        let r = try await body(conn)
        await conn.close()
        return r
    } catch let e as PostgresError {
        await conn.close()
        throw CommandFailure(message: "\(e)", status: e.code == .connectFailed ? ExitStatus.unavailable : ExitStatus.dataError)
    } catch {
        await conn.close()
        throw error
    }
}

/// What `ctl keys add` was asked to admit, checked for form (not yet against the deployment).
struct CtlKeyRequest: Sendable {
    var role: String
    var scope: String
    /// The parsed scope of an edge role (nil: gateway, operator).
    var edgeScope: EdgeScope?
    var user: String?
    var publicKey: String?
    var out: String?

    init(_ args: ParsedArguments) throws {
        guard let role = args.string("role") else { throw UsageError("missing --role ROLE (one of \(ctlKeyRoles.joined(separator: "|")))") }
        guard ctlKeyRoles.contains(role) else {
            throw UsageError("unknown role '\(displayed(role))' (one of \(ctlKeyRoles.joined(separator: "|")))")
        }
        self.role = role
        let scopeOption: String? = switch role {
        case EdgeRole.courier.rawValue: "courier"
        case EdgeRole.store.rawValue: "site"
        case EdgeRole.dispatcher.rawValue: "regions"
        default: nil
        }
        for o in ["courier", "site", "regions"] where o != scopeOption && args.string(o) != nil {
            throw UsageError("option '--\(o)' does not apply to role \(role)" + (scopeOption.map { " (its scope is --\($0))" } ?? " (it has no scope)"))
        }
        if let scopeOption {
            guard let s = args.string(scopeOption) else { throw UsageError("role \(role) needs --\(scopeOption)") }
            scope = s
            switch EdgeScope.parse(s, role: EdgeRole(rawValue: role)!) {
            case .success(let parsed): edgeScope = parsed
            case .failure(let e): throw UsageError("--\(scopeOption) '\(displayed(s))': \(e.message)")
            }
        } else {
            scope = ""
            edgeScope = EdgeRole(rawValue: role).map { _ in EdgeScope.unscoped }
        }
        if let u = args.string("user") {
            user = try checkIdentifier(u, "--user", maxBytes: 200)
            guard EdgeNames.isIdentifier(u) else { throw UsageError("--user '\(displayed(u))': printable, no spaces or quotes") }
        }
        publicKey = args.string("public-key")
        out = args.string("out")
        if publicKey != nil, out != nil { throw UsageError("--public-key and --out exclude each other (--out writes a generated secret key)") }
        if let k = publicKey {
            do { try CurveKeyPair.validate(k, named: "--public-key") } catch { throw UsageError("--public-key '\(displayed(k))' is not a 40-character Z85 key") }
        }
        if let out, out.isEmpty { throw UsageError("option '--out' needs a file, got ''") }
    }

    func defaultUser(publicKey: String) -> String {
        role + ":" + (scope.isEmpty ? String(publicKey.prefix(8)) : scope)
    }

    /// Refuses a courier, site or region the deployment does not have, naming it (65).
    func check(against inv: DeploymentInventory) throws(CommandFailure) {
        func missing(_ what: String, _ known: Set<String>) -> CommandFailure {
            let sample = known.sorted().prefix(12).joined(separator: ", ") + (known.count > 12 ? ", …" : "")
            return CommandFailure(message: "\(what) is not in the deployment (\(inv.source); known: \(sample))", status: ExitStatus.dataError)
        }
        switch edgeScope {
        case .courier(let c)?:
            let text = EdgeNames.text(c)
            if !inv.couriers.contains(text) { throw missing("courier \(text)", inv.couriers) }
        case .site(let s)?:
            if !inv.sites.contains(s.rawValue) { throw missing("site \(s.rawValue)", inv.sites) }
        case .regions(let set?)?:
            for r in set.map(\.rawValue).sorted() where !inv.regions.contains(r) { throw missing("region \(r)", inv.regions) }
        default: break
        }
    }
}

/// The couriers, sites and regions of a deployment, from its regions and operations files.
struct DeploymentInventory: Sendable {
    var regions: Set<String>
    var sites: Set<String>
    var couriers: Set<String>
    /// The files read, for messages.
    var source: String

    /// The files named by `--regions-file`/`--operations`, else those of the deployment in `--data`;
    /// nil when there are none to read (no check is then possible). Unloadable files: 65/66.
    static func load(_ args: ParsedArguments) throws -> DeploymentInventory? {
        var regionsFile = args.string("regions-file"), opsFile = args.string("operations")
        if regionsFile == nil, args.string("database") == nil,
           let d = try Deployment.read(dataDir: args.string("data", default: Deployment.defaultDataDir)) {
            regionsFile = d.regions
            opsFile = opsFile ?? d.operations
        }
        guard let regionsFile else {
            if opsFile != nil { throw UsageError("--operations needs --regions-file (or a deployment in --data)") }
            return nil
        }
        guard let ops = opsFile ?? defaultOperationsFile(besides: regionsFile) else {
            throw CommandFailure(message: "no operations file beside \(regionsFile): pass --operations FILE", status: ExitStatus.noInput)
        }
        for f in [regionsFile, ops] where !FileManager.default.fileExists(atPath: f) {
            throw CommandFailure(message: "\(f): no such file", status: ExitStatus.noInput)
        }
        let city: CityRegionsFile, operations: OperationsConfig
        do { (city, operations) = try OperatingConfig.load(regionsFile: regionsFile, operationsFile: ops) } catch {
            throw CommandFailure(message: "\(error)", status: ExitStatus.dataError)
        }
        var couriers = Set(operations.vehicles().map { "vehicle:\($0.id.rawValue)" })
        couriers.formUnion(operations.riders().map { "rider:\($0.id.rawValue)" })
        var sites = Set(city.hubs.map(\.id) + city.stores.map(\.id))
        for r in operations.regions { sites.formUnion(r.fleets.map(\.site.rawValue)) }
        let regions = Set(city.map.regions.map(\.id)).union(operations.regions.map(\.id.rawValue))
        return DeploymentInventory(regions: regions, sites: sites, couriers: couriers, source: "\(regionsFile), \(ops)")
    }
}
