import Testing
@testable import Geo

func c(_ lat: Double, _ lon: Double) -> Coordinate { Coordinate(lat: lat, lon: lon) }

@Suite struct PolygonTests {
    let square = try! Polygon(id: "square", outer: [c(0, 0), c(0, 1), c(1, 1), c(1, 0)])
    /// A "U" (concave): the notch between the arms is outside.
    let u = try! Polygon(id: "u", outer: [c(0, 0), c(0, 3), c(3, 3), c(3, 2), c(1, 2), c(1, 1), c(3, 1), c(3, 0)])

    @Test func convexContainsInsideNotOutside() {
        #expect(square.contains(c(0.5, 0.5)))
        #expect(!square.contains(c(1.5, 0.5)))
        #expect(!square.contains(c(-0.1, 0.5)))
    }

    @Test func concaveNotchIsOutside() {
        #expect(u.contains(c(0.5, 1.5)))     // the base of the U
        #expect(u.contains(c(2, 0.5)))       // lower arm
        #expect(u.contains(c(2, 2.5)))       // upper arm
        #expect(!u.contains(c(2, 1.5)))      // the notch
        #expect(!u.contains(c(4, 1.5)))
    }

    @Test func holesAreOutside() throws {
        let p = try Polygon(id: "donut", outer: [c(0, 0), c(0, 4), c(4, 4), c(4, 0)],
                            holes: [[c(1, 1), c(1, 3), c(3, 3), c(3, 1)]])
        #expect(p.contains(c(0.5, 0.5)))
        #expect(!p.contains(c(2, 2)))
    }

    @Test func closingVertexIsDropped() throws {
        let p = try Polygon(id: "closed", outer: [c(0, 0), c(0, 1), c(1, 1), c(0, 0)])
        #expect(p.outer.count == 3)
    }

    @Test func rejectsTooFewDistinctPointsNamingThePolygon() {
        #expect(throws: PolygonError(polygon: "p1", ring: 0, problem: .tooFewDistinctVertices(2))) {
            try Polygon(id: "p1", outer: [c(0, 0), c(0, 1), c(0, 1), c(0, 0)])
        }
    }

    @Test func rejectsNonFiniteCoordinate() {
        #expect(throws: PolygonError.self) { try Polygon(id: "nan", outer: [c(0, 0), c(.nan, 1), c(1, 1)]) }
        do { _ = try Polygon(id: "nan", outer: [c(0, 0), c(.infinity, 1), c(1, 1)]); Issue.record("accepted") }
        catch { #expect(error.polygon == "nan"); #expect("\(error)".contains("nan")) }
    }

    @Test func rejectsBowTie() {
        #expect(throws: PolygonError(polygon: "bow", ring: 0, problem: .selfIntersection(edge: 0, otherEdge: 2))) {
            try Polygon(id: "bow", outer: [c(0, 0), c(1, 1), c(1, 0), c(0, 1)])
        }
    }

    @Test func rejectsCollinear() {
        #expect(throws: PolygonError.self) { try Polygon(id: "line", outer: [c(0, 0), c(1, 1), c(2, 2)]) }
    }

    @Test func rejectsBadHoleNamingTheRing() {
        do {
            _ = try Polygon(id: "h", outer: [c(0, 0), c(0, 4), c(4, 4), c(4, 0)], holes: [[c(1, 1), c(2, 2)]])
            Issue.record("accepted")
        } catch { #expect(error.ring == 1) }
    }

    @Test func centroidOfSquareIsItsMiddle() {
        #expect(abs(square.centroid.lat - 0.5) < 1e-12 && abs(square.centroid.lon - 0.5) < 1e-12)
    }

    @Test func decodingValidates() throws {
        let bad = #"{"id":"x","outer":[{"lat":0,"lon":0},{"lat":0,"lon":1}]}"#
        #expect(throws: PolygonError.self) { try JSONDecoder().decode(Polygon.self, from: Data(bad.utf8)) }
    }
}

import Foundation

@Suite struct RegionMapTests {
    let map = try! RegionMap([
        Region(id: "west", name: "West", polygons: [try! Polygon(id: "w", outer: [c(37.5, 126.9), c(37.6, 126.9), c(37.6, 127.0), c(37.5, 127.0)])]),
        Region(id: "east", name: "East", polygons: [try! Polygon(id: "e", outer: [c(37.5, 127.0), c(37.6, 127.0), c(37.6, 127.1), c(37.5, 127.1)])]),
    ])

    @Test func pointIsPlacedInTheContainingRegion() throws {
        #expect(try map.locate(c(37.55, 126.95)) == .contained(regionID: "west"))
        #expect(try map.locate(c(37.55, 127.05)) == .contained(regionID: "east"))
    }

    @Test func outsideIsAnErrorUnlessFallbackAsked() throws {
        let p = c(37.55, 127.3)
        #expect(throws: RegionMapError.outsideEveryRegion(p)) { try map.locate(p) }
        let m = try map.locate(p, fallbackToNearestCentroid: true)
        #expect(m.regionID == "east")
        if case .nearestCentroid(_, let metres) = m { #expect(metres > 10_000) } else { Issue.record("not a fallback") }
    }

    @Test func duplicateRegionRejected() {
        #expect(throws: RegionMapError.duplicateRegion("west")) { try RegionMap(map.regions + [map.regions[0]]) }
    }

    @Test func invalidPointRejected() {
        #expect(throws: RegionMapError.self) { try map.locate(c(.nan, 0), fallbackToNearestCentroid: true) }
    }
}

@Suite struct PolygonHoleTests {
    @Test func holeOutsideTheOuterRingIsRejected() {
        #expect(throws: PolygonError(polygon: "h", ring: 1, problem: .holeVertexOutsideOuter(vertex: 2))) {
            try Polygon(id: "h", outer: [c(0, 0), c(0, 4), c(4, 4), c(4, 0)], holes: [[c(1, 1), c(1, 3), c(5, 3), c(3, 1)]])
        }
    }
}

@Suite struct CityRegionsFileTests {
    let sample = """
    {"version": 1, "city": {"id": "x", "name": "X", "timeZone": "Asia/Seoul"},
     "hubs": [{"id": "hub", "name": "Hub", "kind": "dawn", "location": {"lat": 37.0, "lon": 126.0}}],
     "regions": [
       {"id": "a", "name": "A", "polygon": [{"lat": 37.5, "lon": 126.9}, {"lat": 37.6, "lon": 126.9}, {"lat": 37.6, "lon": 127.0}, {"lat": 37.5, "lon": 127.0}],
        "districts": [{"id": "d1", "name": "D1", "centroid": {"lat": 37.56, "lon": 126.94}}], "stores": [{"id": "s1", "name": "S1", "location": {"lat": 37.55, "lon": 126.95}}]},
       {"id": "b", "name": "B", "polygon": [{"lat": 37.5, "lon": 127.0}, {"lat": 37.6, "lon": 127.0}, {"lat": 37.6, "lon": 127.1}, {"lat": 37.5, "lon": 127.1}, {"lat": 37.5, "lon": 127.0}],
        "districts": [{"id": "d2", "name": "D2", "centroid": {"lat": 37.55, "lon": 127.05}}], "stores": []}]}
    """

    @Test func loadsRegionsStoresAndHubs() throws {
        let f = try CityRegionsFile.load(Data(sample.utf8))
        #expect(f.cityID == "x" && f.regions.regions.map(\.id) == ["a", "b"])
        #expect(f.stores == [Place(id: "s1", name: "S1", location: c(37.55, 126.95), regionID: "a")])
        #expect(f.hubs.map(\.id) == ["hub"])
        #expect(try f.regions.locate(c(37.55, 127.05)) == .contained(regionID: "b"))
    }

    @Test func errorsNameTheItem() {
        func err(_ s: String) -> CityRegionsFileError? {
            do { _ = try CityRegionsFile.load(Data(s.utf8)); return nil } catch { return error }
        }
        #expect(err(sample.replacingOccurrences(of: "\"lat\": 37.55, \"lon\": 126.95", with: "\"lat\": 37.55, \"lon\": 127.05"))?.item == "store s1")
        #expect(err(sample.replacingOccurrences(of: "{\"lat\": 37.6, \"lon\": 127.0}, {\"lat\": 37.5, \"lon\": 127.0}]", with: "{\"lat\": 37.5, \"lon\": 127.0}, {\"lat\": 37.6, \"lon\": 127.0}]"))?.item == "regions[0] (a).polygon")
        #expect(err(sample.replacingOccurrences(of: "\"version\": 1", with: "\"version\": 3"))?.item == "version")
        #expect(err("[]")?.item == "(file)")
        // Structural errors come from CityMap, the format's one validator, with the item named.
        #expect(err(sample.replacingOccurrences(of: "\"id\": \"d2\"", with: "\"id\": \"d1\""))?.item == "district d1")
    }
}
