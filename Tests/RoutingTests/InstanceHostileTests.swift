import Foundation
import Testing
@testable import Routing

/// Numbers that used to trap the solver (SIGILL on a coordinate of 1e308 or a due time beyond
/// Int64.max) and sizes that would allocate more than a machine has: each is now an
/// `InstanceError` naming the file, the line and the field (`InstanceLimits`, Docs/ROUTING.md).
@Suite struct InstanceHostileTests {
    func error(_ text: String, file: String = "hostile.txt", sourceLocation: SourceLocation = #_sourceLocation) -> InstanceError? {
        do {
            let parsed = try InstanceFile.parse(text, file: file)
            Issue.record("expected an error, parsed \(parsed.nodes.count) nodes", sourceLocation: sourceLocation)
            return nil
        } catch { return error }
    }

    /// A small Solomon file whose customer row is `row`.
    static func solomon(customer row: String) -> String {
        """
        HOSTILE

        VEHICLE
        NUMBER     CAPACITY
          2         200

        CUSTOMER
        CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

            0      40         50          0          0       1236          0
        \(row)
            2      45         70         30        100        870         90

        """
    }

    @Test(arguments: [
        ("    1      1e308      68         10        912        967         90", "field 2 (X): 1e308 is beyond the reader's limit of ±1000000"),
        ("    1      45         -2e6       10        912        967         90", "field 3 (Y): -2e6 is beyond"),
        ("    1      45         68         10        912        1e19        90", "field 6 (DUE): 1e19 is beyond the reader's limit of ±1000000000"),
        ("    1      45         68         10        912        9223372036854775808  90", "field 6 (DUE)"),
        ("    1      45         68         10        912        967         1e300", "field 7 (SERVICE): 1e300 is beyond"),
        ("    1      45         68         9000000000000        912        967         90", "field 4 (DEMAND): 9000000000000 is beyond"),
    ])
    func solomonNumbersBeyondTheLimitsNameLineAndField(_ row: String, _ fragment: String) {
        guard let e = error(Self.solomon(customer: row)) else { return }
        #expect(e.code == .invalidValue, "\(e)")
        #expect(e.line == 11, "\(e)")
        #expect(e.description.hasPrefix("hostile.txt:11: ") && e.description.contains(fragment), "\(e)")
    }

    @Test func liLimServiceBeyondTheLimitIsRefused() {
        let text = "2\t200\t1\n0\t40\t50\t0\t0\t1236\t0\t0\t0\n1\t45\t68\t10\t912\t967\t1e300\t0\t2\n2\t45\t70\t-10\t825\t870\t90\t1\t0\n"
        guard let e = error(text) else { return }
        #expect(e.code == .invalidValue && e.line == 3 && e.description.contains("field 7 (SERVICE)"), "\(e)")
    }

    static let vrplibHead = "NAME : hostile\nTYPE : CVRP\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 5\n"

    @Test func aDimensionWhoseMatrixWouldNotFitIsRefusedUpFrontWithTheSizeItNeeds() {
        // A 30000-node file: the solver's 30000×30000 matrix of 8-byte entries is 7.2 GB.
        guard let e = error(Self.vrplibHead + "DIMENSION : 30000\nNODE_COORD_SECTION\n1 0 0\n2 3 4\nDEMAND_SECTION\n1 0\n2 1\nEOF\n") else { return }
        #expect(e.code == .invalidValue && e.line == 5, "\(e)")
        #expect(e.description.contains("DIMENSION 30000: 30000 nodes need a 30000×30000 matrix of 8-byte entries (7.2 GB)"), "\(e)")
        #expect(e.description.contains("limit of 2.1 GB (at most 16384 nodes"), "\(e)")
        #expect(InstanceLimits.matrixBytes(nodes: InstanceLimits.maxNodes) == InstanceLimits.maxMatrixBytes)
        #expect(InstanceLimits.matrixBytes(nodes: Int.max) == Int.max)
    }

    @Test func vrplibValuesBeyondTheLimitsNameTheirRow() {
        let coords = Self.vrplibHead + "DIMENSION : 2\nNODE_COORD_SECTION\n1 0 0\n2 1e308 4\nDEMAND_SECTION\n1 0\n2 1\nEOF\n"
        let e1 = error(coords)
        #expect(e1?.line == 8 && e1?.description.contains("field 2 (NODE_COORD_SECTION X): 1e308 is beyond") == true, "\(String(describing: e1))")
        let demand = Self.vrplibHead + "DIMENSION : 2\nNODE_COORD_SECTION\n1 0 0\n2 3 4\nDEMAND_SECTION\n1 0\n2 1e300\nEOF\n"
        let e2 = error(demand)
        #expect(e2?.line == 11 && e2?.description.contains("(DEMAND_SECTION DEMAND): 1e300 is beyond") == true, "\(String(describing: e2))")
        let matrix = "NAME : m\nDIMENSION : 2\nEDGE_WEIGHT_TYPE : EXPLICIT\nCAPACITY : 5\nEDGE_WEIGHT_SECTION\n0 99999999999\n1 0\nDEMAND_SECTION\n1 0\n2 1\nEOF\n"
        let e3 = error(matrix)
        #expect(e3?.line == 6 && e3?.description.contains("(EDGE_WEIGHT): 99999999999 is beyond the reader's limit of ±1000000000") == true,
                "\(String(describing: e3))")
        let capacity = Self.vrplibHead.replacingOccurrences(of: "CAPACITY : 5", with: "CAPACITY : 9223372036854775807")
            + "DIMENSION : 2\nNODE_COORD_SECTION\n1 0 0\n2 3 4\nDEMAND_SECTION\n1 0\n2 1\nEOF\n"
        #expect(error(capacity)?.description.contains("CAPACITY 9223372036854775807 is beyond") == true)
    }

    @Test func tooManySolomonRowsAreRefusedAtTheFirstRowBeyondTheLimit() {
        var text = Self.solomon(customer: "    1      45         68         10        912        967         90")
        for id in 3 ... InstanceLimits.maxNodes { text += "    \(id)  1  1  1  0  1000  0\n" }
        guard let e = error(text) else { return }
        #expect(e.code == .invalidValue && e.description.contains("row 16385: 16385 nodes need a 16385×16385 matrix"), "\(e)")
    }

    @Test func theModelRefusesWhatTheReadersWouldHaveRefusedInsteadOfTrapping() {
        func node(_ x: Double, due: Double = 100) -> InstanceFile.Node {
            .init(fileID: 0, x: x, y: 0, demand: 0, ready: 0, due: due, service: 0)
        }
        let far = InstanceFile(name: "far", format: .solomon, nodes: [node(0), node(1e308)], vehicleCount: 1, capacity: 1)
        #expect(throws: Problem.InvalidProblem.self) { try Problem(instance: far, rounding: .exact) }
        let late = InstanceFile(name: "late", format: .solomon, nodes: [node(0, due: 1e19), node(1)], vehicleCount: 1, capacity: 1)
        #expect(throws: Problem.InvalidProblem.self) { try Problem(instance: late, rounding: .dimacs) }
        let nan = InstanceFile(name: "nan", format: .solomon, nodes: [node(0, due: .nan), node(1)], vehicleCount: 1, capacity: 1)
        #expect(throws: Problem.InvalidProblem.self) { try Problem(instance: nan, rounding: .dimacs) }
    }

    @Test func theShippedFixturesAreWithinTheLimits() throws {
        for f in ["C101.txt", "R101.txt", "RC201.txt", "lc101.txt", "tiny-euc.vrp", "tiny-explicit.vrp"] {
            let instance = try Fixture.instance(f)
            _ = try Problem(instance: instance, rounding: .dimacs)
        }
    }
}
