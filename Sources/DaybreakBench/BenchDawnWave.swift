import Base
import DaybreakCLI
import DispatchPlanning
import Fleet
import Foundation
import Geo
import Routing

// `daybreak bench dawn-wave`: a city-scale dawn wave (default 30,000 orders, 500 vans, Seoul's
// six regions) planned within a total wall-clock budget, verified independently, per-region table.
// Planning only: no database. Regions run on dedicated threads (one per core, largest first) via
// the helper the demo uses.

let benchDawnWaveCommand = Command(
    name: "dawn-wave",
    summary: "Plan a city-scale dawn wave (30,000 orders, 500 vans) within a total time budget and verify it.",
    usage: "[--orders N] [--vans N] [--seed S] [--time-limit SECONDS] [--regions FILE] [--operations FILE] [--demand FILE] [--sector N] [--date YYYY-MM-DD] [--json]",
    options: [
        .value("orders", "N", "orders in the night, 1…60000 (default 30000)"),
        .value("vans", "N", "dawn vans in total, spread over the regions by their orders (default 500)"),
        .value("seed", "S", "seed of the generated orders and the solver (default 1)"),
        .value("time-limit", "SECONDS", "total wall-clock budget for the whole wave (default 300)"),
        .value("sector", "N", "at most N orders per routing problem: larger regions are cut into sectors around the hub (default 1500; 0: whole regions)"),
        .value("date", "YYYY-MM-DD", "delivery morning (default 2026-12-01, so a seed gives the same wave on any day)"),
        .flag("json", "print one JSON line instead of the table"),
    ] + CityInputFiles.options
) { args in
    let o = try DawnWaveOptions(args)
    return try await reportingFailures("bench dawn-wave") { try await DawnWaveBench(o).run() }
}

struct DawnWaveOptions: Sendable {
    var orders: Int
    var vans: Int
    var seed: UInt64
    var timeLimit: Double
    var regions: String
    var operations: String
    var demand: String
    var day: LocalDay
    var json: Bool
    var sector: Int

    init(_ a: ParsedArguments) throws(UsageError) {
        // Memory, not time, bounds the orders: each region's matrices are O(n²) (see the estimate in run()).
        orders = try a.int("orders", default: 30_000, range: 1...60_000)
        vans = try a.int("vans", default: 500, range: 1...10_000)
        seed = try a.uint64("seed", default: 1)
        timeLimit = try a.double("time-limit", default: 300, range: 1...3600)
        let files = CityInputFiles(a)
        regions = files.regions
        operations = files.operations
        demand = files.demand
        let d = a.string("date", default: "2026-12-01")
        guard let day = DemoOptions.parseDate(d) else { throw UsageError("--date: '\(d)' is not a date YYYY-MM-DD") }
        self.day = day
        json = a.flag("json")
        sector = try a.int("sector", default: 1500, range: 0...100_000)
    }
}

/// One region's result and timing.
struct DawnRegionRun: Sendable {
    var plan: RegionPlan
    var budget: Double
    var prepareSeconds: Double
    var solveSeconds: Double
    /// Process peak resident set (VmHWM) when the region finished, bytes; 0 if unknown.
    var peakBytes: Int64
}

struct DawnWaveBench {
    let o: DawnWaveOptions
    init(_ o: DawnWaveOptions) { self.o = o }

    func note(_ s: String) { printErr("dawn-wave: " + s) }

    func run() async throws -> Int32 {
        let clock = ContinuousClock()
        let t0 = clock.now
        let deadline = t0.advanced(by: .milliseconds(Int64(o.timeLimit * 1000)))
        // The demo's file loading (paths resolved from the repository root too).
        let inputs = try DemoRun(DemoOptions(regions: o.regions, operations: o.operations, demand: o.demand)).loadInputs()
        let setup0: WaveSetup
        do { setup0 = try WaveSetup.dawn(config: inputs.operations, city: inputs.city, deliveryDay: o.day) }
        catch { throw CommandFailure(message: "\(o.operations): \(error)", status: ExitStatus.dataError) }
        var configs: [RegionID: ProductConfig] = [:]
        for r in inputs.operations.regions { configs[r.id] = inputs.operations.productConfig(for: r.id) }
        let orders: [Order]
        do {
            orders = try NightOrders.generate(count: o.orders, seed: o.seed, demand: inputs.demand, regions: inputs.city.regions,
                                              configs: configs, deliveryDay: o.day, offset: inputs.operations.offset)
        } catch { throw CommandFailure(message: error.description, status: ExitStatus.dataError) }
        let (byRegion, cityUnassigned) = WavePlanner.partition(orders, setup: setup0)
        let fileVans = setup0.regions.reduce(0) { $0 + $1.vans.count }
        let setup = setup0.scaled(toVans: o.vans, orders: byRegion.mapValues(\.count))
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        note("\(orders.count) orders for \(DemoReport.dateString(o.day)) in \(String(format: "%.1f", (clock.now - t0).seconds)) s; fleet scaled from the operations file's \(fileVans) dawn vans to \(o.vans); \(setup.regions.count) regions, \(cores) at a time, \(Int(o.timeLimit)) s in total")

        // Memory: per region, the distance matrix, one duration matrix per kind and slot, the
        // planning maximum and the solver's copies, Int64 each. Refuse up front rather than swap.
        let slotsCount = Int(((setup.windowEnd - setup.origin + 3599) / 3600) - (setup.waves.min() ?? setup.windowStart).secondsOfLocalDay(setup.offset) / 3600 + 1)
        func estimate(_ region: WaveSetup.RegionFleet, orders: Int) -> Double {
            let n = Double(orders + 1)
            let kinds = Double(Set(region.vans.map(\.kind)).count)
            return n * n * 8 * (kinds * Double(max(1, slotsCount)) + 4)
        }
        // Routing problems: whole regions, or sectors of at most --sector orders.
        let jobs = setup.regions.flatMap { r in
            o.sector > 0 ? r.sectors(orders: byRegion[r.regionID] ?? [], maxOrders: o.sector, sites: setup.sites).map { ($0.fleet, $0.orders) }
                         : [(r, byRegion[r.regionID] ?? [])]
        }
        let perRegion = jobs.map { estimate($0.0, orders: $0.1.count) }.sorted(by: >)
        let concurrent = perRegion.prefix(cores).reduce(0, +)
        let physical = Double(ProcessInfo.processInfo.physicalMemory)
        note(String(format: "%d routing problems; matrices ≈ %.2f GB for the largest, ≈ %.2f GB for %d at once (%.1f GB RAM)", jobs.count, perRegion.first.map { $0 / 1e9 } ?? 0, concurrent / 1e9, cores, physical / 1e9))
        guard concurrent < physical * 0.85 else {
            throw CommandFailure(message: String(format: "the %d largest regions need ≈ %.1f GB of matrices at once, more than 85%% of %.1f GB RAM; use fewer --orders", cores, concurrent / 1e9, physical / 1e9), status: ExitStatus.unavailable)
        }

        // Budget: the time left (minus a reserve for the check and the table) shared by regions
        // in proportion to their orders, on `cores` threads, recomputed when each region starts.
        let sizes = jobs.map(\.1.count)
        var waiting = sizes.reduce(0, +)
        let reserve = min(15, o.timeLimit * 0.03)
        let seed = o.seed
        let tPlan = clock.now
        let sectorRuns: [DawnRegionRun] = try await planRegionsOnThreads(sizes: sizes, width: cores, name: { "dawn-\(jobs[$0].0.regionID)" }, start: { i, cancelled in
            waiting -= sizes[i]
            let remaining = (deadline - clock.now).seconds - reserve
            let budget = WaveBudget.seconds(orders: sizes[i], remaining: remaining, waiting: waiting, cores: cores)
            let (fleet, regionOrders) = jobs[i]
            let regionSeed = seed &+ UInt64(i)
            return { () throws -> DawnRegionRun in
                try planDawnRegion(fleet: fleet, orders: regionOrders, setup: setup, budget: budget, seed: regionSeed, cancelled: cancelled)
            }
        }, finished: { i, r in
            let k = PlanKPIs(region: r.plan)
            note("\(r.plan.region) (\(r.plan.orders) orders, \(r.plan.vansAvailable) vans): \(k.planned)/\(k.orders) planned on \(k.vansUsed)/\(k.vansAvailable) vans, \(String(format: "%.0f", k.km)) km, budget \(String(format: "%.0f", r.budget)) s, prepare \(String(format: "%.1f", r.prepareSeconds)) s, solve \(String(format: "%.1f", r.solveSeconds)) s, \(r.plan.iterations) iterations\(r.plan.fellBack ? ", re-planned on the slowest slot" : ""), peak RSS \(r.peakBytes / 1_000_000) MB")
        })
        let planSeconds = (clock.now - tPlan).seconds
        // One row per region: its sectors merged (budget and thread seconds summed, peak the largest).
        let runs: [DawnRegionRun] = setup.regions.compactMap { r in
            let parts = sectorRuns.filter { $0.plan.region == r.regionID }
            guard !parts.isEmpty else { return nil }
            return DawnRegionRun(plan: RegionPlan.merged(parts.map(\.plan)), budget: parts.reduce(0) { $0 + $1.budget },
                                 prepareSeconds: parts.reduce(0) { $0 + $1.prepareSeconds }, solveSeconds: parts.reduce(0) { $0 + $1.solveSeconds },
                                 peakBytes: parts.map(\.peakBytes).max() ?? 0)
        }
        let wave = WavePlan(name: "dawn-wave", regions: runs.map(\.plan), unassigned: cityUnassigned)

        note("verifying \(wave.allRoutes.count) routes and \(orders.count) orders")
        let tCheck = clock.now
        let problems = WaveCheck.problems(wave, orders: orders, setup: setup)
        let checkSeconds = (clock.now - tCheck).seconds
        for p in problems { printErr("dawn-wave: CHECK FAILED: \(p)") }
        let wall = (clock.now - t0).seconds
        let total = PlanKPIs(wave: wave)
        let construction = runs.reduce(Int64(0)) { $0 + ($1.plan.constructionMetres ?? 0) }
        let gain = construction > 0 ? Double(construction - total.metres) / Double(construction) * 100 : 0
        let peak = peakResidentBytes()

        if o.json {
            print(JSONValue.object([
                ("orders", .int(orders.count)), ("vans", .int(o.vans)), ("vans_used", .int(total.vansUsed)), ("regions", .int(runs.count)), ("routing_problems", .int(sectorRuns.count)),
                ("planned", .int(total.planned)), ("unassigned", .int(total.unassigned)), ("wall_s", .double(r1(wall))),
                ("plan_s", .double(r1(planSeconds))), ("check_s", .double(r1(checkSeconds))), ("time_limit_s", .double(o.timeLimit)),
                ("km", .double(r1(total.km))), ("construction_km", .double(r1(Double(construction) / 1000))),
                ("gain_pct", .double((gain * 100).rounded() / 100)), ("km_per_parcel", .double((total.kmPerParcel * 1000).rounded() / 1000)),
                ("on_time", .double((total.onTimeRate * 10000).rounded() / 10000)), ("fell_back", .int(runs.filter(\.plan.fellBack).count)),
                ("verified", .bool(problems.isEmpty)), ("peak_rss_mb", .int(Int(peak / 1_000_000))), ("seed", .int(Int(o.seed))),
            ]).rendered())
        } else {
            print(table(runs: runs, total: total, construction: construction, cityUnassigned: cityUnassigned.count), terminator: "")
            print(String(format: "wall %.1f s (planning %.1f s, check %.1f s) of %.0f s; peak RSS %d MB; verification: %@", wall, planSeconds, checkSeconds,
                         o.timeLimit, Int(peak / 1_000_000), problems.isEmpty ? "every order planned or unassigned exactly once, every route re-driven: windows, capacity, shifts ok" : "\(problems.count)+ PROBLEMS"))
        }
        return problems.isEmpty ? ExitStatus.ok : ExitStatus.software
    }

    func table(runs: [DawnRegionRun], total: PlanKPIs, construction: Int64, cityUnassigned: Int) -> String {
        var s = "region        orders   vans used  unassigned        km  km/parcel  constr. km   gain  on-time  budget s  solve s  peak MB\n"
        func row(_ name: String, _ k: PlanKPIs, _ c: Int64, budget: String, solve: String, peak: String) -> String {
            let gain = c > 0 ? Double(c - k.metres) / Double(c) * 100 : 0
            return name.padding(toLength: 12, withPad: " ", startingAt: 0)
                + String(format: " %7d  %4d/%-4d  %10d  %8.0f  %9.3f  %10.0f  %5.1f%%  %6.2f%%",
                         k.orders, k.vansUsed, k.vansAvailable, k.unassigned, k.km, k.kmPerParcel, Double(c) / 1000, gain, k.onTimeRate * 100)
                + "  " + pad(budget, 8) + "  " + pad(solve, 7) + "  " + pad(peak, 7) + "\n"
        }
        for r in runs {
            s += row(r.plan.region.rawValue, PlanKPIs(region: r.plan), r.plan.constructionMetres ?? 0, budget: String(format: "%.0f", r.budget),
                     solve: String(format: "%.1f", r.solveSeconds + r.prepareSeconds), peak: String(r.peakBytes / 1_000_000))
        }
        if cityUnassigned > 0 { s += "(\(cityUnassigned) orders outside every planned region)\n" }
        s += row("total", total, construction, budget: "", solve: "", peak: "")
        return s
    }
}

func pad(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }

func r1(_ x: Double) -> Double { (x * 10).rounded() / 10 }

/// The process's peak resident set (VmHWM in /proc/self/status), bytes; 0 where unavailable.
func peakResidentBytes() -> Int64 {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
    let kb = line.split(separator: " ").compactMap { Int64($0) }.first ?? 0
    return kb * 1024
}

/// Runs on a dedicated thread: prepare the region, solve until the region's budget is spent,
/// time the routes by simulation (re-planning on the slowest slot if a promise would be missed;
/// that attempt gets a quarter of the budget more, which later regions' budgets absorb).
func planDawnRegion(fleet: WaveSetup.RegionFleet, orders: [Order], setup: WaveSetup, budget: Double, seed: UInt64,
                    cancelled: CancelFlag) throws(WavePlanError) -> DawnRegionRun {
    let clock = ContinuousClock()
    let t0 = clock.now
    let end = t0.advanced(by: .milliseconds(Int64(max(0, budget) * 1000)))
    let rp = try WavePlanner.prepare(region: fleet, orders: orders, setup: setup, times: .standard)
    let t1 = clock.now
    let plan = WavePlanner.planVerified(rp) { attempt in
        let start = clock.now
        let stop = attempt == 0 ? end : start.advanced(by: .milliseconds(Int64(max(1, budget * 0.25) * 1000)))
        let span = max(1e-3, (stop - start).seconds)
        return SolveOptions(seed: seed &+ UInt64(attempt) &* 0x9E37_79B9, shouldStop: { cancelled.isSet || clock.now >= stop },
                            progress: { min(1, (clock.now - start).seconds / span) })
    }
    return DawnRegionRun(plan: plan, budget: budget, prepareSeconds: (t1 - t0).seconds, solveSeconds: (clock.now - t1).seconds,
                         peakBytes: peakResidentBytes())
}
