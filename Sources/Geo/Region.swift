/// A named dispatch region: one or more polygons (a region is usually several districts).
public struct Region: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var polygons: [Polygon]

    public init(id: String, name: String, polygons: [Polygon]) {
        self.id = id; self.name = name; self.polygons = polygons
    }

    public func contains(_ p: Coordinate) -> Bool { polygons.contains { $0.contains(p) } }

    /// Mean of the polygons' centroids weighted by their (lon, lat) area.
    public var centroid: Coordinate {
        var w = 0.0, lat = 0.0, lon = 0.0
        for poly in polygons {
            let a = abs(Polygon.signedArea(poly.outer))
            let c = poly.centroid
            w += a; lat += c.lat * a; lon += c.lon * a
        }
        return w > 0 ? Coordinate(lat: lat / w, lon: lon / w) : Coordinate(lat: .nan, lon: .nan)
    }
}

/// How a point was placed in a region.
public enum RegionMatch: Sendable, Equatable {
    /// A polygon of the region contains the point.
    case contained(regionID: String)
    /// No polygon contains the point; the region with the nearest centroid was chosen because
    /// the caller asked for the fallback. `metres` is the distance to that centroid.
    case nearestCentroid(regionID: String, metres: Double)

    public var regionID: String {
        switch self { case .contained(let id), .nearestCentroid(let id, _): return id }
    }
}

/// Why a region map could not be built or a point not placed.
public enum RegionMapError: Error, Sendable, Equatable, CustomStringConvertible {
    case duplicateRegion(String)
    case emptyRegion(String)
    case invalidPoint(Coordinate)
    case outsideEveryRegion(Coordinate)
    public var description: String {
        switch self {
        case .duplicateRegion(let id): return "region \(id) is defined twice"
        case .emptyRegion(let id): return "region \(id) has no polygon"
        case .invalidPoint(let c): return "point (\(c.lat), \(c.lon)) is not a finite WGS84 coordinate"
        case .outsideEveryRegion(let c): return "point (\(c.lat), \(c.lon)) is outside every region"
        }
    }
}

/// Looks up which region contains a point. Regions are checked in the order given, so when
/// hand-drawn polygons overlap by a hair the first listed wins (deterministic).
/// Lookup is O(total vertices) after a bounding-box test per region.
public struct RegionMap: Sendable {
    public let regions: [Region]
    private let boxes: [(minLat: Double, maxLat: Double, minLon: Double, maxLon: Double)]
    private let centroids: [Coordinate]

    public init(_ regions: [Region]) throws(RegionMapError) {
        var seen = Set<String>()
        for r in regions {
            guard seen.insert(r.id).inserted else { throw .duplicateRegion(r.id) }
            guard !r.polygons.isEmpty else { throw .emptyRegion(r.id) }
        }
        self.regions = regions
        self.boxes = regions.map { r in
            let pts = r.polygons.flatMap(\.outer)
            return (pts.map(\.lat).min()!, pts.map(\.lat).max()!, pts.map(\.lon).min()!, pts.map(\.lon).max()!)
        }
        self.centroids = regions.map(\.centroid)
    }

    public func region(id: String) -> Region? { regions.first { $0.id == id } }

    /// The region whose polygon contains `p`, or nil.
    public func containing(_ p: Coordinate) -> Region? {
        for (i, r) in regions.enumerated() {
            let b = boxes[i]
            guard p.lat >= b.minLat, p.lat <= b.maxLat, p.lon >= b.minLon, p.lon <= b.maxLon else { continue }
            if r.contains(p) { return r }
        }
        return nil
    }

    /// Places `p`: by containment; when nothing contains it and `fallbackToNearestCentroid` is
    /// true, by the nearest region centroid (great-circle). Without the fallback a point outside
    /// every polygon is an error, so an order in Incheon is never silently given to Gangseo.
    public func locate(_ p: Coordinate, fallbackToNearestCentroid: Bool = false) throws(RegionMapError) -> RegionMatch {
        guard p.isValid else { throw .invalidPoint(p) }
        if let r = containing(p) { return .contained(regionID: r.id) }
        guard fallbackToNearestCentroid, !regions.isEmpty else { throw .outsideEveryRegion(p) }
        var best = 0, bestD = Double.infinity
        for (i, c) in centroids.enumerated() {
            let d = GreatCircle.distanceMetres(p, c)
            if d < bestD { best = i; bestD = d }
        }
        return .nearestCentroid(regionID: regions[best].id, metres: bestD)
    }
}
