import Foundation
import Testing
@testable import Routing

/// Every malformed file must fail with a typed error that names the file, the line and what was expected.
@Suite struct InstanceMalformedTests {
    /// Parses `text` expecting failure; returns the error for further checks.
    func failure(_ text: String, file: String = "bad.txt", format: InstanceFile.Format? = nil,
                 sourceLocation: SourceLocation = #_sourceLocation) -> InstanceError? {
        do {
            let parsed = try InstanceFile.parse(text, file: file, format: format)
            Issue.record("expected an error, parsed \(parsed.nodes.count) nodes", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    func expectError(_ text: String, file: String = "bad.txt", format: InstanceFile.Format? = nil,
                     code: InstanceError.Code, line: Int?, contains fragment: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        guard let e = failure(text, file: file, format: format, sourceLocation: sourceLocation) else { return }
        #expect(e.code == code, "\(e)", sourceLocation: sourceLocation)
        #expect(e.line == line, "\(e)", sourceLocation: sourceLocation)
        #expect(e.file == file, sourceLocation: sourceLocation)
        #expect(e.description.contains(fragment), "\(e)", sourceLocation: sourceLocation)
        #expect(e.description.hasPrefix(line.map { "\(file):\($0): " } ?? "\(file): "), sourceLocation: sourceLocation)
    }

    /// `C101.txt` with line `n` (1-based) replaced.
    func c101(replacing n: Int, with s: String) throws -> String {
        var lines = try Fixture.text("C101.txt").components(separatedBy: "\r\n")
        lines[n - 1] = s
        return lines.joined(separator: "\r\n")
    }

    func c101(droppingFrom n: Int) throws -> String {
        try Fixture.text("C101.txt").components(separatedBy: "\r\n").prefix(n - 1).joined(separator: "\r\n")
    }

    // MARK: Solomon

    @Test func solomonRowWithTooFewNumbersNamesTheLineAndTheFields() throws {
        expectError(try c101(replacing: 14, with: "    4      42         68         10        727"), file: "C101.txt",
                    code: .fieldCount, line: 14,
                    contains: "C101.txt:14: expected 7 numbers (CUST_NO X Y DEMAND READY DUE SERVICE), got 5")
    }

    @Test func solomonNonNumericFieldNamesTheField() throws {
        expectError(try c101(replacing: 12, with: "    2      45         70         abc        825        870         90"),
                    code: .notANumber, line: 12, contains: "field 4 (DEMAND): expected an integer, got 'abc'")
        expectError(try c101(replacing: 12, with: "    2      45         7O         30        825        870         90"),
                    code: .notANumber, line: 12, contains: "field 3 (Y): expected a number, got '7O'")
    }

    @Test func solomonTruncatedFileSaysWhatIsMissing() throws {
        expectError(try c101(droppingFrom: 10), code: .truncated, line: 8, contains: "expected a depot row and at least one customer")
        expectError(try c101(droppingFrom: 5), code: .truncated, line: 4, contains: "expected a line with 2 numbers (NUMBER CAPACITY)")
        expectError(try c101(droppingFrom: 7), code: .missingSection, line: nil, contains: "CUSTOMER section")
        expectError("", code: .truncated, line: nil, contains: "empty file")
    }

    @Test func solomonMissingVehicleSection() throws {
        expectError(try c101(replacing: 4, with: "FLEET"), format: .solomon, code: .missingSection, line: nil, contains: "VEHICLE section")
    }

    @Test func solomonNegativeOrZeroCapacityAndFleetAreRejected() throws {
        expectError(try c101(replacing: 5, with: "  25         -200"), code: .invalidValue, line: 5, contains: "CAPACITY must be positive, got -200")
        expectError(try c101(replacing: 5, with: "  0         200"), code: .invalidValue, line: 5, contains: "NUMBER must be positive")
        expectError(try c101(replacing: 5, with: "  25"), code: .fieldCount, line: 5, contains: "expected 2 numbers (NUMBER CAPACITY), got 1")
    }

    @Test func solomonWindowWithReadyAfterDueIsRejected() throws {
        expectError(try c101(replacing: 11, with: "    1      45         68         10        968        967         90"),
                    code: .invalidValue, line: 11, contains: "READY 968 is after DUE 967")
    }

    @Test func solomonDuplicateCustomerNamesBothLines() throws {
        expectError(try c101(replacing: 13, with: "    2      42         66         10         65        146         90"),
                    code: .duplicateID, line: 13, contains: "duplicate CUST_NO 2 (first on line 12)")
    }

    @Test func solomonNegativeDemandAndDepotWithDemandAreRejected() throws {
        expectError(try c101(replacing: 12, with: "    2      45         70         -30        825        870         90"),
                    code: .invalidValue, line: 12, contains: "DEMAND must be >= 0")
        expectError(try c101(replacing: 10, with: "    0      40         50          5          0       1236          0"),
                    code: .invalidValue, line: 10, contains: "depot")
    }

    // MARK: Li & Lim

    func lc101(replacing n: Int, with s: String) throws -> String {
        var lines = try Fixture.text("lc101.txt").components(separatedBy: "\r\n")
        lines[n - 1] = s
        return lines.joined(separator: "\r\n")
    }

    @Test func liLimHeaderNeedsThreeNumbersAndPositiveCapacity() throws {
        expectError(try lc101(replacing: 1, with: "25\t200"), format: .lilim, code: .fieldCount, line: 1, contains: "expected 3 numbers (K Q SPEED), got 2")
        expectError(try lc101(replacing: 1, with: "25\t-5\t1"), code: .invalidValue, line: 1, contains: "capacity Q must be positive")
        expectError(try lc101(replacing: 1, with: "x\t200\t1"), format: .lilim, code: .notANumber, line: 1, contains: "field 1 (K)")
    }

    @Test func liLimRowWithWrongFieldCount() throws {
        expectError(try lc101(replacing: 3, with: "1\t45\t68\t-10\t912\t967\t90\t11"),
                    code: .fieldCount, line: 3, contains: "expected 9 numbers (ID X Y DEMAND EARLY LATE SERVICE PICKUP DELIVERY), got 8")
    }

    @Test func liLimSiblingPointingNowhereIsRejectedAtItsLine() throws {
        expectError(try lc101(replacing: 3, with: "1\t45\t68\t-10\t912\t967\t90\t999\t0"),
                    code: .badReference, line: 3, contains: "delivery 1: PICKUP 999 is not a task in this file")
        expectError(try lc101(replacing: 13, with: "11\t35\t69\t10\t448\t505\t90\t0\t998"),
                    code: .badReference, line: 13, contains: "pickup 11: DELIVERY 998 is not a task")
    }

    @Test func liLimSiblingsThatDoNotPointAtEachOtherAreRejected() throws {
        // Pickup 11 names delivery 2, but delivery 2 names another pickup.
        expectError(try lc101(replacing: 13, with: "11\t35\t69\t10\t448\t505\t90\t0\t2"),
                    code: .badReference, line: 3, contains: "bad.txt:3: delivery 1 names pickup 11, but task 11 (line 13) names delivery 2")
    }

    @Test func liLimTaskWithBothOrNoSiblingIsRejected() throws {
        expectError(try lc101(replacing: 3, with: "1\t45\t68\t-10\t912\t967\t90\t0\t0"),
                    code: .badReference, line: 3, contains: "exactly one of PICKUP and DELIVERY")
    }

    @Test func liLimDuplicateTaskAndBadWindow() throws {
        expectError(try lc101(replacing: 4, with: "1\t45\t70\t-20\t825\t870\t90\t6\t0"),
                    code: .duplicateID, line: 4, contains: "duplicate task id 1 (first on line 3)")
        expectError(try lc101(replacing: 3, with: "1\t45\t68\t-10\t970\t967\t90\t11\t0"),
                    code: .invalidValue, line: 3, contains: "EARLY 970 is after LATE 967")
    }

    @Test func liLimPickupWithNegativeDemandIsRejected() throws {
        expectError(try lc101(replacing: 13, with: "11\t35\t69\t-10\t448\t505\t90\t0\t1"),
                    code: .invalidValue, line: 13, contains: "pickup (DELIVERY 1) but has negative DEMAND")
    }

    // MARK: VRPLIB

    func tiny(_ transform: (String) -> String) throws -> String { transform(try Fixture.text("tiny-explicit.vrp")) }

    @Test func vrplibMatrixOfTheWrongSizeIsRejected() throws {
        expectError(try tiny { $0.replacingOccurrences(of: "41\t33\t27\t16\t0\n", with: "41\t33\t27\t16\n") },
                    file: "t.vrp", code: .matrixSize, line: 14, contains: "expected 25 numbers (5×5 FULL_MATRIX), got 24")
        expectError(try tiny { $0.replacingOccurrences(of: "41\t33\t27\t16\t0\n", with: "41\t33\t27\t16\t0\t7\n") },
                    code: .matrixSize, line: 14, contains: "got 26")
    }

    @Test func vrplibMissingSectionsAreNamed() throws {
        expectError(try tiny { $0.replacingOccurrences(of: "DEMAND_SECTION", with: "DEMANDS_SECTION") },
                    code: .missingSection, line: nil, contains: "missing DEMAND_SECTION (5 rows of ID DEMAND)")
        expectError(try tiny { $0.replacingOccurrences(of: "CAPACITY : 10\n", with: "") },
                    code: .missingSection, line: nil, contains: "missing the CAPACITY specification")
        expectError(try tiny { $0.replacingOccurrences(of: "EDGE_WEIGHT_SECTION", with: "EDGE_WEIGHTS_SECTION") },
                    code: .missingSection, line: nil, contains: "needs an EDGE_WEIGHT_SECTION")
        expectError(try Fixture.text("tiny-euc.vrp").replacingOccurrences(of: "NODE_COORD_SECTION", with: "COORDS_SECTION"),
                    code: .missingSection, line: nil, contains: "missing NODE_COORD_SECTION")
    }

    @Test func vrplibSectionMissingANodeOrListingOneTwice() throws {
        expectError(try tiny { $0.replacingOccurrences(of: "4\t5\n5\t2\n", with: "5\t2\n") },
                    code: .truncated, line: 21, contains: "DEMAND_SECTION lists 4 of 5 nodes; node 4 is missing")
        expectError(try tiny { $0.replacingOccurrences(of: "4\t5\n5\t2\n", with: "4\t5\n4\t2\n") },
                    code: .duplicateID, line: 26, contains: "DEMAND_SECTION: duplicate node 4 (first on line 25)")
        expectError(try tiny { $0.replacingOccurrences(of: "4\t5\n5\t2\n", with: "4\t5\n9\t2\n") },
                    code: .badReference, line: 26, contains: "node 9 is outside 1...5")
    }

    @Test func vrplibBadValues() throws {
        expectError(try tiny { $0.replacingOccurrences(of: "CAPACITY : 10", with: "CAPACITY : -10") },
                    code: .invalidValue, line: 8, contains: "CAPACITY must be positive, got -10")
        expectError(try tiny { $0.replacingOccurrences(of: "DIMENSION : 5", with: "DIMENSION : five") },
                    code: .notANumber, line: 4, contains: "DIMENSION: expected an integer, got 'five'")
        expectError(try tiny { $0.replacingOccurrences(of: "5\t60\t120", with: "5\t130\t120") },
                    code: .invalidValue, line: 41, contains: "node 5 has READY 130.0 after DUE 120.0")
        expectError(try tiny { $0.replacingOccurrences(of: "12\t0\t15", with: "12\tx\t15") },
                    code: .notANumber, line: 11, contains: "expected an integer, got 'x'")
        expectError(try tiny { $0.replacingOccurrences(of: "3\t3\n", with: "3\t3\t1\n") },
                    code: .fieldCount, line: 24, contains: "DEMAND_SECTION: expected 2 numbers (ID DEMAND), got 3")
    }

    @Test func vrplibUnsupportedConstructsSaySo() throws {
        expectError(try tiny { $0.replacingOccurrences(of: "FULL_MATRIX", with: "LOWER_ROW") },
                    code: .unsupported, line: 6, contains: "EDGE_WEIGHT_FORMAT LOWER_ROW is not supported")
        expectError(try tiny { $0.replacingOccurrences(of: "1\n-1\n", with: "2\n-1\n") },
                    code: .unsupported, line: 27, contains: "expected the single depot 1")
        expectError(try tiny { $0.replacingOccurrences(of: "EXPLICIT", with: "GEO") },
                    code: .unsupported, line: 5, contains: "EDGE_WEIGHT_TYPE GEO")
    }

    @Test func vrplibDuplicateSpecificationAndStrayLines() throws {
        expectError(try tiny { $0.replacingOccurrences(of: "VEHICLES : 3\n", with: "VEHICLES : 3\nCAPACITY : 12\n") },
                    code: .duplicateID, line: 9, contains: "duplicate specification CAPACITY (first on line 8)")
        expectError("NAME : x\n1 2 3\n", code: .invalidValue, line: 2, contains: "numbers outside any section")
        expectError("NAME : x\nDIMENSION : 3\nGARBAGE HERE\n", code: .invalidValue, line: 3, contains: "got 'GARBAGE HERE'")
    }

    @Test func truncatedLiLimAndVRPLIBFiles() throws {
        expectError("25\t200\t1\n0\t40\t50\t0\t0\t1236\t0\t0\t0\n", code: .truncated, line: 2,
                    contains: "expected a depot and at least one pickup–delivery pair, got 1 task(s)")
        // Cut inside the TIME_WINDOW_SECTION: node 5's window is missing.
        let cut = try Fixture.text("tiny-explicit.vrp").components(separatedBy: "\n").prefix(40).joined(separator: "\n")
        expectError(cut, code: .truncated, line: 36, contains: "TIME_WINDOW_SECTION lists 4 of 5 nodes; node 5 is missing")
        expectError("NAME : x\n", code: .missingSection, line: nil, contains: "missing the DIMENSION specification")
    }

    @Test func vrplibNegativeDemandNamesItsRow() throws {
        expectError(try tiny { $0.replacingOccurrences(of: "3\t3\n", with: "3\t-3\n") },
                    code: .invalidValue, line: 24, contains: "node 3 has demand -3.0; expected an integer >= 0")
    }

    @Test func unknownFormatAsksForFormat() {
        expectError("1 2\n3 4\n", code: .unknownFormat, line: 1, contains: "give --format")
    }
}
