import Fleet
import Geo

/// One accepted change of a region's dispatcher: what it makes happen outside (order and store
/// actors' steps, customer notifications, in order), the state records it changed, and the request
/// it answered (for audit).
///
/// `apply` writes `change` into the state: replaying the journal from `init(config:)` rebuilds the
/// state exactly, whatever the decision code of the replaying process (a test checks it through a
/// JSON round trip of every event), and applying costs O(size of the change), not a re-decision.
public struct DispatchEvent: Sendable, Hashable, Codable {
    /// Order lifecycle steps, store changes and notifications, in the order to carry them out.
    public var effects: [DispatchEffect]
    /// The request whose acceptance this event records.
    public var request: DispatchRequest
    /// The plan version after this event.
    public var version: Int
    /// The state's records after the change (only those that changed); nil only for an event built
    /// with the public initialiser, which `apply` then re-decides from its request.
    var change: StateChange?
    public init(effects: [DispatchEffect], request: DispatchRequest, version: Int) {
        self.effects = effects; self.request = request; self.version = version; self.change = nil
    }
    init(effects: [DispatchEffect], request: DispatchRequest, version: Int, change: StateChange) {
        self.effects = effects; self.request = request; self.version = version; self.change = change
    }
}

/// The records one event changed, as they are after it.
struct StateChange: Sendable, Hashable, Codable {
    struct SiteInstant: Sendable, Hashable, Codable { var site: SiteID; var at: Instant }
    var orders: [OrderEntry]
    var couriers: [CourierEntry]
    var inventories: [Inventory]
    var counters: [PickupCounter]
    var pickFreeAt: [SiteInstant]
    var nextSeq: Int
    var version: Int
    var clock: Instant?
    var dawnWavePlanned: Bool
    var lastReoptimiseAt: Instant?
    var reoptimisedVersion: Int
    /// The observed road speed after the event (absent in journals written before it existed).
    var observedSpeed: ObservedSpeed?
}

/// What `decide` returns: the reply, and the event to journal and apply (nil for a refusal or a
/// request that changes nothing).
public struct DispatchDecision: Sendable {
    public var event: DispatchEvent?
    public var response: DispatchResponse
    public init(event: DispatchEvent?, response: DispatchResponse) { self.event = event; self.response = response }
}

/// A planned trip of a courier: load (at the home site, or from a broken-down courier), deliver
/// `orders` in this order, drive back to base.
struct Trip: Sendable, Hashable, Codable {
    enum Start: Sendable, Hashable, Codable {
        /// Load at the courier's home site.
        case site
        /// Already loaded.
        case onBoard
        /// Take the parcels over from a broken-down courier at `location`.
        case transfer(from: CourierRef, location: Coordinate)
    }
    var start: Start
    var orders: [OrderID]
}

/// The dispatcher's view of one order.
struct OrderEntry: Sendable, Hashable, Codable {
    var order: Order
    /// Arrival sequence (first come, first served).
    var seq: Int
    var site: SiteID
    /// When the order is (estimated to be) packed and can be loaded.
    var ready: Instant
    var packed: Bool
    /// The courier whose route holds it (or held it when it was delivered or failed).
    var courier: CourierRef?
    /// A dispatcher hold: never planned automatically.
    var held: Bool
    /// Fleet's `assign` was sent for `courier` (the lifecycle allows it only once packed).
    var assignSent: CourierRef?
    var notify: NotificationState
    /// BOPIS: the pickup code and hold deadline once ready.
    var code: String?
    var holdUntil: Instant?
    /// Road metres per crow-fly metre at the destination (the travel model's factor, computed once).
    var factor: Double
    /// BOPIS: when the tick declared the order a no-show (absent in journals written before it).
    var noShowAt: Instant? = nil
    /// BOPIS: each time staff unlocked the pickup code after too many wrong ones.
    var unlocks: [CollectionUnlock]? = nil
}

/// The dispatcher's view of one courier.
struct CourierEntry: Sendable, Hashable, Codable {
    var index: Int
    var ref: CourierRef
    var position: Coordinate?
    var positionAt: Instant?
    var started: Bool
    var ended: Bool
    var broken: Bool
    var locked: Bool
    /// Away from base since the last load (a final return is due).
    var away: Bool
    /// Failed or cancelled parcels on board, to hand back at base.
    var failedOnBoard: [OrderID]
    var trips: [Trip]
    /// The leg it is driving as far as the reports tell (for the observed speed); nil at a stop or idle.
    var leg: DrivingLeg? = nil
}

/// The pure state of one region's dispatcher: orders, stock, BOPIS counters, couriers and their
/// routes, the plan version. Value type, Codable (snapshots). `decide` never mutates; `apply`
/// makes the change an accepted event records.
public struct RegionDispatchState: Sendable, Codable {
    public let config: RegionDispatchConfig
    public var region: RegionID { config.region }
    /// The plan version: grows with every change of any route or assignment.
    public internal(set) var version: Int = 0

    var orders: [OrderID: OrderEntry] = [:]
    var nextSeq = 0
    var couriers: [CourierEntry]
    var inventories: [SiteID: Inventory]
    var counters: [SiteID: PickupCounter]
    /// When each site's pickers are next free (the pick queue).
    var pickFreeAt: [SiteID: Instant]
    /// The latest instant any accepted request carried.
    var clock: Instant?
    var dawnWavePlanned = false
    /// Version when the last re-optimisation ran or was offered; nil = never.
    var lastReoptimiseAt: Instant?
    /// Plan version at the last re-optimisation that was accepted or found nothing.
    var reoptimisedVersion: Int = -1
    /// The road speed learned from handheld reports (Docs/DISPATCH.md, "Observed speed").
    var observedSpeed = ObservedSpeed()

    /// The travel model, rebuilt from the config (not encoded).
    let travel: LiveTravel
    /// Randomness the shell drew for this decision (secret pickup codes); not state: never encoded,
    /// compared or kept after `decide` (the event records what it produced).
    var entropy: UInt64?

    private enum CodingKeys: String, CodingKey {
        case config, version, orders, nextSeq, couriers, inventories, counters, pickFreeAt, clock, dawnWavePlanned,
             lastReoptimiseAt, reoptimisedVersion, observedSpeed
    }

    public init(config: RegionDispatchConfig) {
        self.config = config
        self.travel = LiveTravel(config)
        self.couriers = config.couriers.enumerated().map { i, c in
            CourierEntry(index: i, ref: c.ref, position: nil, positionAt: nil, started: false, ended: false, broken: false,
                         locked: false, away: false, failedOnBoard: [], trips: [])
        }
        var inv: [SiteID: Inventory] = [:]
        var counters: [SiteID: PickupCounter] = [:]
        var free: [SiteID: Instant] = [:]
        for s in config.sites {
            // Validated counts are non-negative (RegionDispatchConfig.validate).
            inv[s.id] = (try? Inventory(site: s.id, onHand: config.stock[s.id] ?? [:])) ?? (try! Inventory(site: s.id, onHand: [:]))
            if s.kind == .store {
                counters[s.id] = PickupCounter(store: s.id, codeDigits: config.bopis.codeDigits, maxAttempts: config.bopis.maxAttempts)
            }
            free[s.id] = Instant(epochSeconds: 0)
        }
        self.inventories = inv
        self.counters = counters
        self.pickFreeAt = free
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        config = try c.decode(RegionDispatchConfig.self, forKey: .config)
        travel = LiveTravel(config)
        version = try c.decode(Int.self, forKey: .version)
        orders = try c.decode([OrderID: OrderEntry].self, forKey: .orders)
        nextSeq = try c.decode(Int.self, forKey: .nextSeq)
        couriers = try c.decode([CourierEntry].self, forKey: .couriers)
        inventories = try c.decode([SiteID: Inventory].self, forKey: .inventories)
        counters = try c.decode([SiteID: PickupCounter].self, forKey: .counters)
        pickFreeAt = try c.decode([SiteID: Instant].self, forKey: .pickFreeAt)
        clock = try c.decodeIfPresent(Instant.self, forKey: .clock)
        dawnWavePlanned = try c.decode(Bool.self, forKey: .dawnWavePlanned)
        lastReoptimiseAt = try c.decodeIfPresent(Instant.self, forKey: .lastReoptimiseAt)
        reoptimisedVersion = try c.decode(Int.self, forKey: .reoptimisedVersion)
        observedSpeed = try c.decodeIfPresent(ObservedSpeed.self, forKey: .observedSpeed) ?? ObservedSpeed()
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(config, forKey: .config); try c.encode(version, forKey: .version); try c.encode(orders, forKey: .orders)
        try c.encode(nextSeq, forKey: .nextSeq); try c.encode(couriers, forKey: .couriers); try c.encode(inventories, forKey: .inventories)
        try c.encode(counters, forKey: .counters); try c.encode(pickFreeAt, forKey: .pickFreeAt); try c.encodeIfPresent(clock, forKey: .clock)
        try c.encode(dawnWavePlanned, forKey: .dawnWavePlanned); try c.encodeIfPresent(lastReoptimiseAt, forKey: .lastReoptimiseAt)
        try c.encode(reoptimisedVersion, forKey: .reoptimisedVersion)
        try c.encode(observedSpeed, forKey: .observedSpeed)
    }

    // MARK: - The machine

    /// Decides `request` against the current state. Pure and deterministic: reads nothing but the
    /// state and the request. O(work of the request): an insertion is O(couriers × positions × route).
    ///
    /// `entropy`: randomness the shell drew from the system's cryptographic source for this decision
    /// (`SystemRandomNumberGenerator`): a BOPIS pickup code is then derived from it, so nobody can
    /// predict it from the order, the store or the config. Without it (tests replaying decisions,
    /// determinism checks) codes come from the config seed and the order id.
    ///
    /// The event's change is what differs after the transition: for a position report that moved no
    /// order between couriers, only what a position can touch is compared (`positionChange`);
    /// otherwise the whole state (`wholeStateDiff` forces that, for tests).
    public func decide(_ request: DispatchRequest, entropy: UInt64? = nil) -> DispatchDecision {
        decide(request, entropy: entropy, wholeStateDiff: false)
    }

    func decide(_ request: DispatchRequest, entropy: UInt64? = nil, wholeStateDiff: Bool) -> DispatchDecision {
        var copy = self
        copy.entropy = entropy
        var step = Step()
        let response = copy.transition(request, &step)
        guard step.accepted else { return DispatchDecision(event: nil, response: response) }
        let change = (wholeStateDiff ? nil : Self.positionChange(from: self, to: copy, request)) ?? Self.change(from: self, to: copy)
        return DispatchDecision(event: DispatchEvent(effects: step.effects, request: request, version: copy.version, change: change),
                                response: response)
    }

    /// The change of a position report that kept the plan (same version and order count: no order
    /// moved between couriers, none was added): such a transition writes only the reporting
    /// courier's record (position, leg), the orders on its trips (ETA and approach notification
    /// memory), the observed speed and the clock. So only those are compared: O(the courier's
    /// orders), not O(the region). nil for any other request or when the plan moved (then the
    /// whole-state diff). `LivePositionChangeTests` checks it equals the whole-state diff.
    static func positionChange(from a: RegionDispatchState, to b: RegionDispatchState, _ request: DispatchRequest) -> StateChange? {
        guard case .report(.position(let ref, _, _)) = request, a.version == b.version, a.nextSeq == b.nextSeq,
              a.orders.count == b.orders.count, a.couriers.count == b.couriers.count, let i = a.courierIndex(ref) else { return nil }
        var orders: [OrderEntry] = []
        for trip in b.couriers[i].trips {
            for id in trip.orders { if let o = b.orders[id], a.orders[id] != o { orders.append(o) } }
        }
        orders.sort { $0.seq < $1.seq }
        return StateChange(orders: orders, couriers: b.couriers[i] == a.couriers[i] ? [] : [b.couriers[i]],
                           inventories: [], counters: [], pickFreeAt: [],
                           nextSeq: b.nextSeq, version: b.version, clock: b.clock, dawnWavePlanned: b.dawnWavePlanned,
                           lastReoptimiseAt: b.lastReoptimiseAt, reoptimisedVersion: b.reoptimisedVersion,
                           observedSpeed: b.observedSpeed)
    }

    /// Whether `event` (decided on this state) only moves a courier's last known position: a
    /// position report that changed no order, route, stock, notification or plan version, only the
    /// reporting courier's position, its driving leg, the observed speed and the clock. Such an
    /// event is soft state: the courier's own journal has the report durably (one write per
    /// position), so the cluster's shell applies it without journaling it. After a failover the new
    /// owner knows the positions as of the last journaled event until each courier reports again.
    public func isSoft(_ event: DispatchEvent) -> Bool {
        guard case .report(.position(let ref, _, _)) = event.request, event.effects.isEmpty, let c = event.change,
              c.orders.isEmpty, c.inventories.isEmpty, c.counters.isEmpty, c.pickFreeAt.isEmpty,
              c.nextSeq == nextSeq, c.version == version, c.dawnWavePlanned == dawnWavePlanned,
              c.lastReoptimiseAt == lastReoptimiseAt, c.reoptimisedVersion == reoptimisedVersion else { return false }
        for k in c.couriers {
            guard couriers.indices.contains(k.index), couriers[k.index].ref == ref else { return false }
            var was = couriers[k.index]
            was.position = k.position; was.positionAt = k.positionAt; was.leg = k.leg
            guard was == k else { return false }
        }
        return true
    }

    /// The inventory as its JSON form decodes (Fleet's decoder rebuilds the reservation totals
    /// without the zero entries a live one keeps), so an event equals itself after a round trip.
    static func normalized(_ i: Inventory) -> Inventory {
        guard var n = try? Inventory(site: i.site, onHand: i.onHand) else { return i }
        for (order, r) in i.reservations.sorted(by: { $0.key < $1.key }) {
            try? n.reserve(order, r.sorted { $0.key < $1.key }.map { OrderLine(sku: $0.key, quantity: $0.value) })
        }
        return n
    }

    /// What differs in `b` from `a`. O(orders) comparisons (shared storage makes most of them cheap).
    static func change(from a: RegionDispatchState, to b: RegionDispatchState) -> StateChange {
        StateChange(
            orders: b.orders.values.filter { a.orders[$0.order.id] != $0 }.sorted { $0.seq < $1.seq },
            couriers: b.couriers.filter { $0 != a.couriers[$0.index] },
            inventories: b.inventories.values.filter { a.inventories[$0.site] != $0 }.sorted { $0.site < $1.site }.map(normalized),
            counters: b.counters.values.filter { a.counters[$0.store] != $0 }.sorted { $0.store < $1.store },
            pickFreeAt: b.pickFreeAt.filter { a.pickFreeAt[$0.key] != $0.value }.map { StateChange.SiteInstant(site: $0.key, at: $0.value) }
                .sorted { $0.site < $1.site },
            nextSeq: b.nextSeq, version: b.version, clock: b.clock, dawnWavePlanned: b.dawnWavePlanned,
            lastReoptimiseAt: b.lastReoptimiseAt, reoptimisedVersion: b.reoptimisedVersion,
            observedSpeed: b.observedSpeed)
    }

    /// Applies an event `decide` produced (or a journaled one, on recovery). Pure.
    /// Applies an event `decide` produced (or a journaled one, on recovery): writes the records it
    /// changed. Pure; O(size of the change).
    public mutating func apply(_ event: DispatchEvent) {
        guard let c = event.change else {
            var step = Step()
            _ = transition(event.request, &step)
            return
        }
        for o in c.orders { orders[o.order.id] = o }
        for k in c.couriers where couriers.indices.contains(k.index) { couriers[k.index] = k }
        for i in c.inventories { inventories[i.site] = i }
        for p in c.counters { counters[p.store] = p }
        for p in c.pickFreeAt { pickFreeAt[p.site] = p.at }
        nextSeq = c.nextSeq; version = c.version; clock = c.clock; dawnWavePlanned = c.dawnWavePlanned
        lastReoptimiseAt = c.lastReoptimiseAt; reoptimisedVersion = c.reoptimisedVersion
        if let o = c.observedSpeed { observedSpeed = o }
    }

    /// Whether deciding `event`'s request here would not give the same event (a check for tests
    /// and upgrades: the journal stays valid either way, since `apply` writes recorded changes).
    public func replayDiverges(_ event: DispatchEvent) -> Bool {
        decide(event.request).event != event
    }

    /// Every order the region knows, for reconciliation (sorted by arrival).
    public func records() -> [OrderRecord] {
        orders.values.sorted { $0.seq < $1.seq }.map {
            OrderRecord(order: $0.order.id, region: config.region, product: $0.order.product, state: $0.order.state,
                        courier: $0.courier, promise: $0.order.promise)
        }
    }

    public func knows(order: OrderID) -> Bool { orders[order] != nil }

    /// The region's couriers in config order.
    public func courierRefs() -> [CourierRef] { config.couriers.map(\.ref) }
}

/// What one transition produced: whether it changed the state, and its effects.
struct Step {
    var accepted = false
    var effects: [DispatchEffect] = []
    mutating func add(_ e: DispatchEffect) { accepted = true; effects.append(e) }
}

extension RegionDispatchState: Equatable {
    /// Inventories compare by what they hold (a decoded `Inventory` drops zero reservation totals).
    static func sameStock(_ a: [SiteID: Inventory], _ b: [SiteID: Inventory]) -> Bool {
        a.count == b.count && a.allSatisfy { k, v in b[k].map { $0.onHand == v.onHand && $0.reservations == v.reservations } ?? false }
    }

    /// Same config and same dispatch state (the travel model is derived from the config).
    public static func == (a: RegionDispatchState, b: RegionDispatchState) -> Bool {   // `entropy` is not state
        a.config == b.config && a.version == b.version && a.orders == b.orders && a.nextSeq == b.nextSeq && a.couriers == b.couriers
            && Self.sameStock(a.inventories, b.inventories) && a.counters == b.counters && a.pickFreeAt == b.pickFreeAt && a.clock == b.clock
            && a.dawnWavePlanned == b.dawnWavePlanned && a.lastReoptimiseAt == b.lastReoptimiseAt && a.reoptimisedVersion == b.reoptimisedVersion
            && a.observedSpeed == b.observedSpeed
    }
}
