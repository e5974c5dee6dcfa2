import Foundation
import Testing
@testable import Geo

@Suite struct CityMapTests {
    /// The shipped file, read from the repository (GeoTests has no bundled resources).
    static let seoulText: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try! String(contentsOf: root.appendingPathComponent("Regions/seoul.json"), encoding: .utf8)
    }()

    /// The shipped file as a mutable JSON tree, to make malformed variants.
    static func seoulJSON() -> [String: Any] {
        try! JSONSerialization.jsonObject(with: Data(seoulText.utf8)) as! [String: Any]
    }

    static func load(_ json: [String: Any]) throws(RegionFileError) -> CityMap {
        try CityMap.load(from: try! JSONSerialization.data(withJSONObject: json))
    }

    static func mutateRegion(_ index: Int, _ change: (inout [String: Any]) -> Void) -> [String: Any] {
        var json = seoulJSON()
        var regions = json["regions"] as! [[String: Any]]
        change(&regions[index])
        json["regions"] = regions
        return json
    }

    @Test func shippedSeoulFileHas25DistrictsIn6Regions() throws {
        let map = try CityMap.load(from: Self.seoulText)
        #expect(map.version == 1 && map.city.timeZone == "Asia/Seoul")
        #expect(map.regions.count == 6)
        #expect(map.regions.flatMap(\.districts).count == 25)
        #expect(Set(map.regions.flatMap(\.districts).map(\.nameKo)).count == 25)
        #expect(map.regionIDs == ["central", "east", "gangnam", "northeast", "south", "southwest"])
        #expect(map.regions.allSatisfy { !$0.stores.isEmpty })
        #expect(!map.hubs.isEmpty)
    }

    @Test func everyDistrictCentroidAndStoreLiesInItsOwnRegion() throws {
        let map = try CityMap.load(from: Self.seoulText)
        for region in map.regions {
            for d in region.districts { #expect(map.region(containing: d.centroid)?.id == region.id, "\(d.id)") }
            for s in region.stores { #expect(map.region(containing: s.location)?.id == region.id, "\(s.id)") }
        }
        for hub in map.hubs { #expect(map.region(containing: hub.location) == nil, "hub \(hub.id) is outside the city") }
    }

    @Test func aClosedRingIsAcceptedAndStoredOpen() throws {
        let json = Self.mutateRegion(0) { r in
            var ring = r["polygon"] as! [Any]; ring.append(ring[0]); r["polygon"] = ring
        }
        let map = try Self.load(json)
        let shipped = try CityMap.load(from: Self.seoulText)
        #expect(map.regions[0].polygon == shipped.regions[0].polygon)
    }

    @Test func duplicateRegionIDIsNamed() {
        let json = Self.mutateRegion(1) { $0["id"] = "gangnam" }
        #expect(throws: RegionFileError.duplicateID(kind: "region", id: "gangnam")) { try Self.load(json) }
    }

    @Test func duplicateDistrictAcrossRegionsIsNamed() {
        let json = Self.mutateRegion(1) { r in
            var ds = r["districts"] as! [[String: Any]]; ds[0]["id"] = "gangnam-gu"; r["districts"] = ds
        }
        #expect(throws: RegionFileError.duplicateID(kind: "district", id: "gangnam-gu")) { try Self.load(json) }
    }

    @Test func polygonWithTwoPointsOrAClosedTriangleOfTwoIsRejected() {
        let two = Self.mutateRegion(2) { r in r["polygon"] = Array((r["polygon"] as! [Any]).prefix(2)) }
        #expect(throws: RegionFileError.polygonTooSmall(region: "east", points: 2)) { try Self.load(two) }
        let closedTwo = Self.mutateRegion(2) { r in
            let p = r["polygon"] as! [Any]; r["polygon"] = [p[0], p[1], p[0]]
        }
        #expect(throws: RegionFileError.polygonTooSmall(region: "east", points: 2)) { try Self.load(closedTwo) }
    }

    @Test func outOfRangeCoordinateNamesTheItem() {
        let json = Self.mutateRegion(0) { r in
            var ss = r["stores"] as! [[String: Any]]; ss[1]["location"] = ["lat": 137.5, "lon": 127.0]; r["stores"] = ss
        }
        #expect(throws: RegionFileError.coordinateOutOfRange(item: "store \"mfc-central-2\"", lat: 137.5, lon: 127.0)) { try Self.load(json) }
        let poly = Self.mutateRegion(3) { r in
            var p = r["polygon"] as! [[String: Any]]; p[4]["lon"] = -181.0; r["polygon"] = p
        }
        #expect {
            try Self.load(poly)
        } throws: { error in
            guard case .coordinateOutOfRange(let item, _, _) = error as? RegionFileError else { return false }
            return item == "region \"gangnam\" polygon point 4"
        }
    }

    @Test func missingFieldNamesItsPath() {
        let json = Self.mutateRegion(4) { r in
            var ds = r["districts"] as! [[String: Any]]; ds[2]["centroid"] = nil; r["districts"] = ds
        }
        #expect(throws: RegionFileError.malformed(path: "regions[4].districts[2].centroid", reason: "missing")) { try Self.load(json) }
    }

    @Test func wrongTypeEmptyIDNoDistrictsAndVersionAreRejected() {
        let wrongType = Self.mutateRegion(0) { $0["districts"] = "Gangnam" }
        #expect(throws: RegionFileError.self) { try Self.load(wrongType) }
        let emptyID = Self.mutateRegion(5) { r in
            var ss = r["stores"] as! [[String: Any]]; ss[0]["id"] = ""; r["stores"] = ss
        }
        #expect(throws: RegionFileError.emptyID(item: "regions[5].stores[0]")) { try Self.load(emptyID) }
        let noDistricts = Self.mutateRegion(5) { $0["districts"] = [Any]() }
        #expect(throws: RegionFileError.noDistricts(region: "south")) { try Self.load(noDistricts) }
        var v2 = Self.seoulJSON(); v2["version"] = 2
        #expect(throws: RegionFileError.unsupportedVersion(2, supported: 1...1)) { try Self.load(v2) }
        #expect(throws: RegionFileError.malformed(path: "", reason: "not valid JSON")) { try CityMap.load(from: "{\"version\": 1,") }
    }

    @Test func unknownFieldsAreIgnoredForForwardCompatibility() throws {
        var json = Self.seoulJSON(); json["fleets"] = [["id": "f1"]]
        #expect(try Self.load(json).regions.count == 6)
    }

    /// Fleet's operations file names regions and sites of this file; they must exist here.
    @Test func operationsFileReferencesOnlyRegionsAndSitesDefinedHere() throws {
        let map = try CityMap.load(from: Self.seoulText)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("Regions/seoul-operations.json"))
        let ops = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let sites = Set(map.hubs.map(\.id) + map.regions.flatMap { $0.stores.map(\.id) })
        for region in ops["regions"] as! [[String: Any]] {
            let id = region["id"] as! String
            #expect(map.regionIDs.contains(id), "operations region \(id)")
            for fleet in region["fleets"] as! [[String: Any]] {
                #expect(sites.contains(fleet["site"] as! String), "operations site \(fleet["site"]!) in \(id)")
            }
        }
    }
}
