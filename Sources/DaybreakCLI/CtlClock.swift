import Base
import Cluster
import DaybreakNode
import DispatchPlanning
import Foundation
import Geo
import Messaging
import Storage

// `daybreak ctl clock [advance --to TIME | --by DURATION]`: the deployment's clock.
let ctlClockCommand = Command(
    name: "clock",
    summary: "Show the deployment's clock; `advance` moves a driven clock and returns when the due work is done.",
    usage: "[advance --to YYYY-MM-DDTHH:MM[:SS]±HH:MM | --by 15m] [--json] [--timeout-s N] [--database CONNINFO] [--schema NAME]",
    options: databaseOptions + [
        .value("to", "TIME", "advance to this instant, e.g. 2026-12-02T23:05+09:00"),
        .value("by", "DURATION", "advance by this much, e.g. 15m, 2h, 1d, 1h30m"),
        .value("timeout-s", "N", "how long to wait for every region's due work (default 300)"),
        .flag("json", "print one JSON object"),
    ],
    maxPositionals: 1
) { args in
    let verb = args.positionals.first
    guard verb == nil || verb == "advance" else { throw UsageError("unknown verb '\(displayed(verb!))': expected nothing (show) or 'advance'") }
    let to = args.string("to"), by = args.string("by")
    if verb == nil, to != nil || by != nil { throw UsageError("--to and --by go with 'advance'") }
    if verb == "advance", (to == nil) == (by == nil) { throw UsageError("advance needs exactly one of --to TIME or --by DURATION") }
    var target: Instant?
    if let to {
        guard let t = DeploymentClock.parseISO(to) else { throw UsageError("--to must be YYYY-MM-DDTHH:MM[:SS] with Z or ±HH:MM, got '\(displayed(to))'") }
        target = t
    }
    var step: Int64?
    if let by {
        guard let s = DeploymentClock.parseDuration(by), s <= 366 * 86_400 else {
            throw UsageError("--by must be a positive duration up to a year like 15m, 2h, 1d or 1h30m, got '\(displayed(by))'")
        }
        step = s
    }
    let timeout = try args.int("timeout-s", default: 300, range: 1 ... 86_400)
    let config = try databaseConfiguration(args)
    let logger = Logger(label: "ctl", level: .warning)
    let pool = PostgresPool(config, size: 2, acquireTimeout: .seconds(5), logger: logger)
    do {
        let status = try await ctlClock(verb: verb, target: target, step: step, timeout: timeout, json: args.flag("json"), identity: try clientIdentity(args),
                                        config: config, pool: pool, logger: logger)
        await pool.close()
        return status
    } catch {
        await pool.close()
        throw error
    }
}

func ctlClock(verb: String?, target: Instant?, step: Int64?, timeout: Int, json: Bool, identity: CurveKeyPair?, config: PostgresConfiguration,
              pool: PostgresPool, logger: Logger) async throws -> Int32 {
    let setting: ClockSetting
    do {
        guard let s = try await DeploymentClock.read(pool) else {
            printErr("daybreak ctl clock: no clock: no node has started on this database (start one with daybreak node or daybreak up)")
            return ExitStatus.unavailable
        }
        setting = s
    } catch {
        printErr("daybreak ctl clock: \(error)")
        return ExitStatus.unavailable
    }
    let off = setting.offset
    guard verb == "advance" else {
        let now = setting.now()
        if json {
            print(JSONValue.object([("mode", .string(setting.mode.rawValue)), ("now", .string(DeploymentClock.iso(now, off)))]).rendered())
        } else {
            print("\(setting.mode.rawValue) clock: \(DeploymentClock.iso(now, off))")
        }
        return ExitStatus.ok
    }
    guard setting.mode == .driven, let current = setting.driven else {
        printErr("daybreak ctl clock advance: this deployment's clock is wall (real time); only a driven clock can be advanced")
        return ExitStatus.dataError
    }
    let destination = target ?? current + (step ?? 0)
    let client: ClusterClient
    do { client = try await ClusterClient(database: config, curve: identity, logger: logger) } catch {
        printErr("daybreak ctl clock advance: \(error)")
        return ExitStatus.unavailable
    }
    let regions: [String]
    do {
        regions = try await pool.query(ClusterSchema.readLeases, purpose: "read regions").map { try $0.decode(0, as: String.self) }
        try await client.connectToNodes()
    } catch {
        await client.close()
        printErr("daybreak ctl clock advance: \(error)")
        return ExitStatus.unavailable
    }
    let results: [ClusterClockControl.RegionAdvance]
    do {
        results = try await ClusterClockControl.advance(to: destination, principal: "ctl:\(ProcessInfo.processInfo.userName)@\(ProcessInfo.processInfo.hostName)",
                                                        pool: pool, client: client, regions: regions, timeout: .seconds(Int64(timeout)))
    } catch let e as ClockError {
        await client.close()
        printErr("daybreak ctl clock advance: \(e)")
        return ExitStatus.dataError
    }
    await client.close()
    let failed = results.filter { if case .failure = $0.outcome { true } else { false } }
    if json {
        let regionsJSON: [JSONValue] = results.map { r in
            switch r.outcome {
            case .success(let days): .object([("id", .string(r.region)), ("days", .array(days.map { .string($0.isoDate) }))])
            case .failure(let e): .object([("id", .string(r.region)), ("error", .string(e.description))])
            }
        }
        print(JSONValue.object([("mode", .string("driven")), ("from", .string(DeploymentClock.iso(current, off))),
                                ("now", .string(DeploymentClock.iso(max(current, destination), off))), ("regions", .array(regionsJSON))]).rendered())
    } else {
        print("driven clock: \(DeploymentClock.iso(current, off)) → \(DeploymentClock.iso(max(current, destination), off))")
        for r in results {
            switch r.outcome {
            case .success(let days): print("  \(r.region): done; open days \(days.map(\.isoDate).joined(separator: ", "))")
            case .failure(let e): print("  \(r.region): NOT DONE: \(e)")
            }
        }
    }
    for f in failed { if case .failure(let e) = f.outcome { printErr("daybreak ctl clock advance: \(e)") } }
    return failed.isEmpty ? ExitStatus.ok : ExitStatus.unavailable
}
