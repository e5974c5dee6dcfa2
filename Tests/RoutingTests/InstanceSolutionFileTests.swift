import Foundation
import Testing
@testable import Routing

@Suite struct InstanceSolutionFileTests {
    @Test func solomonSolutionWritesCustomerNumbersAndRoundTrips() throws {
        let c = try Fixture.instance("C101.txt")
        let s = SolutionFile(routes: [[5, 3, 7], [], [1, 2]], cost: 827.30000000001)
        let text = s.render(for: c)
        #expect(text == "Route #1: 5 3 7\nRoute #2: 1 2\nCost 827.3\n")
        let back = try SolutionFile.parse(text, file: "sol", for: c)
        #expect(back == SolutionFile(routes: [[5, 3, 7], [1, 2]], cost: 827.3))
    }

    @Test func vrplibSolutionCountsFromZeroAtTheDepot() throws {
        let v = try Fixture.instance("tiny-explicit.vrp")
        // Node index 1 is file node 2, written as 1 in the CVRPLIB convention.
        let text = SolutionFile(routes: [[1, 2], [4, 3]], cost: 97).render(for: v, decimals: 0)
        #expect(text == "Route #1: 1 2\nRoute #2: 4 3\nCost 97\n")
        #expect(try SolutionFile.parse(text, file: "sol", for: v).routes == [[1, 2], [4, 3]])
    }

    @Test func liLimSolutionUsesTaskIdsWhichMapBackToIndices() throws {
        let l = try Fixture.instance("lc101.txt")
        let routes = [[11, 1], Array(2...10), Array(12...106)]
        let text = SolutionFile(routes: routes, cost: 1234.5678).render(for: l, decimals: 2)
        #expect(text.hasSuffix("Cost 1234.57\n"))
        #expect(try SolutionFile.parse(text, file: "sol", for: l).routes == routes)
    }

    @Test func solutionParsingNamesTheBadLine() throws {
        let c = try Fixture.instance("C101.txt")
        #expect(throws: InstanceError(.badReference, file: "s", line: 2, "customer 101 is not a customer of C101")) {
            try SolutionFile.parse("Route #1: 1 2\nRoute #2: 101\nCost 1\n", file: "s", for: c)
        }
        #expect(throws: InstanceError(.badReference, file: "s", line: 1, "customer 0 is not a customer of C101")) {
            try SolutionFile.parse("Route #1: 0 2\nCost 1\n", file: "s", for: c)
        }
        #expect(throws: InstanceError(.missingSection, file: "s", line: nil, "missing the 'Cost X' line")) {
            try SolutionFile.parse("Route #1: 1 2\n", file: "s", for: c)
        }
        #expect(throws: InstanceError.self) { try SolutionFile.parse("Route 1 2\nCost 3\n", file: "s", for: c) }
        #expect(throws: InstanceError.self) { try SolutionFile.parse("Route #1: 1 x\nCost 3\n", file: "s", for: c) }
    }

    @Test func fixedFormattingRoundsHalfAwayFromZero() {
        #expect(formatFixed(827.3, decimals: 1) == "827.3")
        #expect(formatFixed(0.05, decimals: 1) == "0.1")
        #expect(formatFixed(-1.25, decimals: 1) == "-1.3")
        #expect(formatFixed(1650.7999, decimals: 2) == "1650.80")
        #expect(formatFixed(3.0, decimals: 0) == "3")
        #expect(formatFixed(-0.001, decimals: 2) == "0.00")
        #expect(formatFixed(2.5, decimals: 3) == "2.500")
    }

    // MARK: best-known table

    @Test func bestKnownCSVReadsQuotedFieldsAndBlankVehicles() throws {
        let csv = [
            "instance,vehicles,distance,source",
            #"C1_2_1,,2698.6,"Timefold, CVRPLIB ""optimal""""#,
            "lc101,10,828.9369,plain source",
            "R101,19,,x",
        ].joined(separator: "\n")
        let t = try BestKnownTable.parse(csv, file: "b.csv")
        #expect(t.entries.count == 3)
        #expect(t["c1_2_1"] == .init(instance: "C1_2_1", vehicles: nil, distance: 2698.6, source: "Timefold, CVRPLIB \"optimal\""))
        #expect(t["LC101"]?.vehicles == 10)
        #expect(t["R101"]?.distance == nil)
        #expect(t["nope"] == nil)
    }

    @Test func bestKnownCSVErrorsNameTheLine() {
        #expect(throws: InstanceError(.notANumber, file: "b", line: 3, "distance: expected a number, got 'abc'")) {
            try BestKnownTable.parse("instance,vehicles,distance,source\nA,1,2,s\nB,1,abc,s\n", file: "b")
        }
        #expect(throws: InstanceError(.duplicateID, file: "b", line: 3, "duplicate instance a (first on line 2)")) {
            try BestKnownTable.parse("instance,vehicles,distance,source\nA,1,2,s\na,1,2,s\n", file: "b")
        }
        #expect(throws: InstanceError(.invalidValue, file: "b", line: 2, "unterminated quoted field")) {
            try BestKnownTable.parse("instance,vehicles,distance,source\nA,1,2,\"s\n", file: "b")
        }
        #expect(throws: InstanceError.self) { try BestKnownTable.parse("name,x\nA,1\n", file: "b") }
    }

    @Test func theSharedBestKnownFilesParseWhenPresent() throws {
        let dir = "/work/shared/benchmarks/bks/"
        for (f, count) in [("solomon_distance_only.csv", 56), ("homberger_distance_only_cvrplib.csv", 120), ("lilim_sintef.csv", 116)] {
            guard let text = try? String(contentsOfFile: dir + f, encoding: .utf8) else { continue }
            let t = try BestKnownTable.parse(text, file: f)
            #expect(t.entries.count == count, "\(f)")
        }
        if let text = try? String(contentsOfFile: dir + "solomon_distance_only.csv", encoding: .utf8) {
            let t = try BestKnownTable.parse(text, file: "s")
            #expect(t["C101"]?.distance == 827.3 && t["C101"]?.vehicles == 10)
        }
    }
}
