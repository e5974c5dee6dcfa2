import Base
import DaybreakCLI
import DispatchPlanning
import Fleet
import Foundation
import Geo
import Warehouse

// `daybreak bench sorter`: a dawn night's parcels through the Gimpo hub's sorter. The night's van
// routes come from the dawn-wave planner (`bench dawn-wave`'s sectors and `planDawnRegion`, with a
// short budget per routing problem: the sorter only needs each route's parcels and departure), or
// its greedy baseline (`--plan baseline`), or a seeded stand-in (`--plan generated`). Chutes are assigned per wave (Warehouse.ChutePlan), the
// sorter is run as a discrete-event state machine (Warehouse.Sorter). Docs/SITES.md.

let benchSorterCommand = Command(
    name: "sorter",
    summary: "Sort a dawn night's parcels at the Gimpo hub: chutes per wave, throughput, mis-sorts, late vans.",
    usage: "[--orders N] [--vans N] [--seed S] [--date YYYY-MM-DD] [--plan optimised|baseline|generated] [--budget SECONDS] [--layout FILE] [--chute-capacity N] [--max-chutes-per-route N] [--start HH:MM] [--dock-minutes MIN] [--loading-lead MIN] [--robots N] [--picks N] [--pick-hours H] [--no-top-up] [--svg FILE] [--json]",
    options: [
        .value("orders", "N", "dawn orders in the night, 1…60000 (default 30000)"),
        .value("vans", "N", "dawn vans available, spread over the regions (default 500)"),
        .value("seed", "S", "seed of the generated orders (default 1)"),
        .value("plan", "KIND", "optimised: the dawn-wave planner on the seoul demand, --budget per routing problem (default); baseline: its greedy comparison plan; generated: seeded routes, no planner"),
        .value("budget", "SECONDS", "solver time per routing problem (sector of ≤ 1,500 orders) for --plan optimised (default 5)"),
        .value("robots", "N", "picking robots at the hub for the battery and allocation run (default 60; 0: skip)"),
        .value("picks", "N", "picks for that run, released evenly over --pick-hours (default 8000)"),
        .value("pick-hours", "H", "hours over which the picks are released (default 4)"),
        .flag("no-top-up", "robots charge only below the low threshold (no opportunity charging when idle)"),
        .value("layout", "FILE", "the hub's site layout (default Regions/sites/hub-dawn.site)"),
        .value("chute-capacity", "N", "override the layout's chute capacity (parcels)"),
        .value("max-chutes-per-route", "N", "at most N chutes per van route; the overflow recirculates until loading (default: as many as its parcels need)"),
        .value("start", "HH:MM", "sorting starts, the evening before (default 23:00, the cutoff)"),
        .value("dock-minutes", "MIN", "each van loads this long at one of the layout's dock doors, scheduled as late as its departure allows (default 15; 0: no doors, use --loading-lead)"),
        .value("loading-lead", "MIN", "with --dock-minutes 0: loading starts this many minutes before a van's departure (default 30)"),
        .value("date", "YYYY-MM-DD", "delivery morning (default 2026-12-01)"),
        .value("svg", "FILE", "write a picture of chute fill per wave over the night"),
        .flag("json", "print one JSON line instead of the table"),
    ] + CityInputFiles.options
) { args in
    let o = try SorterBenchOptions(args)
    return try await reportingFailures("bench sorter") { try await SorterBench(o).run() }
}

struct SorterBenchOptions: Sendable {
    var orders: Int
    var vans: Int
    var seed: UInt64
    var plan: String
    var budget: Double
    var robots: Int
    var picks: Int
    var pickHours: Double
    var topUp: Bool
    var layout: String
    var chuteCapacity: Int?
    var maxChutesPerRoute: Int
    var startMinutes: Int
    var loadingLead: Double
    var dockMinutes: Int
    var day: LocalDay
    var svg: String?
    var json: Bool
    var files: CityInputFiles

    init(_ a: ParsedArguments) throws(UsageError) {
        orders = try a.int("orders", default: 30_000, range: 1...60_000)
        vans = try a.int("vans", default: 500, range: 1...10_000)
        seed = try a.uint64("seed", default: 1)
        plan = try a.choice("plan", ["optimised", "baseline", "generated"], default: "optimised") ?? "optimised"
        budget = try a.double("budget", default: 5, range: 0.1...600)
        robots = try a.int("robots", default: 60, range: 0...1000)
        picks = try a.int("picks", default: 8000, range: 1...100_000)
        pickHours = try a.double("pick-hours", default: 4, range: 0.01...48)
        topUp = !a.flag("no-top-up")
        layout = a.string("layout", default: "Regions/sites/hub-dawn.site")
        chuteCapacity = a.string("chute-capacity") == nil ? nil : try a.int("chute-capacity", default: 1, range: 1...100_000)
        maxChutesPerRoute = try a.int("max-chutes-per-route", default: 1_000_000, range: 1...1_000_000)
        let s = a.string("start", default: "23:00")
        let parts = s.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 2, (0...23).contains(parts[0]), (0...59).contains(parts[1]) else { throw UsageError("--start: '\(s)' is not HH:MM") }
        startMinutes = parts[0] * 60 + parts[1]
        loadingLead = Double(try a.int("loading-lead", default: 30, range: 0...600)) * 60
        dockMinutes = try a.int("dock-minutes", default: 15, range: 0...600)
        let d = a.string("date", default: "2026-12-01")
        guard let day = DemoOptions.parseDate(d) else { throw UsageError("--date: '\(d)' is not a date YYYY-MM-DD") }
        self.day = day
        svg = a.string("svg")
        json = a.flag("json")
        files = CityInputFiles(a)
    }
}

struct SorterBench {
    let o: SorterBenchOptions
    init(_ o: SorterBenchOptions) { self.o = o }

    func note(_ s: String) { if !o.json { printErr("sorter: " + s) } }

    /// Routes of the night (van, wave, departure in seconds from local midnight, parcels) and the
    /// wave departures.
    func nightRoutes(_ run: DemoRun) async throws -> (routes: [SorterRoute], waves: [Double], source: String) {
        let inputs = try run.loadInputs()
        let setup0: WaveSetup
        do { setup0 = try WaveSetup.dawn(config: inputs.operations, city: inputs.city, deliveryDay: o.day) }
        catch { throw CommandFailure(message: "\(o.files.operations): \(error)", status: ExitStatus.dataError) }
        let waves = setup0.waves.map { Double($0 - setup0.origin) }
        if o.plan == "generated" {
            // A seeded stand-in: 60 % of the vans used, 40–160 parcels each, round-robin over the waves.
            var rng = SplitMix64(seed: o.seed)
            let n = max(1, o.vans * 6 / 10)
            let routes = (0..<n).map { i in
                SorterRoute(van: "van-\(i + 1)", wave: i % waves.count, departure: waves[i % waves.count], parcels: Int.random(in: 40...160, using: &rng))
            }
            return (routes, waves, "generated (seed \(o.seed))")
        }
        var configs: [RegionID: ProductConfig] = [:]
        for r in inputs.operations.regions { configs[r.id] = inputs.operations.productConfig(for: r.id) }
        let orders: [Order]
        do {
            orders = try NightOrders.generate(count: o.orders, seed: o.seed, demand: inputs.demand, regions: inputs.city.regions,
                                              configs: configs, deliveryDay: o.day, offset: inputs.operations.offset)
        } catch { throw CommandFailure(message: error.description, status: ExitStatus.dataError) }
        let (byRegion, _) = WavePlanner.partition(orders, setup: setup0)
        let setup = setup0.scaled(toVans: o.vans, orders: byRegion.mapValues(\.count))
        let jobs = setup.regions.flatMap { r in r.sectors(orders: byRegion[r.regionID] ?? [], maxOrders: 1500, sites: setup.sites) }
        note("\(orders.count) orders, \(jobs.count) routing problems, \(o.plan == "baseline" ? "the planner's greedy baseline" : "optimised \(o.budget) s each"), 2 at a time")
        // Two at a time (each sector's matrices are ~0.3 GB), each on its own thread (the solver's stack).
        let optimise = o.plan == "optimised", budget = o.budget, seed = o.seed
        var plans: [RegionPlan] = []
        var next = 0
        while next < jobs.count {
            let batch = Array(jobs[next..<min(jobs.count, next + 2)])
            next += batch.count
            let done = try await withThrowingTaskGroup(of: RegionPlan.self) { group in
                for (k, (fleet, regionOrders)) in batch.enumerated() {
                    let jobSeed = seed &+ UInt64(next - batch.count + k)
                    group.addTask {
                        try await onDedicatedThread(name: "sorter-plan") { () throws(WavePlanError) -> RegionPlan in
                            if optimise {
                                return try planDawnRegion(fleet: fleet, orders: regionOrders, setup: setup, budget: budget, seed: jobSeed, cancelled: CancelFlag()).plan
                            }
                            return WavePlanner.baseline(try WavePlanner.prepare(region: fleet, orders: regionOrders, setup: setup, times: .standard))
                        }
                    }
                }
                var out: [RegionPlan] = []
                for try await p in group { out.append(p) }
                return out
            }
            plans += done
        }
        let all = plans.flatMap(\.routes).sorted { $0.departure != $1.departure ? $0.departure < $1.departure : $0.vehicle.rawValue < $1.vehicle.rawValue }
        let unassigned = plans.reduce(0) { $0 + $1.unassigned.count }
        note("\(all.count) van routes, \(all.reduce(0) { $0 + $1.parcels }) parcels, \(unassigned) orders unplanned")
        let routes = all.map { r -> SorterRoute in
            let dep = Double(r.departure - setup.origin)
            let wave = waves.enumerated().min { abs($0.element - dep) < abs($1.element - dep) }?.offset ?? 0
            return SorterRoute(van: r.vehicle.rawValue, wave: wave, departure: dep, parcels: r.parcels)
        }
        let how = o.plan == "baseline" ? "greedy baseline" : "planner, \(o.budget) s per routing problem"
        return (routes, waves, "dawn wave of \(o.orders) orders (seed \(o.seed)), \(how), \(unassigned) orders unplanned")
    }

    func run() async throws -> Int32 {
        let clock = ContinuousClock()
        let t0 = clock.now
        let demo = DemoRun(DemoOptions(regions: o.files.regions, operations: o.files.operations, demand: o.files.demand))
        let layoutPath = demo.resolve(o.layout)
        guard let data = FileManager.default.contents(atPath: layoutPath), let text = String(data: data, encoding: .utf8) else {
            throw CommandFailure(message: "layout \(layoutPath): cannot be read (run from the repository root or pass --layout FILE)", status: ExitStatus.noInput)
        }
        let layout: SiteLayout
        do { layout = try SiteLayout.parse(text, file: o.layout) } catch { throw CommandFailure(message: error.description, status: ExitStatus.dataError) }
        guard let config = SorterConfig(layout: layout, loadingLeadSeconds: o.loadingLead), let capacity = o.chuteCapacity ?? layout.chuteCapacity else {
            throw CommandFailure(message: "layout \(o.layout): site \(layout.site) has no sorter (inducts, chutes, induct-per-hour, loop-seconds)", status: ExitStatus.dataError)
        }
        let chutes = layout.features(.chute).count

        var (routes, waves, source) = try await nightRoutes(demo)
        let doors = layout.features(.dock).count
        var docks = "no dock schedule: loading starts \(Int(o.loadingLead / 60)) min before departure"
        if o.dockMinutes > 0 {
            guard doors > 0 else { throw CommandFailure(message: "layout \(o.layout): no dock doors ('D'); use --dock-minutes 0", status: ExitStatus.dataError) }
            let slots = DockSchedule.latest(departures: routes.map(\.departure), doors: doors, loadingSeconds: Double(o.dockMinutes * 60))
            for r in routes.indices { routes[r].loadingStart = slots[r].start }
            docks = "\(doors) dock doors, \(o.dockMinutes) min per van, loading from \(Self.clock(slots.map(\.start).min() ?? 0))"
        }
        let planSeconds = (clock.now - t0).seconds
        let start = Double(o.startMinutes * 60 - (o.startMinutes >= 12 * 60 ? 86_400 : 0))
        var parcels: [SorterParcel] = []
        for (r, route) in routes.enumerated() {
            for _ in 0..<route.parcels { parcels.append(SorterParcel(id: parcels.count, route: r, ready: start)) }
        }
        let plan: ChutePlan
        do { plan = try ChutePlan.assign(routes: routes, chutes: chutes, capacity: capacity, start: start, maxChutesPerRoute: o.maxChutesPerRoute) }
        catch { throw CommandFailure(message: "chute assignment at \(layout.site): \(error)", status: ExitStatus.dataError) }
        let tSort = clock.now
        let res = Sorter.run(parcels: parcels, routes: routes, plan: plan, config: config)
        let sortSeconds = (clock.now - tSort).seconds
        let late = res.lateRoutes
        let picking = o.robots > 0 ? HubPicking.run(layout: layout, robots: o.robots, picks: o.picks, hours: o.pickHours, topUp: o.topUp, seed: o.seed) : nil

        if let svg = o.svg {
            let picture = fillPicture(res, waves: waves, start: start, capacity: capacity)
            do { try picture.write(toFile: svg, atomically: true, encoding: .utf8) }
            catch { throw CommandFailure(message: "--svg \(svg): \(error.localizedDescription)", status: ExitStatus.failure) }
        }
        if o.json {
            print(JSONValue.object([
                ("parcels_per_h", .int(Int(res.parcelsPerHour.rounded()))), ("mis_sorts", .int(res.misSorts)), ("vans_late", .int(late.count)),
                ("parcels", .int(parcels.count)), ("vans", .int(routes.count)), ("chutes", .int(chutes)), ("dock_doors", .int(o.dockMinutes > 0 ? doors : 0)),
                ("chute_capacity", .int(capacity)), ("chute_assignments", .int(plan.assignments.count)), ("inducts", .int(config.inducts)),
                ("nominal_parcels_per_h", .int(Int(config.nominalParcelsPerHour))), ("span_parcels_per_h", .int(Int(res.spanParcelsPerHour.rounded()))),
                ("recirculations", .int(res.totalRecirculations)), ("plan", .string(o.plan)),
                ("picks", .int(picking?.picks ?? 0)), ("picks_done", .int(picking?.done ?? 0)), ("robots", .int(o.robots)),
                ("picks_per_h", .int(Int((picking?.picksPerHour ?? 0).rounded()))), ("lowest_charge", .double(((picking?.lowestCharge ?? 0) * 1000).rounded() / 1000)),
                ("charges", .int(picking?.charges ?? 0)), ("picking_kept_up", .bool(picking?.keptUp ?? false)),
                ("plan_s", .double(r1(planSeconds))), ("sort_s", .double((sortSeconds * 1000).rounded() / 1000)), ("seed", .int(Int(o.seed))),
            ]).rendered())
        } else {
            print(table(res, routes: routes, plan: plan, waves: waves, layout: layout, config: config, source: source), terminator: "")
            print("loading: " + docks)
            if let p = picking {
                print(String(format: "picking: %d robots, %d picks released over %.1f h: %d done, %.0f picks/h, %@, %d charges (%d top-ups when idle), lowest charge %.1f %%, %.1f km driven (%.1f s)",
                             p.robots, p.picks, p.releaseHours, p.done, p.picksPerHour, p.keptUp ? "kept up" : "FELL BEHIND", p.charges, p.topUps, p.lowestCharge * 100, p.km, p.seconds))
            }
            print(String(format: "routes in %.1f s, sorter simulated in %.2f s", planSeconds, sortSeconds))
        }
        return res.misSorts == 0 ? ExitStatus.ok : ExitStatus.software
    }

    static func clock(_ s: Double) -> String {
        let m = Int((s / 60).rounded(.down))
        let d = ((m % 1440) + 1440) % 1440
        return String(format: "%02d:%02d", d / 60, d % 60)
    }

    func table(_ res: SortResult, routes: [SorterRoute], plan: ChutePlan, waves: [Double], layout: SiteLayout, config: SorterConfig, source: String) -> String {
        var s = "hub \(layout.site) (\(layout.name)): \(plan.chutes) chutes of \(plan.capacity) parcels, \(config.inducts) inducts × \(Int(config.inductsPerHour))/h = \(Int(config.nominalParcelsPerHour)) parcels/h nominal, loop \(Int(config.loopSeconds)) s\n"
        s += "routes: \(source)\n"
        s += "wave  departs  vans  parcels  chutes  inducted from  all sorted at  min slack  late\n"
        for (w, id) in res.waves.enumerated() {
            let members = routes.indices.filter { routes[$0].wave == id }
            let outs = members.map { res.routes[$0] }
            let ps = members.reduce(0) { $0 + routes[$1].parcels }
            let chuteCount = plan.assignments.filter { $0.wave == id }.count
            let firstIn = parcelsOf(members, res).map { res.inductedAt[$0] }.min()
            let sorted = outs.map(\.allSortedAt).max() ?? 0
            let slack = outs.map { $0.departure - $0.allSortedAt }.min() ?? 0
            let dep = id < waves.count ? Self.clock(waves[id]) : "?"
            s += pad(String(w), 4) + "  " + pad(dep, 7) + String(format: "  %4d  %7d  %6d  ", members.count, ps, chuteCount)
                + pad(firstIn.map(Self.clock) ?? "-", 13) + "  " + pad(Self.clock(sorted), 13) + String(format: "  %5d min  %4d\n", Int((slack / 60).rounded(.down)), outs.filter(\.isLate).count)
        }
        s += String(format: "parcels %d, vans %d, sorted %@ → %@: %.0f parcels/h in the busiest hour (%.0f over the night), %d recirculations, %d mis-sorts, %d vans late\n",
                    res.sortedAt.count, routes.count, Self.clock(res.firstInduct), Self.clock(res.lastSort), res.parcelsPerHour, res.spanParcelsPerHour,
                    res.totalRecirculations, res.misSorts, res.lateRoutes.count)
        for r in res.lateRoutes.prefix(20) {
            s += "late: \(r.van) departs \(Self.clock(r.departure)), all sorted \(Self.clock(r.allSortedAt)); \(r.missing.count) parcels missing at departure: \(r.missing.prefix(8).map(String.init).joined(separator: ", "))\(r.missing.count > 8 ? ", …" : "")\n"
        }
        return s
    }

    func parcelsOf(_ routes: [Int], _ res: SortResult) -> [Int] {
        // Parcels were created route by route in order: route r's parcels are a consecutive run.
        var firstOfRoute: [Int] = []
        var k = 0
        for o in res.routes { firstOfRoute.append(k); k += o.parcels }
        return routes.flatMap { r in firstOfRoute[r]..<(firstOfRoute[r] + res.routes[r].parcels) }
    }

    /// Parcels in each wave's chutes over the night, one line per wave, the wave's departure dashed.
    func fillPicture(_ res: SortResult, waves: [Double], start: Double, capacity: Int) -> String {
        let w = 900.0, h = 360.0, left = 60.0, right = 20.0, top = 30.0, bottom = 40.0
        var svg = SVG(width: w, height: h, title: "Chute fill per wave at the hub sorter")
        let t0 = res.sampleTimes.first ?? start, t1 = max(res.sampleTimes.last ?? start + 1, (waves.max() ?? t0) + 600)
        let ymax = Double(max(1, (res.waveFill.flatMap { $0 }.max() ?? 1)))
        func x(_ t: Double) -> Double { left + (t - t0) / max(1, t1 - t0) * (w - left - right) }
        func y(_ v: Double) -> Double { h - bottom - v / ymax * (h - top - bottom) }
        svg.rect(x: 0, y: 0, width: w, height: h, style: .init(fill: "#fff"))
        svg.line(x1: left, y1: h - bottom, x2: w - right, y2: h - bottom, style: .init(stroke: "#444", strokeWidth: 1))
        svg.line(x1: left, y1: top, x2: left, y2: h - bottom, style: .init(stroke: "#444", strokeWidth: 1))
        var t = (t0 / 1800).rounded(.up) * 1800
        while t <= t1 {
            svg.line(x1: x(t), y1: h - bottom, x2: x(t), y2: h - bottom + 4, style: .init(stroke: "#444", strokeWidth: 1))
            svg.text(Self.clock(t), x: x(t), y: h - bottom + 16, size: 11, anchor: .middle)
            t += 1800
        }
        for k in 0...4 {
            let v = ymax * Double(k) / 4
            svg.text(String(Int(v.rounded())), x: left - 6, y: y(v) + 4, size: 11, anchor: .end)
        }
        svg.text("parcels in chutes", x: 12, y: top - 10, size: 12)
        let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
        for (k, id) in res.waves.enumerated() {
            let colour = colours[k % colours.count]
            let pts = zip(res.sampleTimes, res.waveFill[k]).map { (x: x($0), y: y(Double($1))) }
            svg.polyline(pts, style: .init(stroke: colour, strokeWidth: 1.5), tooltip: "wave \(k)")
            if id < waves.count {
                svg.line(x1: x(waves[id]), y1: top, x2: x(waves[id]), y2: h - bottom, style: .init(stroke: colour, strokeWidth: 1, dash: "4 3"))
                svg.text("wave \(k) departs \(Self.clock(waves[id]))", x: x(waves[id]) - 4, y: top + 12 + Double(k) * 14, size: 11, anchor: .end, fill: colour)
            }
        }
        return svg.render()
    }
}

/// The hub's picking robots over a busy stretch: random picks (a storage rack's access cell to a
/// pick station) released evenly, robots starting full, spread over the floor (Warehouse.RobotFleet).
struct HubPicking {
    var picks: Int
    var robots: Int
    var done: Int
    var picksPerHour: Double
    var lowestCharge: Double
    var charges: Int
    var topUps: Int
    var km: Double
    var seconds: Double
    var releaseHours: Double
    /// The last pick finished at most 10 minutes after the last release: the fleet kept up.
    var keptUp: Bool

    static func run(layout: SiteLayout, robots: Int, picks: Int, hours: Double, topUp: Bool, seed: UInt64) -> HubPicking {
        let clock = ContinuousClock()
        let t0 = clock.now
        var rng = SplitMix64(seed: seed)
        let racks = layout.features(.storage).map(\.access), stations = layout.features(.pick).map(\.cell)
        let chargers = layout.features(.charger).map(\.cell)
        let tasks = (0..<picks).map { i in
            PickTask(id: i, pickup: racks.randomElement(using: &rng)!, dropoff: stations.randomElement(using: &rng)!,
                     release: Double(i) * hours * 3600 / Double(picks), handlingSeconds: 8)
        }
        // Robots start full, spread over the free floor.
        let g = layout.grid
        let featureCells = Set(layout.features.map(\.cell))
        let free = (0..<g.cellCount).filter { g.isFree($0) && !featureCells.contains($0) }
        let starts = (0..<robots).map { free[($0 * 97) % free.count] }
        let run = RobotFleet.run(grid: g, chargers: chargers, robotsAt: starts, tasks: tasks, policy: ChargingPolicy(topUpWhenIdle: topUp))
        let span = max(1, run.makespan)
        return HubPicking(picks: picks, robots: robots, done: run.tasksDone, picksPerHour: Double(run.tasksDone) * 3600 / span,
                          lowestCharge: run.lowestCharge, charges: run.charges, topUps: run.topUps, km: Double(run.steps) * layout.cellMetres / 1000,
                          seconds: (clock.now - t0).seconds, releaseHours: hours, keptUp: run.tasksDone == picks && run.makespan <= hours * 3600 + 600)
    }
}
