import Foundation

/// A WGS84 position in degrees.
public struct Coordinate: Sendable, Hashable, Codable {
    public var lat: Double
    public var lon: Double
    public init(lat: Double, lon: Double) { self.lat = lat; self.lon = lon }

    /// True when both parts are finite and within the WGS84 ranges.
    public var isValid: Bool {
        lat.isFinite && lon.isFinite && (-90...90).contains(lat) && (-180...180).contains(lon)
    }
}

/// Great-circle distances on a spherical Earth.
///
/// The sphere uses the IUGG mean radius (6,371,008.8 m). At Seoul's latitude the spherical model is
/// within ~0.3% of the ellipsoid, far below the error of the circuity factor that multiplies it.
public enum GreatCircle {
    /// Mean Earth radius in metres (IUGG R1).
    public static let earthRadiusMetres: Double = 6_371_008.8

    /// Haversine distance in metres. O(1). Numerically stable for short distances, which is
    /// what last-mile work is made of (the law of cosines loses precision below ~1 m).
    public static func distanceMetres(_ a: Coordinate, _ b: Coordinate) -> Double {
        let φ1 = a.lat * .pi / 180, φ2 = b.lat * .pi / 180
        let dφ = φ2 - φ1
        let dλ = (b.lon - a.lon) * .pi / 180
        let s1 = sin(dφ / 2), s2 = sin(dλ / 2)
        let h = s1 * s1 + cos(φ1) * cos(φ2) * s2 * s2
        return 2 * earthRadiusMetres * asin(min(1, h.squareRoot()))
    }
}

extension Coordinate {
    /// Haversine distance to `other` in metres.
    public func distanceMetres(to other: Coordinate) -> Double { GreatCircle.distanceMetres(self, other) }
}
