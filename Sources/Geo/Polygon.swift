/// A polygon on the map: one outer ring and optional holes, each a list of vertices without the
/// closing repeat (a repeated closing vertex is accepted and dropped).
///
/// Edges are straight in (lon, lat) space. At city scale (tens of km) the difference from
/// great-circle edges is metres, below the precision of district boundaries we draw by hand.
public struct Polygon: Sendable, Hashable, Codable {
    public var id: String
    public var outer: [Coordinate]
    public var holes: [[Coordinate]]

    /// Validates and builds. Throws a `PolygonError` naming `id`.
    public init(id: String, outer: [Coordinate], holes: [[Coordinate]] = []) throws(PolygonError) {
        self.id = id
        self.outer = Polygon.dropClosing(outer)
        self.holes = holes.map(Polygon.dropClosing)
        try validate()
    }

    private static func dropClosing(_ ring: [Coordinate]) -> [Coordinate] {
        if ring.count > 1, ring.first == ring.last { return Array(ring.dropLast()) }
        return ring
    }

    private enum CodingKeys: String, CodingKey { case id, outer, holes }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(id: try c.decode(String.self, forKey: .id),
                      outer: try c.decode([Coordinate].self, forKey: .outer),
                      holes: try c.decodeIfPresent([[Coordinate]].self, forKey: .holes) ?? [])
    }

    /// Checks: finite in-range coordinates, at least three distinct vertices per ring, no two
    /// non-adjacent edges of a ring crossing (O(n²) per ring; rings are small), non-zero area.
    public func validate() throws(PolygonError) {
        try Polygon.validateRing(outer, polygon: id, ring: 0)
        for (i, hole) in holes.enumerated() {
            try Polygon.validateRing(hole, polygon: id, ring: i + 1)
            // A hole must lie inside the outer ring (vertex test; enough for hand-drawn holes).
            for (v, p) in hole.enumerated() where !Polygon.ringContains(outer, p) {
                throw PolygonError(polygon: id, ring: i + 1, problem: .holeVertexOutsideOuter(vertex: v))
            }
        }
    }

    static func validateRing(_ ring: [Coordinate], polygon: String, ring index: Int) throws(PolygonError) {
        for (i, p) in ring.enumerated() where !p.isValid {
            throw PolygonError(polygon: polygon, ring: index, problem: .invalidCoordinate(vertex: i, p))
        }
        guard Set(ring).count >= 3 else {
            throw PolygonError(polygon: polygon, ring: index, problem: .tooFewDistinctVertices(Set(ring).count))
        }
        let n = ring.count
        for i in 0..<n {
            let a1 = ring[i], a2 = ring[(i + 1) % n]
            for j in (i + 1)..<n {
                // Adjacent edges share a vertex; skip them (edge n-1 is adjacent to edge 0).
                if j == i + 1 || (i == 0 && j == n - 1) { continue }
                let b1 = ring[j], b2 = ring[(j + 1) % n]
                if segmentsIntersect(a1, a2, b1, b2) {
                    throw PolygonError(polygon: polygon, ring: index, problem: .selfIntersection(edge: i, otherEdge: j))
                }
            }
        }
        guard abs(signedArea(ring)) > 1e-12 else {
            throw PolygonError(polygon: polygon, ring: index, problem: .zeroArea)
        }
    }

    /// Ray casting (even-odd rule) on the outer ring, minus holes. Points exactly on an edge
    /// may fall either side; region polygons overlap by a hair or leave a hair's gap, and the
    /// `RegionMap` fallback handles the gap when asked. O(vertices).
    public func contains(_ p: Coordinate) -> Bool {
        guard Polygon.ringContains(outer, p) else { return false }
        for hole in holes where Polygon.ringContains(hole, p) { return false }
        return true
    }

    static func ringContains(_ ring: [Coordinate], _ p: Coordinate) -> Bool {
        var inside = false
        var j = ring.count - 1
        for i in 0..<ring.count {
            let a = ring[i], b = ring[j]
            if (a.lat > p.lat) != (b.lat > p.lat) {
                let x = (b.lon - a.lon) * (p.lat - a.lat) / (b.lat - a.lat) + a.lon
                if p.lon < x { inside.toggle() }
            }
            j = i
        }
        return inside
    }

    /// Area-weighted centroid of the outer ring in (lon, lat) space.
    public var centroid: Coordinate {
        var a = 0.0, cx = 0.0, cy = 0.0
        let n = outer.count
        for i in 0..<n {
            let p = outer[i], q = outer[(i + 1) % n]
            let cross = p.lon * q.lat - q.lon * p.lat
            a += cross; cx += (p.lon + q.lon) * cross; cy += (p.lat + q.lat) * cross
        }
        a /= 2
        return Coordinate(lat: cy / (6 * a), lon: cx / (6 * a))
    }

    static func signedArea(_ ring: [Coordinate]) -> Double {
        var a = 0.0
        for i in 0..<ring.count {
            let p = ring[i], q = ring[(i + 1) % ring.count]
            a += p.lon * q.lat - q.lon * p.lat
        }
        return a / 2
    }

    static func orientation(_ a: Coordinate, _ b: Coordinate, _ c: Coordinate) -> Int {
        let v = (b.lon - a.lon) * (c.lat - a.lat) - (b.lat - a.lat) * (c.lon - a.lon)
        return v > 0 ? 1 : (v < 0 ? -1 : 0)
    }

    static func onSegment(_ a: Coordinate, _ b: Coordinate, _ p: Coordinate) -> Bool {
        min(a.lon, b.lon) <= p.lon && p.lon <= max(a.lon, b.lon) && min(a.lat, b.lat) <= p.lat && p.lat <= max(a.lat, b.lat)
    }

    /// Proper or touching intersection of segments a1a2 and b1b2.
    static func segmentsIntersect(_ a1: Coordinate, _ a2: Coordinate, _ b1: Coordinate, _ b2: Coordinate) -> Bool {
        let o1 = orientation(a1, a2, b1), o2 = orientation(a1, a2, b2)
        let o3 = orientation(b1, b2, a1), o4 = orientation(b1, b2, a2)
        if o1 != o2 && o3 != o4 { return true }
        if o1 == 0 && onSegment(a1, a2, b1) { return true }
        if o2 == 0 && onSegment(a1, a2, b2) { return true }
        if o3 == 0 && onSegment(b1, b2, a1) { return true }
        if o4 == 0 && onSegment(b1, b2, a2) { return true }
        return false
    }
}

extension Polygon {
    /// Whether the interiors of the outer rings of `a` and `b` overlap (holes are not considered).
    /// Rings that only share edges or vertices, as neighbouring regions do, don't overlap.
    ///
    /// An edge of one crossing an edge of the other at a point inside both is an overlap. Otherwise
    /// the boundaries only touch, and the interiors overlap exactly when, beside some piece of one
    /// ring's boundary, the ring's inside is also inside the other: so each edge of either ring is
    /// cut at the other ring's vertices that lie on it, and a point just inside the ring next to
    /// each piece's midpoint is tested against the other ring. O(|a|·|b|); a bounding-box test first.
    public static func outerRingsOverlap(_ a: Polygon, _ b: Polygon) -> Bool {
        let p = a.outer, q = b.outer
        func box(_ r: [Coordinate]) -> (Double, Double, Double, Double) {
            (r.map(\.lat).min()!, r.map(\.lat).max()!, r.map(\.lon).min()!, r.map(\.lon).max()!)
        }
        let (pa, pb, pc, pd) = box(p), (qa, qb, qc, qd) = box(q)
        guard pa < qb && qa < pb && pc < qd && qc < pd else { return false }
        for i in p.indices {
            let a1 = p[i], a2 = p[(i + 1) % p.count]
            for j in q.indices {
                let b1 = q[j], b2 = q[(j + 1) % q.count]
                let o1 = orientation(a1, a2, b1), o2 = orientation(a1, a2, b2)
                let o3 = orientation(b1, b2, a1), o4 = orientation(b1, b2, a2)
                if o1 * o2 < 0 && o3 * o4 < 0 { return true }
            }
        }
        return insideBesideBoundary(of: p, isInside: q) || insideBesideBoundary(of: q, isInside: p)
    }

    /// Whether a point just inside `ring`, beside some piece of its boundary (edges cut at the
    /// vertices of `other` lying on them), lies inside `other`. `ring` is simple (validated).
    static func insideBesideBoundary(of ring: [Coordinate], isInside other: [Coordinate]) -> Bool {
        // Inside is to the left of each edge of a counter-clockwise ring (positive area).
        let side: Double = signedArea(ring) > 0 ? 1 : -1
        for i in ring.indices {
            let a = ring[i], b = ring[(i + 1) % ring.count]
            let dx = b.lon - a.lon, dy = b.lat - a.lat
            var cuts: [Double] = [0, 1]
            for v in other where orientation(a, b, v) == 0 && onSegment(a, b, v) {
                let t = abs(dx) >= abs(dy) ? (v.lon - a.lon) / dx : (v.lat - a.lat) / dy
                if t > 0 && t < 1 { cuts.append(t) }
            }
            cuts.sort()
            for k in 1..<cuts.count where cuts[k] > cuts[k - 1] {
                let t = (cuts[k - 1] + cuts[k]) / 2
                let length = (dx * dx + dy * dy).squareRoot() * (cuts[k] - cuts[k - 1])
                // A millionth of the piece's length off the boundary: far above rounding, far below any real feature.
                let offset = side * 1e-6 * length / (dx * dx + dy * dy).squareRoot()
                let probe = Coordinate(lat: a.lat + t * dy + offset * dx, lon: a.lon + t * dx - offset * dy)
                if ringContains(other, probe) { return true }
            }
        }
        return false
    }
}

/// Why a polygon is invalid. Names the polygon and the ring (0 = outer, k = hole k).
public struct PolygonError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        case invalidCoordinate(vertex: Int, Coordinate)
        case tooFewDistinctVertices(Int)
        case selfIntersection(edge: Int, otherEdge: Int)
        case zeroArea
        case holeVertexOutsideOuter(vertex: Int)
    }
    public var polygon: String
    public var ring: Int
    public var problem: Problem
    public var description: String {
        let where_ = "polygon \(polygon) ring \(ring)"
        switch problem {
        case .invalidCoordinate(let v, let c): return "\(where_): vertex \(v) (\(c.lat), \(c.lon)) is not a finite WGS84 coordinate"
        case .tooFewDistinctVertices(let n): return "\(where_): needs at least 3 distinct vertices, has \(n)"
        case .selfIntersection(let e, let f): return "\(where_): edge \(e) crosses edge \(f)"
        case .zeroArea: return "\(where_): zero area"
        case .holeVertexOutsideOuter(let v): return "\(where_): hole vertex \(v) is outside the outer ring"
        }
    }
}
