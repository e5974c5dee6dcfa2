import Fleet
import Geo

// The seam between the pure region dispatcher (decides) and its shells (act): `LocalGateway`
// in this module, the journaled `RegionDispatcher` distributed actor in DaybreakNode.
//
//   shell receives a request
//     → machine.decide(request)            pure, deterministic: nothing read but the state and the request
//     → rejection: reply, nothing written
//     → event: journal it (cluster: fenced append, its `.notify` effects as outbox rows in the SAME transaction)
//     → machine.apply(event)                pure
//     → run the event's other effects (order and store actors), each with the idempotency key
//       "<region>/<event seq>/<effect index>" so a re-run after failover applies each once
//     → reply
//
// CPU-heavy work (the dawn wave, re-optimisation with a time budget) never runs inside decide:
// `pendingWork(at:)` hands the shell self-contained jobs; the shell runs them on a dedicated
// thread (never the cooperative pool) and feeds each result back as a request, which decide
// accepts only if the plan has not moved on since the job was taken (else it is dropped as stale).

/// One request to a region's dispatcher.
public enum DispatchRequest: Sendable, Hashable, Codable {
    case placeOrder(OrderDraft, slot: Instant?, at: Instant)
    case cancelOrder(OrderID, reason: CancelReason, at: Instant)
    case report(HandheldReport)
    case site(SiteReport)
    case collect(OrderID, code: String, at: Instant)
    case command(DispatcherCommand, at: Instant)
    /// The clock reached `at`: expire BOPIS holds, refresh ETAs, note cutoffs.
    case tick(at: Instant)
    /// The result of a `DispatchWork` job.
    case workDone(DispatchWorkResult)
    /// Staff correct a site's count of a SKU or book a delivery to the shelf (`StockChange`).
    case stock(StockChange)
    /// BOPIS: staff checked the customer's ID after the pickup code was locked (too many wrong
    /// codes): the attempts are reset and `staffReason` recorded.
    case unlockCollection(OrderID, staffReason: String, at: Instant)

    public var at: Instant? {
        switch self {
        case .placeOrder(_, _, let t), .cancelOrder(_, _, let t), .collect(_, _, let t), .command(_, let t), .tick(let t),
             .unlockCollection(_, _, let t): return t
        case .stock(let c): return c.at
        case .report(let r): return r.at
        case .site(.pickingStarted(_, _, let t)), .site(.packed(_, _, let t)): return t
        case .workDone: return nil
        }
    }
}

/// The reply to a request.
public enum DispatchResponse: Sendable, Hashable, Codable {
    case placed(PlaceOrderOutcome)
    case manifest(Manifest)
    case site(SiteReply)
    case collect(CollectOutcome)
    case done
    case refused(DispatchCommandError)
    /// A stock change: the SKU's level at the site after it.
    case stock(StockLevel)
}

/// A lifecycle step or tracking update for an order's own actor (`order/<id>@<region>`).
public enum OrderEffect: Sendable, Hashable, Codable {
    case create(Order)
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
}

extension OrderEffect {
    /// Fleet's lifecycle command for this step (nil for `create`): the one mapping, used by the
    /// dispatcher's own copy of the order and by the order's actor.
    public var fleetCommand: OrderCommand? {
        switch self {
        case .create: nil
        case .accept: .accept
        case .allocate(let s): .allocate(s)
        case .startPicking: .startPicking
        case .pack: .pack
        case .assign(let c): .assign(c)
        case .unassign: .unassign
        case .dispatch: .dispatch
        case .arrive: .arrive
        case .deliver(let p): .deliver(p)
        case .fail(let r): .fail(r)
        case .returnItems: .returnItems
        case .cancel(let r): .cancel(r)
        case .markReadyForPickup: .markReadyForPickup
        case .handOver: .handOver
        case .markNoShow: .markNoShow
        }
    }
}

/// A change for a store's own actor (`store/<site>@<region>`). The dispatcher's state holds the
/// same stock (it is the only writer for its region's stores), so its decisions need no round trip.
public enum StoreEffect: Sendable, Hashable, Codable {
    case reserve(OrderID, [OrderLine])
    case release(OrderID)
    case pick(OrderID)
    case markReady(OrderID, code: String, holdUntil: Instant)
    case handOver(OrderID)
    case noShow(OrderID)
    /// Picked goods back on the shelf: a cancellation after picking, or a failed parcel handed
    /// back at base (Fleet's `Inventory.restock`).
    case restock(OrderID, [OrderLine])
    /// A stock correction or replenishment (`StockChange`): on-hand of `sku` changes by `delta`
    /// (never below what is reserved: the dispatcher checked it against the same stock).
    case adjust(SKU, delta: Int, reason: StockChange.Reason, note: String)
    /// BOPIS: staff unlocked a hold locked by wrong pickup codes; its attempts are reset.
    case unlock(OrderID)
}

/// What an accepted event makes happen outside the dispatcher.
public enum DispatchEffect: Sendable, Hashable, Codable {
    case order(OrderID, OrderEffect)
    case store(SiteID, StoreEffect)
    /// A customer notification: the cluster writes it to the outbox in the event's transaction.
    case notify(CustomerNotification)
}

/// A self-contained CPU-heavy job taken from a region's state (`pendingWork(at:)`), run by the
/// shell on a dedicated thread, fed back as `.workDone`.
public struct DispatchWork: Sendable {
    public enum Kind: String, Sendable, Hashable, Codable { case dawnWave, reoptimise }
    public var kind: Kind
    public var region: RegionID
    /// The plan version the job was taken from; its result is stale once the plan moved on
    /// (for the dawn wave: once an order it covers changed).
    public var basedOnVersion: Int
    /// Runs the job until done or until `shouldStop` says so (then returns the best found).
    public var run: @Sendable (_ shouldStop: @escaping @Sendable () -> Bool) -> DispatchWorkResult
    public init(kind: Kind, region: RegionID, basedOnVersion: Int,
                run: @escaping @Sendable (_ shouldStop: @escaping @Sendable () -> Bool) -> DispatchWorkResult) {
        self.kind = kind; self.region = region; self.basedOnVersion = basedOnVersion; self.run = run
    }
}

/// New routes for some couriers: per trip, the orders in driving order. A trip starts by loading
/// at the courier's home site (orders already on board need no loading) and ends back there.
public struct CourierRoutePlan: Sendable, Hashable, Codable {
    public var courier: CourierRef
    public var trips: [[OrderID]]
    public init(courier: CourierRef, trips: [[OrderID]]) { self.courier = courier; self.trips = trips }
}

public struct DispatchWorkResult: Sendable, Hashable, Codable {
    public var kind: DispatchWork.Kind
    public var basedOnVersion: Int
    public var routes: [CourierRoutePlan]
    /// Orders the job could not place.
    public var unplaced: [OrderID]
    /// The `at` the job was taken at (`pendingWork(at:)`): when the dispatcher last re-optimised.
    public var takenAt: Instant?
    public init(kind: DispatchWork.Kind, basedOnVersion: Int, routes: [CourierRoutePlan], unplaced: [OrderID], takenAt: Instant? = nil) {
        self.kind = kind; self.basedOnVersion = basedOnVersion; self.routes = routes; self.unplaced = unplaced; self.takenAt = takenAt
    }
}
