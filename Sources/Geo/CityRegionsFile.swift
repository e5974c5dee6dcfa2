import Foundation

/// A named point of a city file: a hub or a store.
public struct Place: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var location: Coordinate
    /// Stores: the region that lists them. Hubs: nil (they are outside the city).
    public var regionID: String?
}

/// The geometry of `Regions/<city>.json` (format: Docs/REGIONS.md, version 1) as Geo types
/// (validated `Polygon`s, a `RegionMap`, stores checked inside their regions). `CityMap`, beside it,
/// is the full loader of the same file (districts, ids, every field). Two decoders of one format is
/// debt: the next change to the file format should make this a view built from a `CityMap`.
public struct CityRegionsFile: Sendable {
    public let cityID: String
    public let regions: RegionMap
    public let hubs: [Place]
    public let stores: [Place]

    private struct File: Decodable {
        struct City: Decodable { var id: String }
        struct Site: Decodable { var id: String; var name: String; var location: Coordinate }
        struct RegionEntry: Decodable { var id: String; var name: String; var polygon: [Coordinate]; var stores: [Site]? }
        var version: Int
        var city: City
        var hubs: [Site]?
        var regions: [RegionEntry]
    }

    /// Decodes and validates (each polygon through `Polygon`, so self-intersections are caught
    /// too; every store inside its own region). Errors name the item.
    public static func load(_ data: Data) throws(CityRegionsFileError) -> CityRegionsFile {
        let f: File
        do { f = try JSONDecoder().decode(File.self, from: data) }
        catch { throw CityRegionsFileError(item: "(file)", message: "\(error)") }
        guard f.version == 1 else { throw CityRegionsFileError(item: "version", message: "\(f.version) is not supported (expected 1)") }
        var regions: [Region] = []
        for (i, r) in f.regions.enumerated() {
            do { regions.append(Region(id: r.id, name: r.name, polygons: [try Polygon(id: r.id, outer: r.polygon)])) }
            catch { throw CityRegionsFileError(item: "regions[\(i)] (\(r.id)).polygon", message: error.description) }
        }
        let map: RegionMap
        do { map = try RegionMap(regions) } catch { throw CityRegionsFileError(item: "regions", message: error.description) }
        var stores: [Place] = []
        for r in f.regions {
            for s in r.stores ?? [] {
                guard s.location.isValid, map.region(id: r.id)!.contains(s.location) else {
                    throw CityRegionsFileError(item: "store \(s.id)", message: "location (\(s.location.lat), \(s.location.lon)) is not inside region \(r.id)")
                }
                stores.append(Place(id: s.id, name: s.name, location: s.location, regionID: r.id))
            }
        }
        let hubs = (f.hubs ?? []).map { Place(id: $0.id, name: $0.name, location: $0.location, regionID: nil) }
        for h in hubs where !h.location.isValid {
            throw CityRegionsFileError(item: "hub \(h.id)", message: "location is not a finite WGS84 coordinate")
        }
        return CityRegionsFile(cityID: f.city.id, regions: map, hubs: hubs, stores: stores)
    }
}

public struct CityRegionsFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var item: String
    public var message: String
    public var description: String { "regions file: \(item): \(message)" }
}
