import Foundation
import Testing
@testable import Geo

/// The one validation of a regions file (`CityMap.load`, used by node, up, simulate, demo and
/// bench alike): what `simulate` used to refuse and `node` accepted — self-intersecting polygons,
/// overlapping regions — plus ids beyond what the wire carries. Each error names the item.
@Suite struct RegionsFileHostileTests {
    static func region(_ id: String, _ ring: [(Double, Double)], district: String? = nil, store: (Double, Double)? = nil) -> [String: Any] {
        var r: [String: Any] = [
            "id": id, "name": id,
            "polygon": ring.map { ["lat": $0.0, "lon": $0.1] },
            "districts": [["id": district ?? "d-\(id)", "name": "D", "centroid": ["lat": ring[0].0, "lon": ring[0].1]]],
            "stores": [] as [Any],
        ]
        if let store { r["stores"] = [["id": "s-\(id)", "name": "S", "location": ["lat": store.0, "lon": store.1]]] }
        return r
    }

    static func load(_ regions: [[String: Any]]) throws(RegionFileError) -> CityMap {
        let json: [String: Any] = ["version": 1, "city": ["id": "x", "name": "X", "timeZone": "Asia/Seoul"], "hubs": [] as [Any], "regions": regions]
        return try CityMap.load(from: try! JSONSerialization.data(withJSONObject: json))
    }

    static let west = [(37.5, 126.9), (37.6, 126.9), (37.6, 127.0), (37.5, 127.0)]
    static let east = [(37.5, 127.0), (37.6, 127.0), (37.6, 127.1), (37.5, 127.1)]

    @Test func neighboursSharingAnEdgeAreAccepted() throws {
        let map = try Self.load([Self.region("w", Self.west, store: (37.55, 126.95)), Self.region("e", Self.east)])
        #expect(map.regionIDs == ["e", "w"])
        // Sharing only part of an edge (e's west side is cut at a vertex of w): still neighbours.
        let cut = [(37.5, 127.0), (37.55, 127.0), (37.6, 127.0), (37.6, 127.1), (37.5, 127.1)]
        #expect(try Self.load([Self.region("w", Self.west), Self.region("e", cut)]).regions.count == 2)
    }

    @Test func aSelfIntersectingPolygonIsNamed() {
        let bowtie = [(37.5, 126.9), (37.6, 127.0), (37.6, 126.9), (37.5, 127.0)]
        #expect(throws: RegionFileError.invalidPolygon(index: 1, region: "bow", reason: "polygon bow ring 0: edge 0 crosses edge 2")) {
            try Self.load([Self.region("w", Self.west), Self.region("bow", bowtie)])
        }
    }

    @Test func twoIdenticalRegionsOverlap() {
        #expect(throws: RegionFileError.overlappingRegions("a", "b")) {
            try Self.load([Self.region("a", Self.west), Self.region("b", Self.west)])
        }
    }

    @Test func overlapsOfEveryShapeAreFound() {
        // Crossing edges; one inside the other; inside and sharing two edges (no vertex strictly inside).
        let shifted = [(37.55, 126.95), (37.65, 126.95), (37.65, 127.05), (37.55, 127.05)]
        let inner = [(37.52, 126.92), (37.58, 126.92), (37.58, 126.98), (37.52, 126.98)]
        let corner = [(37.5, 126.9), (37.6, 126.9), (37.5, 127.0)]
        for other in [shifted, inner, corner] {
            #expect(throws: RegionFileError.overlappingRegions("a", "b")) {
                try Self.load([Self.region("a", Self.west), Self.region("b", other)])
            }
        }
        // Touching at one corner only is not an overlap.
        let diagonal = [(37.6, 127.0), (37.7, 127.0), (37.7, 127.1), (37.6, 127.1)]
        #expect(throws: Never.self) { try Self.load([Self.region("a", Self.west), Self.region("b", diagonal)]) }
    }

    @Test func duplicateIDsAreNamed() {
        #expect(throws: RegionFileError.duplicateID(kind: "region", id: "a")) {
            try Self.load([Self.region("a", Self.west), Self.region("a", Self.east, district: "d2")])
        }
    }

    @Test func anIDLongerThanTheWireCarriesIsRefusedNamingTheLimit() throws {
        let long = String(repeating: "r", count: CityMap.maxIDBytes + 1)
        do {
            _ = try Self.load([Self.region(long, Self.west)])
            Issue.record("a 256-byte region id was accepted")
        } catch {
            #expect(error == .idTooLong(kind: "region", id: long, bytes: 256, limit: 255))
            #expect(error.description.contains("is 256 bytes long; the limit is 255 bytes"), "\(error.description)")
            #expect(error.description.contains(String(repeating: "r", count: 40) + "…"), "\(error.description)")
        }
        // Exactly the limit is fine, in bytes: 85 three-byte characters are 255 bytes.
        #expect(try Self.load([Self.region(String(repeating: "강", count: 85), Self.west, district: "d")]).regions.count == 1)
        #expect(throws: RegionFileError.self) { try Self.load([Self.region(String(repeating: "강", count: 86), Self.west, district: "d")]) }
    }

    @Test func aStoreOutsideItsRegionIsNamedByEveryLoader() {
        #expect(throws: RegionFileError.storeOutsideRegion(store: "s-w", region: "w", lat: 37.55, lon: 127.05)) {
            try Self.load([Self.region("w", Self.west, store: (37.55, 127.05)), Self.region("e", Self.east)])
        }
    }

    @Test func theGeometryViewReportsTheSameErrorsWithTheirItems() throws {
        let json: [String: Any] = ["version": 1, "city": ["id": "x", "name": "X", "timeZone": "Asia/Seoul"], "hubs": [] as [Any],
                                   "regions": [Self.region("a", Self.west), Self.region("b", Self.west)]]
        let data = try JSONSerialization.data(withJSONObject: json)
        do {
            _ = try CityRegionsFile.load(data)
            Issue.record("overlapping regions were accepted")
        } catch {
            #expect(error.item == "regions a and b", "\(error)")
        }
    }
}
