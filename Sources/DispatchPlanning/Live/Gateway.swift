import Fleet
import Geo

// The operations contract: what the outside world (customers, drivers' and riders' handhelds,
// store and hub staff, dispatchers, the clock) asks of Daybreak, and what it answers.
//
// Two implementations share it: `LocalGateway` (every region's pure dispatch state in one
// process, effects applied in memory: the baseline run and fast tests) and `ClusterGateway`
// (module DaybreakNode: the same pure state inside journaled `RegionDispatcher` actors on the
// cluster, reached over ZeroMQ). The simulated day (module Simulation) is a client of this
// contract and nothing else: it never reaches into the system's state.
//
// Every value here is Codable: they are wire payloads on the cluster.

/// How a region decides.
public enum DispatchPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Cheapest feasible insertion over all couriers, continuous re-optimisation within a
    /// budget, re-planning on delays, breakdowns and failures; the dawn wave from the routing engine.
    case optimised
    /// What common dispatch tools do: the nearest available courier, first come first served,
    /// appended to the end of its route, never re-optimised; the dawn wave greedily.
    case baseline
}

/// A stop on a courier's manifest, in driving order.
public struct ManifestStop: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// Load `orders` at `site` (a hub or store), or take them over from `fromCourier` at `location`.
        case pickup
        /// Hand exactly one order (`orders[0]`) to its customer at `location`.
        case delivery
        /// Drive back to the home site (end of a trip or of the shift); failed parcels are returned here.
        case returnToBase
    }
    public var kind: Kind
    public var orders: [OrderID]
    public var location: Coordinate
    public var site: SiteID?
    /// A pickup from a broken-down courier rather than from a site.
    public var fromCourier: CourierRef?
    /// Planned arrival.
    public var eta: Instant
    /// Service may not start before this (a pickup's ready time; a delivery's window start).
    public var notBefore: Instant?
    /// Delivery only: the promised window.
    public var window: PromiseWindow?
    public init(kind: Kind, orders: [OrderID], location: Coordinate, site: SiteID? = nil, fromCourier: CourierRef? = nil,
                eta: Instant, notBefore: Instant? = nil, window: PromiseWindow? = nil) {
        self.kind = kind; self.orders = orders; self.location = location; self.site = site
        self.fromCourier = fromCourier; self.eta = eta; self.notBefore = notBefore; self.window = window
    }
}

/// What a courier's handheld shows: the remaining stops. `version` grows with every change, so a
/// handheld can tell a new manifest from a repeated one.
public struct Manifest: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable { case offShift, idle, working, brokenDown }
    public var courier: CourierRef
    public var version: Int
    public var status: Status
    public var stops: [ManifestStop]
    /// Orders on board now (picked up, not yet delivered, failed or returned).
    public var onBoard: [OrderID]
    public init(courier: CourierRef, version: Int, status: Status, stops: [ManifestStop], onBoard: [OrderID]) {
        self.courier = courier; self.version = version; self.status = status; self.stops = stops; self.onBoard = onBoard
    }
}

/// Why an order was not taken. Names the order and says what was wrong.
public struct PlaceOrderRejection: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Problem: String, Sendable, Hashable, Codable {
        /// The draft failed validation (no lines, unknown SKU, negative weight, …): see `message`.
        case invalidOrder
        case outsideEveryRegion
        case productNotOffered
        case outOfStock
        /// No courier can meet the promise (capacity, shifts, windows).
        case noCapacity
        case duplicateOrder
        /// Scheduled: the chosen slot has no room left; `offeredSlots` are the next free ones.
        case slotFull
    }
    public var order: OrderID
    public var problem: Problem
    public var message: String
    /// `slotFull`: the next free slot starts, earliest first (empty when none is free).
    public var offeredSlots: [Instant]?
    public init(order: OrderID, problem: Problem, message: String, offeredSlots: [Instant]? = nil) {
        self.order = order; self.problem = problem; self.message = message; self.offeredSlots = offeredSlots
    }
    public var description: String { "order \(order): \(problem.rawValue): \(message)" }
}

/// The system's answer to a new order.
public enum PlaceOrderOutcome: Sendable, Hashable, Codable {
    /// A courier has it; `eta` is the planned arrival at the customer.
    case assigned(courier: CourierRef, site: SiteID, eta: Instant, window: PromiseWindow)
    /// Dawn: accepted and allocated to the hub; planned with the wave at cutoff.
    case awaitingWave(site: SiteID, window: PromiseWindow)
    /// BOPIS: reserved at `site`, to be picked and held for collection.
    case awaitingCollection(site: SiteID, window: PromiseWindow)
    case rejected(PlaceOrderRejection)
}

/// What a driver's or rider's handheld reports. `at` is the handheld's clock (the simulation's).
public enum HandheldReport: Sendable, Hashable, Codable {
    case shiftStarted(CourierRef, at: Instant, position: Coordinate)
    case position(CourierRef, Coordinate, at: Instant)
    case arrived(CourierRef, stop: ManifestStop.Kind, orders: [OrderID], at: Instant)
    case pickedUp(CourierRef, orders: [OrderID], at: Instant)
    case delivered(CourierRef, order: OrderID, proof: DeliveryProof, at: Instant)
    case failed(CourierRef, order: OrderID, reason: FailureReason, at: Instant)
    /// Back at base: failed parcels on board are handed back (the orders become `returned`).
    case returned(CourierRef, at: Instant)
    case breakdown(CourierRef, position: Coordinate, at: Instant)
    case shiftEnded(CourierRef, at: Instant)

    public var courier: CourierRef {
        switch self {
        case .shiftStarted(let c, _, _), .position(let c, _, _), .arrived(let c, _, _, _), .pickedUp(let c, _, _),
             .delivered(let c, _, _, _), .failed(let c, _, _, _), .returned(let c, _), .breakdown(let c, _, _), .shiftEnded(let c, _):
            return c
        }
    }
    public var at: Instant {
        switch self {
        case .shiftStarted(_, let t, _), .position(_, _, let t), .arrived(_, _, _, let t), .pickedUp(_, _, let t),
             .delivered(_, _, _, let t), .failed(_, _, _, let t), .returned(_, let t), .breakdown(_, _, let t), .shiftEnded(_, let t):
            return t
        }
    }
}

/// What hub or store staff report about picking.
public enum SiteReport: Sendable, Hashable, Codable {
    case pickingStarted(site: SiteID, order: OrderID, at: Instant)
    /// Packed and staged: a courier may load it; for BOPIS, it is held at the counter and the
    /// customer is sent a pickup code.
    case packed(site: SiteID, order: OrderID, at: Instant)
}

public enum SiteReply: Sendable, Hashable, Codable {
    case ok
    /// BOPIS: ready for collection with this code until `holdUntil`.
    case readyForCollection(code: String, holdUntil: Instant)
}

/// A dispatcher's command. Each is validated against the region's state, journaled, and shows in
/// the plan, the manifests and the ETAs at once.
public enum DispatcherCommand: Sendable, Hashable, Codable {
    case assign(OrderID, to: CourierRef)
    case reassign(OrderID, to: CourierRef)
    case unassign(OrderID)
    /// Keep the order out of planning until released.
    case hold(OrderID)
    case release(OrderID)
    case cancel(OrderID, reason: CancelReason)
    /// The route is kept as it is: no insertion or re-optimisation touches it.
    case lockRoute(CourierRef)
    case unlockRoute(CourierRef)
    case replanNow
}

/// Why a dispatcher command (or a report) was refused. Names the item and says what was wrong.
public struct DispatchCommandError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Problem: String, Sendable, Hashable, Codable {
        case unknownOrder, unknownCourier, unknownSite
        /// The order's state does not allow it (e.g. cancel after delivery).
        case invalidState
        /// The courier cannot take it (capacity, shift, windows, broken down, locked route).
        case infeasible
        case wrongRegion
        /// A SKU not in the region's catalogue (stock changes).
        case unknownSKU
    }
    public var item: String
    public var problem: Problem
    public var message: String
    public init(item: String, problem: Problem, message: String) { self.item = item; self.problem = problem; self.message = message }
    public var description: String { "\(item): \(problem.rawValue): \(message)" }
}

/// The answer to a customer who comes to collect a BOPIS order.
public enum CollectOutcome: Sendable, Hashable, Codable {
    case handedOver
    case wrongCode(attemptsLeft: Int)
    case locked
    case notReady
    case expired
    case unknownOrder
}

/// The system's record of one order, for the end-of-day reconciliation.
public struct OrderRecord: Sendable, Hashable, Codable {
    public var order: OrderID
    public var region: RegionID
    public var product: Product
    public var state: OrderState
    public var courier: CourierRef?
    public var promise: PromiseWindow
    public init(order: OrderID, region: RegionID, product: Product, state: OrderState, courier: CourierRef?, promise: PromiseWindow) {
        self.order = order; self.region = region; self.product = product; self.state = state; self.courier = courier; self.promise = promise
    }
}

/// The system as its users reach it. Calls may throw transport errors (a node down, a deadline
/// passed); the cluster implementation retries those with the same idempotency key, so a thrown
/// error means the call's effect is unknown only after its retries ran out.
public protocol DispatchGateway: Sendable {
    /// A customer checks out. The region is found from the destination.
    func placeOrder(_ draft: OrderDraft, slot: Instant?, at: Instant) async throws -> PlaceOrderOutcome
    /// A customer cancels.
    func cancelOrder(_ order: OrderID, reason: CancelReason, at: Instant) async throws -> Result<Void, DispatchCommandError>
    func report(_ report: HandheldReport) async throws -> Result<Manifest, DispatchCommandError>
    func manifest(of courier: CourierRef, at: Instant) async throws -> Result<Manifest, DispatchCommandError>
    func siteReport(_ report: SiteReport) async throws -> Result<SiteReply, DispatchCommandError>
    func collect(_ order: OrderID, code: String, at: Instant) async throws -> CollectOutcome
    func command(_ command: DispatcherCommand, region: RegionID, at: Instant) async throws -> Result<Void, DispatchCommandError>
    /// The region's clock reached `at`: cutoffs (the dawn wave), re-optimisation, expired BOPIS
    /// holds, ETA refreshes. Returns when what was due has been done.
    func advance(region: RegionID, to at: Instant) async throws
    /// Customer notifications published since the last call (each once).
    func drainNotifications() async throws -> [CustomerNotification]
    /// Every order the region knows, for reconciliation.
    func records(region: RegionID) async throws -> [OrderRecord]
}
