/// A benchmark instance exactly as a file states it, in the file's own units.
///
/// This is the neutral hand-over between the readers (Solomon / Gehring–Homberger, Li & Lim,
/// VRPLIB) and the solver's model: readers produce it, `Problem` is built from it with a
/// rounding convention. Node 0 is always the depot.
public struct InstanceFile: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        case solomon, lilim, vrplib
    }

    /// One location of the file: the depot (index 0) or a customer / task.
    public struct Node: Sendable, Equatable {
        /// The number the file gives this node (Solomon CUST NO., Li & Lim task id, VRPLIB node id).
        public var fileID: Int
        public var x: Double
        public var y: Double
        /// Demand in the file's unit; negative for a Li & Lim delivery.
        public var demand: Int
        /// Earliest and latest start of service.
        public var ready: Double
        public var due: Double
        public var service: Double
        /// Li & Lim: the node index (into `nodes`) of this delivery's pickup, if it is a delivery.
        public var pickupIndex: Int?
        /// Li & Lim: the node index of this pickup's delivery, if it is a pickup.
        public var deliveryIndex: Int?

        public init(fileID: Int, x: Double, y: Double, demand: Int, ready: Double, due: Double, service: Double,
                    pickupIndex: Int? = nil, deliveryIndex: Int? = nil) {
            self.fileID = fileID; self.x = x; self.y = y; self.demand = demand
            self.ready = ready; self.due = due; self.service = service
            self.pickupIndex = pickupIndex; self.deliveryIndex = deliveryIndex
        }
    }

    public var name: String
    public var format: Format
    /// Index 0 is the depot.
    public var nodes: [Node]
    /// The fleet size the file states (a hard limit for Solomon and Li & Lim; informational for VRPLIB).
    public var vehicleCount: Int?
    public var capacity: Int
    /// VRPLIB `EDGE_WEIGHT_TYPE: EXPLICIT`: the full matrix (travel time = distance), used as given.
    public var explicitMatrix: [[Int]]?

    public init(name: String, format: Format, nodes: [Node], vehicleCount: Int?, capacity: Int,
                explicitMatrix: [[Int]]? = nil) {
        self.name = name; self.format = format; self.nodes = nodes
        self.vehicleCount = vehicleCount; self.capacity = capacity; self.explicitMatrix = explicitMatrix
    }
}
