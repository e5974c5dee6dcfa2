import DispatchPlanning
import Base
import Cluster
import Fleet
import Foundation
import Geo
import Routing
import Storage
import Synchronization

// `daybreak demo`: generate a dawn night for Seoul, plan the wave per region (optimised and a
// greedy baseline), write the plan to PostgreSQL, print KPIs and write an offline HTML report.
// The planning is pure (Sources/daybreak/Planning); this file does the I/O, the clock and threads.

package let demoCommand = Command(
    name: "demo",
    summary: "Plan a generated dawn wave for Seoul, store it in PostgreSQL and write an HTML report.",
    usage: "[--orders N] [--seed S] [--time-limit SECONDS] [--database CONNINFO] [--schema NAME] [--report DIR] [--regions FILE] [--operations FILE] [--demand FILE] [--date YYYY-MM-DD] [--json]",
    options: [
        .value("orders", "N", "orders in the night, 0…20000 (default 5000)"),
        .value("seed", "S", "seed of the generated orders and the solver (default 1)"),
        .value("time-limit", "SECONDS", "search time per region (default 20; regions run in parallel, one per core)"),
        .value("database", "CONNINFO", "PostgreSQL conninfo or URI (default: the PG* environment)"),
        .value("schema", "NAME", "schema for Daybreak's tables (default daybreak)"),
        .value("report", "DIR", "write report.html into DIR (default .daybreak/report)"),
        .value("date", "YYYY-MM-DD", "delivery morning (default: the coming morning in the city's time)"),
        .flag("json", "print one JSON line with the KPIs instead of the table"),
    ] + CityInputFiles.options
) { args in
    let options = try DemoOptions(args)
    return try await reportingFailures("demo") { try await DemoRun(options).run() }
}


/// The three files a planning command reads (regions, operations, demand), with the same
/// options and defaults in every command.
package struct CityInputFiles: Sendable {
    package var regions: String
    package var operations: String
    package var demand: String

    package static let options: [OptionSpec] = [
        .value("regions", "FILE", "region file (default Regions/seoul.json)"),
        .value("operations", "FILE", "operations file (default Regions/seoul-operations.json)"),
        .value("demand", "FILE", "district demand weights (default: NAME-demand.json next to the region file NAME.json)"),
    ]

    package init(_ a: ParsedArguments) {
        regions = a.string("regions", default: "Regions/seoul.json")
        operations = a.string("operations", default: "Regions/seoul-operations.json")
        // The demand file sits next to the region file: Regions/seoul.json → Regions/seoul-demand.json.
        let base = ((regions as NSString).lastPathComponent as NSString).deletingPathExtension
        demand = a.string("demand") ?? ((regions as NSString).deletingLastPathComponent as NSString).appendingPathComponent(base + "-demand.json")
    }
}

package struct DemoOptions: Sendable {
    package var orders: Int
    package var seed: UInt64
    package var timeLimit: Double
    package var database: String
    package var schema: String
    package var reportDir: String
    package var regions: String
    package var operations: String
    package var demand: String
    package var date: String?
    package var json: Bool

    package init(_ a: ParsedArguments) throws(UsageError) {
        // Matrices are O(n²) per region and kind/slot (≈ 3 GB for the largest region at 20,000 orders).
        orders = try a.int("orders", default: 5000, range: 0...20_000)
        seed = try a.uint64("seed", default: 1)
        timeLimit = try a.double("time-limit", default: 20, range: 0...3600)
        database = a.string("database", default: "")
        schema = a.string("schema", default: "daybreak")
        guard schema.range(of: "^[a-z_][a-z0-9_]{0,62}$", options: .regularExpression) != nil else {
            throw UsageError("--schema: '\(schema)' is not a plain lower-case identifier")
        }
        reportDir = a.string("report", default: ".daybreak/report")
        let files = CityInputFiles(a)
        regions = files.regions
        operations = files.operations
        demand = files.demand
        date = a.string("date")
        if let d = date, DemoOptions.parseDate(d) == nil { throw UsageError("--date: '\(d)' is not a date YYYY-MM-DD") }
        json = a.flag("json")
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    package static func parseDate(_ s: String) -> LocalDay? {
        let p = s.split(separator: "-")
        guard p.count == 3, let y = Int64(p[0]), let m = Int64(p[1]), let d = Int64(p[2]), (1...12).contains(m), (1...31).contains(d), y >= 1970 else { return nil }
        // Reject dates that do not exist (2026-02-30 would otherwise roll into March).
        guard CivilDate.isValid(year: y, month: m, day: d) else { return nil }
        return LocalDay(index: CivilDate.days(year: y, month: m, day: d))
    }
}

/// Inputs read from disk.
package struct DemoInputs: Sendable {
    package var city: CityRegionsFile
    package var operations: OperationsConfig
    package var demand: DemandModel
}

/// Timing of one region: solver and baseline results plus wall-clock seconds.
package struct RegionOutcome: Sendable {
    package var optimised: RegionPlan
    package var baseline: RegionPlan
    package var prepareSeconds: Double
    package var solveSeconds: Double
}

package struct DemoRun {
    package let o: DemoOptions
    package let progress: Bool
    package let logger = Logger(label: "demo", level: .warning)
    package init(_ o: DemoOptions) { self.o = o; progress = isatty(2) == 1 && !o.json }

    package func note(_ s: String) { if progress { printErr("demo: " + s) } }

    /// A relative path is looked up in the current directory, then in the directories above the
    /// executable (`.build/release/daybreak` → the repository root), so `Regions/…` works from anywhere.
    package func resolve(_ path: String) -> String {
        guard !path.hasPrefix("/"), !FileManager.default.fileExists(atPath: path) else { return path }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            dir = dir.deletingLastPathComponent()
            let candidate = dir.appendingPathComponent(path).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        return path
    }

    package func read(_ given: String, what: String) throws(CommandFailure) -> Data {
        let path = resolve(given)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
            throw CommandFailure(message: "\(what) \(path): no such file (run from the repository root or pass --\(what) FILE)", status: ExitStatus.noInput)
        }
        guard let d = FileManager.default.contents(atPath: path) else {
            throw CommandFailure(message: "\(what) \(path): cannot be read", status: ExitStatus.noInput)
        }
        return d
    }

    package func loadInputs() throws(CommandFailure) -> DemoInputs {
        let rData = try read(o.regions, what: "regions"), oData = try read(o.operations, what: "operations")
        let dData = try read(o.demand, what: "demand")
        let city: CityRegionsFile, ops: OperationsConfig, demand: DemandModel
        do { city = try CityRegionsFile.load(rData) } catch { throw CommandFailure(message: "\(o.regions): \(error)", status: ExitStatus.dataError) }
        do {
            ops = try OperationsConfig.load(oData)
            try ops.validate(regionIDs: Set(city.regions.regions.map(\.id)), siteIDs: Set(city.hubs.map(\.id) + city.stores.map(\.id)))
        } catch { throw CommandFailure(message: "\(o.operations): \(error)", status: ExitStatus.dataError) }
        do { demand = try DemandModel.load(regionsFile: rData, demandFile: dData) }
        catch { throw CommandFailure(message: "\(o.demand): \(error)", status: ExitStatus.dataError) }
        return DemoInputs(city: city, operations: ops, demand: demand)
    }

    package func run() async throws -> Int32 {
        let clock = ContinuousClock()
        let t0 = clock.now
        let inputs = try loadInputs()
        let offset = inputs.operations.offset
        let day = o.date.flatMap(DemoOptions.parseDate) ?? (Instant(epochSeconds: Int64(Date().timeIntervalSince1970)).localDay(offset) + 1)

        // The database first: a demo that cannot store its plan should fail before planning.
        note("connecting to PostgreSQL\(o.database.isEmpty ? " (PG* environment)" : "")")
        let conn: PostgresConnection
        do { conn = try await PostgresConnection.connect(PostgresConfiguration(o.database, applicationName: "daybreak-demo"), logger: logger) }
        catch {
            let target = o.database.isEmpty ? "PGHOST=\(env("PGHOST")) PGPORT=\(env("PGPORT"))" : "--database \(o.database)"
            throw CommandFailure(message: "cannot reach PostgreSQL (\(target)): \(error.message)", status: ExitStatus.unavailable)
        }
        do {
            let status = try await planAndStore(conn, inputs: inputs, day: day, clock: clock, t0: t0)
            await conn.close()
            return status
        } catch {
            await conn.close()
            throw error
        }
    }

    package func planAndStore(_ conn: PostgresConnection, inputs: DemoInputs, day: LocalDay,
                      clock: ContinuousClock, t0: ContinuousClock.Instant) async throws -> Int32 {
        let offset = inputs.operations.offset
        let migrations = (ClusterSchema.migrations + WavePlanSchema.migrations).map { Migration(Int64($0.version), $0.name, sql: $0.sql) }
        do { _ = try await Migrator(migrations, schema: o.schema, logger: logger).migrate(conn) }
        catch { throw CommandFailure(message: "migrating schema \(o.schema): \(error)", status: ExitStatus.unavailable) }

        let setup: WaveSetup
        do { setup = try WaveSetup.dawn(config: inputs.operations, city: inputs.city, deliveryDay: day) }
        catch { throw CommandFailure(message: "\(o.operations): \(error)", status: ExitStatus.dataError) }
        var configs: [RegionID: ProductConfig] = [:]
        for r in inputs.operations.regions { configs[r.id] = inputs.operations.productConfig(for: r.id) }
        let orders: [Order]
        do {
            orders = try NightOrders.generate(count: o.orders, seed: o.seed, demand: inputs.demand, regions: inputs.city.regions,
                                              configs: configs, deliveryDay: day, offset: offset)
        } catch { throw CommandFailure(message: error.description, status: ExitStatus.dataError) }
        note("\(orders.count) orders for the morning of \(DemoReport.dateString(day)); planning \(setup.regions.count) regions, \(o.timeLimit) s each, \(cores) at a time")

        let (byRegion, cityUnassigned) = WavePlanner.partition(orders, setup: setup)
        let tPlan = clock.now
        let outcomes = try await planRegions(setup: setup, byRegion: byRegion)
        let planSeconds = (clock.now - tPlan).seconds
        let optimised = WavePlan(name: "optimised", regions: outcomes.map(\.optimised), unassigned: cityUnassigned)
        let baseline = WavePlan(name: "baseline", regions: outcomes.map(\.baseline), unassigned: cityUnassigned)

        // Store: one transaction, COPY per table.
        note("storing the plan (COPY into \(o.schema).planned_stops)")
        let planID = "dawn-\(DemoReport.dateString(day))-s\(o.seed)-\(UUID().uuidString.prefix(8).lowercased())"
        let stored: Int
        do { stored = try await store(conn, planID: planID, day: day, orders: orders.count, optimised: optimised, baseline: baseline) }
        catch { throw CommandFailure(message: "writing plan \(planID) to PostgreSQL: \(error)", status: ExitStatus.unavailable) }

        // Report.
        note("writing the report")
        let total = (clock.now - t0).seconds
        let html = DemoReport.render(DemoReport.Input(
            planID: planID, day: day, seed: o.seed, orders: orders, city: inputs.city, setup: setup,
            optimised: optimised, baseline: baseline, timeLimit: o.timeLimit, planSeconds: planSeconds,
            regionSeconds: Dictionary(uniqueKeysWithValues: outcomes.map { ($0.optimised.region, $0.solveSeconds) }), totalSeconds: total))
        let reportPath = (o.reportDir as NSString).appendingPathComponent("report.html")
        do {
            try FileManager.default.createDirectory(atPath: o.reportDir, withIntermediateDirectories: true)
            try html.write(toFile: reportPath, atomically: true, encoding: .utf8)
        } catch { throw CommandFailure(message: "cannot write \(reportPath): \(error.localizedDescription)", status: ExitStatus.failure) }
        let absolute = URL(fileURLWithPath: reportPath).standardizedFileURL.path

        let ko = PlanKPIs(wave: optimised), kb = PlanKPIs(wave: baseline)
        if o.json {
            var regions: [(String, JSONValue)] = []
            for (a, b) in zip(optimised.regions, baseline.regions) {
                regions.append((a.region.rawValue, .object([("optimised", PlanKPIs(region: a).json), ("baseline", PlanKPIs(region: b).json)])))
            }
            print(JSONValue.object([
                ("plan_id", .string(planID)), ("delivery_day", .string(DemoReport.dateString(day))), ("seed", .int(Int(o.seed))),
                ("orders", .int(orders.count)), ("optimised", ko.json), ("baseline", kb.json),
                ("km_per_parcel_ratio", .double(kb.kmPerParcel > 0 && ko.kmPerParcel > 0 ? (kb.kmPerParcel / ko.kmPerParcel * 1000).rounded() / 1000 : 0)),
                ("rows_stored", .int(stored)), ("plan_seconds", .double((planSeconds * 100).rounded() / 100)),
                ("total_seconds", .double((total * 100).rounded() / 100)), ("report", .string(absolute)),
                ("regions", .object(regions)),
            ]).rendered())
        } else {
            print(DemoReport.kpiTable(optimised: optimised, baseline: baseline), terminator: "")
            print("plan \(planID): \(stored) planned stops stored in \(o.schema).planned_stops; planning \(String(format: "%.1f", planSeconds)) s, total \(String(format: "%.1f", total)) s")
            print("report: \(absolute)")
        }
        return ExitStatus.ok
    }

    package var cores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Prepares, solves and baselines every region, each on a dedicated thread (the solver is
    /// CPU-bound and must not occupy the cooperative pool), at most `cores` at once, largest first.
    package func planRegions(setup: WaveSetup, byRegion: [RegionID: [Order]]) async throws -> [RegionOutcome] {
        let jobs = setup.regions.enumerated().map { ($0.offset, $0.element, byRegion[$0.element.regionID] ?? []) }
        let limit = o.timeLimit, seed = o.seed, show = progress
        return try await planRegionsOnThreads(sizes: jobs.map(\.2.count), width: cores, name: { "plan-\(jobs[$0].1.regionID)" },
                                              start: { i, cancelled in
            let (index, fleet, orders) = jobs[i]
            return { () throws -> RegionOutcome in
                try planOneRegion(fleet: fleet, orders: orders, setup: setup, timeLimit: limit,
                                  seed: seed &+ UInt64(index), cancelled: cancelled)
            }
        }, finished: { i, r in
            if show {
                let k = PlanKPIs(region: r.optimised)
                printErr("demo: \(jobs[i].1.regionID): \(k.planned)/\(k.orders) orders on \(k.vansUsed) vans, \(String(format: "%.0f", k.km)) km (\(r.optimised.iterations) iterations, \(String(format: "%.1f", r.solveSeconds)) s\(r.optimised.fellBack ? ", re-planned on the slowest slot" : ""))")
            }
        })
    }
}

/// Runs one job per region on dedicated OS threads (CPU-bound planning stays off the cooperative
/// pool), at most `width` at once, largest `sizes` first (ties by index). `start(i, flag)` is
/// called in the caller's task when job i is launched (so it may read the clock to size a budget)
/// and returns the body to run on the thread; `finished(i, result)` is called in the caller's task
/// as each job ends. Cancelling the calling task sets the flag every body polls. Results by index.
package func planRegionsOnThreads<R: Sendable>(sizes: [Int], width: Int, name: (Int) -> String,
                                       start: (Int, CancelFlag) -> @Sendable () throws -> R,
                                       finished: (Int, R) -> Void = { _, _ in }) async throws -> [R] {
    let order = sizes.indices.sorted { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 }
    let cancelled = CancelFlag()
    return try await withTaskCancellationHandler {
        try await withThrowingTaskGroup(of: (Int, R).self) { group in
            var results: [Int: R] = [:]
            var next = 0
            func launch() {
                let i = order[next]
                next += 1
                let body = start(i, cancelled)
                let threadName = name(i)
                group.addTask { (i, try await onDedicatedThread(name: threadName, body)) }
            }
            while next < order.count && next < max(1, width) { launch() }
            while let (i, r) = try await group.next() {
                results[i] = r
                finished(i, r)
                if next < order.count { launch() }
            }
            return sizes.indices.map { results[$0]! }
        }
    } onCancel: { cancelled.set() }
}

/// Runs on the calling (dedicated) thread: build, solve under the time limit, baseline.
package func planOneRegion(fleet: WaveSetup.RegionFleet, orders: [Order], setup: WaveSetup, timeLimit: Double, seed: UInt64,
                   cancelled: CancelFlag) throws(WavePlanError) -> RegionOutcome {
    let clock = ContinuousClock()
    let t0 = clock.now
    let rp = try WavePlanner.prepare(region: fleet, orders: orders, setup: setup, times: .standard)
    let t1 = clock.now
    let span = max(timeLimit, 1e-9)
    // Each attempt gets the full budget: a fall-back re-plan (rare) doubles this region's time.
    let optimised = WavePlanner.planVerified(rp) { attempt in
        let start = clock.now
        let deadline = start.advanced(by: .milliseconds(Int64((timeLimit * 1000).rounded())))
        return SolveOptions(seed: seed &+ UInt64(attempt) &* 0x9E37_79B9, shouldStop: { cancelled.isSet || clock.now >= deadline },
                            progress: { min(1, (clock.now - start).seconds / span) })
    }
    let solveSeconds = (clock.now - t1).seconds
    let baseline = WavePlanner.baseline(rp)
    return RegionOutcome(optimised: optimised, baseline: baseline, prepareSeconds: (t1 - t0).seconds, solveSeconds: solveSeconds)
}

/// A one-way flag set from a cancellation handler and polled by the solver's stop closure.
package final class CancelFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    package init() {}
    package func set() { flag.store(true, ordering: .relaxed) }
    package var isSet: Bool { flag.load(ordering: .relaxed) }
}

extension DemoRun {
    /// Writes the plan in one transaction: the wave_plans row, then COPY of every planned stop and
    /// every unassigned order of both variants. Returns the optimised plan's stop rows read back.
    package func store(_ conn: PostgresConnection, planID: String, day: LocalDay, orders: Int,
               optimised: WavePlan, baseline: WavePlan) async throws -> Int {
        let schema = try await conn.quoteIdentifier(o.schema)
        var stops = PostgresCopyRows(columns: 13)
        var unassigned = PostgresCopyRows(columns: 5)
        func date(_ t: Instant) -> Date { Date(timeIntervalSince1970: TimeInterval(t.epochSeconds)) }
        for plan in [optimised, baseline] {
            for region in plan.regions {
                for route in region.routes {
                    for (i, s) in route.stops.enumerated() {
                        try stops.appendRow(planID, plan.name, region.region.rawValue, route.vehicle.rawValue, i + 1, s.order.rawValue,
                                            s.location.lat, s.location.lon, date(s.arrival), date(s.serviceStart), date(s.departure),
                                            date(s.windowEnd), Int(s.legMetres))
                    }
                }
            }
            for u in plan.allUnassigned {
                try unassigned.appendRow(planID, plan.name, u.region.rawValue, u.order.rawValue, u.reason.rawValue)
            }
        }
        let kpis = JSONValue.object([("optimised", PlanKPIs(wave: optimised).json), ("baseline", PlanKPIs(wave: baseline).json)]).rendered()
        try await conn.withTransaction(purpose: "store wave plan \(planID)") { tx in
            try await tx.execute("INSERT INTO \(schema).wave_plans (plan_id, delivery_day, seed, orders, kpis) VALUES ($1, $2::date, $3, $4, $5::jsonb)",
                                 [planID, DemoReport.dateString(day), Int64(bitPattern: o.seed), orders, kpis], purpose: "insert wave plan")
            try await tx.copyIn("COPY \(schema).planned_stops (plan_id, variant, region, vehicle, seq, order_id, lat, lon, arrival, service_start, departure, window_end, leg_m) FROM STDIN",
                                rows: stops, purpose: "copy planned stops")
            if !unassigned.isEmpty {
                try await tx.copyIn("COPY \(schema).unassigned_orders (plan_id, variant, region, order_id, reason) FROM STDIN",
                                    rows: unassigned, purpose: "copy unassigned orders")
            }
        }
        let rows = try await conn.query("SELECT count(*) FROM \(schema).planned_stops WHERE plan_id = $1 AND variant = 'optimised'",
                                        [planID], purpose: "count stored stops")
        return try rows.first.map { try $0.decode(0, as: Int.self) } ?? 0
    }
}

package func env(_ k: String) -> String { ProcessInfo.processInfo.environment[k] ?? "<unset>" }

extension DemoOptions {
    /// Only the input files (for reusing the demo's loading); the other options keep the demo's defaults.
    package init(regions: String, operations: String, demand: String) {
        orders = 0; seed = 1; timeLimit = 0; database = ""; schema = "daybreak"; reportDir = ""
        self.regions = regions; self.operations = operations; self.demand = demand; date = nil; json = false
    }
}
