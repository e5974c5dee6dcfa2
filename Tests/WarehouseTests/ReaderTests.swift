import Testing
@testable import Warehouse

@Suite struct ReaderTests {
    let map3x4 = "type octile\nheight 3\nwidth 4\nmap\n..@.\nE.TS\n@...\n"

    func refusal(_ body: () throws -> Void) -> WarehouseFileError? {
        do { try body(); return nil } catch let e as WarehouseFileError { return e } catch {
            Issue.record("unexpected \(error)"); return nil
        }
    }

    @Test func mapReadsPassableEmitterServiceAndObstacleCells() throws {
        let g = try MovingAIMap.parse(map3x4, file: "m.map")
        #expect(g.width == 4 && g.height == 3)
        #expect(g.freeCellCount == 9)
        #expect(!g.isFree(GridCell(x: 2, y: 0)) && !g.isFree(GridCell(x: 2, y: 1)) && !g.isFree(GridCell(x: 0, y: 2)))
        #expect(g.isFree(GridCell(x: 0, y: 1)) && g.isFree(GridCell(x: 3, y: 1)))
        // CRLF line ends and width before height are fine too.
        let crlf = "type octile\r\nwidth 4\r\nheight 3\r\nmap\r\n..@.\r\nE.TS\r\n@...\r\n"
        #expect(try MovingAIMap.parse(crlf, file: "m.map") == g)
    }

    @Test func fixtureMapIsTheLeaguesSmallWarehouse() throws {
        let g = try MovingAIMap.parse(try TestFloor.fixture("warehouse_small.map"), file: "warehouse_small.map")
        #expect(g.width == 57 && g.height == 33)
        #expect(g.freeCellCount == 1_277)   // 895 '.', 40 'E', 342 'S'
    }

    @Test func mapWithoutAFreeCellIsRefused() {
        let e = refusal { _ = try MovingAIMap.parse("type octile\nheight 1\nwidth 2\nmap\n@T\n", file: "walls.map") }
        #expect(e == .noFreeCell(file: "walls.map"))
        #expect(e?.description == "walls.map: the map has no passable cell")
    }

    @Test func mapRowOfTheWrongWidthIsRefusedWithItsLine() {
        let e = refusal { _ = try MovingAIMap.parse("type octile\nheight 2\nwidth 3\nmap\n...\n....\n", file: "w.map") }
        #expect(e == .rowWidth(file: "w.map", line: 6, expected: 3, found: 4))
        #expect(e?.description.hasPrefix("w.map:6:") == true)
    }

    @Test func mapWithTooFewRowsOrAnUnknownCharacterIsRefused() {
        #expect(refusal { _ = try MovingAIMap.parse("type octile\nheight 3\nwidth 2\nmap\n..\n..\n", file: "h.map") }
                == .rowCount(file: "h.map", expected: 3, found: 2))
        #expect(refusal { _ = try MovingAIMap.parse("type octile\nheight 1\nwidth 3\nmap\n.x.\n", file: "c.map") }
                == .character(file: "c.map", line: 5, column: 2, found: "x"))
    }

    @Test func mapWithAMalformedHeaderIsRefused() {
        #expect(refusal { _ = try MovingAIMap.parse("type grid\nheight 1\nwidth 1\nmap\n.\n", file: "t.map") }
                == .header(file: "t.map", line: 1, expected: "'type octile'", found: "type grid"))
        let e = refusal { _ = try MovingAIMap.parse("type octile\nheight one\nwidth 1\nmap\n.\n", file: "t.map") }
        guard case .header(_, 2, _, "height one")? = e else { Issue.record("got \(String(describing: e))"); return }
        let m = refusal { _ = try MovingAIMap.parse("type octile\nheight 1\nwidth 1\nmaps\n.\n", file: "t.map") }
        guard case .header(_, 4, "'map'", _)? = m else { Issue.record("got \(String(describing: m))"); return }
        #expect(refusal { _ = try MovingAIMap.parse("", file: "e.map") } != nil)
    }

    func scen(_ lines: [String]) -> String {
        "version 1\n" + lines.map { "0\tm.map\t4\t3\t\($0)\t1.0" }.joined(separator: "\n") + "\n"
    }

    @Test func scenarioReadsStartsAndGoals() throws {
        let g = try MovingAIMap.parse(map3x4, file: "m.map")
        let s = try MovingAIScenario.parse(scen(["0\t0\t3\t2", "1\t0\t0\t1"]), file: "m.scen", grid: g)
        #expect(s.map(\.start) == [GridCell(x: 0, y: 0), GridCell(x: 1, y: 0)])
        #expect(s.map(\.goal) == [GridCell(x: 3, y: 2), GridCell(x: 0, y: 1)])
        let p = try MovingAIScenario.problem(s, agents: 2, grid: g, file: "m.scen")
        #expect(p.starts == [0, 1] && p.goals == [11, 4])
    }

    @Test func scenarioStartOnAnObstacleIsRefused() throws {
        let g = try MovingAIMap.parse(map3x4, file: "m.map")
        let e = refusal { _ = try MovingAIScenario.parse(scen(["0\t0\t1\t1", "2\t0\t0\t0"]), file: "s.scen", grid: g) }
        #expect(e == .blocked(file: "s.scen", line: 3, what: "start", cell: GridCell(x: 2, y: 0)))
        #expect(e?.description == "s.scen:3: start (2,0) is on an obstacle")
    }

    @Test func scenarioUnreachableGoalIsRefused() throws {
        let g = try MovingAIMap.parse("type octile\nheight 1\nwidth 3\nmap\n.@.\n", file: "split.map")
        let text = "version 1\n0\tsplit.map\t3\t1\t0\t0\t2\t0\t2\n"
        #expect(refusal { _ = try MovingAIScenario.parse(text, file: "u.scen", grid: g) }
                == .unreachable(file: "u.scen", line: 2, from: GridCell(x: 0, y: 0), to: GridCell(x: 2, y: 0)))
    }

    @Test func scenarioWithABadHeaderFieldsOrSizeIsRefused() throws {
        let g = try MovingAIMap.parse(map3x4, file: "m.map")
        #expect(refusal { _ = try MovingAIScenario.parse("versio 1\n", file: "h.scen", grid: g) }
                == .header(file: "h.scen", line: 1, expected: "'version 1'", found: "versio 1"))
        let f = refusal { _ = try MovingAIScenario.parse("version 1\n0\tm.map\t4\t3\t0\t0\n", file: "f.scen", grid: g) }
        guard case .field(_, 2, _, _)? = f else { Issue.record("got \(String(describing: f))"); return }
        let size = refusal { _ = try MovingAIScenario.parse("version 1\n0\tm.map\t5\t3\t0\t0\t1\t0\t1\n", file: "z.scen", grid: g) }
        guard case .field(_, 2, "map size 4 3", "5 3")? = size else { Issue.record("got \(String(describing: size))"); return }
        #expect(refusal { _ = try MovingAIScenario.parse(scen(["9\t0\t0\t0"]), file: "o.scen", grid: g) }
                == .outsideMap(file: "o.scen", line: 2, what: "start", cell: "(9,0)"))
    }

    @Test func scenarioSharedGoalsAndTooFewLinesAreRefused() throws {
        let g = try MovingAIMap.parse(map3x4, file: "m.map")
        let s = try MovingAIScenario.parse(scen(["0\t0\t3\t2", "1\t0\t3\t2"]), file: "d.scen", grid: g)
        #expect(refusal { _ = try MovingAIScenario.problem(s, agents: 2, grid: g, file: "d.scen") }
                == .duplicate(file: "d.scen", line: 3, what: "goal", cell: GridCell(x: 3, y: 2), firstLine: 2))
        #expect(refusal { _ = try MovingAIScenario.problem(s, agents: 3, grid: g, file: "d.scen") }
                == .count(file: "d.scen", line: 3, what: "scenario lines for 3 agents", expected: 3, found: 2))
    }

    @Test func robotRunnersInstancesOf2023And2024Read() throws {
        let i24 = try RobotRunnersInstance.parse("""
            {"mapFile": "maps/w.map", "agentFile": "agents/a.agents", "teamSize": 10000,
             "taskFile": "tasks/t.tasks", "numTasksReveal": 1.5, "version": "2024 LoRR"}
            """, file: "W.json")
        #expect(i24.teamSize == 10_000 && i24.poolSize == 15_000 && i24.version == "2024 LoRR" && i24.mapFile == "maps/w.map")
        let i23 = try RobotRunnersInstance.parse("""
            {"mapFile": "m.map", "agentFile": "a", "teamSize": 100, "taskFile": "t", "numTasksReveal": 1,
             "taskAssignmentStrategy": "roundrobin"}
            """, file: "E.json")
        #expect(i23.poolSize == 100 && i23.version == nil)
    }

    @Test func robotRunnersInstanceWithoutAFieldOrNotJSONIsRefused() {
        #expect(refusal { _ = try RobotRunnersInstance.parse(#"{"mapFile": "m", "agentFile": "a", "taskFile": "t"}"#, file: "x.json") }
                == .json(file: "x.json", message: "\"teamSize\" must be a positive integer"))
        #expect(refusal { _ = try RobotRunnersInstance.parse(#"{"agentFile": "a", "taskFile": "t", "teamSize": 2}"#, file: "x.json") }
                == .json(file: "x.json", message: "missing or empty string field \"mapFile\""))
        let e = refusal { _ = try RobotRunnersInstance.parse("{mapFile: 1}", file: "bad.json") }
        guard case .json("bad.json", let m)? = e, m.contains("invalid JSON") else { Issue.record("got \(String(describing: e))"); return }
    }

    @Test func agentsAndTasksReadBothYearsFormats() throws {
        let g = try MovingAIMap.parse(map3x4, file: "m.map")
        #expect(try RobotRunnersFiles.agents("# version for LoRR 2024\n2\n0\n11\n", file: "a", grid: g) == [0, 11])
        #expect(try RobotRunnersFiles.tasks("# version for LoRR 2024\n2\n4,7\n1,9,10\n", file: "t", grid: g) == [[4, 7], [1, 9, 10]])
        #expect(try RobotRunnersFiles.tasks("3\n4\n7\n1\n", file: "t", grid: g) == [[4], [7], [1]])
    }

    @Test func taskForAnUnknownOutOfRangeOrBlockedCellIsRefused() throws {
        let g = try MovingAIMap.parse(map3x4, file: "m.map")
        #expect(refusal { _ = try RobotRunnersFiles.tasks("2\n4,7\n1,99\n", file: "t.tasks", grid: g) }
                == .outsideMap(file: "t.tasks", line: 3, what: "errand", cell: "99"))
        #expect(refusal { _ = try RobotRunnersFiles.tasks("1\n2\n", file: "t.tasks", grid: g) }
                == .blocked(file: "t.tasks", line: 2, what: "errand", cell: GridCell(x: 2, y: 0)))
        #expect(refusal { _ = try RobotRunnersFiles.tasks("1\n4,x\n", file: "t.tasks", grid: g) }
                == .field(file: "t.tasks", line: 2, what: "a cell number (row * width + column)", found: "x"))
        #expect(refusal { _ = try RobotRunnersFiles.tasks("1\n-1\n", file: "t.tasks", grid: g) }
                == .outsideMap(file: "t.tasks", line: 2, what: "errand", cell: "-1"))
    }

    @Test func agentsFileWithAWrongCountBlockedOrSharedStartIsRefused() throws {
        let g = try MovingAIMap.parse(map3x4, file: "m.map")
        #expect(refusal { _ = try RobotRunnersFiles.agents("3\n0\n1\n", file: "a", grid: g) }
                == .count(file: "a", line: 1, what: "agent lines after the count", expected: 3, found: 2))
        #expect(refusal { _ = try RobotRunnersFiles.agents("1\n8\n", file: "a", grid: g) }
                == .blocked(file: "a", line: 2, what: "start", cell: GridCell(x: 0, y: 2)))
        #expect(refusal { _ = try RobotRunnersFiles.agents("2\n1\n1\n", file: "a", grid: g) }
                == .duplicate(file: "a", line: 3, what: "start", cell: GridCell(x: 1, y: 0), firstLine: 2))
        #expect(refusal { _ = try RobotRunnersFiles.agents("many\n1\n", file: "a", grid: g) }
                == .header(file: "a", line: 1, expected: "the number of agents (a positive integer)", found: "many"))
    }
}
