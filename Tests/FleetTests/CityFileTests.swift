import Testing
import Foundation
import Geo
@testable import Fleet

/// The parts of `Regions/seoul.json` (format: Docs/REGIONS.md, loaded for real by
/// `Geo.CityMap`) that Geo and the operations file must agree with.
struct CityFileSubset: Decodable {
    struct Site: Decodable { var id: String; var location: Coordinate }
    struct District: Decodable { var id: String; var centroid: Coordinate }
    struct RegionEntry: Decodable { var id: String; var name: String; var polygon: [Coordinate]; var districts: [District]; var stores: [Site] }
    var hubs: [Site]
    var regions: [RegionEntry]
}

@Suite struct CityFileTests {
    /// Runs when the region file is in the tree (it is written on another branch; after the
    /// merge this test holds the two files together).
    @Test func operationsFileAndGeoAgreeWithTheRegionFile() throws {
        let url = regionsFile("seoul.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let city = try JSONDecoder().decode(CityFileSubset.self, from: Data(contentsOf: url))
        let geo = try CityRegionsFile.load(Data(contentsOf: url))
        let map = geo.regions
        #expect(geo.stores.count == city.regions.flatMap(\.stores).count)
        // Geo's ray casting places every store and district centroid in its own region, and the
        // hubs (outside the city) nowhere unless the fallback is asked for.
        for r in city.regions {
            for s in r.stores { #expect(try map.locate(s.location) == .contained(regionID: r.id), "store \(s.id)") }
            for d in r.districts { #expect(try map.locate(d.centroid) == .contained(regionID: r.id), "district \(d.id)") }
        }
        for h in city.hubs {
            #expect(throws: RegionMapError.self) { try map.locate(h.location) }
            #expect((try? map.locate(h.location, fallbackToNearestCentroid: true)) != nil)
        }
        let ops = try OperationsConfig.load(Data(contentsOf: regionsFile("seoul-operations.json")))
        let sites = Set(city.hubs.map(\.id) + city.regions.flatMap { $0.stores.map(\.id) })
        try ops.validate(regionIDs: Set(city.regions.map(\.id)), siteIDs: sites)
        #expect(Set(ops.regions.map(\.id.rawValue)) == Set(city.regions.map(\.id)))
        // Riders work only from stores, vans only from hubs, in this file.
        let stores = Set(city.regions.flatMap { $0.stores.map(\.id) })
        for r in ops.riders() { #expect(stores.contains(r.store.rawValue)) }
        // A night van from each region's hub to each of its stores takes under 90 minutes.
        let model = try ops.travelModel(regions: map)
        let hubs = Dictionary(uniqueKeysWithValues: city.hubs.map { ($0.id, $0.location) })
        for r in city.regions {
            let hub = ops.regions.first { $0.id.rawValue == r.id }!.fleets[0].site.rawValue
            for s in r.stores {
                let t = model.travelSeconds(from: hubs[hub]!, to: s.location, kind: .van, departingAt: seoul(monday + 1, 2))
                #expect(t < 90 * 60, "\(hub) → \(s.id): \(t) s")
            }
        }
    }
}
