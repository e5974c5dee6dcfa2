import Base
import Cluster
import DaybreakNode
import Foundation
import Gateway
import Messaging
import Storage

// `daybreak gateway …`: the edge gateway process (Docs/EDGE.md). SIGTERM/SIGINT stop it.
let gatewayCommand = Command(
    name: "gateway",
    summary: "Serve the edge protocol (handhelds, stores, storefronts, customers, dispatchers) over ZeroMQ with CURVE.",
    usage: "--listen tcp://HOST:PORT --secret-key FILE [--name NAME] [--regions FILE] [--operations FILE] [--database CONNINFO] [--schema NAME] [--log-level LEVEL]",
    options: [
        .value("listen", "ENDPOINT", "ZeroMQ endpoint to bind, e.g. tcp://0.0.0.0:7100 (required)"),
        .value("secret-key", "FILE", "the gateway's CURVE secret key file (mode 0600; `daybreak keys new --out FILE`); clients present FILE.pub as the server key (required)"),
        .value("name", "NAME", "this gateway's name in the audit (default: the host name)"),
        .value("regions", "FILE", "the deployment's city file (default Regions/seoul.json)"),
        .value("operations", "FILE", "the deployment's operations file (default: <regions>-operations.json beside it)"),
        .value("database", "CONNINFO", "libpq conninfo or URI of the deployment; default: the PG* environment"),
        .value("schema", "NAME", "schema of the deployment's tables; default: the current schema"),
        .value("wait-for-regions-s", "N", "wait this long for every region to have an owner before serving (default 60)"),
        .value("log-level", "LEVEL", "trace|debug|info|notice|warning|error (default info)"),
    ]
) { args in
    guard let listen = args.string("listen") else { throw UsageError("missing --listen ENDPOINT") }
    guard let keyFile = args.string("secret-key") else {
        throw UsageError("missing --secret-key FILE (the gateway's CURVE key; make one with `daybreak keys new --out FILE`)")
    }
    let name = try checkIdentifier(args.string("name", default: ProcessInfo.processInfo.hostName), "--name", maxBytes: 100)
    let schema = args.string("schema")
    if let schema, !isPlainIdentifier(schema) { throw UsageError("--schema must match [a-z_][a-z0-9_]*, got '\(schema)'") }
    let wait = try args.int("wait-for-regions-s", default: 60, range: 0 ... 3_600)
    let level = try args.choice("log-level", Logger.Level.allCases.map(\.description), default: "info").flatMap(Logger.Level.init(name:)) ?? .info
    let regions = args.string("regions", default: "Regions/seoul.json")
    guard let ops = args.string("operations") ?? defaultOperationsFile(besides: regions) else {
        printErr("daybreak gateway: no operations file beside \(regions): pass --operations FILE")
        return ExitStatus.noInput
    }
    let keyPair: CurveKeyPair
    do { keyPair = try CurveKeyFile.readSecret(from: keyFile) } catch {
        printErr("daybreak gateway: --secret-key \(keyFile): \(error)")
        return FileManager.default.fileExists(atPath: keyFile) ? ExitStatus.dataError : ExitStatus.noInput
    }
    let operating: OperatingConfig
    do {
        let (city, operations) = try OperatingConfig.load(regionsFile: regions, operationsFile: ops)
        operating = OperatingConfig(city: city, operations: operations)
    } catch {
        printErr("daybreak gateway: \(error)")
        return ExitStatus.dataError
    }
    var database = PostgresConfiguration(args.string("database", default: ""), applicationName: "daybreak-gateway-\(name)")
    if let schema { database = database.withSearchPath(schema) }
    let logger = Logger(label: "gateway", level: level)
    var options = EdgeGatewayService.Options(listen: listen, keyPair: keyPair, name: name, database: database, operating: operating)
    options.waitForRegions = .seconds(wait)
    let service: EdgeGatewayService
    do { service = try await EdgeGatewayService.start(options, logger: logger) } catch let e as PostgresError where e.code == .connectFailed {
        printErr("daybreak gateway: \(e)")
        return ExitStatus.unavailable
    } catch let e as MessagingError {
        printErr("daybreak gateway: \(e)")
        return ExitStatus.unavailable
    } catch {
        printErr("daybreak gateway: \(error)")
        return ExitStatus.unavailable
    }
    // The line scripts and `daybreak up` wait for: where to connect, with which server key.
    FileHandle.standardOutput.write(Data("gateway \(name) listening on \(service.server.endpoint) key \(service.server.publicKey)\n".utf8))
    try await runUntilSignalled { await service.run() }
    await service.close()
    return ExitStatus.ok
}
