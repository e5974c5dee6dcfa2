import DispatchPlanning
import Fleet
import Foundation
import Geo

// The JSON bodies of the edge protocol, version 1 (Docs/EDGE.md has one section per message).
// Keys are snake_case on the wire (the codecs convert); enum values are snake_case strings.

/// An instant on the wire: an ISO-8601 string with an offset (`2026-12-08T05:10:00+09:00`,
/// fractions truncated) or a number of seconds since the epoch. Written as ISO-8601 in the city's offset.
public struct WireTime: Codable, Sendable, Hashable {
    public var instant: Instant
    /// The offset used when writing (not part of equality of the instant).
    public var offset: UTCOffset
    public init(_ instant: Instant, offset: UTCOffset = .utc) { self.instant = instant; self.offset = offset }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            guard let t = Instant(iso8601: s) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected an ISO-8601 time with offset (2026-12-08T05:10:00+09:00), got '\(s.prefix(40))'")
            }
            instant = t; offset = .utc
        } else if let n = try? c.decode(Double.self), n.isFinite, abs(n) < 1e11 {
            instant = Instant(epochSeconds: Int64(n.rounded(.down))); offset = .utc
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected an ISO-8601 time string or epoch seconds")
        }
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(instant.iso8601(offset))
    }
    public static func == (a: WireTime, b: WireTime) -> Bool { a.instant == b.instant }
    public func hash(into h: inout Hasher) { h.combine(instant) }
}

public struct WirePosition: Codable, Sendable, Hashable {
    public var lat: Double
    public var lon: Double
    public init(lat: Double, lon: Double) { self.lat = lat; self.lon = lon }
    public init(_ c: Coordinate) { lat = c.lat; lon = c.lon }
    public var coordinate: Coordinate { Coordinate(lat: lat, lon: lon) }
    /// nil when valid; else what is wrong.
    public var problem: String? {
        guard lat.isFinite, lon.isFinite, (-90 ... 90).contains(lat), (-180 ... 180).contains(lon) else {
            return "lat must be in -90…90 and lon in -180…180, got \(lat), \(lon)"
        }
        return nil
    }
}

public struct WireWindow: Codable, Sendable, Hashable {
    public var from: WireTime
    public var to: WireTime
    public init(from: WireTime, to: WireTime) { self.from = from; self.to = to }
}

// MARK: - Requests

/// The two fields every body has.
public struct WireHeader: Codable, Sendable {
    public var v: Int?
    public var type: String?
}

public struct HelloBody: Codable, Sendable {
    public var versions: [Int]?
    /// Free text naming the client's software (logged, never trusted).
    public var client: String?
    public init(versions: [Int] = EdgeProtocol.supportedVersions, client: String? = nil) { self.versions = versions; self.client = client }
}

public struct WireProof: Codable, Sendable, Hashable {
    /// `pin`, `photo`, `signature`, `left_at_door`.
    public var kind: String
    /// The PIN check's id, the photo's or signature's object key.
    public var reference: String
    /// Photos: the SHA-256 of the photo, 64 hex digits.
    public var sha256: String?
    public init(kind: String, reference: String, sha256: String? = nil) { self.kind = kind; self.reference = reference; self.sha256 = sha256 }
}

/// One handheld report in a `reports` batch.
public struct WireReport: Codable, Sendable, Hashable {
    /// The device's sequence number: 1, 2, 3, … per device, never reused.
    public var seq: Int64
    /// When it happened on the device (the event time that drives ETAs and KPIs).
    public var at: WireTime
    /// `shift_started`, `position`, `arrived`, `picked_up`, `delivered`, `failed`, `returned`, `breakdown`, `shift_ended`.
    public var kind: String
    public var position: WirePosition?
    /// `arrived`: `pickup`, `delivery`, `return_to_base`.
    public var stop: String?
    public var orders: [String]?
    public var order: String?
    public var proof: WireProof?
    /// `failed`: `nobody_home`, `wrong_address`, `refused`, `access_denied`, `damaged`, `cancelled_after_dispatch`.
    public var reason: String?
    public init(seq: Int64, at: WireTime, kind: String, position: WirePosition? = nil, stop: String? = nil, orders: [String]? = nil,
                order: String? = nil, proof: WireProof? = nil, reason: String? = nil) {
        self.seq = seq; self.at = at; self.kind = kind; self.position = position; self.stop = stop; self.orders = orders
        self.order = order; self.proof = proof; self.reason = reason
    }
}

public struct ReportsBody: Codable, Sendable {
    public var device: String
    public var reports: [WireReport]
    /// The etag of the manifest the handheld holds: the ack leaves the manifest out when it is
    /// still this one (`manifest_etag` says so), which spares a position report's ack the whole manifest.
    public var ifNoneMatch: String?
    public init(device: String, reports: [WireReport], ifNoneMatch: String? = nil) {
        self.device = device; self.reports = reports; self.ifNoneMatch = ifNoneMatch
    }
}

public struct ManifestGetBody: Codable, Sendable {
    /// Answer `manifest.unchanged` unless the manifest's version is greater.
    public var ifNewerThan: Int?
    /// Answer `manifest.unchanged` when the manifest's etag is this.
    public var ifNoneMatch: String?
    /// The handheld's clock (ETAs and the shift it is on are computed for it); default: the deployment's clock.
    public var at: WireTime?
    public init(ifNewerThan: Int? = nil, ifNoneMatch: String? = nil, at: WireTime? = nil) {
        self.ifNewerThan = ifNewerThan; self.ifNoneMatch = ifNoneMatch; self.at = at
    }
}

public struct ScanBody: Codable, Sendable { public var label: String; public init(label: String) { self.label = label } }

public struct StoreOrderBody: Codable, Sendable {
    public var order: String
    public var at: WireTime
    public init(order: String, at: WireTime) { self.order = order; self.at = at }
}

public struct StoreHandoverBody: Codable, Sendable {
    public var order: String
    public var code: String
    public var at: WireTime
    public init(order: String, code: String, at: WireTime) { self.order = order; self.code = code; self.at = at }
}

public struct StoreUnlockBody: Codable, Sendable {
    public var order: String
    /// Why staff unlocked it (e.g. "ID checked: driving licence").
    public var reason: String
    public var at: WireTime
    public init(order: String, reason: String, at: WireTime) { self.order = order; self.reason = reason; self.at = at }
}

public struct StoreStockBody: Codable, Sendable {
    public var sku: String
    /// `replenishment`: units received (> 0); `correction`: units to add (> 0) or remove (< 0) after a count.
    public var quantity: Int
    /// `replenishment` or `correction`.
    public var reason: String
    public var note: String?
    public var at: WireTime
    public init(sku: String, quantity: Int, reason: String, note: String? = nil, at: WireTime) {
        self.sku = sku; self.quantity = quantity; self.reason = reason; self.note = note; self.at = at
    }
}

public struct WireLine: Codable, Sendable, Hashable {
    public var sku: String
    public var quantity: Int
    public init(sku: String, quantity: Int) { self.sku = sku; self.quantity = quantity }
}

public struct WireOrder: Codable, Sendable, Hashable {
    /// The shop's order id (unique per deployment; a repeated id places nothing twice).
    public var id: String
    /// `dawn`, `same_day`, `quick`, `scheduled`, `bopis`.
    public var product: String
    public var destination: WirePosition
    public var lines: [WireLine]
    public var weightGrams: Int64?
    public var volumeMillilitres: Int64?
    /// `ambient`, `chilled`, `frozen` (default: the coldest of the lines).
    public var zone: String?
    public init(id: String, product: String, destination: WirePosition, lines: [WireLine], weightGrams: Int64? = nil,
                volumeMillilitres: Int64? = nil, zone: String? = nil) {
        self.id = id; self.product = product; self.destination = destination; self.lines = lines
        self.weightGrams = weightGrams; self.volumeMillilitres = volumeMillilitres; self.zone = zone
    }
}

public struct PlaceOrderBody: Codable, Sendable {
    public var order: WireOrder
    /// `scheduled`: the slot's start.
    public var slot: WireTime?
    public var at: WireTime
    public init(order: WireOrder, slot: WireTime? = nil, at: WireTime) { self.order = order; self.slot = slot; self.at = at }
}

/// `slots.offer`: the scheduled slots a checkout may show for a destination.
public struct SlotsOfferBody: Codable, Sendable {
    public var destination: WirePosition
    public var at: WireTime
    public init(destination: WirePosition, at: WireTime) { self.destination = destination; self.at = at }
}

public struct WireSlot: Codable, Sendable, Hashable {
    public var start: WireTime
    public var end: WireTime
    /// Orders the slot still takes (absent: the region sets no slot capacity).
    public var remaining: Int?
    public init(start: WireTime, end: WireTime, remaining: Int?) { self.start = start; self.end = end; self.remaining = remaining }
}

/// `slots.offered`: the destination's region and its free slots, earliest first.
public struct SlotsOfferedBody: Codable, Sendable {
    public var region: String
    public var slots: [WireSlot]
    public init(region: String, slots: [WireSlot]) { self.region = region; self.slots = slots }
}

public struct TokenBody: Codable, Sendable {
    public var token: String
    public init(token: String) { self.token = token }
}

public struct CancelOrderBody: Codable, Sendable {
    public var token: String
    /// Default `customer_request`.
    public var reason: String?
    public var at: WireTime
    public init(token: String, reason: String? = nil, at: WireTime) { self.token = token; self.reason = reason; self.at = at }
}

public struct DispatchCommandBody: Codable, Sendable {
    public var region: String
    /// `assign`, `reassign`, `unassign`, `hold`, `release`, `cancel`, `lock`, `unlock`, `replan`.
    public var command: String
    public var order: String?
    /// `vehicle:ID` or `rider:ID`.
    public var courier: String?
    /// `cancel`: a cancel reason (default `operator_decision`).
    public var reason: String?
    /// The command's idempotency key: repeat a command with the same key to apply it at most once.
    public var key: String?
    public var at: WireTime
    public init(region: String, command: String, order: String? = nil, courier: String? = nil, reason: String? = nil, key: String? = nil, at: WireTime) {
        self.region = region; self.command = command; self.order = order; self.courier = courier; self.reason = reason; self.key = key; self.at = at
    }
}

public struct DispatchOrdersBody: Codable, Sendable {
    public var region: String
    /// Only orders in these states (snake_case), e.g. `["assigned","out_for_delivery"]`.
    public var states: [String]?
    public init(region: String, states: [String]? = nil) { self.region = region; self.states = states }
}

public struct DispatchManifestBody: Codable, Sendable {
    public var courier: String
    public var at: WireTime?
    public init(courier: String, at: WireTime? = nil) { self.courier = courier; self.at = at }
}

public struct DispatchStatusBody: Codable, Sendable {
    public var regions: [String]?
    public init(regions: [String]? = nil) { self.regions = regions }
}

public struct ClockAdvanceBody: Codable, Sendable {
    public var to: WireTime
    public init(to: WireTime) { self.to = to }
}

public struct EmptyBody: Codable, Sendable { public init() {} }

// MARK: - Replies and pushes

public struct WelcomeBody: Codable, Sendable {
    public var version: Int
    public var principal: String
    public var role: String
    public var scope: String
    public var gateway: String
    public var maxBodyBytes: Int
    public var maxFrameBytes: Int
    public var maxBatch: Int
    public var maxInFlight: Int
    public var heartbeatMs: Int
    /// Couriers: the device's last applied sequence numbers are per device; send `reports` from `last_seq + 1`.
    public init(version: Int, principal: String, role: String, scope: String, gateway: String) {
        self.version = version; self.principal = principal; self.role = role; self.scope = scope; self.gateway = gateway
        maxBodyBytes = EdgeProtocol.maxBodyBytes; maxFrameBytes = EdgeProtocol.maxFrameBytes; maxBatch = EdgeProtocol.maxBatch
        maxInFlight = EdgeProtocol.maxInFlightPerPeer; heartbeatMs = EdgeProtocol.heartbeatMs
    }
}

public struct PongBody: Codable, Sendable {
    public var gateway: String
    public init(gateway: String) { self.gateway = gateway }
}

public struct WireStop: Codable, Sendable, Hashable {
    /// `pickup`, `delivery`, `return_to_base`.
    public var kind: String
    public var orders: [String]
    /// Each order's parcel label (`DBK:<order>`), as printed.
    public var labels: [String]
    public var location: WirePosition
    public var site: String?
    public var fromCourier: String?
    public var eta: WireTime
    public var notBefore: WireTime?
    public var window: WireWindow?
}

public struct WireManifest: Codable, Sendable, Hashable {
    public var courier: String
    /// Grows with every change of the region's plan.
    public var version: Int
    /// A digest of the manifest's content (stops, order, status, on board, ETAs to the minute):
    /// equal etags, equal manifests.
    public var etag: String
    /// `off_shift`, `idle`, `working`, `broken_down`.
    public var status: String
    public var stops: [WireStop]
    public var onBoard: [String]
}

public struct ManifestBody: Codable, Sendable {
    public var manifest: WireManifest
    public init(manifest: WireManifest) { self.manifest = manifest }
}

public struct ManifestUnchangedBody: Codable, Sendable {
    public var version: Int
    public var etag: String
    public init(version: Int, etag: String) { self.version = version; self.etag = etag }
}

public struct ReportResult: Codable, Sendable, Hashable {
    public var seq: Int64
    /// `applied` (now), `duplicate` (applied before: nothing new), `refused` (applied as a refusal:
    /// its number is used, `error` says why), `gap` (not applied: resend from `last_seq + 1`).
    public var status: String
    public var error: EdgeError?
    public init(seq: Int64, status: String, error: EdgeError? = nil) { self.seq = seq; self.status = status; self.error = error }
}

public struct ReportsAckBody: Codable, Sendable {
    /// The device's last applied sequence number after this batch.
    public var lastSeq: Int64
    /// One per report processed, in order; processing stops at a gap or an unavailable cluster.
    public var results: [ReportResult]
    /// The manifest after the last applied report; left out when its etag is the request's `if_none_match`.
    public var manifest: WireManifest?
    /// The etag of the manifest after the last applied report (whether or not it is included).
    public var manifestEtag: String?
    public init(lastSeq: Int64, results: [ReportResult], manifest: WireManifest?, manifestEtag: String? = nil) {
        self.lastSeq = lastSeq; self.results = results; self.manifest = manifest; self.manifestEtag = manifestEtag ?? manifest?.etag
    }
}

public struct ScanOKBody: Codable, Sendable {
    public var label: String
    public var order: String
    /// `load` (at a pickup stop: take it), `deliver` (on board, its delivery stop is on the manifest).
    public var action: String
    /// Index of the stop in the manifest's `stops`.
    public var stop: Int
    public init(label: String, order: String, action: String, stop: Int) { self.label = label; self.order = order; self.action = action; self.stop = stop }
}

public struct OKBody: Codable, Sendable { public init() {} }

public struct StoreReadyBody: Codable, Sendable {
    public var order: String
    /// The pickup code the customer was sent.
    public var code: String
    public var holdUntil: WireTime
    public init(order: String, code: String, holdUntil: WireTime) { self.order = order; self.code = code; self.holdUntil = holdUntil }
}

public struct StoreHandoverReplyBody: Codable, Sendable {
    public var order: String
    /// `handed_over`, `wrong_code`, `locked`, `not_ready`, `expired`, `unknown_order`.
    public var outcome: String
    public var attemptsLeft: Int?
    public init(order: String, outcome: String, attemptsLeft: Int? = nil) { self.order = order; self.outcome = outcome; self.attemptsLeft = attemptsLeft }
}

public struct OrderPlacedBody: Codable, Sendable {
    public var order: String
    /// The customer's tracking token: 256 random bits, URL-safe base64. Shown once; keep it.
    public var token: String
    /// `assigned`, `awaiting_wave`, `awaiting_collection`.
    public var outcome: String
    public var site: String
    public var window: WireWindow
    public var eta: WireTime?
    /// `assigned`: the courier that has it (`vehicle:ID` / `rider:ID`), for the shop's own tracking page.
    public var courier: String?
    public init(order: String, token: String, outcome: String, site: String, window: WireWindow, eta: WireTime?, courier: String? = nil) {
        self.order = order; self.token = token; self.outcome = outcome; self.site = site; self.window = window; self.eta = eta; self.courier = courier
    }
}

public struct TrackingBody: Codable, Sendable, Hashable {
    /// The order's state (snake_case), e.g. `out_for_delivery`.
    public var state: String
    public var product: String
    /// The promised window.
    public var window: WireWindow
    /// The current ETA window, when a courier has it.
    public var etaWindow: WireWindow?
    /// Deliveries before this one on the courier's route.
    public var stopsAway: Int?
    /// The courier's position: only when at most two stops away.
    public var courierPosition: WirePosition?
    /// BOPIS: where to collect.
    public var site: String?
    public var readyForCollection: Bool?
    public init(state: String, product: String, window: WireWindow, etaWindow: WireWindow? = nil, stopsAway: Int? = nil,
                courierPosition: WirePosition? = nil, site: String? = nil, readyForCollection: Bool? = nil) {
        self.state = state; self.product = product; self.window = window; self.etaWindow = etaWindow; self.stopsAway = stopsAway
        self.courierPosition = courierPosition; self.site = site; self.readyForCollection = readyForCollection
    }
}

public struct SubscribedBody: Codable, Sendable {
    /// The first 8 characters of the token: pushes for it carry this.
    public var tokenRef: String
    public init(tokenRef: String) { self.tokenRef = tokenRef }
}

/// A pushed notification (correlation id 0) for a subscribed token.
public struct NotificationPushBody: Codable, Sendable, Hashable {
    public var tokenRef: String
    /// `assigned`, `window_changed`, `approaching`, `delivered`, `failed`, `ready_for_pickup`.
    public var kind: String
    public var window: WireWindow?
    public var failure: String?
    /// `ready_for_pickup`: the code to show at the counter.
    public var code: String?
    public var at: WireTime
    public init(tokenRef: String, kind: String, window: WireWindow?, failure: String?, code: String?, at: WireTime) {
        self.tokenRef = tokenRef; self.kind = kind; self.window = window; self.failure = failure; self.code = code; self.at = at
    }
}

public struct WireOrderRecord: Codable, Sendable, Hashable {
    public var order: String
    public var product: String
    public var state: String
    public var courier: String?
    public var window: WireWindow
}

public struct DispatchOrdersReplyBody: Codable, Sendable {
    public var region: String
    public var orders: [WireOrderRecord]
    public init(region: String, orders: [WireOrderRecord]) { self.region = region; self.orders = orders }
}

public struct WireRegionStatus: Codable, Sendable, Hashable {
    public var region: String
    public var owner: String?
    public var now: WireTime?
    public var operatingDay: String?
    public var days: [String]
    public var openOrders: Int
    public var nextDue: WireTime?
    public var error: String?
    public init(region: String, owner: String?, now: WireTime?, operatingDay: String?, days: [String], openOrders: Int, nextDue: WireTime?, error: String?) {
        self.region = region; self.owner = owner; self.now = now; self.operatingDay = operatingDay; self.days = days
        self.openOrders = openOrders; self.nextDue = nextDue; self.error = error
    }
}

public struct DispatchStatusReplyBody: Codable, Sendable {
    public var regions: [WireRegionStatus]
    public init(regions: [WireRegionStatus]) { self.regions = regions }
}

public struct ClockBody: Codable, Sendable {
    public var now: WireTime
    public init(now: WireTime) { self.now = now }
}

public struct WirePickEntry: Codable, Sendable, Hashable {
    public var order: String
    public var product: String
    public var state: String
    /// When picking must be done (the planned pickup, or the BOPIS promise).
    public var due: WireTime
    public var lines: [WireLine]
    public var courier: String?
    /// BOPIS packed and held at the counter, waiting for its customer.
    public var awaitingCollection: Bool
    /// Held by a dispatcher: do not pick yet.
    public var held: Bool
    public init(order: String, product: String, state: String, due: WireTime, lines: [WireLine], courier: String?, awaitingCollection: Bool, held: Bool) {
        self.order = order; self.product = product; self.state = state; self.due = due; self.lines = lines; self.courier = courier
        self.awaitingCollection = awaitingCollection; self.held = held
    }
}

public struct PickQueueReplyBody: Codable, Sendable {
    public var site: String
    public var orders: [WirePickEntry]
    public init(site: String, orders: [WirePickEntry]) { self.site = site; self.orders = orders }
}

public struct WireNoShow: Codable, Sendable, Hashable {
    public var order: String
    public var at: WireTime
    public var lines: [WireLine]
    public init(order: String, at: WireTime, lines: [WireLine]) { self.order = order; self.at = at; self.lines = lines }
}

public struct NoShowsReplyBody: Codable, Sendable {
    public var site: String
    public var orders: [WireNoShow]
    public init(site: String, orders: [WireNoShow]) { self.site = site; self.orders = orders }
}

public struct StockReplyBody: Codable, Sendable {
    public var site: String
    public var sku: String
    public var onHand: Int
    public var available: Int
    public init(site: String, sku: String, onHand: Int, available: Int) { self.site = site; self.sku = sku; self.onHand = onHand; self.available = available }
}
