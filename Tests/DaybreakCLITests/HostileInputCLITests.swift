import Foundation
import Testing

/// Hostile files and arguments, each found by trying (issue 10): the built binary must refuse
/// them with the exit status of the contract (65 bad data, 64 bad command line, 66 an output it
/// cannot write), name what was wrong and where, and write nothing — never trap.
@Suite struct HostileInputCLITests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func repo(_ path: String) -> String { repository.appendingPathComponent(path).path }

    /// A fresh directory for one test's files.
    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("daybreak-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func write(_ text: String, _ name: String, in dir: URL) throws -> String {
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    // MARK: - solve

    static func solomon(customer row: String) -> String {
        "HOSTILE\n\nVEHICLE\nNUMBER     CAPACITY\n  2         200\n\nCUSTOMER\n"
            + "CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME\n\n"
            + "    0      40         50          0          0       1236          0\n"
            + row + "\n"
            + "    2      45         70         30        100        870         90\n"
    }

    @Test(arguments: [
        // (file name, text, "file:line: fragment") — each used to trap (SIGILL) or to allocate gigabytes.
        ("coordinate.txt", solomon(customer: "    1      1e308      68         10        912        967         90"),
         ":11: field 2 (X): 1e308 is beyond the reader's limit of ±1000000"),
        ("due.txt", solomon(customer: "    1      45         68         10        912        9223372036854775808         90"),
         ":11: field 6 (DUE): 9223372036854775808 is beyond the reader's limit of ±1000000000"),
        ("demand.txt", solomon(customer: "    1      45         68         99999999999999         912        967         90"),
         ":11: field 4 (DEMAND)"),
        ("dimension.vrp", "NAME : big\nTYPE : CVRP\nDIMENSION : 30000\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 5\nNODE_COORD_SECTION\n1 0 0\n2 3 4\nDEMAND_SECTION\n1 0\n2 1\nEOF\n",
         ":3: DIMENSION 30000: 30000 nodes need a 30000×30000 matrix of 8-byte entries (7.2 GB), more than the solver's limit of 2.1 GB"),
        ("weight.vrp", "NAME : w\nDIMENSION : 2\nEDGE_WEIGHT_TYPE : EXPLICIT\nCAPACITY : 5\nEDGE_WEIGHT_SECTION\n0 4000000000000\n1 0\nDEMAND_SECTION\n1 0\n2 1\nEOF\n",
         ":6: field 2 (EDGE_WEIGHT): 4000000000000 is beyond"),
        ("service.vrp", "NAME : s\nDIMENSION : 2\nCAPACITY : 5\nNODE_COORD_SECTION\n1 0 0\n2 3 4\nDEMAND_SECTION\n1 0\n2 1\nSERVICE_TIME_SECTION\n1 0\n2 1e20\nEOF\n",
         ":12: field 2 (SERVICE_TIME_SECTION SERVICE): 1e20 is beyond"),
    ])
    func solveRefusesNumbersBeyondTheLimitsWith65NamingFileLineAndField(_ name: String, _ text: String, _ fragment: String) throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.write(text, name, in: dir)
        let out = dir.appendingPathComponent("solution.txt").path
        let r = try CLIProcess.run(["solve", path, "--time-limit", "0", "--solution", out])
        #expect(r.status == 65, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("daybreak solve: \(path)\(fragment)"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: out), "no solution is written for a refused instance")
    }

    @Test func solveRefusesAFileLargerThanTheReadersLimitBeforeReadingIt() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("huge.vrp").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data("NAME : huge\n".utf8)))
        let h = try #require(FileHandle(forWritingAtPath: path))
        try h.truncate(atOffset: UInt64(64 << 20) + 1)   // sparse: 64 MiB + 1 byte, nothing written to disk
        try h.close()
        let r = try CLIProcess.run(["solve", path, "--time-limit", "0"])
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("instance \(path): 67108865 bytes is more than the readers' limit of 67108864 bytes (64 MiB)"), "\(r.stderr)")
    }

    @Test(arguments: ["C101.txt", "R101.txt", "RC201.txt", "lc101.txt", "tiny-euc.vrp", "tiny-explicit.vrp"])
    func theShippedFixturesStillSolve(_ name: String) throws {
        let r = try CLIProcess.run(["solve", Self.repo("Tests/RoutingTests/Fixtures/\(name)"), "--time-limit", "0", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"feasible\":true"), "\(r.stdout.suffix(300))")
    }

    @Test func solveWarmStartRepairsAnInfeasibleStartAndRefusesABadFile() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let instance = Self.repo("Tests/RoutingTests/Fixtures/R101.txt")
        // Thirty customers on one route: late and over capacity; the repair drops them and the search re-places them.
        let bad = try Self.write("Route #1: " + (1...30).map(String.init).joined(separator: " ") + "\nCost 1\n", "bad.sol", in: dir)
        let r = try CLIProcess.run(["solve", instance, "--time-limit", "0.5", "--threads", "2", "--initial", bad, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("initial solution: route #1: customer "), "\(r.stderr)")
        #expect(r.stdout.contains("\"feasible\":true"), "\(r.stdout.suffix(300))")
        // A customer the file does not have: refused with 65, naming file and line.
        let unknown = try Self.write("Route #1: 1 2 999\nCost 1\n", "unknown.sol", in: dir)
        let u = try CLIProcess.run(["solve", instance, "--time-limit", "0", "--initial", unknown])
        #expect(u.status == 65, "\(u.stderr)")
        #expect(u.stderr.contains("unknown.sol:1"), "\(u.stderr)")
        #expect(u.stderr.contains("999"), "\(u.stderr)")
    }

    // MARK: - regions files: one validation for every command

    static func regionsFile(_ regions: [String]) -> String {
        """
        {"version": 1, "city": {"id": "x", "name": "X", "timeZone": "Asia/Seoul"}, "hubs": [],
         "regions": [\(regions.joined(separator: ",\n"))]}
        """
    }

    static func region(_ id: String, _ ring: String, district: String) -> String {
        """
        {"id": "\(id)", "name": "R", "polygon": \(ring), "districts": [{"id": "\(district)", "name": "D", "centroid": {"lat": 37.55, "lon": 126.95}}], "stores": []}
        """
    }

    static let square = #"[{"lat": 37.5, "lon": 126.9}, {"lat": 37.6, "lon": 126.9}, {"lat": 37.6, "lon": 127.0}, {"lat": 37.5, "lon": 127.0}]"#
    static let bowtie = #"[{"lat": 37.5, "lon": 126.9}, {"lat": 37.6, "lon": 127.0}, {"lat": 37.6, "lon": 126.9}, {"lat": 37.5, "lon": 127.0}]"#
    static let longID = String(repeating: "g", count: 300)

    /// (file, what stderr must name): each refused by every command that reads a regions file.
    static let hostileRegions: [(String, String, String)] = [
        ("self-intersecting.json", regionsFile([region("bow", bowtie, district: "d1")]), "edge 0 crosses edge 2"),
        ("identical.json", regionsFile([region("a", square, district: "d1"), region("b", square, district: "d2")]), "regions a and b"),
        ("duplicate.json", regionsFile([region("a", square, district: "d1"), region("a", square, district: "d2")]), "region a"),
        ("long-id.json", regionsFile([region(longID, square, district: "d1")]), "the limit is 255 bytes"),
    ]

    /// The commands that read a regions file, each with options that make it read `path` (and
    /// nothing it would reach before the file: an unreachable database for node).
    static func commands(regions path: String, dir: URL) -> [[String]] {
        let ops = repo("Regions/seoul-operations.json"), demand = repo("Regions/seoul-demand.json")
        return [
            ["node", "--id", "n1", "--listen", "tcp://127.0.0.1:*", "--regions", path, "--operations", "none",
             "--database", "host=/nonexistent-daybreak-socket-dir port=1"],
            ["up", "--regions", path, "--data", dir.appendingPathComponent("up").path],
            ["simulate", "--regions", path, "--operations", ops, "--demand", demand, "--orders", "10"],
            ["demo", "--regions", path, "--operations", ops, "--demand", demand, "--orders", "10"],
            ["bench", "dawn-wave", "--regions", path, "--operations", ops, "--demand", demand, "--orders", "10"],
            ["bench", "failover", "--regions", path, "--runs", "1"] + nowhere,
        ]
    }

    @Test(arguments: 0 ..< hostileRegions.count)
    func everyCommandRefusesTheSameRegionsFileWith65NamingFileAndItem(_ index: Int) throws {
        let (name, text, item) = Self.hostileRegions[index]
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.write(text, name, in: dir)
        for args in Self.commands(regions: path, dir: dir) {
            let r = try CLIProcess.run(args)
            #expect(r.status == 65, "\(args[0]): \(r.status) \(r.stderr.suffix(500))")
            #expect(r.stderr.contains(path), "\(args[0]) names the file: \(r.stderr.suffix(500))")
            #expect(r.stderr.contains(item), "\(args[0]) names the item: \(r.stderr.suffix(500))")
            #expect(r.stdout.isEmpty, "\(args[0]): \(r.stdout.prefix(300))")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("up").path), "up created nothing")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == [name])
    }

    @Test func theShippedRegionsFileStillLoadsEverywhere() throws {
        // node gets past the file to the (unreachable) database: 69, not 65.
        let r = try CLIProcess.run(["node", "--id", "n1", "--listen", "tcp://127.0.0.1:*", "--regions", Self.repo("Regions/seoul.json"),
                                    "--operations", "none", "--insecure", "--database", "host=/nonexistent-daybreak-socket-dir port=1"])
        #expect(r.status == 69, "\(r.stderr)")
    }

    // MARK: - ctl

    static let nowhere = ["--database", "host=/nonexistent-daybreak-socket-dir port=1"]

    @Test(arguments: [
        (["gang\u{1B}[31mnam", "orders"], "REGION contains a control or other non-printable character: 'gang\\u{1B}[31mnam'"),
        (["gangnam", "hold", "o\u{7}1"], "hold: ORDER contains a control or other non-printable character: 'o\\u{7}1'"),
        (["gangnam", "assign", "o1", "vehicle:v\u{1}1"], "COURIER id contains a control or other non-printable character: 'v\\u{1}1'"),
        (["gangnam", "lock", "rider:r\u{202E}1"], "COURIER id contains a control or other non-printable character: 'r\\u{202E}1'"),
        (["gangnam", "hold", "o1", "--key", "k\n1"], "--key contains a control or other non-printable character: 'k\\n1'"),
        ([String(repeating: "r", count: 256), "orders"], "REGION is 256 bytes long; the limit is 255 bytes"),
    ])
    func ctlRefusesNonPrintableOrOverlongIDsEscaped(_ args: [String], _ message: String) throws {
        let r = try CLIProcess.run(["ctl", "dispatch"] + args + Self.nowhere)
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
        for raw in ["\u{1B}", "\u{7}", "\u{1}", "\u{202E}"] { #expect(!r.stderr.contains(raw), "stderr carries a raw \(raw.unicodeScalars.first!.value)") }
        #expect(r.stdout.isEmpty)
    }

    @Test func ctlCallRefusesAControlCharacterInTheActor() throws {
        let r = try CLIProcess.run(["ctl", "call", "--actor", "counter/x@gang\u{1B}nam", "--command", "state"] + Self.nowhere)
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains("--actor REGION contains a control or other non-printable character: 'gang\\u{1B}nam'"), "\(r.stderr)")
    }

    @Test(arguments: ["-1", "253402300800", "99999999999999999999", "-99999999999999999999"])
    func ctlRefusesAnAtOutOfRange(_ at: String) throws {
        let r = try CLIProcess.run(["ctl", "dispatch", "gangnam", "hold", "o1", "--at", at] + Self.nowhere)
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains("--at '\(at)' is out of range: expected 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z"), "\(r.stderr)")
    }

    @Test func theEdgesOfTheAtRangeAreAccepted() throws {
        // Accepted, so the command goes on to the (unreachable) cluster: 69.
        for at in ["0", "253402300799", "9999-12-31T23:59:59Z"] {
            let r = try CLIProcess.run(["ctl", "dispatch", "gangnam", "hold", "o1", "--at", at, "--timeout-ms", "500"] + Self.nowhere)
            #expect(r.status == 69, "\(at): \(r.stderr)")
        }
    }

    // MARK: - repeated options, for every command (the argument layer)

    @Test(arguments: [
        (["solve", "x.txt", "--seed", "1", "--seed", "2"], "--seed"),
        (["simulate", "--seed", "1", "--seed=2"], "--seed"),
        (["ctl", "dispatch", "gangnam", "orders", "--json", "--json"], "--json"),
        (["node", "--id", "n1", "--id", "n2", "--listen", "tcp://127.0.0.1:*", "--regions", "r.json"], "--id"),
        (["bench", "routing", "--seed", "1", "--seed", "1"], "--seed"),
    ])
    func anOptionGivenTwiceIsRefusedWith64NamingIt(_ args: [String], _ option: String) throws {
        let r = try CLIProcess.run(args)
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains("option '\(option)' is given more than once"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    // MARK: - simulate --report

    @Test func simulateRefusesAReportDirectoryItCannotCreateBeforeRunningTheDay() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try Self.write("not a directory", "occupied", in: dir)
        for report in [file, file + "/report"] {
            let r = try CLIProcess.run(["simulate", "--orders", "50", "--report", report])
            #expect(r.status == 66, "\(r.stderr)")
            #expect(r.stderr.contains("daybreak simulate: --report \(report): "), "\(r.stderr)")
            #expect(r.stderr.contains("not a directory"), "\(r.stderr)")
            #expect(r.stdout.isEmpty, "the day did not run")
            #expect(!r.stderr.contains("orders for"), "the day did not run")
        }
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "not a directory")
    }

    // MARK: - node ids

    @Test(arguments: [
        (String(repeating: "n", count: 256), "--id is 256 bytes long; the limit is 255 bytes"),
        ("n\u{1B}1", "--id contains a control or other non-printable character: 'n\\u{1B}1'"),
    ])
    func nodeRefusesAnIDTheDatabaseWouldRefuseBeforeReachingIt(_ id: String, _ message: String) throws {
        // The database is unreachable: 64 (not 69) shows the id is refused before any connection.
        let r = try CLIProcess.run(["node", "--id", id, "--listen", "tcp://127.0.0.1:*", "--regions", Self.repo("Regions/seoul.json"),
                                    "--operations", "none"] + Self.nowhere)
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(!r.stderr.contains("\u{1B}"))
    }
}
