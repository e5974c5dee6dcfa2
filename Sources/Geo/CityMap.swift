import Foundation

/// Why a regions file was rejected; every case names the item at fault.
public enum RegionFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not JSON of the expected shape; `path` is the coding path (e.g. "regions[2].districts[0].centroid").
    case malformed(path: String, reason: String)
    case unsupportedVersion(Int, supported: ClosedRange<Int>)
    case emptyID(item: String)
    /// Two items of the same kind (region, district, store, hub) share an id.
    case duplicateID(kind: String, id: String)
    /// A polygon needs at least 3 distinct points (after dropping a closing point).
    case polygonTooSmall(region: String, points: Int)
    case coordinateOutOfRange(item: String, lat: Double, lon: Double)
    case noDistricts(region: String)
    case noRegions

    public var description: String {
        switch self {
        case let .malformed(path, reason): "regions file: \(path.isEmpty ? "(top level)" : path): \(reason)"
        case let .unsupportedVersion(v, supported): "regions file version \(v) not supported (supported \(supported))"
        case let .emptyID(item): "\(item) has an empty id"
        case let .duplicateID(kind, id): "duplicate \(kind) id \"\(id)\""
        case let .polygonTooSmall(region, points): "region \"\(region)\" polygon has \(points) distinct points, needs at least 3"
        case let .coordinateOutOfRange(item, lat, lon): "\(item): coordinate (\(lat), \(lon)) out of range"
        case let .noDistricts(region): "region \"\(region)\" has no districts"
        case .noRegions: "regions file defines no regions"
        }
    }
}

/// A city's dispatch regions, districts, stores and hubs, as loaded from `Regions/<city>.json`
/// (format: Docs/REGIONS.md). `regionIDs` is what a node plans ownership over.
public struct CityMap: Hashable, Sendable, Codable {
    /// Format version; a later issue adds fleets and speed profiles as version 2 fields.
    public var version: Int
    public var city: City
    public var hubs: [Hub]
    public var regions: [Region]

    public static let supportedVersions = 1...1

    /// The region ids, sorted: the input to `RegionPlanner`.
    public var regionIDs: [String] { regions.map(\.id).sorted() }

    /// The region whose polygon contains `p`, if any (first in file order on overlapping borders).
    public func region(containing p: Point) -> Region? { regions.first { $0.contains(p) } }

    /// Parses and validates a regions file. Pure: no file access (the caller reads the bytes).
    public static func load(from data: Data) throws(RegionFileError) -> CityMap {
        var map: CityMap
        do {
            map = try JSONDecoder().decode(CityMap.self, from: data)
        } catch let error as DecodingError {
            throw Self.describe(error)
        } catch {
            throw .malformed(path: "", reason: "\(error)")
        }
        try map.validate()
        return map
    }

    public static func load(from text: String) throws(RegionFileError) -> CityMap {
        try load(from: Data(text.utf8))
    }

    /// Checks ids, polygons and coordinates; drops a polygon's closing point.
    mutating func validate() throws(RegionFileError) {
        guard Self.supportedVersions.contains(version) else {
            throw .unsupportedVersion(version, supported: Self.supportedVersions)
        }
        guard !regions.isEmpty else { throw .noRegions }
        var regionIDs = Set<String>(), districtIDs = Set<String>(), storeIDs = Set<String>(), hubIDs = Set<String>()

        func checkID(_ id: String, kind: String, item: String, in seen: inout Set<String>) throws(RegionFileError) {
            guard !id.isEmpty else { throw .emptyID(item: item) }
            guard seen.insert(id).inserted else { throw .duplicateID(kind: kind, id: id) }
        }
        func checkPoint(_ p: Point, _ item: String) throws(RegionFileError) {
            guard p.isValid else { throw .coordinateOutOfRange(item: item, lat: p.lat, lon: p.lon) }
        }

        for (h, hub) in hubs.enumerated() {
            try checkID(hub.id, kind: "hub", item: "hubs[\(h)]", in: &hubIDs)
            try checkPoint(hub.location, "hub \"\(hub.id)\"")
        }
        for r in regions.indices {
            let region = regions[r]
            let name = region.id
            guard !name.isEmpty else { throw .emptyID(item: "regions[\(r)]") }
            guard regionIDs.insert(region.id).inserted else { throw .duplicateID(kind: "region", id: name) }
            for (i, p) in region.polygon.enumerated() { try checkPoint(p, "region \"\(name)\" polygon point \(i)") }
            var ring = region.polygon
            if ring.count > 1, ring.first == ring.last { ring.removeLast() }
            guard Set(ring).count >= 3 else { throw .polygonTooSmall(region: name, points: Set(ring).count) }
            regions[r].polygon = ring
            guard !region.districts.isEmpty else { throw .noDistricts(region: name) }
            for (d, district) in region.districts.enumerated() {
                try checkID(district.id, kind: "district", item: "regions[\(r)].districts[\(d)]", in: &districtIDs)
                try checkPoint(district.centroid, "district \"\(district.id)\"")
            }
            for (s, store) in region.stores.enumerated() {
                try checkID(store.id, kind: "store", item: "regions[\(r)].stores[\(s)]", in: &storeIDs)
                try checkPoint(store.location, "store \"\(store.id)\"")
            }
        }
    }

    private static func describe(_ error: DecodingError) -> RegionFileError {
        func path(_ keys: [any CodingKey]) -> String {
            keys.reduce(into: "") { out, k in
                if let i = k.intValue { out += "[\(i)]" } else { out += (out.isEmpty ? "" : ".") + k.stringValue }
            }
        }
        switch error {
        case let .keyNotFound(key, ctx):
            return .malformed(path: path(ctx.codingPath + [key]), reason: "missing")
        case let .typeMismatch(type, ctx):
            return .malformed(path: path(ctx.codingPath), reason: "expected \(type)")
        case let .valueNotFound(type, ctx):
            return .malformed(path: path(ctx.codingPath), reason: "expected \(type), found null")
        case let .dataCorrupted(ctx):
            return .malformed(path: path(ctx.codingPath), reason: "not valid JSON")
        @unknown default:
            return .malformed(path: "", reason: "\(error)")
        }
    }
}

/// The file's items, nested so they don't collide with the domain's types (`Fleet.Store`, `Geo.Region`).
extension CityMap {
    /// A WGS 84 coordinate in degrees.
    public struct Point: Hashable, Sendable, Codable {
        public var lat: Double
        public var lon: Double
        public init(lat: Double, lon: Double) { self.lat = lat; self.lon = lon }

        var isValid: Bool { lat.isFinite && lon.isFinite && (-90...90).contains(lat) && (-180...180).contains(lon) }
    }

    /// An administrative district (e.g. a Seoul gu) inside a dispatch region.
    public struct District: Hashable, Sendable, Codable {
        public var id: String
        public var name: String
        /// Local-language name, e.g. "강남구".
        public var nameKo: String?
        /// Approximate centre.
        public var centroid: Point
    }

    /// A micro-fulfillment store (a small urban warehouse that ships within its region).
    public struct Store: Hashable, Sendable, Codable {
        public var id: String
        public var name: String
        public var location: Point
    }

    /// A line-haul hub outside the city (e.g. the dawn-delivery hub that feeds the stores overnight).
    public struct Hub: Hashable, Sendable, Codable {
        public var id: String
        public var name: String
        /// What the hub does, e.g. "dawn".
        public var kind: String
        public var location: Point
    }

    /// One dispatch region: the unit of ownership a node leases.
    public struct Region: Hashable, Sendable, Codable {
        public var id: String
        public var name: String
        public var nameKo: String?
        /// The boundary as an open ring (the loader drops a closing point equal to the first).
        public var polygon: [Point]
        public var districts: [District]
        public var stores: [Store]

        /// Whether `p` lies inside the polygon (even–odd rule, lon as x and lat as y: adequate at
        /// city scale). O(polygon points).
        public func contains(_ p: Point) -> Bool {
            var inside = false
            var j = polygon.count - 1
            for i in polygon.indices {
                let a = polygon[i], b = polygon[j]
                if (a.lat > p.lat) != (b.lat > p.lat),
                   p.lon < (b.lon - a.lon) * (p.lat - a.lat) / (b.lat - a.lat) + a.lon {
                    inside.toggle()
                }
                j = i
            }
            return inside
        }
    }

    /// The city's name and time zone.
    public struct City: Hashable, Sendable, Codable {
        public var id: String
        public var name: String
        public var nameKo: String?
        /// IANA zone, e.g. "Asia/Seoul".
        public var timeZone: String
    }
}
