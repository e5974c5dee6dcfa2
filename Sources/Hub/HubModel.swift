import Cluster
import Warehouse

/// `Warehouse.HubState` as a journaled state (`EventSourced`): decide and apply are the hub's pure
/// state machine; the journal stores `HubEvent`s under their stable types (`hub.opened`, …).
public struct HubModel: EventSourced, Equatable {
    public typealias Command = HubCommand
    public typealias Event = HubEvent
    public static let kind = "hub"

    public var hub = HubState()
    public init() {}

    public func decide(_ command: HubCommand) throws -> HubEvent { try hub.decide(command) }
    public mutating func apply(_ event: HubEvent) { hub.apply(event) }
    public static func eventType(of event: HubEvent) -> String { event.type }
}
