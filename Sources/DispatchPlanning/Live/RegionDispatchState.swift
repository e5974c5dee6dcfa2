import Fleet
import Geo

/// One accepted change of a region's dispatcher: the request it accepted and what that makes
/// happen outside (order and store actors' steps, customer notifications), in order.
///
/// The state is event-sourced by *accepted request*: `apply` re-runs the same pure, deterministic
/// transition `decide` ran on a copy, so replaying the journal from `init(config:)` rebuilds the
/// state exactly (a test checks it through a JSON round trip of every event). A change to the
/// decision logic must therefore snapshot (the state is Codable) before the upgrade; see Docs/DISPATCH.md.
public struct DispatchEvent: Sendable, Hashable, Codable {
    /// Order lifecycle steps, store changes and notifications, in the order to carry them out.
    public var effects: [DispatchEffect]
    /// The request whose acceptance this event records.
    public var request: DispatchRequest
    /// The plan version after this event.
    public var version: Int
    public init(effects: [DispatchEffect], request: DispatchRequest, version: Int) {
        self.effects = effects; self.request = request; self.version = version
    }
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

    /// The travel model, rebuilt from the config (not encoded).
    let travel: LiveTravel

    private enum CodingKeys: String, CodingKey {
        case config, version, orders, nextSeq, couriers, inventories, counters, pickFreeAt, clock, dawnWavePlanned,
             lastReoptimiseAt, reoptimisedVersion
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
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(config, forKey: .config); try c.encode(version, forKey: .version); try c.encode(orders, forKey: .orders)
        try c.encode(nextSeq, forKey: .nextSeq); try c.encode(couriers, forKey: .couriers); try c.encode(inventories, forKey: .inventories)
        try c.encode(counters, forKey: .counters); try c.encode(pickFreeAt, forKey: .pickFreeAt); try c.encodeIfPresent(clock, forKey: .clock)
        try c.encode(dawnWavePlanned, forKey: .dawnWavePlanned); try c.encodeIfPresent(lastReoptimiseAt, forKey: .lastReoptimiseAt)
        try c.encode(reoptimisedVersion, forKey: .reoptimisedVersion)
    }

    // MARK: - The machine

    /// Decides `request` against the current state. Pure and deterministic: reads nothing but the
    /// state and the request. O(work of the request): an insertion is O(couriers × positions × route).
    public func decide(_ request: DispatchRequest) -> DispatchDecision {
        var copy = self
        var step = Step()
        let response = copy.transition(request, &step)
        guard step.accepted else { return DispatchDecision(event: nil, response: response) }
        return DispatchDecision(event: DispatchEvent(effects: step.effects, request: request, version: copy.version), response: response)
    }

    /// Applies an event `decide` produced (or a journaled one, on recovery). Pure.
    /// Re-running the request must reproduce the event (same effects, same resulting version);
    /// a difference means the journal was written by other decision code (snapshot first, see
    /// Docs/DISPATCH.md) and is caught here in debug builds and by `replayDiverges`.
    public mutating func apply(_ event: DispatchEvent) {
        var step = Step()
        _ = transition(event.request, &step)
        assert(step.effects == event.effects && version == event.version, "replay of \(event.request) diverged from its event")
    }

    /// Whether applying `event` here would not reproduce it (decision code changed since it was
    /// journaled). Pure; O(the request's work).
    public func replayDiverges(_ event: DispatchEvent) -> Bool {
        var copy = self
        var step = Step()
        _ = copy.transition(event.request, &step)
        return step.effects != event.effects || copy.version != event.version
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
    public static func == (a: RegionDispatchState, b: RegionDispatchState) -> Bool {
        a.config == b.config && a.version == b.version && a.orders == b.orders && a.nextSeq == b.nextSeq && a.couriers == b.couriers
            && Self.sameStock(a.inventories, b.inventories) && a.counters == b.counters && a.pickFreeAt == b.pickFreeAt && a.clock == b.clock
            && a.dawnWavePlanned == b.dawnWavePlanned && a.lastReoptimiseAt == b.lastReoptimiseAt && a.reoptimisedVersion == b.reoptimisedVersion
    }
}
