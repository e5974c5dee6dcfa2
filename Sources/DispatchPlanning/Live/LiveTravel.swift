import Fleet
import Geo

/// The region's travel model: great-circle × circuity, time-dependent by the vehicle kind's hourly
/// speeds (Geo's `GreatCircleTravelModel`), plus the loading and service times. Rebuilt from the
/// config, never encoded.
struct LiveTravel: Sendable {
    let model: GreatCircleTravelModel
    let config: RegionDispatchConfig.Travel
    /// Each site's location with its circuity factor.
    let sites: [SiteID: Point]

    init(_ c: RegionDispatchConfig) {
        let map = try? RegionMap([c.shape])
        // The config validated circuity and the speed-up; a failure here would be a config bug, so
        // fall back to the plain model rather than trap inside a pure state.
        if let m = try? GreatCircleTravelModel(regions: map, circuity: [c.region.rawValue: c.travel.circuity],
                                                defaultCircuity: c.travel.defaultCircuity, speeds: c.travel.speeds,
                                                offset: c.offset, tripLengthSpeedup: c.travel.tripLengthSpeedup) {
            model = m
        } else {
            model = try! GreatCircleTravelModel(regions: nil, circuity: [:], defaultCircuity: 1.35, speeds: c.travel.speeds, offset: c.offset)
        }
        config = c.travel
        var sites: [SiteID: Point] = [:]
        for site in c.sites { sites[site.id] = Point(at: site.location, factor: model.circuityFactor(at: site.location)) }
        self.sites = sites
    }

    /// A point with its circuity factor, so a leg costs one haversine (no polygon test).
    struct Point: Sendable, Hashable {
        var at: Coordinate
        var factor: Double
    }

    func point(_ c: Coordinate) -> Point { Point(at: c, factor: model.circuityFactor(at: c)) }

    /// The model's road metres between two points (same formula as `GreatCircleTravelModel`).
    func metres(_ a: Point, _ b: Point) -> Int64 {
        Int64((GreatCircle.distanceMetres(a.at, b.at) * (a.factor + b.factor) / 2).rounded())
    }

    /// The model's travel time for `metres` leaving at `t` (same as `GreatCircleTravelModel.travelSeconds`).
    func seconds(metres: Int64, _ kind: VehicleKind, at t: Instant) -> Int64 {
        guard let p = config.speeds[kind] else { return 0 }
        return p.travelSeconds(metres: metres, departingAt: t, offset: model.offset, speedFactor: config.tripLengthSpeedup?.factor(metres: metres) ?? 1)
    }

    func service(_ o: Order) -> Int64 { config.serviceBaseSeconds + config.serviceSecondsPerParcel * Int64(o.parcels) }
}
