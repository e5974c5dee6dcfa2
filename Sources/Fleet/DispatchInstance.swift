import Geo

/// The pure input of one routing run, in integer seconds and metres relative to `origin`:
/// what the region dispatcher hands to the routing engine (`Routing.Problem` maps 1:1 — nodes
/// are depots first, then orders; matrices are node-indexed row-major).
public struct DispatchInstance: Sendable {
    public struct Node: Sendable, Equatable {
        public enum Kind: Sendable, Equatable { case depot(SiteID), order(OrderID) }
        public var kind: Kind
        public var location: Coordinate
        /// Seconds after `origin`. For an order: its promise window, clamped so `ready ≥ 0` and
        /// `due ≥ ready` (an order already late keeps `due == ready` and is served as soon as possible).
        public var ready: Int64
        public var due: Int64
        public var service: Int64
        /// Weight g, volume mL, chilled mL, frozen mL (the order of `Routing.Load`).
        public var demand: SIMD4<Int64>
    }
    public struct VehicleSpec: Sendable, Equatable {
        public var id: String
        public var kind: VehicleKind
        public var startNode: Int
        public var endNode: Int
        public var capacity: SIMD4<Int64>
        public var shiftStart: Int64
        public var shiftEnd: Int64
    }

    public var origin: Instant
    public var nodes: [Node]
    public var vehicles: [VehicleSpec]
    public var distances: Matrix
    /// One set of slot matrices per vehicle kind present (speeds differ by kind).
    public var durations: [VehicleKind: TimeDependentDurations]

    /// Builds the instance. Vehicles start and end at their home site; their shift is the one
    /// starting on `shiftDay`. `slots` are departure slots for the duration matrices.
    /// O(kinds × slots × n²) for the matrices, n = sites + orders.
    public static func build(orders: [Order], vehicles: [Vehicle], riders: [Rider] = [], sites: [SiteID: Coordinate],
                             origin: Instant, shiftDay: LocalDay, offset: UTCOffset, slots: TimeSlots,
                             serviceSeconds: (Order) -> Int64, model: any TravelModel) throws(DispatchInstanceError) -> DispatchInstance {
        var depotIndex: [SiteID: Int] = [:]
        var nodes: [Node] = []
        func depot(_ s: SiteID, for unit: String) throws(DispatchInstanceError) -> Int {
            if let i = depotIndex[s] { return i }
            guard let c = sites[s] else { throw .unknownSite(s, unit: unit) }
            depotIndex[s] = nodes.count
            nodes.append(Node(kind: .depot(s), location: c, ready: 0, due: .max / 4, service: 0, demand: .zero))
            return nodes.count - 1
        }
        var specs: [VehicleSpec] = []
        let units: [(String, VehicleKind, SiteID, Capacity, ShiftPattern)] =
            vehicles.map { ($0.id.rawValue, $0.kind, $0.home, $0.capacity, $0.shift) } + riders.map { ($0.id.rawValue, $0.kind, $0.store, $0.capacity, $0.shift) }
        for (id, kind, home, cap, shift) in units {
            guard model.supports(kind) else { throw .unsupportedKind(kind, unit: id) }
            let d = try depot(home, for: id)
            let (s, e) = shift.on(shiftDay, offset)
            specs.append(VehicleSpec(id: id, kind: kind, startNode: d, endNode: d, capacity: cap.vector,
                                     shiftStart: max(0, s - origin), shiftEnd: max(0, e - origin)))
        }
        var seen = Set<OrderID>()
        for o in orders {
            guard seen.insert(o.id).inserted else { throw .duplicateOrder(o.id) }
            let service = serviceSeconds(o)
            guard service >= 0 else { throw .negativeService(o.id, service) }
            let ready = max(0, o.promise.earliest - origin)
            nodes.append(Node(kind: .order(o.id), location: o.destination, ready: ready,
                              due: max(ready, o.promise.latest - origin), service: service, demand: o.load.vector))
        }
        let points = nodes.map(\.location)
        var durations: [VehicleKind: TimeDependentDurations] = [:]
        for kind in Set(specs.map(\.kind)).sorted(by: { $0.rawValue < $1.rawValue }) {
            durations[kind] = model.durationMatrices(points, kind: kind, slots: slots)
        }
        return DispatchInstance(origin: origin, nodes: nodes, vehicles: specs, distances: model.distanceMatrix(points), durations: durations)
    }
}

public enum DispatchInstanceError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownSite(SiteID, unit: String)
    case duplicateOrder(OrderID)
    case negativeService(OrderID, Int64)
    case unsupportedKind(VehicleKind, unit: String)
    public var description: String {
        switch self {
        case .unknownSite(let s, let u): return "\(u): home site \(s) has no location"
        case .duplicateOrder(let o): return "order \(o) appears twice"
        case .negativeService(let o, let s): return "order \(o): negative service time \(s)"
        case .unsupportedKind(let k, let u): return "\(u): the travel model cannot time a \(k.rawValue)"
        }
    }
}
