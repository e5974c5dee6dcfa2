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
    /// An id longer than the cluster's wire carries (`CityMap.maxIDBytes` UTF-8 bytes).
    case idTooLong(kind: String, id: String, bytes: Int, limit: Int)
    /// A polygon with more points than `CityMap.maxPolygonPoints`.
    case tooManyPoints(region: String, points: Int, limit: Int)
    /// A region's polygon that `Polygon` refuses (self-intersection, zero area); `index` in `regions`.
    case invalidPolygon(index: Int, region: String, reason: String)
    /// Two regions whose polygons overlap (sharing edges or vertices is fine).
    case overlappingRegions(String, String)
    case storeOutsideRegion(store: String, region: String, lat: Double, lon: Double)

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
        case let .idTooLong(kind, id, bytes, limit):
            "\(kind) id \"\(CityMap.shown(id))\" is \(bytes) bytes long; the limit is \(limit) bytes (UTF-8), what the cluster's wire carries"
        case let .tooManyPoints(region, points, limit): "region \"\(region)\" polygon has \(points) points; the limit is \(limit)"
        case let .invalidPolygon(_, region, reason): "region \"\(region)\" polygon: \(reason)"
        case let .overlappingRegions(a, b): "regions \"\(a)\" and \"\(b)\" overlap: a point must belong to one region only"
        case let .storeOutsideRegion(store, region, lat, lon): "store \"\(store)\": location (\(lat), \(lon)) is not inside region \(region)"
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
    /// Longest id (UTF-8 bytes) of any item: region ids are `ActorIdentity.region` and store ids
    /// actor keys on the cluster's wire, which carries at most 255 bytes per identity string
    /// (`WireLimits.maxIdentifierBytes`; Tests/DaybreakNodeTests/RegionFileLimitTests.swift checks they agree).
    public static let maxIDBytes = 255
    /// Most points of one region's polygon (hand-drawn outlines have tens; the geometric checks
    /// are quadratic in it).
    public static let maxPolygonPoints = 10_000

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

    /// The one validation of a regions file, whichever command reads it: ids (non-empty, unique per
    /// kind, at most `maxIDBytes`), coordinates, polygons (as `Polygon` checks them: at least 3
    /// distinct points, no self-intersection, non-zero area), no two regions overlapping, every
    /// store inside its region. Drops a polygon's closing point.
    mutating func validate() throws(RegionFileError) {
        guard Self.supportedVersions.contains(version) else {
            throw .unsupportedVersion(version, supported: Self.supportedVersions)
        }
        guard !regions.isEmpty else { throw .noRegions }
        var regionIDs = Set<String>(), districtIDs = Set<String>(), storeIDs = Set<String>(), hubIDs = Set<String>()

        func checkID(_ id: String, kind: String, item: String, in seen: inout Set<String>) throws(RegionFileError) {
            guard !id.isEmpty else { throw .emptyID(item: item) }
            guard id.utf8.count <= Self.maxIDBytes else { throw .idTooLong(kind: kind, id: id, bytes: id.utf8.count, limit: Self.maxIDBytes) }
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
            try checkID(name, kind: "region", item: "regions[\(r)]", in: &regionIDs)
            guard region.polygon.count <= Self.maxPolygonPoints else {
                throw .tooManyPoints(region: name, points: region.polygon.count, limit: Self.maxPolygonPoints)
            }
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
        // Geometry, the same for every reader (node, up, simulate, demo, bench): what `Polygon` checks,
        // then no overlap between two regions, then every store inside its own region.
        var polygons: [Polygon] = []
        for (r, region) in regions.enumerated() {
            do { polygons.append(try Polygon(id: region.id, outer: region.polygon.map { Coordinate(lat: $0.lat, lon: $0.lon) })) }
            catch { throw .invalidPolygon(index: r, region: region.id, reason: error.description) }
        }
        for i in polygons.indices {
            for j in polygons.indices where j > i && Polygon.outerRingsOverlap(polygons[i], polygons[j]) {
                throw .overlappingRegions(regions[i].id, regions[j].id)
            }
        }
        for (r, region) in regions.enumerated() {
            for store in region.stores where !polygons[r].contains(Coordinate(lat: store.location.lat, lon: store.location.lon)) {
                throw .storeOutsideRegion(store: store.id, region: region.id, lat: store.location.lat, lon: store.location.lon)
            }
        }
    }

    /// An id for a message: at most 40 characters, non-printable characters escaped.
    static func shown(_ id: String) -> String {
        let head = id.unicodeScalars.prefix(40).map { $0.escaped(asASCII: false) }.joined()
        return id.unicodeScalars.count > 40 ? head + "…" : head
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
