import Geo

/// Where an order is in its life. Flat (no payloads) so the transition table can be declared
/// and checked exhaustively; the details (site, courier, failure reason) live on `Order`.
public enum OrderState: String, Sendable, Hashable, Codable, CaseIterable {
    case created, accepted, allocated, picking, packed, assigned, outForDelivery, arrived
    case delivered, failed, returned, cancelled
    case readyForPickup, pickedUp, noShow

    /// No command leaves a terminal state.
    public var isTerminal: Bool { OrderTransitions.table.allSatisfy { $0.from != self } }
}

/// Who carries an order: a vehicle (van, EV van, truck) or a rider.
public struct CourierRef: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable { case vehicle, rider }
    public var kind: Kind
    public var id: String
    public init(kind: Kind, id: String) { self.kind = kind; self.id = id }
    public static func vehicle(_ id: VehicleID) -> CourierRef { CourierRef(kind: .vehicle, id: id.rawValue) }
    public static func rider(_ id: RiderID) -> CourierRef { CourierRef(kind: .rider, id: id.rawValue) }
}

public enum FailureReason: String, Sendable, Hashable, Codable, CaseIterable {
    case nobodyHome, wrongAddress, refused, accessDenied, damaged
    /// The customer cancelled while the parcel was on the road: it comes back like a failure.
    case cancelledAfterDispatch
}

public enum CancelReason: String, Sendable, Hashable, Codable, CaseIterable {
    case customerRequest, outOfStock, paymentFailed, addressUnserviceable, operatorDecision
}

public struct DeliveryProof: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable { case pin, photo, signature, leftAtDoor }
    public var kind: Kind
    /// A PIN check result id, a photo object key, a signature reference: never personal data.
    public var reference: String
    public init(kind: Kind, reference: String) { self.kind = kind; self.reference = reference }
}

/// A request to move an order on.
public enum OrderCommand: Sendable, Hashable {
    case accept
    case allocate(SiteID)
    case startPicking
    case pack
    case assign(CourierRef)
    case unassign
    case dispatch
    case arrive
    case deliver(DeliveryProof)
    case fail(FailureReason)
    case returnItems
    case cancel(CancelReason)
    case markReadyForPickup
    case handOver
    case markNoShow

    /// The payload-free name used by the transition table and in errors.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case accept, allocate, startPicking, pack, assign, unassign, dispatch, arrive, deliver, fail
        case returnItems, cancel, markReadyForPickup, handOver, markNoShow
    }

    public var kind: Kind {
        switch self {
        case .accept: .accept
        case .allocate: .allocate
        case .startPicking: .startPicking
        case .pack: .pack
        case .assign: .assign
        case .unassign: .unassign
        case .dispatch: .dispatch
        case .arrive: .arrive
        case .deliver: .deliver
        case .fail: .fail
        case .returnItems: .returnItems
        case .cancel: .cancel
        case .markReadyForPickup: .markReadyForPickup
        case .handOver: .handOver
        case .markNoShow: .markNoShow
        }
    }
}

/// The declared lifecycle. Everything not listed is illegal.
public enum OrderTransitions {
    public struct Transition: Sendable, Hashable {
        public let from: OrderState
        public let command: OrderCommand.Kind
        public let to: OrderState
    }
    private static func t(_ from: OrderState, _ c: OrderCommand.Kind, _ to: OrderState) -> Transition {
        Transition(from: from, command: c, to: to)
    }

    /// States in which goods have left stock (picked), so cancelling must restock them.
    public static let goodsPicked: Set<OrderState> = [.picking, .packed, .assigned, .readyForPickup]

    public static let table: [Transition] = [
        t(.created, .accept, .accepted),
        // Re-allocation (a store ran out) is allowed until packing is done.
        t(.accepted, .allocate, .allocated),
        t(.allocated, .allocate, .allocated),
        t(.picking, .allocate, .allocated),
        t(.allocated, .startPicking, .picking),
        t(.picking, .pack, .packed),
        // Delivery path.
        t(.packed, .assign, .assigned),
        t(.assigned, .assign, .assigned),          // reassignment by a dispatcher
        t(.failed, .assign, .assigned),            // a second attempt
        t(.assigned, .unassign, .packed),          // van broke down before leaving, route re-planned
        t(.assigned, .dispatch, .outForDelivery),
        t(.outForDelivery, .arrive, .arrived),
        t(.arrived, .deliver, .delivered),
        t(.arrived, .fail, .failed),
        t(.outForDelivery, .fail, .failed),        // e.g. damaged on the way, access denied at the gate
        t(.outForDelivery, .cancel, .failed),      // cancelled after dispatch: comes back like a failure
        t(.failed, .returnItems, .returned),
        // BOPIS path.
        t(.packed, .markReadyForPickup, .readyForPickup),
        t(.readyForPickup, .handOver, .pickedUp),
        t(.readyForPickup, .markNoShow, .noShow),
        t(.noShow, .returnItems, .returned),
        // Cancellation before anything is on the road (not after delivery, not at the door:
        // a refusal at the door is a failure with reason `refused`).
        t(.created, .cancel, .cancelled),
        t(.accepted, .cancel, .cancelled),
        t(.allocated, .cancel, .cancelled),
        t(.picking, .cancel, .cancelled),
        t(.packed, .cancel, .cancelled),
        t(.assigned, .cancel, .cancelled),
        t(.readyForPickup, .cancel, .cancelled),
    ]

    static let index: [OrderState: [OrderCommand.Kind: OrderState]] = {
        var m: [OrderState: [OrderCommand.Kind: OrderState]] = [:]
        for tr in table {
            precondition(m[tr.from]?[tr.command] == nil, "duplicate transition \(tr)")
            m[tr.from, default: [:]][tr.command] = tr.to
        }
        return m
    }()

    /// The target of `command` from `state`, or nil if illegal. O(1).
    public static func target(from state: OrderState, _ command: OrderCommand.Kind) -> OrderState? { index[state]?[command] }
}

/// A rejected transition: names the order, its state and the command.
public struct OrderTransitionError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        /// Not in the transition table.
        case illegal
        /// Legal in the table but not for this product (e.g. a van assignment for a BOPIS order).
        case wrongProduct(Product)
    }
    public var order: OrderID
    public var state: OrderState
    public var command: OrderCommand.Kind
    public var problem: Problem
    public var description: String {
        switch problem {
        case .illegal: return "order \(order): cannot \(command.rawValue) in state \(state.rawValue)"
        case .wrongProduct(let p): return "order \(order): cannot \(command.rawValue) a \(p.rawValue) order (state \(state.rawValue))"
        }
    }
}

/// One journal entry: every transition is one event. `type` is a stable string ("order.packed")
/// that the journal stores; renaming Swift cases must not change it.
public struct OrderEvent: Sendable, Hashable, Codable {
    public var type: String
    public var order: OrderID
    public var at: Instant
    public var from: OrderState?
    public var to: OrderState
    public var site: SiteID?
    public var courier: CourierRef?
    public var failure: FailureReason?
    public var cancel: CancelReason?
    public var proof: DeliveryProof?
    /// Picked goods must go back to stock (cancelled after picking began).
    public var restock: Bool?

    public init(type: String, order: OrderID, at: Instant, from: OrderState?, to: OrderState, site: SiteID? = nil,
                courier: CourierRef? = nil, failure: FailureReason? = nil, cancel: CancelReason? = nil,
                proof: DeliveryProof? = nil, restock: Bool? = nil) {
        self.type = type; self.order = order; self.at = at; self.from = from; self.to = to; self.site = site
        self.courier = courier; self.failure = failure; self.cancel = cancel; self.proof = proof; self.restock = restock
    }

    /// Stable type strings per command.
    public static func typeName(_ k: OrderCommand.Kind) -> String {
        switch k {
        case .accept: "order.accepted"
        case .allocate: "order.allocated"
        case .startPicking: "order.picking_started"
        case .pack: "order.packed"
        case .assign: "order.assigned"
        case .unassign: "order.unassigned"
        case .dispatch: "order.out_for_delivery"
        case .arrive: "order.arrived"
        case .deliver: "order.delivered"
        case .fail: "order.failed"
        case .returnItems: "order.returned"
        case .cancel: "order.cancelled"
        case .markReadyForPickup: "order.ready_for_pickup"
        case .handOver: "order.picked_up"
        case .markNoShow: "order.no_show"
        }
    }
    public static let createdType = "order.created"
}

extension OrderState {
    /// The pure transition: new state and the events it produces, or a typed rejection.
    public func apply(_ command: OrderCommand, order: OrderID, at: Instant) -> Result<(OrderState, [OrderEvent]), OrderTransitionError> {
        guard let to = OrderTransitions.target(from: self, command.kind) else {
            return .failure(OrderTransitionError(order: order, state: self, command: command.kind, problem: .illegal))
        }
        var e = OrderEvent(type: OrderEvent.typeName(command.kind), order: order, at: at, from: self, to: to)
        switch command {
        case .allocate(let s): e.site = s
        case .assign(let c): e.courier = c
        case .deliver(let p): e.proof = p
        case .fail(let r): e.failure = r
        case .cancel(let r):
            if to == .failed { e.failure = .cancelledAfterDispatch; e.cancel = r }
            else { e.cancel = r; e.restock = OrderTransitions.goodsPicked.contains(self) }
        case .accept, .startPicking, .pack, .unassign, .dispatch, .arrive, .returnItems, .markReadyForPickup, .handOver, .markNoShow:
            break
        }
        return .success((to, [e]))
    }
}

extension Order {
    /// Commands that only make sense for BOPIS, and those that never do.
    static let bopisOnly: Set<OrderCommand.Kind> = [.markReadyForPickup, .handOver, .markNoShow]
    static let deliveryOnly: Set<OrderCommand.Kind> = [.assign, .unassign, .dispatch, .arrive, .deliver, .fail]

    /// The event recording creation (the first journal entry of an order).
    public var createdEvent: OrderEvent {
        OrderEvent(type: OrderEvent.createdType, order: id, at: createdAt, from: nil, to: .created)
    }

    /// Applies `command` at `at`: checks the table and the product, updates the order and
    /// returns its events. On error the order is unchanged.
    public mutating func apply(_ command: OrderCommand, at: Instant) throws(OrderTransitionError) -> [OrderEvent] {
        let k = command.kind
        if (product == .bopis && Order.deliveryOnly.contains(k)) || (product != .bopis && Order.bopisOnly.contains(k)) {
            throw OrderTransitionError(order: id, state: state, command: k, problem: .wrongProduct(product))
        }
        let (to, events) = try state.apply(command, order: id, at: at).get()
        switch command {
        case .allocate(let s): site = s
        case .assign(let c): courier = c
        case .unassign: courier = nil
        case .dispatch: attempts += 1
        case .fail(let r): failure = r
        case .cancel where to == .failed: failure = .cancelledAfterDispatch
        default: break
        }
        state = to
        version += 1
        return events
    }
}
