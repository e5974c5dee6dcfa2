import Fleet
import Geo

// Reads for the edge gateway (customer tracking, a site's pick queue and no-shows) and the two
// staff requests that change state (stock changes, unlocking a BOPIS collection). All pure.

/// What a customer sees of their own order: nothing about any other order, courier or customer
/// (no courier id, no other stop's location, never the BOPIS pickup code).
public struct OrderTracking: Sendable, Hashable, Codable {
    public var order: OrderID
    public var product: Product
    public var state: OrderState
    public var promise: PromiseWindow
    /// Delivery products, planned on a courier and not yet delivered: the planned arrival ± 15 min,
    /// the window the customer notifications are built from, as the plan stands at the instant asked.
    public var eta: ETAWindow?
    /// The last window the customer was notified of (`assigned`/`windowChanged`), if any.
    public var notifiedWindow: ETAWindow?
    /// Deliveries the courier makes before this one (planned on a courier, not yet delivered).
    public var stopsAway: Int?
    /// The courier's last reported position: only while the order is out for delivery (or the
    /// courier is at the door) and at most `NotificationPolicy.approachingStops` deliveries away.
    public var courierPosition: Coordinate?
    /// BOPIS: the store to collect at.
    public var collectionSite: SiteID?
    /// BOPIS: packed and held at the counter now.
    public var readyForCollection: Bool
    /// BOPIS, ready: held until then.
    public var holdUntil: Instant?
    public init(order: OrderID, product: Product, state: OrderState, promise: PromiseWindow, eta: ETAWindow? = nil,
                notifiedWindow: ETAWindow? = nil, stopsAway: Int? = nil, courierPosition: Coordinate? = nil,
                collectionSite: SiteID? = nil, readyForCollection: Bool = false, holdUntil: Instant? = nil) {
        self.order = order; self.product = product; self.state = state; self.promise = promise; self.eta = eta
        self.notifiedWindow = notifiedWindow; self.stopsAway = stopsAway; self.courierPosition = courierPosition
        self.collectionSite = collectionSite; self.readyForCollection = readyForCollection; self.holdUntil = holdUntil
    }
}

/// One order in a site's pick queue.
public struct PickQueueEntry: Sendable, Hashable, Codable {
    public var order: OrderID
    public var product: Product
    public var state: OrderState
    /// When picking must be done: the planned courier's arrival at the site for the trip that loads
    /// it; BOPIS: the promise's ready-by; a delivery order with no courier yet (dawn before the
    /// wave, the unplanned pool): its window's start. For `awaitingCollection`: the hold's end.
    public var due: Instant
    public var lines: [OrderLine]
    /// The courier planned to load it, if any.
    public var courier: CourierRef?
    /// BOPIS packed and on the counter shelf, waiting for the customer (not to pick).
    public var awaitingCollection: Bool
    /// A dispatcher hold keeps it out of planning.
    public var held: Bool
    public init(order: OrderID, product: Product, state: OrderState, due: Instant, lines: [OrderLine], courier: CourierRef?,
                awaitingCollection: Bool, held: Bool) {
        self.order = order; self.product = product; self.state = state; self.due = due; self.lines = lines; self.courier = courier
        self.awaitingCollection = awaitingCollection; self.held = held
    }
}

/// A BOPIS order of a site not collected in time (its goods went back to stock).
public struct NoShowEntry: Sendable, Hashable, Codable {
    public var order: OrderID
    /// When the dispatcher declared the no-show (the hold's end for journals written before that was kept).
    public var at: Instant
    public var holdUntil: Instant?
    public var lines: [OrderLine]
    public init(order: OrderID, at: Instant, holdUntil: Instant?, lines: [OrderLine]) {
        self.order = order; self.at = at; self.holdUntil = holdUntil; self.lines = lines
    }
}

/// A stock correction or replenishment at one site, journaled by the region's dispatcher (the only
/// writer of its stores' stock) and carried to the store actor as `StoreEffect.adjust`.
///
/// `quantity`: `.delta(n)` adds n (negative: remove; a replenishment must be positive), or
/// `.counted(n)`: staff counted n on the shelf (corrections only); the dispatcher turns it into the
/// delta from its own on-hand. The result may not go below zero nor below what open orders
/// have reserved (their goods are promised): refused `invalidState` naming the SKU and site.
public struct StockChange: Sendable, Hashable, Codable {
    public enum Reason: String, Sendable, Hashable, Codable { case correction, replenishment }
    public enum Quantity: Sendable, Hashable, Codable {
        case delta(Int)
        case counted(Int)
    }
    public var site: SiteID
    public var sku: SKU
    public var quantity: Quantity
    public var reason: Reason
    /// Free text from staff (at most `maxNoteLength` characters).
    public var note: String
    public var at: Instant
    public static let maxNoteLength = 500
    public init(site: SiteID, sku: SKU, quantity: Quantity, reason: Reason, note: String = "", at: Instant) {
        self.site = site; self.sku = sku; self.quantity = quantity; self.reason = reason; self.note = note; self.at = at
    }
}

/// A SKU's level at a site (the reply to a stock change).
public struct StockLevel: Sendable, Hashable, Codable {
    public var site: SiteID
    public var sku: SKU
    public var onHand: Int
    /// On hand less what open orders reserved.
    public var available: Int
    public init(site: SiteID, sku: SKU, onHand: Int, available: Int) {
        self.site = site; self.sku = sku; self.onHand = onHand; self.available = available
    }
}

/// Staff unlocked a BOPIS pickup code after checking the customer's ID.
public struct CollectionUnlock: Sendable, Hashable, Codable {
    public var at: Instant
    public var reason: String
    public init(at: Instant, reason: String) { self.at = at; self.reason = reason }
}

extension RegionDispatchState {
    // MARK: - Reads

    /// The customer's view of `id` at `at` (nil: the region does not know it). O(the courier's route).
    public func tracking(order id: OrderID, at: Instant) -> OrderTracking? {
        guard let e = orders[id] else { return nil }
        let state = e.order.state
        var t = OrderTracking(order: id, product: e.order.product, state: state, promise: e.order.promise)
        if e.order.product == .bopis {
            t.collectionSite = e.site
            t.readyForCollection = state == .readyForPickup
            t.holdUntil = state == .readyForPickup ? e.holdUntil : nil
            return t
        }
        t.notifiedWindow = e.notify.lastWindowSent
        let open: Set<OrderState> = [.accepted, .allocated, .picking, .packed, .assigned, .outForDelivery, .arrived]
        guard open.contains(state), let ref = e.courier, let i = courierIndex(ref),
              couriers[i].trips.contains(where: { $0.orders.contains(id) }) else { return t }
        let c = couriers[i]
        var before = 0
        for stop in schedule(c, trips: c.trips, now: at).stops where stop.kind == .delivery {
            if stop.orders.first == id {
                t.eta = etaWindow(stop.start)
                t.stopsAway = before
                break
            }
            before += 1
        }
        if let n = t.stopsAway, n <= config.notifications.approachingStops, state == .outForDelivery || state == .arrived {
            t.courierPosition = c.position
        }
        return t
    }

    /// The orders allocated to `site` not yet packed, and (flagged `awaitingCollection`) the BOPIS
    /// orders packed and waiting at its counter; by due time, then arrival. Empty for an unknown site.
    /// O(orders + the planned couriers' routes).
    public func pickQueue(site: SiteID, at: Instant) -> [PickQueueEntry] {
        var due: [OrderID: Instant] = [:]
        var simulated = Set<Int>()
        var out: [(PickQueueEntry, Int)] = []
        for e in orders.values where e.site == site {
            let id = e.order.id
            switch e.order.state {
            case .accepted, .allocated, .picking:
                var when: Instant
                switch e.order.product {
                case .bopis: when = e.order.promise.latest
                case .dawn, .sameDay, .scheduled, .quick: when = e.order.promise.earliest
                }
                if let ref = e.courier, let i = courierIndex(ref), !simulated.contains(i) {
                    simulated.insert(i)
                    // Every order this courier loads: the arrival at the site for its trip.
                    for stop in schedule(couriers[i], trips: couriers[i].trips, now: at).stops where stop.kind == .pickup && stop.from == nil {
                        for o in stop.orders { due[o] = stop.arrival }
                    }
                }
                if e.courier != nil, let d = due[id] { when = d }
                out.append((PickQueueEntry(order: id, product: e.order.product, state: e.order.state, due: when, lines: e.order.lines,
                                           courier: e.courier, awaitingCollection: false, held: e.held), e.seq))
            case .readyForPickup:
                out.append((PickQueueEntry(order: id, product: e.order.product, state: e.order.state, due: e.holdUntil ?? e.order.promise.latest,
                                           lines: e.order.lines, courier: nil, awaitingCollection: true, held: e.held), e.seq))
            default:
                continue
            }
        }
        return out.sorted { a, b in a.0.due != b.0.due ? a.0.due < b.0.due : a.1 < b.1 }.map(\.0)
    }

    /// The BOPIS orders of `site` declared no-shows (not collected by the hold's end; this service
    /// day), by when.
    public func noShows(site: SiteID) -> [NoShowEntry] {
        // A no-show's goods go back to stock at once (`markNoShow`, then `returnItems`): a BOPIS order
        // ends `returned` only that way.
        orders.values.filter { $0.site == site && $0.order.product == .bopis && ($0.order.state == .noShow || $0.order.state == .returned) }
            .map { NoShowEntry(order: $0.order.id, at: $0.noShowAt ?? $0.holdUntil ?? $0.order.promise.latest, holdUntil: $0.holdUntil,
                               lines: $0.order.lines) }
            .sorted { a, b in a.at != b.at ? a.at < b.at : a.order < b.order }
    }

    /// A SKU's level at a site (nil: unknown site).
    public func stockLevel(site: SiteID, sku: SKU) -> StockLevel? {
        guard let inv = inventories[site] else { return nil }
        return StockLevel(site: site, sku: sku, onHand: inv.onHand[sku] ?? 0, available: inv.available(sku))
    }

    // MARK: - Staff requests

    mutating func stock(_ c: StockChange, _ step: inout Step) -> DispatchResponse {
        guard config.site(c.site) != nil, let inv = inventories[c.site] else {
            return refuse("site \(c.site)", .unknownSite, "site \(c.site) is not a site of region \(config.region)")
        }
        guard config.catalogue.contains(where: { $0.sku == c.sku }) else {
            return refuse("SKU \(c.sku)", .unknownSKU, "SKU \(c.sku) is not in region \(config.region)'s catalogue")
        }
        let item = "SKU \(c.sku) at \(c.site)"
        guard c.note.count <= StockChange.maxNoteLength else {
            return refuse(item, .invalidState, "the note is longer than \(StockChange.maxNoteLength) characters")
        }
        let onHand = inv.onHand[c.sku] ?? 0
        let target: Int
        switch (c.reason, c.quantity) {
        case (.replenishment, .delta(let d)):
            guard d > 0 else { return refuse(item, .invalidState, "a replenishment adds a positive quantity, not \(d)") }
            target = onHand + d
        case (.replenishment, .counted):
            return refuse(item, .invalidState, "a replenishment is a delta (the quantity delivered), not a count")
        case (.correction, .delta(let d)):
            guard d != 0 else { return refuse(item, .invalidState, "a correction by 0 changes nothing") }
            target = onHand + d
        case (.correction, .counted(let n)):
            target = n
        }
        guard target >= 0 else { return refuse(item, .invalidState, "would leave \(target) on hand (\(onHand) now)") }
        let reserved = inv.reserved(c.sku)
        guard target >= reserved else {
            return refuse(item, .invalidState, "would leave \(target) on hand, below the \(reserved) reserved for open orders")
        }
        if target != onHand {
            store(c.site, .adjust(c.sku, delta: target - onHand, reason: c.reason, note: c.note), &step)
        }
        // A count equal to the shelf changes nothing: answered, not journaled.
        return .stock(stockLevel(site: c.site, sku: c.sku)!)
    }

    mutating func unlockCollection(_ id: OrderID, staffReason: String, at: Instant, _ step: inout Step) -> DispatchResponse {
        guard let e = orders[id] else { return refuse("order \(id)", .unknownOrder, "region \(config.region) does not know order \(id)") }
        guard e.order.product == .bopis else {
            return refuse("order \(id)", .invalidState, "order \(id) is \(e.order.product.rawValue), not a BOPIS collection")
        }
        let reason = staffReason
        guard reason.contains(where: { !$0.isWhitespace }), reason.count <= StockChange.maxNoteLength else {
            return refuse("order \(id)", .invalidState, "a reason (what staff checked, at most \(StockChange.maxNoteLength) characters) is required")
        }
        guard e.order.state == .readyForPickup, var counter = counters[e.site], let hold = counter.holds[id] else {
            return refuse("order \(id)", .invalidState, "order \(id) is \(e.order.state.rawValue): not held at a counter")
        }
        guard hold.attemptsLeft == 0 else {
            return refuse("order \(id)", .invalidState, "order \(id) is not locked (\(hold.attemptsLeft) attempts left)")
        }
        guard at < hold.holdUntil else { return refuse("order \(id)", .invalidState, "the hold of order \(id) expired at \(hold.holdUntil)") }
        guard (try? counter.unlock(id)) != nil else { return refuse("order \(id)", .invalidState, "order \(id) cannot be unlocked") }
        counters[e.site] = counter
        orders[id]!.unlocks = (e.unlocks ?? []) + [CollectionUnlock(at: at, reason: reason)]
        store(e.site, .unlock(id), &step)
        return .done
    }
}
