import Fleet
import Geo

/// The region's travel model: great-circle × circuity, time-dependent by the vehicle kind's hourly
/// speeds (Geo's `GreatCircleTravelModel`), plus the loading and service times. Rebuilt from the
/// config, never encoded.
struct LiveTravel: Sendable {
    let model: GreatCircleTravelModel
    let config: RegionDispatchConfig.Travel

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
    }

    func metres(_ a: Coordinate, _ b: Coordinate) -> Int64 { model.distanceMetres(from: a, to: b) }

    func seconds(_ a: Coordinate, _ b: Coordinate, _ kind: VehicleKind, at t: Instant) -> Int64 {
        model.travelSeconds(from: a, to: b, kind: kind, departingAt: t)
    }

    func service(_ o: Order) -> Int64 { config.serviceBaseSeconds + config.serviceSecondsPerParcel * Int64(o.parcels) }
}
