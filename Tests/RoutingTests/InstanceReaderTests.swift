import Testing
@testable import Routing

import Foundation

@Suite struct InstanceReaderTests {
    @Test func solomonC101HasTheDepotAndHundredCustomersWithKnownValues() throws {
        let c = try Fixture.instance("C101.txt")
        #expect(c.format == .solomon)
        #expect(c.name == "C101")
        #expect(c.nodes.count == 101)
        #expect(c.vehicleCount == 25)
        #expect(c.capacity == 200)
        #expect(c.nodes[0] == .init(fileID: 0, x: 40, y: 50, demand: 0, ready: 0, due: 1236, service: 0))
        #expect(c.nodes[1] == .init(fileID: 1, x: 45, y: 68, demand: 10, ready: 912, due: 967, service: 90))
        #expect(c.nodes[100].fileID == 100)
        #expect(c.nodes.map(\.demand).reduce(0, +) == 1810)
        #expect(c.explicitMatrix == nil)
    }

    @Test func solomonR101AndRC201ReadWithTheirCapacities() throws {
        let r = try Fixture.instance("R101.txt")
        #expect(r.capacity == 200 && r.nodes.count == 101)
        #expect(r.nodes[0].x == 35 && r.nodes[0].due == 230)
        #expect(r.nodes[1] == .init(fileID: 1, x: 41, y: 49, demand: 10, ready: 161, due: 171, service: 10))
        #expect(r.nodes[100] == .init(fileID: 100, x: 18, y: 18, demand: 17, ready: 185, due: 195, service: 10))
        let rc = try Fixture.instance("RC201.txt")
        #expect(rc.name == "RC201" && rc.capacity == 1000 && rc.nodes.count == 101 && rc.vehicleCount == 25)
    }

    @Test func liLimLc101ResolvesSiblingsToNodeIndices() throws {
        let l = try Fixture.instance("lc101.txt")
        #expect(l.format == .lilim)
        #expect(l.name == "lc101")
        #expect(l.nodes.count == 107)
        #expect(l.vehicleCount == 25 && l.capacity == 200)
        // Task 1 is the delivery of pickup 11; task 11 picks up for 1.
        #expect(l.nodes[1].demand == -10 && l.nodes[1].pickupIndex == 11 && l.nodes[1].deliveryIndex == nil)
        #expect(l.nodes[11].demand == 10 && l.nodes[11].deliveryIndex == 1 && l.nodes[11].pickupIndex == nil)
        // Every customer is exactly one half of a pair, and the pairs point at each other.
        for (i, n) in l.nodes.enumerated().dropFirst() {
            #expect((n.pickupIndex == nil) != (n.deliveryIndex == nil))
            if let d = n.deliveryIndex { #expect(l.nodes[d].pickupIndex == i && n.demand == -l.nodes[d].demand) }
        }
        #expect(l.nodes.count { $0.deliveryIndex != nil } == 53)
    }

    @Test func vrplibExplicitMatrixKeepsTheMatrixAndMakesNodeOneTheDepot() throws {
        let v = try Fixture.instance("tiny-explicit.vrp")
        #expect(v.format == .vrplib && v.name == "tiny-explicit")
        #expect(v.nodes.count == 5 && v.capacity == 10 && v.vehicleCount == 3)
        #expect(v.explicitMatrix?[0] == [0, 10, 20, 30, 40])
        #expect(v.explicitMatrix?[1][0] == 12)
        #expect(v.explicitMatrix?[4][3] == 16)
        #expect(v.nodes[0] == .init(fileID: 1, x: 0, y: 0, demand: 0, ready: 0, due: 200, service: 0))
        #expect(v.nodes[4] == .init(fileID: 5, x: 40, y: 0, demand: 2, ready: 60, due: 120, service: 5))
    }

    @Test func vrplibEuclideanWithoutWindowsGetsAHorizonNoRouteCanExceed() throws {
        let v = try Fixture.instance("tiny-euc.vrp")
        #expect(v.nodes.count == 4 && v.explicitMatrix == nil && v.vehicleCount == nil)
        #expect(v.nodes[3].x == -3 && v.nodes[3].demand == 4)
        #expect(v.nodes.allSatisfy { $0.ready == 0 && $0.due >= 40 && $0.due == v.nodes[0].due })
    }

    @Test func theOrtecSampleReadsWhenTheSharedDataIsPresent() throws {
        // Not shipped (CC BY-NC); read from ../shared when this checkout sits beside it.
        let path = "/work/shared/benchmarks/ortec/ORTEC-VRPTW-ASYM-0bdff870-d1-n458-k35.txt"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let v = try InstanceFile.parse(text, file: path)
        #expect(v.format == .vrplib && v.nodes.count == 459 && v.capacity == 135 && v.vehicleCount == 35)
        #expect(v.explicitMatrix?.count == 459 && v.explicitMatrix?[0][1] == 2520 && v.explicitMatrix?[1][0] == 2475)
        #expect(v.nodes[0].due == 45000 && v.nodes[1].ready == 5400 && v.nodes[1].service == 540 && v.nodes[1].demand == 7)
    }

    @Test func formatDetectionRecognisesEachLayout() throws {
        #expect(try InstanceFile.detectFormat(Fixture.text("C101.txt"), file: "a") == .solomon)
        #expect(try InstanceFile.detectFormat(Fixture.text("lc101.txt"), file: "a") == .lilim)
        #expect(try InstanceFile.detectFormat(Fixture.text("tiny-explicit.vrp"), file: "a") == .vrplib)
        #expect(try InstanceFile.detectFormat(Fixture.text("tiny-euc.vrp"), file: "a") == .vrplib)
        #expect(throws: InstanceError.self) { try InstanceFile.detectFormat("hello world\nfoo\n", file: "a") }
    }

    @Test func lineEndingsDoNotMatter() throws {
        let crlf = try Fixture.text("C101.txt")
        #expect(crlf.contains("\r\n"))
        let lf = crlf.replacingOccurrences(of: "\r\n", with: "\n")
        #expect(try InstanceFile.parse(crlf, file: "a") == InstanceFile.parse(lf, file: "a"))
    }

    @Test func everySharedBenchmarkFileParsesWithItsStatedSize() throws {
        // Runs only beside ../shared (the data is not shipped): 56 Solomon, 120 Gehring–Homberger, 116 Li & Lim.
        let root = "/work/shared/benchmarks/"
        let fm = FileManager.default
        for (folder, expected) in [("solomon", 56), ("homberger", 120), ("lilim", 116)] {
            guard let files = try? fm.contentsOfDirectory(atPath: root + folder) else { continue }
            #expect(files.count { $0.hasSuffix(".txt") } == expected, "\(folder)")
            for f in files where f.hasSuffix(".txt") {
                let text = try String(contentsOfFile: root + folder + "/" + f, encoding: .utf8)
                let inst = try InstanceFile.parse(text, file: f)
                switch folder {
                case "solomon": #expect(inst.format == .solomon && inst.nodes.count == 101, "\(f)")
                case "homberger":
                    #expect(inst.format == .solomon, "\(f)")
                    #expect(inst.nodes.count == (f.contains("_2_") ? 201 : 401), "\(f)")
                default:
                    #expect(inst.format == .lilim, "\(f)")
                    #expect(inst.nodes.dropFirst().allSatisfy { ($0.pickupIndex == nil) != ($0.deliveryIndex == nil) }, "\(f)")
                }
            }
        }
    }

    @Test func vrplibSectionNamesMayCarryAColon() throws {
        let text = try Fixture.text("tiny-euc.vrp").replacingOccurrences(of: "DEMAND_SECTION", with: "DEMAND_SECTION :")
        #expect(try InstanceFile.parse(text, file: "x") == Fixture.instance("tiny-euc.vrp").with { $0.name = "tiny-euc" })
    }

    @Test func bytesMustBeUTF8() throws {
        let good = try InstanceFile.parse(bytes: Array(Fixture.text("lc101.txt").utf8), file: "lc101.txt")
        #expect(good.nodes.count == 107)
        #expect(throws: InstanceError.self) { try InstanceFile.parse(bytes: [0x31, 0xFF, 0xFE, 0x0A], file: "b") }
    }

    @Test func stemDropsDirectoriesAndExtension() {
        #expect(InstanceFile.stem(of: "/a/b/lc101.txt") == "lc101")
        #expect(InstanceFile.stem(of: "x.y.vrp") == "x.y")
        #expect(InstanceFile.stem(of: "plain") == "plain")
    }
}

extension InstanceFile {
    func with(_ f: (inout InstanceFile) -> Void) -> InstanceFile { var c = self; f(&c); return c }
}
