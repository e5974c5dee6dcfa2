import Foundation
import Testing
import Base
import Messaging
import Warehouse
@testable import Floor

/// A small store floor, 9×5: two shelf blocks per row band, aisles all round.
///
///     .........
///     .##.#.##.
///     .........
///     .##.#.##.
///     .........
let storeRows = [".........", ".##.#.##.", ".........", ".##.#.##.", "........."]
let storeGrid: Grid = {
    let cells = storeRows.flatMap { $0.map { $0 == "." } }
    return Grid(width: 9, height: 5, passable: cells)
}()
/// Storage cells: the aisle cells beside the shelves. Pick stations: the bottom row's ends.
let storage = [GridCell(x: 0, y: 1), GridCell(x: 3, y: 1), GridCell(x: 5, y: 1), GridCell(x: 8, y: 1),
               GridCell(x: 0, y: 3), GridCell(x: 3, y: 3), GridCell(x: 5, y: 3), GridCell(x: 8, y: 3)]
let stations = [GridCell(x: 0, y: 4), GridCell(x: 8, y: 4), GridCell(x: 4, y: 4)]

func pickTasks(_ count: Int, seed: UInt64) -> [PickTask] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { i in
        PickTask(id: i, pickup: storeGrid.index(storage[rng.below(storage.count)]),
                 dropoff: storeGrid.index(stations[rng.below(stations.count)]), release: 0)
    }
}

/// Like `withFloor`, on `grid` (`storeGrid` by default), with the link recording every state.
func withStore(_ specs: [RobotSpec], grid: Grid = storeGrid, vdaLayout: VDA5050Layout = layout, _ body: (RobotLink, [SimulatedRobot]) async throws -> Void) async throws {
    var config = RobotLink.Configuration()
    config.recordLimit = 200_000
    try await withFloor(specs, grid: grid, vdaLayout: vdaLayout, link: config, tuning: .controller, body)
}

/// Replays the states in arrival order and returns every conflict seen: two robots reporting the
/// same cell, two robots swapping cells, or a robot's report jumping more than one cell.
func trajectoryConflicts(_ states: [RobotLink.RecordedState]) -> [String] {
    var at: [String: GridCell] = [:]
    var problems: [String] = []
    for (i, s) in states.enumerated() {
        guard let c = VDA5050Layout.cell(nodeId: s.lastNodeId) else { problems.append("#\(i): bad node \(s.lastNodeId)"); continue }
        let before = at[s.serialNumber]
        if let b = before, abs(b.x - c.x) + abs(b.y - c.y) > 1 {
            problems.append("#\(i): \(s.serialNumber) jumped \(b) → \(c)")
        }
        at[s.serialNumber] = c
        for (other, oc) in at where other != s.serialNumber && oc == c {
            problems.append("#\(i): \(s.serialNumber) and \(other) both at \(c)")
        }
        // A swap would already show as a shared cell at one of the two reports; say so explicitly too.
        if let b = before, b != c, let other = at.first(where: { $0.key != s.serialNumber && $0.value == b })?.key,
           let prevOther = states[..<i].last(where: { $0.serialNumber == other && $0.lastNodeId != VDA5050Layout.nodeId(b) }),
           prevOther.lastNodeId == VDA5050Layout.nodeId(c) {
            problems.append("#\(i): \(s.serialNumber) and \(other) swapped \(b) ↔ \(c)")
        }
    }
    return problems
}

/// The cells a robot's states reported, consecutive repeats removed.
func reportedPath(_ states: [RobotLink.RecordedState], _ serial: String) -> [GridCell] {
    var out: [GridCell] = []
    for s in states where s.serialNumber == serial {
        if let c = VDA5050Layout.cell(nodeId: s.lastNodeId), out.last != c { out.append(c) }
    }
    return out
}

func dedup(_ cells: [GridCell]) -> [GridCell] {
    var out: [GridCell] = []
    for c in cells where out.last != c { out.append(c) }
    return out
}

@Suite struct FloorControllerTests {
    @Test func theTrajectoryCheckFindsSharedCellsSwapsAndJumps() {
        func s(_ serial: String, _ x: Int, _ y: Int) -> RobotLink.RecordedState {
            .init(serialNumber: serial, lastNodeId: VDA5050Layout.nodeId(GridCell(x: x, y: y)), driving: false, fatal: false)
        }
        #expect(trajectoryConflicts([s("a", 0, 0), s("b", 2, 0), s("a", 1, 0), s("b", 3, 0), s("a", 2, 0)]).isEmpty)
        #expect(trajectoryConflicts([s("a", 0, 0), s("b", 1, 0), s("a", 1, 0)]).count == 1)
        #expect(trajectoryConflicts([s("a", 0, 0), s("b", 1, 0), s("a", 1, 0), s("b", 0, 0)]).count >= 2)
        #expect(trajectoryConflicts([s("a", 0, 0), s("a", 2, 0)]) == ["#1: a jumped (0,0) → (2,0)"])
    }

    static let starts = [GridCell(x: 1, y: 0), GridCell(x: 7, y: 0), GridCell(x: 1, y: 2), GridCell(x: 7, y: 2), GridCell(x: 4, y: 2)]

    @Test func everyTaskIsFinishedAndNoTwoRobotsEverReportTheSameCell() async throws {
        // amr-3 is four times slower: the robots behind it must wait for its reports, not the plan.
        let specs = Self.starts.prefix(4).enumerated().map { i, c in RobotSpec(serial: "amr-\(i)", start: c, stepMillis: i == 3 ? 20 : 5) }
        try await withStore(specs) { link, robots in
            let tasks = pickTasks(20, seed: 7)
            let controller = FloorController(link: link, grid: storeGrid, layout: layout,
                                             robots: specs.map(\.serial), tasks: tasks)
            let report = try await controller.run()
            #expect(report.finished.sorted() == tasks.map(\.id))
            #expect(report.unfinished.isEmpty && report.requeued.isEmpty && report.faulted.isEmpty)
            #expect(Set(report.finishedBy.values).count > 1)
            let states = await link.recordedStates
            #expect(states.count < 200_000)
            // Some steps released a follower only after the robot ahead reported leaving.
            #expect(report.waves > report.steps)
            let conflicts = trajectoryConflicts(states)
            #expect(conflicts.isEmpty, "\(conflicts.prefix(5))")
            // What the robots reported is where they went (no cell missing from the reports).
            for r in robots {
                #expect(reportedPath(states, r.serialNumber) == dedup(await r.snapshot.visited))
            }
            #expect(await link.stats.malformed == 0)
        }
    }

    @Test func aCycleOfFollowersAndWhoeverFollowsIntoItAreHeldBackButAChainGoes() {
        // a→b→c→d→a around a 2×2 block; e follows into d's cell; g follows f into a free cell; h stays.
        let position = [0, 1, 3, 2, 5, 10, 9, 20]
        let target = [1, 3, 2, 0, 2, 11, 10, 20]
        #expect(FloorController.executableMoves(position: position, target: target)
                == [false, false, false, false, false, true, true, false])
        // Into the cell of a robot out of the plan (target -1): held back.
        #expect(FloorController.executableMoves(position: [0, 1], target: [1, -1]) == [false, false])
    }

    @Test func aStoreLayoutFromRegionsSitesWithSixRobots() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = root.appendingPathComponent("Regions/sites/mfc-central-2.site")
        let site = try SiteLayout.parse(String(contentsOf: file, encoding: .utf8), file: file.lastPathComponent)
        let shelves = site.features(.storage).map(\.access), picks = site.features(.pick).map(\.cell)
        #expect(!shelves.isEmpty && picks.count == 2)
        var rng = SplitMix64(seed: 3)
        let tasks = (0..<20).map { PickTask(id: $0, pickup: shelves[rng.below(shelves.count)], dropoff: picks[rng.below(picks.count)], release: 0) }
        let specs = (0..<6).map { RobotSpec(serial: "amr-\($0)", start: GridCell(x: 14 + $0, y: 1), stepMillis: 5) }
        let siteLayout = VDA5050Layout(mapId: site.site, cellSize: site.cellMetres)
        try await withStore(specs, grid: site.grid, vdaLayout: siteLayout) { link, robots in
            let controller = FloorController(link: link, site: site, robots: specs.map(\.serial), tasks: tasks)
            let report = try await controller.run()
            #expect(report.finished.sorted() == tasks.map(\.id))
            let states = await link.recordedStates
            let conflicts = trajectoryConflicts(states)
            #expect(conflicts.isEmpty, "\(conflicts.prefix(5))")
            for r in robots {
                #expect(reportedPath(states, r.serialNumber) == dedup(await r.snapshot.visited))
            }
        }
    }

    @Test func aRobotFaultedMidRunIsPlannedAroundAndItsTaskIsFinishedByAnother() async throws {
        let specs = Self.starts.enumerated().map { i, c in RobotSpec(serial: "amr-\(i)", start: c, stepMillis: 5) }
        try await withStore(specs) { link, robots in
            let tasks = pickTasks(20, seed: 11)
            let errandCells = Set(storage + stations)
            let controller = FloorController(link: link, grid: storeGrid, layout: layout,
                                             robots: specs.map(\.serial), tasks: tasks)
            let (report, victim, victimTask) = try await withThrowingTaskGroup(of: (FloorController.Report?, String?, Int?).self) { group in
                group.addTask { (try await controller.run(), nil, nil) }
                group.addTask {
                    // Once a few tasks are done, fault a busy robot that is moving, away from errand cells.
                    var chosen: (String, Int)?
                    let found = await eventually(within: .seconds(10)) {
                        guard await controller.finishedCount >= 3 else { return false }
                        for (serial, task) in await controller.busyRobots.sorted(by: { $0.key < $1.key }) {
                            guard let s = await link.state(of: serial), s.driving,
                                  let c = VDA5050Layout.cell(nodeId: s.lastNodeId), !errandCells.contains(c) else { continue }
                            let r = robots.first { $0.serialNumber == serial }!
                            await r.injectFault(description: "drive unit overheated")
                            chosen = (serial, task)
                            return true
                        }
                        return false
                    }
                    #expect(found)
                    return (nil, chosen?.0, chosen?.1)
                }
                var report: FloorController.Report?, victim: String?, task: Int?
                for try await (r, v, t) in group {
                    if let r { report = r }
                    if let v { victim = v; task = t }
                }
                return (report!, victim, task)
            }
            let v = try #require(victim)
            #expect(report.faulted == [v])
            #expect(report.finished.sorted() == tasks.map(\.id))
            #expect(report.unfinished.isEmpty)
            if let t = victimTask, report.requeued.contains(t) {
                #expect(report.finishedBy[t] != v)
            }
            #expect(!report.requeued.isEmpty)
            for t in report.requeued { #expect(report.finishedBy[t] != nil && report.finishedBy[t] != v) }
            let states = await link.recordedStates
            let conflicts = trajectoryConflicts(states)
            #expect(conflicts.isEmpty, "\(conflicts.prefix(5))")
            // The faulted robot stayed where it stopped; the others kept moving past the fault.
            let firstFatal = try #require(states.firstIndex { $0.serialNumber == v && $0.fatal })
            let stoppedAt = states[firstFatal...].first { $0.serialNumber == v && !$0.driving }!.lastNodeId
            #expect(states[firstFatal...].filter { $0.serialNumber == v }.allSatisfy { $0.lastNodeId == stoppedAt || $0.driving })
            let movedAfter = Set(states[firstFatal...].filter { $0.serialNumber != v && $0.driving }.map(\.serialNumber))
            #expect(movedAfter.count >= 2)
        }
    }
}
