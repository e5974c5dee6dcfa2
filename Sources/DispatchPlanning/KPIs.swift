import Base
import Fleet

/// The numbers a dispatcher judges a wave by (definitions in Docs/REPORT.md). Planning time is
/// measured by the caller and not part of this pure value.
public struct PlanKPIs: Sendable, Equatable {
    public var orders: Int
    public var planned: Int
    public var unassigned: Int
    public var parcels: Int
    public var vansUsed: Int
    public var vansAvailable: Int
    public var metres: Int64
    public var gramsCO2e: Double
    /// Planned stops whose service starts inside the promise window.
    public var onTimeStops: Int
    /// Mean over used vans of the tightest load dimension (load / capacity).
    public var meanLoadUtilisation: Double
    /// Mean over used vans of (time away from the hub) / (shift length).
    public var meanTimeUtilisation: Double
    /// Routes that break capacity or shift (should be zero; recomputed from the routes).
    public var violations: Int

    public var km: Double { Double(metres) / 1000 }
    public var kmPerParcel: Double { parcels > 0 ? km / Double(parcels) : 0 }
    public var gramsPerParcel: Double { parcels > 0 ? gramsCO2e / Double(parcels) : 0 }
    public var onTimeRate: Double { planned > 0 ? Double(onTimeStops) / Double(planned) : 1 }
    public var allOnTime: Bool { onTimeStops == planned }
    public var stopsPerRoute: Double { vansUsed > 0 ? Double(planned) / Double(vansUsed) : 0 }

    public init(routes: [PlannedRoute], orders: Int, unassigned: Int, vansAvailable: Int) {
        self.orders = orders
        self.unassigned = unassigned
        self.vansAvailable = vansAvailable
        planned = routes.reduce(0) { $0 + $1.stops.count }
        parcels = routes.reduce(0) { $0 + $1.parcels }
        vansUsed = routes.count
        metres = routes.reduce(0) { $0 + $1.metres }
        gramsCO2e = routes.reduce(0) { $0 + $1.gramsCO2e }
        onTimeStops = routes.reduce(0) { $0 + $1.stops.filter(\.isOnTime).count }
        meanLoadUtilisation = routes.isEmpty ? 0 : routes.reduce(0) { $0 + $1.loadUtilisation } / Double(routes.count)
        meanTimeUtilisation = routes.isEmpty ? 0 : routes.reduce(0) { $0 + $1.timeUtilisation } / Double(routes.count)
        violations = routes.filter { !$0.withinCapacity || !$0.withinShift }.count
    }

    public init(region p: RegionPlan) {
        self.init(routes: p.routes, orders: p.orders, unassigned: p.unassigned.count, vansAvailable: p.vansAvailable)
    }

    /// The whole city, including orders no region took.
    public init(wave p: WavePlan) {
        self.init(routes: p.allRoutes, orders: p.regions.reduce(0) { $0 + $1.orders } + p.unassigned.count,
                  unassigned: p.allUnassigned.count, vansAvailable: p.regions.reduce(0) { $0 + $1.vansAvailable })
    }

    /// A JSON object of the KPIs (for `--json` and the report).
    public var json: JSONValue {
        .object([
            ("orders", .int(orders)), ("planned", .int(planned)), ("unassigned", .int(unassigned)), ("parcels", .int(parcels)),
            ("vans_used", .int(vansUsed)), ("vans_available", .int(vansAvailable)), ("km", .double(rounded(km, 1))),
            ("km_per_parcel", .double(rounded(kmPerParcel, 3))), ("g_co2e_per_parcel", .double(rounded(gramsPerParcel, 1))),
            ("on_time_rate", .double(rounded(onTimeRate, 4))), ("load_utilisation", .double(rounded(meanLoadUtilisation, 3))),
            ("time_utilisation", .double(rounded(meanTimeUtilisation, 3))), ("stops_per_route", .double(rounded(stopsPerRoute, 1))),
            ("violations", .int(violations)),
        ])
    }
}

func rounded(_ x: Double, _ places: Int) -> Double {
    var f = 1.0
    for _ in 0..<places { f *= 10 }
    return (x * f).rounded() / f
}
