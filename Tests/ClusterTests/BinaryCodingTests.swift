import Base
import Foundation
import Testing
@testable import Cluster

private struct Position: Codable, Equatable {
    var lat: Double
    var lon: Double
}

private enum VehicleState: Codable, Equatable {
    case idle
    case enRoute(stop: Int, eta: Int64)
    case offline(reason: String?)
}

private struct Report: Codable, Equatable {
    var vehicle: String
    var at: Int64
    var position: Position
    var speedKmh: Float
    var load: UInt8
    var stops: [Int]
    var notes: String?
    var state: VehicleState
    var tags: [String: Int]
    var blob: Data
    var raw: [UInt8]
    var nested: [[Position]]
}

private struct ReportV1: Codable, Equatable { var vehicle: String; var at: Int64 }
private struct ReportV2: Codable, Equatable { var vehicle: String; var at: Int64; var battery: Int? }

@Suite struct BinaryCodingTests {
    let encoder = BinaryEncoder()
    let decoder = BinaryDecoder()

    private var report: Report {
        Report(vehicle: "V-1042", at: 1_790_000_000_000, position: Position(lat: 37.4979, lon: 127.0276),
               speedKmh: 31.5, load: 12, stops: [3, 1, 4, 1, 5], notes: nil,
               state: .enRoute(stop: 4, eta: -17), tags: ["a": 1, "b": -2], blob: Data([0, 255, 7]),
               raw: [1, 2], nested: [[], [Position(lat: -90, lon: 180)]])
    }

    @Test func structsEnumsOptionalsCollectionsRoundTrip() throws {
        let bytes = try encoder.encode(report)
        #expect(try decoder.decode(Report.self, from: bytes) == report)
        for state in [VehicleState.idle, .offline(reason: nil), .offline(reason: "battery")] {
            #expect(try decoder.decode(VehicleState.self, from: encoder.encode(state)) == state)
        }
    }

    @Test func primitivesAtTheirExtremesRoundTrip() throws {
        #expect(try decoder.decode(Int64.self, from: encoder.encode(Int64.min)) == .min)
        #expect(try decoder.decode(Int64.self, from: encoder.encode(Int64.max)) == .max)
        #expect(try decoder.decode(UInt64.self, from: encoder.encode(UInt64.max)) == .max)
        #expect(try decoder.decode(Int8.self, from: encoder.encode(Int8.min)) == .min)
        #expect(try decoder.decode(Double.self, from: encoder.encode(-0.0)).sign == .minus)
        #expect(try decoder.decode(Double.self, from: encoder.encode(Double.nan)).isNaN)
        #expect(try decoder.decode(String.self, from: encoder.encode("강남구 🚚")) == "강남구 🚚")
        #expect(try decoder.decode([Int?].self, from: encoder.encode([1, nil, 3])) == [1, nil, 3])
    }

    @Test func smallValuesAreCompact() throws {
        #expect(try encoder.encode(1) == [3, 2])          // tag int, zigzag 1 → 2
        #expect(try encoder.encode(-1) == [3, 1])
        #expect(try encoder.encode(Position(lat: 0, lon: 0)).count == 1 + 1 + 2 * (1 + 3 + 1 + 8))
    }

    @Test func integerThatDoesNotFitIsADecodingError() throws {
        #expect(throws: DecodingError.self) { try decoder.decode(UInt8.self, from: encoder.encode(300)) }
        #expect(throws: DecodingError.self) { try decoder.decode(UInt.self, from: encoder.encode(-1)) }
        #expect(throws: DecodingError.self) { try decoder.decode(String.self, from: encoder.encode(1)) }
    }

    @Test func addingAnOptionalFieldIsCompatibleBothWays() throws {
        let v1 = ReportV1(vehicle: "V-1", at: 5)
        #expect(try decoder.decode(ReportV2.self, from: encoder.encode(v1)) == ReportV2(vehicle: "V-1", at: 5, battery: nil))
        let v2 = ReportV2(vehicle: "V-1", at: 5, battery: 80)
        #expect(try decoder.decode(ReportV1.self, from: encoder.encode(v2)) == v1)
    }

    @Test func missingRequiredFieldNamesTheKey() throws {
        let bytes = BinaryValue.object([.init("vehicle", .string("V"))]).serialized()
        #expect {
            try decoder.decode(ReportV1.self, from: bytes)
        } throws: { error in
            guard case DecodingError.keyNotFound(let key, _) = error else { return false }
            return key.stringValue == "at"
        }
    }

    @Test func structuralFaultsAreTypedWireErrors() {
        #expect(throws: WireError.malformedPayload(reason: "unknown value tag 99", offset: 0)) { try BinaryValue.parse([99]) }
        #expect(throws: WireError.malformedPayload(reason: "varint overflows 64 bits", offset: 1)) {
            try BinaryValue.parse([4] + Array(repeating: 0xFF, count: 9) + [0x02])
        }
        #expect(throws: WireError.malformedPayload(reason: "duplicate key \"a\"", offset: 5)) {
            try BinaryValue.parse([10, 2, 1, 97, 0, 1, 97, 0])
        }
        #expect(throws: WireError.invalidUTF8(field: "string", offset: 2)) { try BinaryValue.parse([7, 1, 0xFF]) }
        #expect(throws: WireError.trailingBytes(count: 1, offset: 1)) { try BinaryValue.parse([0, 0]) }
        // A count larger than the input cannot make the parser allocate it.
        #expect(throws: WireError.self) { try BinaryValue.parse([9, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) }
        let deep: [UInt8] = Array(repeating: [UInt8(9), 1], count: 200).flatMap { $0 } + [0]
        #expect(throws: WireError.malformedPayload(reason: "nesting deeper than 64", offset: 130)) { try BinaryValue.parse(deep) }
    }

    static func randomValue(_ rng: inout SplitMix64, depth: Int = 0) -> BinaryValue {
        switch Int.random(in: 0..<(depth > 4 ? 8 : 10), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .int(Int64(bitPattern: rng.next()) >> Int64.random(in: 0...63, using: &rng))
        case 3: return .uint(rng.next() >> UInt64.random(in: 0...63, using: &rng))
        case 4: return .double(Double(bitPattern: rng.next()))
        case 5: return .float(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())))
        case 6: return .string(String((0..<Int.random(in: 0...8, using: &rng)).map { _ in "aZ9 강남🚚".randomElement(using: &rng)! }))
        case 7: return .bytes((0..<Int.random(in: 0...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        case 8: return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            let keys = Set((0..<Int.random(in: 0...4, using: &rng)).map { _ in "k\(Int.random(in: 0...9, using: &rng))" })
            return .object(keys.sorted().map { BinaryValue.Field($0, randomValue(&rng, depth: depth + 1)) })
        }
    }

    /// Bitwise comparison (NaN payloads included), which `==` on doubles would not give.
    static func same(_ a: BinaryValue, _ b: BinaryValue) -> Bool { a.serialized() == b.serialized() }

    @Test func everyRandomValueSurvivesSerializeParse() throws {
        var rng = SplitMix64(seed: 2026)
        for _ in 0..<3_000 {
            let v = Self.randomValue(&rng)
            let back = try BinaryValue.parse(v.serialized())
            #expect(Self.same(v, back))
            if case .double(let d) = v, !d.isNaN { #expect(v == back) }
        }
    }

    @Test func fuzzedPayloadsNeverCrash() throws {
        var rng = SplitMix64(seed: 77)
        let valid = try encoder.encode(report)
        var parsed = 0
        for i in 0..<10_000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<Int.random(in: 0..<40, using: &rng)).map { _ in UInt8.random(in: 0...11, using: &rng) }
            } else {
                bytes = valid
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            if let v = try? BinaryValue.parse(bytes) {
                parsed += 1
                #expect(try BinaryValue.parse(v.serialized()).serialized() == v.serialized())
                _ = try? decoder.decode(Report.self, from: v)   // shape mismatch must throw, not trap
            }
        }
        #expect(parsed > 0)
    }
}
