import Cluster
import DispatchPlanning
import Fleet
import Geo

/// A command to an order actor: the dispatcher's `OrderEffect` (DispatchPlanning/Live/Machine.swift),
/// which is Fleet's `OrderCommand` in a wire-stable, Codable form plus `create` (the Swift case names
/// are the wire names; `OrderCommand` itself is not Codable). One type, so the region dispatcher's
/// effects reach the order actor unchanged. `create` carries the order made by `Order.create`
/// (validation happens at checkout, purely).
public typealias OrderActorCommand = OrderEffect

extension OrderEffect {
    /// The name used in errors: Fleet's command kind, or "create".
    public var name: String { fleetCommand?.kind.rawValue ?? "create" }
}

/// A command with the instant it happens at (the caller's clock: the simulation's or the wall's),
/// so deciding stays pure and replay deterministic.
public struct OrderCommandEnvelope: Sendable, Hashable, Codable {
    public var command: OrderActorCommand
    public var at: Instant
    /// Whether the order actor writes the customer notifications its event triggers (outbox rows).
    /// `false` for commands sent by the region dispatcher, whose own events carry the customer's
    /// notifications (it knows the ETAs and stops away): the transition is journaled as
    /// `OrderJournalEvent.quiet` and no row is written.
    public var notify: Bool
    public init(_ command: OrderActorCommand, at: Instant, notify: Bool = true) {
        self.command = command; self.at = at; self.notify = notify
    }
}

/// Why an order actor refused a command. Comes back to the caller as a value (see
/// `OrderActor.send`), naming the order, its state and the command. Nothing was journaled.
public struct OrderRejection: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Problem: Sendable, Hashable, Codable {
        /// Not in Fleet's transition table.
        case illegalTransition
        /// Legal in the table, not for this product (e.g. `assign` for a BOPIS order).
        case wrongProduct(Product)
        /// A transition before `create`.
        case notCreated
        /// `create` twice.
        case alreadyCreated
        /// `create` with an order whose id is not the actor's key, or not in state `created`.
        case invalidOrder(String)
    }
    public var order: String
    /// nil before creation.
    public var state: OrderState?
    public var command: String
    public var problem: Problem
    public init(order: String, state: OrderState?, command: String, problem: Problem) {
        self.order = order; self.state = state; self.command = command; self.problem = problem
    }
    public var description: String {
        "order \(order): \(command) rejected in state \(state?.rawValue ?? "none"): \(problem)"
    }
}

/// One journal event of an order actor. The stored type is Fleet's stable string
/// (`order.created`, `order.packed`, …), never a Swift name.
public enum OrderJournalEvent: Sendable, Hashable, Codable {
    case created(Order)
    case transition(OrderEvent)
    /// A transition commanded by the region dispatcher: the customer is notified by the
    /// dispatcher's event, so this one writes no outbox row and leaves the notification memory alone.
    case quiet(OrderEvent)

    /// Fleet's event of a transition (nil for `created`).
    public var transition: OrderEvent? {
        switch self {
        case .created: nil
        case .transition(let e), .quiet(let e): e
        }
    }
}

/// The state of an order actor: the order (nil until created) and what the customer has been told.
/// `decide` is Fleet's `Order.apply` on a copy; `apply` is Fleet's `Order.replay` of the event.
public struct OrderModel: DomainState, Hashable {
    public static let kind = "order"
    public typealias Command = OrderCommandEnvelope
    public typealias Event = OrderJournalEvent

    public var order: Order?
    public var notifications = NotificationState()
    /// The policy deciding notifications (the default; per-region policies are future work).
    public static let policy = NotificationPolicy()

    public init() {}

    public func decide(_ envelope: OrderCommandEnvelope) throws -> OrderJournalEvent {
        let key = order?.id.rawValue ?? "?"
        if case .create(let o) = envelope.command {
            guard order == nil else {
                throw OrderRejection(order: o.id.rawValue, state: order?.state, command: "create", problem: .alreadyCreated)
            }
            guard o.state == .created, o.version == 0 else {
                throw OrderRejection(order: o.id.rawValue, state: nil, command: "create", problem: .invalidOrder("state \(o.state.rawValue), version \(o.version)"))
            }
            return .created(o)
        }
        guard var o = order, let command = envelope.command.fleetCommand else {
            throw OrderRejection(order: key, state: nil, command: envelope.command.name, problem: .notCreated)
        }
        do {
            let events = try o.apply(command, at: envelope.at)
            precondition(events.count == 1, "Fleet's Order.apply produces one event per command")
            return envelope.notify ? .transition(events[0]) : .quiet(events[0])
        } catch {
            let problem: OrderRejection.Problem = switch error.problem {
            case .illegal: .illegalTransition
            case .wrongProduct(let p): .wrongProduct(p)
            }
            throw OrderRejection(order: error.order.rawValue, state: error.state, command: error.command.rawValue, problem: problem)
        }
    }

    public mutating func apply(_ event: OrderJournalEvent) {
        switch event {
        case .created(let o):
            order = o
        case .transition(let e):
            guard order != nil else { return }
            // Validated by `decide` before it was journaled; replay re-checks the table.
            do { try order!.replay([e]) } catch { assertionFailure("journaled event does not replay: \(error)") }
            if let update = Self.trackingUpdate(for: e, order: order!) {
                _ = Self.policy.decide(update, order: e.order, at: e.at, state: &notifications)
            }
        case .quiet(let e):
            guard order != nil else { return }
            do { try order!.replay([e]) } catch { assertionFailure("journaled event does not replay: \(error)") }
        }
    }

    public static func eventType(of event: OrderJournalEvent) -> String {
        switch event {
        case .created: OrderEvent.createdType
        case .transition(let e), .quiet(let e): e.type
        }
    }

    /// What an order event means for the customer: assignment (with the promised window as the
    /// first estimate), arrival at the door (approaching), delivered, failed.
    static func trackingUpdate(for e: OrderEvent, order: Order) -> TrackingUpdate? {
        switch e.to {
        case .assigned: .assigned(ETAWindow(earliest: order.promise.earliest, latest: order.promise.latest))
        case .arrived: .stopsAway(0)
        case .delivered: .delivered
        case .failed: .failed(e.failure ?? .nobodyHome)
        default: nil
        }
    }

    /// The topic customer notifications of a region are published on.
    public static func notificationTopic(region: String) -> String { "notify." + region }

    /// The notifications `event` makes the policy send (pure: the policy runs on a copy of the
    /// notification memory), as outbox rows deduplicated by (order, kind, window + attempt).
    public func outbox(for event: OrderJournalEvent) -> [OutboxRow] {
        guard case .transition(let e) = event, var o = order else { return [] }
        do { try o.replay([e]) } catch { return [] }
        guard let update = Self.trackingUpdate(for: e, order: o) else { return [] }
        var memory = notifications
        let sent = Self.policy.decide(update, order: e.order, at: e.at, state: &memory)
        return sent.compactMap { n in
            guard let bytes = try? BinaryEncoder().encode(n) else { return nil }
            let window = n.window.map { "\($0.earliest.epochSeconds)-\($0.latest.epochSeconds)" } ?? "-"
            return OutboxRow(topic: Self.notificationTopic(region: o.region.rawValue), order: e.order.rawValue,
                             kind: n.kind.rawValue, dedupKey: "\(window)/a\(memory.attempt)", payload: bytes)
        }
    }
}
