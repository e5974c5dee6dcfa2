import Base
import DispatchPlanning
import Fleet
import Foundation
import Geo
import Simulation

// `daybreak simulate`: a whole service day driven through the DispatchGateway by simulated
// customers, pickers and couriers; run with the optimised policy and again with the baseline on
// the same day and seed; KPIs on stdout (a table, or one JSON line) and an offline report.

let simulateCommand = Command(
    name: "simulate",
    summary: "Simulate a whole day of orders, picking, couriers and disruptions; compare with the baseline dispatcher.",
    usage: "[--regions FILE] [--orders N] [--seed S] [--speed X] [--nodes K] [--database CONNINFO] [--report DIR] [--date YYYY-MM-DD] [--hub-robots N] [--json] [--progress]",
    options: [
        .value("orders", "N", "orders in the day, 0…50000 (default 5000)"),
        .value("seed", "S", "seed of the day (default 1)"),
        .value("speed", "X", "simulated seconds per wall second; 0 = as fast as possible (default 0)"),
        .value("nodes", "K", "0 = in process (LocalGateway); K ≥ 1 = a cluster of K node processes (default 0)"),
        .value("database", "CONNINFO", "PostgreSQL conninfo for --nodes ≥ 1 (default: the PG* environment)"),
        .value("report", "DIR", "write report.html into DIR (created if missing; checked before the day runs: 66 when it cannot be created or written)"),
        .value("date", "YYYY-MM-DD", "service day D (default: 2026-12-01 + seed mod 28 days)"),
        .value("hub-robots", "N", "robots at the hub for the dawn wave through the warehouse layer, 1…2000 (default 60)"),
        .flag("json", "print one JSON line with the KPIs instead of the table"),
        .flag("progress", "progress on stderr even when it is not a terminal"),
    ] + CityInputFiles.options
) { args in
    let o = try SimulateOptions(args)
    return try await reportingFailures("simulate") { try await SimulateRun(o).run() }
}


struct SimulateOptions: Sendable {
    var orders: Int
    var seed: UInt64
    var speed: Double
    var nodes: Int
    var database: String?
    var reportDir: String?
    var date: LocalDay?
    var json: Bool
    var progress: Bool
    var files: CityInputFiles
    var hubRobots: Int

    init(_ a: ParsedArguments) throws(UsageError) {
        orders = try a.int("orders", default: 5000, range: 0...50_000)
        seed = try a.uint64("seed", default: 1)
        speed = try a.double("speed", default: 0, range: 0...1_000_000)
        nodes = try a.int("nodes", default: 0, range: 0...64)
        database = a.string("database")
        if database != nil && nodes == 0 { throw UsageError("option '--database' needs '--nodes K' with K ≥ 1 (the in-process run has no database)") }
        reportDir = a.string("report")
        if let r = reportDir, r.isEmpty { throw UsageError("option '--report' needs a directory") }
        if let d = a.string("date") {
            guard let day = DemoOptions.parseDate(d) else { throw UsageError("option '--date': '\(d)' is not a date YYYY-MM-DD") }
            date = day
        }
        json = a.flag("json")
        progress = a.flag("progress")
        hubRobots = try a.int("hub-robots", default: 60, range: 1...2000)
        files = CityInputFiles(a)
    }
}

/// The cluster backend for `--nodes K ≥ 1`: K `daybreak node` processes on PostgreSQL
/// (Sources/daybreak/SimulateCluster.swift).
func clusterSimulationBackend(nodes: Int, database: String?, configs: [RegionDispatchConfig], city: CityRegionsFile,
                              regionsFile: String, operationsFile: String, seed: UInt64, start: Instant, logger: Logger) async throws -> any SimulationBackend {
    try await makeClusterSimulationBackend(nodes: nodes, database: database, configs: configs, regionsFile: regionsFile,
                                           deployment: .init(operationsFile: operationsFile, seed: seed, clockStart: start,
                                                             offset: configs.first?.offset ?? .utc), logger: logger)
}

struct SimulateRun {
    let o: SimulateOptions
    let showProgress: Bool
    let logger = Logger(label: "simulate", level: .warning)
    init(_ o: SimulateOptions) { self.o = o; showProgress = o.progress || (isatty(2) == 1 && !o.json) }

    func note(_ s: String) { if showProgress { printErr("simulate: " + s) } }

    func resolve(_ path: String) -> String {
        guard !path.hasPrefix("/"), !FileManager.default.fileExists(atPath: path) else { return path }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            dir = dir.deletingLastPathComponent()
            let candidate = dir.appendingPathComponent(path).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        return path
    }

    /// Refuses, before the day runs, an output directory that could not be created or written:
    /// 66 (the contract has no status of its own for an unwritable output), naming the option,
    /// the directory and why. Creates nothing: the report step creates DIR and missing parents.
    static func checkWritableDirectory(_ dir: String, option: String) throws(CommandFailure) {
        let target = URL(fileURLWithPath: dir).standardizedFileURL
        var url = target
        while true {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) {
                let what = url == target ? "is" : "cannot be created: \(url.path) is"
                guard isDir.boolValue else {
                    throw CommandFailure(message: "\(option) \(dir): \(what) not a directory", status: ExitStatus.noInput)
                }
                guard access(url.path, W_OK | X_OK) == 0 else {
                    let reason = String(cString: strerror(errno))
                    throw CommandFailure(message: "\(option) \(dir): \(what) not writable (\(reason))", status: ExitStatus.noInput)
                }
                return
            }
            let parent = url.deletingLastPathComponent()
            guard parent.path != url.path else { return }
            url = parent
        }
    }

    func read(_ given: String, what: String) throws(CommandFailure) -> Data {
        let path = resolve(given)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
              let d = FileManager.default.contents(atPath: path) else {
            throw CommandFailure(message: "\(what) file \(path): no such file (run from the repository root or pass --\(what) FILE)", status: ExitStatus.noInput)
        }
        return d
    }

    func run() async throws -> Int32 {
        if let dir = o.reportDir { try Self.checkWritableDirectory(dir, option: "--report") }
        let f = o.files
        let rData = try read(f.regions, what: "regions"), oData = try read(f.operations, what: "operations"), dData = try read(f.demand, what: "demand")
        let city: CityRegionsFile, ops: OperationsConfig, demand: DemandModel
        do { city = try CityRegionsFile.load(rData) } catch { throw CommandFailure(message: "\(f.regions): \(error)", status: ExitStatus.dataError) }
        do {
            ops = try OperationsConfig.load(oData)
            try ops.validate(regionIDs: Set(city.regions.regions.map(\.id)), siteIDs: Set(city.hubs.map(\.id) + city.stores.map(\.id)))
        } catch { throw CommandFailure(message: "\(f.operations): \(error)", status: ExitStatus.dataError) }
        do { demand = try DemandModel.load(regionsFile: rData, demandFile: dData) }
        catch { throw CommandFailure(message: "\(f.demand): \(error)", status: ExitStatus.dataError) }

        var products: [RegionID: ProductConfig] = [:]
        for r in ops.regions { products[r.id] = ops.productConfig(for: r.id) }
        let scenario: DayScenario, setup: WorldSetup
        do {
            scenario = try DayScenario.generate(.init(orders: o.orders, seed: o.seed, serviceDay: o.date, killNode: o.nodes > 0),
                                                demand: demand, regions: city.regions, stores: city.stores, products: products, offset: ops.offset)
            setup = try WorldSetup.make(operations: ops, city: city)
        } catch { throw CommandFailure(message: "\(error)", status: ExitStatus.dataError) }

        func configs(_ policy: DispatchPolicy) throws(CommandFailure) -> [RegionDispatchConfig] {
            var out: [RegionDispatchConfig] = []
            for r in ops.regions {
                do { out.append(try RegionDispatchConfig.make(operations: ops, city: city, region: r.id, day: scenario.serviceDay, policy: policy, seed: o.seed)) }
                catch { throw CommandFailure(message: "\(f.operations): \(error)", status: ExitStatus.dataError) }
            }
            return out
        }
        let optimisedConfigs = try configs(.optimised), baselineConfigs = try configs(.baseline)
        let backend: any SimulationBackend
        if o.nodes > 0 {
            backend = try await clusterSimulationBackend(nodes: o.nodes, database: o.database, configs: optimisedConfigs, city: city,
                                                     regionsFile: resolve(f.regions), operationsFile: resolve(f.operations), seed: o.seed,
                                                     start: scenario.start, logger: logger)
        } else {
            backend = InProcessBackend(gateway: try LocalGateway(configs: optimisedConfigs), description: "in process (LocalGateway, optimised)")
        }
        let baseline = InProcessBackend(gateway: try LocalGateway(configs: baselineConfigs), description: "in process (LocalGateway, baseline)")
        note("\(scenario.orders.count) orders for \(SimulationReport.dateString(scenario.serviceDay)), \(setup.couriers.count) couriers in \(setup.regions.count) regions; optimised on \(backend.description), then the baseline")

        let progress: SimulationProgress? = showProgress ? { @Sendable line in printErr("simulate: " + line) } : nil
        var result: SimulationResult
        do {
            result = try await Simulation.run(scenario: scenario, setup: setup, backend: backend, baselineBackend: baseline, speed: o.speed,
                                              progress: progress)
        } catch {
            await backend.shutdown()
            throw error
        }
        await backend.shutdown()
        await baseline.shutdown()
        result.hub = try hubWave(result, city: city)

        var reportPath: String? = nil
        if let dir = o.reportDir {
            let path = (dir as NSString).appendingPathComponent("report.html")
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                try SimulationReport.render(result, city: city, setup: setup).write(toFile: path, atomically: true, encoding: .utf8)
            } catch { throw CommandFailure(message: "cannot write \(path): \(error.localizedDescription)", status: ExitStatus.failure) }
            reportPath = URL(fileURLWithPath: path).standardizedFileURL.path
        }
        if o.json {
            var line = result.json
            if case .object(var fields) = line {
                fields.append(("report", reportPath.map { .string($0) } ?? .null))
                line = .object(fields)
            }
            print(line.rendered())
        } else {
            print(result.table, terminator: "")
            for e in result.optimisedKPIs.badInputErrors { print("refused: \(e)") }
            for n in (result.optimised.notes + result.baseline.notes) where n.text.hasPrefix("lost ") { print(n.text) }
            if let p = reportPath { print("report: \(p)") }
        }
        return ExitStatus.ok
    }
}
