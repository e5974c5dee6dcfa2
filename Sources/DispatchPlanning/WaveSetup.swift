import Fleet
import Foundation
import Geo

/// Everything fixed about one dawn wave before orders come in: the morning, the dawn hub, the vans
/// per region with their departure wave, and the travel model. Built from the operations and
/// region files; pure.
public struct WaveSetup: Sendable {
    /// The dawn vans of one region, in the operations file's order.
    public struct RegionFleet: Sendable {
        public var regionID: RegionID
        public var vans: [Vehicle]
        /// Hub departure of each van (parallel to `vans`): round-robin over the first-trip waves.
        public var departures: [Instant]
    }

    public var deliveryDay: LocalDay
    public var offset: UTCOffset
    /// Local midnight of the delivery morning: every time in a `Problem` counts seconds from here.
    public var origin: Instant
    public var windowStart: Instant
    public var windowEnd: Instant
    /// The hubs the vans leave from (id → location).
    public var sites: [SiteID: Coordinate]
    public var regions: [RegionFleet]
    public var model: GreatCircleTravelModel
    public var emissions: EmissionFactors
    /// The departures the vans are spread over (the first-trip waves).
    public var waves: [Instant]
    /// Waves in the operations file later than this before the window's end are second-trip
    /// waves; single-trip planning does not use them.
    public static let minimumFirstTripHours: Int64 = 3

    /// Dawn vans are the `van` and `evVan` units whose home is a hub of the region file and whose
    /// shift on the delivery morning overlaps the dawn window (linehaul trucks and day vans are not
    /// last-mile dawn capacity).
    public static func dawn(config: OperationsConfig, city: CityRegionsFile, deliveryDay: LocalDay) throws(WaveSetupError) -> WaveSetup {
        let off = config.offset
        guard let dawn = config.products.dawn else { throw WaveSetupError(item: "products.dawn", message: "the operations file offers no dawn product") }
        let origin = Instant.local(deliveryDay, 0, off)
        let wStart = Instant.local(deliveryDay, dawn.windowStart.seconds, off)
        let wEnd = Instant.local(deliveryDay, dawn.windowEnd.seconds, off)
        let all = dawn.waveDepartures(for: deliveryDay, off)
        var waves = all.filter { wEnd - $0 >= minimumFirstTripHours * 3600 }
        if waves.isEmpty { waves = all.isEmpty ? [wStart] : [all[0]] }
        let model: GreatCircleTravelModel
        do { model = try config.travelModel(regions: city.regions) } catch { throw WaveSetupError(item: "travel model", message: error.description) }
        var sites: [SiteID: Coordinate] = [:]
        for h in city.hubs { sites[SiteID(h.id)] = h.location }
        let vehicles = config.vehicles()
        var fleets: [RegionFleet] = []
        for (ri, r) in config.regions.enumerated() {
            guard city.regions.region(id: r.id.rawValue) != nil else {
                throw WaveSetupError(item: "regions[\(ri)] (\(r.id))", message: "is not a region of the region file")
            }
            var vans: [Vehicle] = []
            for f in r.fleets where (f.kind == .van || f.kind == .evVan) && sites[f.site] != nil {
                guard model.supports(f.kind) else { throw WaveSetupError(item: "speedProfiles.\(f.kind.rawValue)", message: "missing for \(f.idPrefix)") }
                for v in vehicles where v.id.rawValue.hasPrefix(f.idPrefix + "-") && v.home == f.site {
                    let (s, e) = v.shift.on(deliveryDay, off)
                    if s < wEnd && e > wStart { vans.append(v) }
                }
            }
            let departures = vans.indices.map { i in
                let w = waves[i % waves.count]
                return max(w, vans[i].shift.on(deliveryDay, off).start)
            }
            fleets.append(RegionFleet(regionID: r.id, vans: vans, departures: departures))
        }
        return WaveSetup(deliveryDay: deliveryDay, offset: off, origin: origin, windowStart: wStart, windowEnd: wEnd,
                         sites: sites, regions: fleets, model: model, emissions: config.emissionFactors, waves: waves)
    }
}

public struct WaveSetupError: Error, Sendable, Equatable, CustomStringConvertible {
    public var item: String
    public var message: String
    public var description: String { "wave setup: \(item): \(message)" }
}
