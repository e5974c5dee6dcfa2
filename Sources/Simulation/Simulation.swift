import DispatchPlanning
import Fleet

/// The simulated day (`daybreak simulate`): customers, drivers' and riders' handhelds, store and hub
/// staff and the disruptions of a day, all driving Daybreak through `DispatchGateway` only.
public enum Simulation {}

/// Where the simulated day runs: in process (`LocalGateway`, no cluster: the baseline run and fast
/// tests) or on a real cluster of node processes and PostgreSQL (module DaybreakNode's
/// `ClusterGateway`, started by the `daybreak` executable).
public protocol SimulationBackend: Sendable {
    var gateway: any DispatchGateway { get }
    /// Human-readable description for the report ("3 node processes, PostgreSQL at …").
    var description: String { get }
    /// Kills one node abruptly (SIGKILL) mid-day; returns its name, or nil when the backend has no
    /// node to kill (in process).
    func killNode() async throws -> String?
    /// Orders acknowledged to customers that the system of record does not hold (no order journal,
    /// or a journal whose last state is behind the last one acknowledged to the simulation),
    /// checked against the database on a cluster; `[]` when none. The acknowledged state is the
    /// `OrderState` raw value the simulation last saw confirmed.
    func lostOrders(acknowledged: [OrderIDRegion]) async throws -> [OrderIDRegion]
    /// Handheld reports queued offline and replayed, and replays the system answered `duplicate`
    /// (nil: the backend has no handhelds of its own, e.g. in process).
    func replayCounts() async -> ReplayCounts?
    func shutdown() async
}

extension SimulationBackend {
    public func replayCounts() async -> ReplayCounts? { nil }
}

/// What couriers' handhelds replayed after being offline (through the edge gateway).
public struct ReplayCounts: Sendable, Hashable {
    /// Reports queued while offline and sent on reconnection.
    public var replayed: Int
    /// Reports the system answered `duplicate` (applied before: nothing applied twice).
    public var duplicates: Int
    /// Couriers that went offline during the day.
    public var offlineCouriers: Int
    public init(replayed: Int, duplicates: Int, offlineCouriers: Int) {
        self.replayed = replayed; self.duplicates = duplicates; self.offlineCouriers = offlineCouriers
    }
}

/// An order and the region it was placed in.
public struct OrderIDRegion: Sendable, Hashable, Codable {
    public var order: String
    public var region: String
    /// The last state acknowledged to the simulation (an `OrderState` raw value), if any.
    public var acknowledgedState: String?
    public init(order: String, region: String, acknowledgedState: String? = nil) {
        self.order = order; self.region = region; self.acknowledgedState = acknowledgedState
    }
}

extension OrderIDRegion {
    /// Whether a system of record whose order went through `states` (or ended in the one state given)
    /// honours what was acknowledged: a delivery or a hand-over must be recorded as such; a cancellation
    /// the system accepted ends cancelled or, when the parcel was already on the road, failed
    /// (`cancelledAfterDispatch`) and returned; any other state must have been reached.
    public static func honours(acknowledged: OrderState, states: Set<OrderState>) -> Bool {
        switch acknowledged {
        case .cancelled: return !states.isDisjoint(with: [.cancelled, .failed, .returned])
        default: return states.contains(acknowledged)
        }
    }
}
