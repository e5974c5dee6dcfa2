import Fleet
import Geo

/// One stop of a planned route, timed by simulating the route over the time-dependent travel model.
public struct PlannedStop: Sendable, Equatable {
    public var order: OrderID
    public var location: Coordinate
    public var arrival: Instant
    public var serviceStart: Instant
    public var departure: Instant
    public var windowStart: Instant
    public var windowEnd: Instant
    public var parcels: Int
    /// Road metres driven from the previous stop (or the hub) to this one.
    public var legMetres: Int64
    public var isOnTime: Bool { serviceStart >= windowStart && serviceStart <= windowEnd }
}

/// One van's trip: hub → stops → hub.
public struct PlannedRoute: Sendable, Equatable {
    public var vehicle: VehicleID
    public var kind: VehicleKind
    public var hub: SiteID
    public var hubLocation: Coordinate
    public var departure: Instant
    /// Back at the hub.
    public var returnAt: Instant
    public var shiftStart: Instant
    public var shiftEnd: Instant
    public var stops: [PlannedStop]
    /// Including the legs from and back to the hub.
    public var metres: Int64
    public var load: Capacity
    public var capacity: Capacity
    public var gramsCO2e: Double

    /// The tightest dimension of the load: max over weight, volume, chilled, frozen of load / capacity.
    public var loadUtilisation: Double {
        let l = load.vector, c = capacity.vector
        var u = 0.0
        for i in 0..<4 where c[i] > 0 { u = max(u, Double(l[i]) / Double(c[i])) }
        return u
    }
    /// Time away from the hub over the shift's length.
    public var timeUtilisation: Double {
        let shift = shiftEnd - shiftStart
        return shift > 0 ? Double(returnAt - departure) / Double(shift) : 0
    }
    public var parcels: Int { stops.reduce(0) { $0 + $1.parcels } }
    public var withinCapacity: Bool { capacity.fits(load) }
    public var withinShift: Bool { departure >= shiftStart && returnAt <= shiftEnd }
}

/// An order that no route serves, and why. Never dropped silently.
public struct UnassignedOrder: Sendable, Equatable {
    public enum Reason: String, Sendable, Equatable {
        /// The order's region has no dawn vans.
        case noFleetInRegion = "no_fleet_in_region"
        /// The region is not one the wave plans (e.g. an order for another city).
        case unknownRegion = "unknown_region"
        /// No van could take it within capacity, window and shift.
        case noFeasibleVan = "no_feasible_van"
        /// Not a dawn order for this morning.
        case notThisWave = "not_this_wave"
    }
    public var order: OrderID
    public var region: RegionID
    public var reason: Reason
}

/// The plan of one region: its routes, what is left, and how the solver ran.
public struct RegionPlan: Sendable {
    public var region: RegionID
    public var orders: Int
    public var routes: [PlannedRoute]
    public var unassigned: [UnassignedOrder]
    public var vansAvailable: Int
    /// Solver iterations (0 for the baseline).
    public var iterations: Int
    /// The travel times the solver planned with (nil for the baseline).
    public var planningTimes: PlanningTimes?
    /// True when the first plan missed a promise in simulation and this one is the `.slowestSlot` re-plan.
    public var fellBack = false
    /// Metres of the solver's first complete plan (before the search), for the optimised plan.
    public var constructionMetres: Int64? = nil

    /// Every stop inside its promise and every van back by its shift end, as simulated.
    public var keepsEveryPromise: Bool {
        routes.allSatisfy { $0.withinShift && $0.withinCapacity && $0.stops.allSatisfy(\.isOnTime) }
    }
}

/// A dawn wave for the whole city.
public struct WavePlan: Sendable {
    public var name: String
    public var regions: [RegionPlan]
    /// Orders not assigned to any region's problem (unknown region, no fleet, other wave).
    public var unassigned: [UnassignedOrder]

    public init(name: String, regions: [RegionPlan], unassigned: [UnassignedOrder]) {
        self.name = name
        self.regions = regions
        self.unassigned = unassigned
    }

    public var allRoutes: [PlannedRoute] { regions.flatMap(\.routes) }
    public var allUnassigned: [UnassignedOrder] { unassigned + regions.flatMap(\.unassigned) }
}
