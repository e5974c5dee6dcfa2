import Foundation

/// A named point of a city file: a hub or a store.
public struct Place: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var location: Coordinate
    /// Stores: the region that lists them. Hubs: nil (they are outside the city).
    public var regionID: String?
}

/// The geometry of `Regions/<city>.json` (format: Docs/REGIONS.md) as Geo types: validated
/// `Polygon`s in a `RegionMap`, hubs, and stores checked inside their regions. Built from a
/// `CityMap` (the one decoder and validator of the format), so both views accept the same files.
public struct CityRegionsFile: Sendable {
    public let cityID: String
    public let regions: RegionMap
    public let hubs: [Place]
    public let stores: [Place]
    /// The whole file (districts, names), as loaded.
    public let map: CityMap

    /// Decodes and validates through `CityMap` (the one validation of the format: ids, polygons,
    /// overlaps, stores inside their regions), then builds the geometry. Errors name the item.
    public static func load(_ data: Data) throws(CityRegionsFileError) -> CityRegionsFile {
        let city: CityMap
        do { city = try CityMap.load(from: data) } catch {
            throw CityRegionsFileError(item: item(of: error), message: message(of: error))
        }
        return try CityRegionsFile(city)
    }

    /// The geometry of an already loaded `CityMap`.
    public init(_ city: CityMap) throws(CityRegionsFileError) {
        func coordinate(_ p: CityMap.Point) -> Coordinate { Coordinate(lat: p.lat, lon: p.lon) }
        var regions: [Region] = []
        for (i, r) in city.regions.enumerated() {
            do { regions.append(Region(id: r.id, name: r.name, polygons: [try Polygon(id: r.id, outer: r.polygon.map(coordinate))])) }
            catch { throw CityRegionsFileError(item: "regions[\(i)] (\(r.id)).polygon", message: error.description) }
        }
        let map: RegionMap
        do { map = try RegionMap(regions) } catch { throw CityRegionsFileError(item: "regions", message: error.description) }
        var stores: [Place] = []
        for r in city.regions {
            for s in r.stores {
                let location = coordinate(s.location)
                guard map.region(id: r.id)!.contains(location) else {
                    throw CityRegionsFileError(item: "store \(s.id)", message: "location (\(location.lat), \(location.lon)) is not inside region \(r.id)")
                }
                stores.append(Place(id: s.id, name: s.name, location: location, regionID: r.id))
            }
        }
        self.cityID = city.city.id
        self.regions = map
        self.hubs = city.hubs.map { Place(id: $0.id, name: $0.name, location: coordinate($0.location), regionID: nil) }
        self.stores = stores
        self.map = city
    }

    /// What was wrong, without the item (which `CityRegionsFileError` prints before it).
    static func message(of error: RegionFileError) -> String {
        switch error {
        case let .malformed(_, reason): reason
        case let .unsupportedVersion(v, supported): "\(v) is not supported (supported \(supported.lowerBound)...\(supported.upperBound))"
        case .noRegions: "the file defines no regions"
        case let .invalidPolygon(_, _, reason): reason
        case let .storeOutsideRegion(_, region, lat, lon): "location (\(lat), \(lon)) is not inside region \(region)"
        default: error.description
        }
    }

    static func item(of error: RegionFileError) -> String {
        switch error {
        case let .malformed(path, _): path.isEmpty ? "(file)" : path
        case .unsupportedVersion: "version"
        case let .emptyID(item): item
        case let .duplicateID(kind, id): "\(kind) \(id)"
        case let .polygonTooSmall(region, _): "regions (\(region)).polygon"
        case let .coordinateOutOfRange(item, _, _): item
        case let .noDistricts(region): "regions (\(region)).districts"
        case .noRegions: "regions"
        case let .idTooLong(kind, id, _, _): "\(kind) \(CityMap.shown(id))"
        case let .tooManyPoints(region, _, _): "regions (\(region)).polygon"
        case let .invalidPolygon(index, region, _): "regions[\(index)] (\(region)).polygon"
        case let .overlappingRegions(a, b): "regions \(a) and \(b)"
        case let .storeOutsideRegion(store, _, _, _): "store \(store)"
        }
    }
}

public struct CityRegionsFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var item: String
    public var message: String
    public init(item: String, message: String) { self.item = item; self.message = message }
    /// A `CityMap.load` error in this form, so every command prints the same line for the same file.
    public init(_ error: RegionFileError) {
        self.init(item: CityRegionsFile.item(of: error), message: CityRegionsFile.message(of: error))
    }
    public var description: String { "regions file: \(item): \(message)" }
}
