import Testing
import Foundation
import Geo
@testable import Fleet

/// The repository's Regions/ folder, found from this file's path (tests may read files; the
/// loader itself only sees `Data`).
func regionsFile(_ name: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Regions").appendingPathComponent(name)
}

let minimal = """
{"format": "daybreak.operations", "version": 1, "city": "test", "utcOffset": "+09:00", "defaultCircuity": 1.35,
 "speedProfiles": {"van": [30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30]},
 "products": {"dawn": {"cutoff": "23:00", "windowStart": "00:00", "windowEnd": "07:00"}},
 "regions": [{"id": "r1", "circuity": 1.3, "fleets": [
   {"site": "hub", "kind": "van", "count": 2, "capacity": {"weightKg": 1000, "volumeL": 5000}, "shift": {"start": "01:00", "end": "08:00"}, "idPrefix": "r1-van"}]}]}
"""

func loadError(_ json: String) -> OperationsConfigError? {
    do { _ = try OperationsConfig.load(Data(json.utf8)); return nil } catch { return error }
}

@Suite struct OperationsConfigTests {
    @Test func seoulFileLoadsAndIsConsistent() throws {
        let data = try Data(contentsOf: regionsFile("seoul-operations.json"))
        let ops = try OperationsConfig.load(data)
        #expect(ops.city == "seoul" && ops.offset == .seoul && ops.regions.count == 6)
        #expect(Set(ops.speedProfiles.keys) == Set(VehicleKind.allCases))
        let van = ops.speedProfiles[.van]!
        #expect(van.kmh[3] == 35 && van.kmh[8] == 18 && van.kmh[18] == 18)
        for r in ops.regions { #expect((1.3...1.4).contains(r.circuity)) }
        let vehicles = ops.vehicles(), riders = ops.riders()
        #expect(vehicles.count > 200 && riders.count > 100)
        #expect(Set(vehicles.map(\.id)).count == vehicles.count && Set(riders.map(\.id)).count == riders.count)
        let dawn = try #require(ops.productConfig(for: "gangnam"))
        #expect(dawn.dawn?.cutoff == TimeOfDay(23) && dawn.sameDay?.cutoff == TimeOfDay(12))
        let model = try ops.travelModel(regions: nil)
        let night = model.travelSeconds(from: Coordinate(lat: 37.5663, lon: 126.9779), to: Coordinate(lat: 37.4979, lon: 127.0276),
                                        kind: .van, departingAt: seoul(monday, 3))
        #expect((900...1500).contains(night))   // ~11.9 km of road at 35 km/h ≈ 20 min
    }

    @Test func minimalFileExpandsUnits() throws {
        let ops = try OperationsConfig.load(Data(minimal.utf8))
        #expect(ops.vehicles().map(\.id) == ["r1-van-001", "r1-van-002"])
        #expect(ops.productConfig(for: "r1")?.quick == nil)
        #expect(ops.productConfig(for: "nope") == nil)
        #expect(ops.emissionFactors == .defaults)
    }

    @Test func errorsNameTheItem() {
        #expect(loadError(minimal.replacingOccurrences(of: "\"version\": 1", with: "\"version\": 2"))?.item == "version")
        #expect(loadError(minimal.replacingOccurrences(of: "+09:00", with: "KST"))?.item == "utcOffset")
        #expect(loadError(minimal.replacingOccurrences(of: "\"circuity\": 1.3", with: "\"circuity\": 0.9"))?.item == "regions[0] (r1).circuity")
        #expect(loadError(minimal.replacingOccurrences(of: "\"count\": 2", with: "\"count\": 0"))?.item == "regions[0] (r1).fleets[0]")
        #expect(loadError(minimal.replacingOccurrences(of: "\"kind\": \"van\"", with: "\"kind\": \"truck\""))?.message == "no speed profile for truck")
        #expect(loadError(minimal.replacingOccurrences(of: "\"kind\": \"van\"", with: "\"kind\": \"hovercraft\""))?.item == "regions[0].fleets[0].kind")
        #expect(loadError(minimal.replacingOccurrences(of: "\"weightKg\": 1000", with: "\"weightKg\": -1"))?.item == "regions[0].fleets[0].capacity.weightKg")
        #expect(loadError(minimal.replacingOccurrences(of: "\"cutoff\": \"23:00\"", with: "\"cutoff\": \"23:75\""))?.item == "products.dawn.cutoff")
        #expect(loadError(minimal.replacingOccurrences(of: "\"windowEnd\": \"07:00\"", with: "\"windowEnd\": \"00:00\""))?.item == "products.dawn")
        #expect(loadError(minimal.replacingOccurrences(of: "[30,30,30,", with: "[30,30,"))?.item == "speedProfiles.van")
        #expect(loadError(minimal.replacingOccurrences(of: "\"city\": \"test\", ", with: ""))?.item == "city")
        #expect(loadError("{")?.item == "(file)")
    }

    @Test func crossCheckAgainstTheRegionFile() throws {
        let ops = try OperationsConfig.load(Data(minimal.utf8))
        try ops.validate(regionIDs: ["r1"], siteIDs: ["hub"])
        #expect(throws: OperationsConfigError(item: "region r1", message: "not in the region file")) {
            try ops.validate(regionIDs: ["r2"], siteIDs: ["hub"])
        }
        #expect(throws: OperationsConfigError.self) { try ops.validate(regionIDs: ["r1"], siteIDs: []) }
    }

    @Test func timeOfDayParsesAndPrints() throws {
        let t = try JSONDecoder().decode([TimeOfDay].self, from: Data(#"["00:00", "23:59", "26:30", "07:00:15"]"#.utf8))
        #expect(t.map(\.seconds) == [0, 86_340, 95_400, 25_215])
        #expect(t.map(\.description) == ["00:00", "23:59", "26:30", "07:00:15"])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([TimeOfDay].self, from: Data(#"["7"]"#.utf8)) }
    }
}
