import DispatchPlanning
import Fleet
import Geo

// The edge protocol (Docs/EDGE.md): what handhelds, store staff, storefronts, customers,
// dispatchers and the clock say to a `daybreak gateway`, as JSON bodies over ZeroMQ with CURVE.
// Pure: no I/O. Wire types are separate from domain types (Docs/ARCHITECTURE.md, principle 6):
// the gateway maps one to the other, and a domain refactoring never changes the wire.

/// Versions, limits and timings every client can rely on (also sent in `welcome`).
public enum EdgeProtocol {
    /// The version this build speaks. A request carries `"v"`; a version not listed in
    /// `supportedVersions` is answered with `unsupported_version` and the list.
    public static let version = 1
    public static let supportedVersions = [1]
    /// The largest body a client may send (bytes of UTF-8 JSON). Larger frames are refused by
    /// libzmq before they are read (the connection is dropped); bodies between this and the
    /// socket's limit get a `too_large` error.
    public static let maxBodyBytes = 64 << 10
    /// The socket's frame limit (ZMQ_MAXMSGSIZE): a frame above it drops the connection.
    public static let maxFrameBytes = 256 << 10
    /// Most reports in one `reports` request.
    public static let maxBatch = 100
    /// Most requests one connection may have in flight; more are answered `overloaded`.
    public static let maxInFlightPerPeer = 64
    /// ZMTP heartbeats: a PING every this many ms; a peer silent for 3× is dropped.
    public static let heartbeatMs = 10_000
    /// Longest identifier accepted (order ids, device ids, SKUs, labels, reasons).
    public static let maxIDBytes = 200
}

/// A typed error code: what a client's program switches on. Stable across versions.
public enum EdgeErrorCode: String, Sendable, Hashable, Codable, CaseIterable {
    /// The body is not UTF-8 JSON, not an object, or a field is missing or has the wrong type.
    case malformed
    /// `type` names no message of this version.
    case unknownType = "unknown_type"
    /// `v` is not a supported version: `supported_versions` lists those that are.
    case unsupportedVersion = "unsupported_version"
    /// The body exceeds `max_body_bytes`, or a batch exceeds `max_batch`.
    case tooLarge = "too_large"
    /// The principal's role may not send this message, or the item is another principal's.
    case forbidden
    /// No such order, courier, site or token (or none this principal may see).
    case notFound = "not_found"
    /// Well-formed but invalid: a value out of range, an unknown enum, a bad label.
    case invalid
    /// The dispatcher refused it in the current state: `problem` says why; nothing changed.
    case refused
    /// A report's `seq` is beyond the next expected one: resend from `last_seq + 1`.
    case sequenceGap = "sequence_gap"
    /// A scanned parcel is not on this courier's manifest.
    case notOnManifest = "not_on_manifest"
    /// Too many requests in flight on this connection: retry later.
    case overloaded
    /// The cluster did not answer in time: the effect is unknown; retry with the same `seq` or `key`.
    case unavailable
    /// A bug: reported, nothing promised.
    case internalError = "internal"
}

/// An error answer: the code, a sentence saying what was wrong and where, and the field at fault.
public struct EdgeError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public var code: EdgeErrorCode
    public var message: String
    /// The JSON path of the field at fault (`reports[3].position.lat`), when one is.
    public var field: String?
    /// `sequence_gap`, `reports.ack`: the device's last applied sequence number.
    public var lastSeq: Int64?
    /// `unsupported_version`: what this gateway speaks.
    public var supportedVersions: [Int]?
    /// `refused`: the dispatcher's problem (e.g. `out_of_stock`, `invalid_state`).
    public var problem: String?
    /// `refused` with problem `slot_full`: the next free slot starts, earliest first.
    public var offeredSlots: [WireTime]?
    public init(_ code: EdgeErrorCode, _ message: String, field: String? = nil, lastSeq: Int64? = nil,
                supportedVersions: [Int]? = nil, problem: String? = nil, offeredSlots: [WireTime]? = nil) {
        self.code = code; self.message = message; self.field = field; self.lastSeq = lastSeq
        self.supportedVersions = supportedVersions; self.problem = problem; self.offeredSlots = offeredSlots
    }
    public var description: String { "\(code.rawValue)\(field.map { " at \($0)" } ?? ""): \(message)" }
}

/// Who a principal is at the edge. Stored in `principals.role`.
public enum EdgeRole: String, Sendable, Hashable, Codable, CaseIterable {
    /// Exactly one courier (scope `vehicle:ID` or `rider:ID`): its handheld.
    case courier
    /// One site (scope: the site id): a store's or hub's staff.
    case store
    /// A shop's backend: places and cancels orders for its customers.
    case storefront
    /// A customer's app: tracks the orders whose tokens it holds.
    case customer
    /// A set of regions (scope `*` or `gangnam,songpa`).
    case dispatcher
    /// Advances a driven clock.
    case clock
    /// Reads what dispatchers read; changes nothing.
    case observer
}

/// What a principal acts for, parsed from `principals.scope` for its role.
public enum EdgeScope: Sendable, Hashable {
    case courier(CourierRef)
    case site(SiteID)
    /// nil: every region.
    case regions(Set<RegionID>?)
    case unscoped

    /// Parses `text` as the scope of `role`; the error says what a scope of that role looks like.
    public static func parse(_ text: String, role: EdgeRole) -> Result<EdgeScope, EdgeError> {
        func bad(_ what: String) -> Result<EdgeScope, EdgeError> { .failure(EdgeError(.invalid, "scope of a \(role.rawValue): \(what)", field: "scope")) }
        switch role {
        case .courier:
            guard let ref = EdgeNames.courier(text) else { return bad("expected vehicle:ID or rider:ID, got '\(text)'") }
            return .success(.courier(ref))
        case .store:
            guard EdgeNames.isIdentifier(text) else { return bad("expected a site id, got '\(text)'") }
            return .success(.site(SiteID(text)))
        case .dispatcher:
            if text == "*" || text.isEmpty { return .success(.regions(nil)) }
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0) }
            guard parts.allSatisfy(EdgeNames.isIdentifier) else { return bad("expected * or region ids separated by commas, got '\(text)'") }
            return .success(.regions(Set(parts.map(RegionID.init))))
        case .storefront, .customer, .clock, .observer:
            return .success(.unscoped)
        }
    }
}

/// An authenticated edge principal: what the gateway knows of the sender of every message, from
/// its CURVE key (never from a field of the message).
public struct EdgePrincipal: Sendable, Hashable {
    public var userID: String
    public var role: EdgeRole
    public var scope: EdgeScope
    public init(userID: String, role: EdgeRole, scope: EdgeScope) { self.userID = userID; self.role = role; self.scope = scope }

    /// The principal's courier (role courier).
    public var courier: CourierRef? { if case .courier(let c) = scope { return c }; return nil }
    /// The principal's site (role store).
    public var site: SiteID? { if case .site(let s) = scope { return s }; return nil }

    /// Whether a dispatcher or observer may see or act on `region`.
    public func covers(region: RegionID) -> Bool {
        switch scope {
        case .regions(let set): return set.map { $0.contains(region) } ?? true
        case .unscoped: return role == .observer
        default: return false
        }
    }
}

/// Names on the wire: snake_case enum values, `vehicle:ID` couriers, identifier checks.
public enum EdgeNames {
    /// `sameDay` → `same_day`.
    public static func snake(_ camel: String) -> String {
        var out = ""
        for ch in camel {
            if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
        }
        return out
    }

    /// The case of `E` whose snake_case name is `text`.
    public static func value<E: RawRepresentable & CaseIterable>(_ text: String, as: E.Type) -> E? where E.RawValue == String {
        E.allCases.first { snake($0.rawValue) == text }
    }

    /// Every snake_case name of `E`, for error messages.
    public static func names<E: RawRepresentable & CaseIterable>(_ type: E.Type) -> String where E.RawValue == String {
        E.allCases.map { snake($0.rawValue) }.joined(separator: ", ")
    }

    public static func courier(_ text: String) -> CourierRef? {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, isIdentifier(parts[1]) else { return nil }
        switch parts[0] {
        case "vehicle": return .vehicle(VehicleID(parts[1]))
        case "rider": return .rider(RiderID(parts[1]))
        default: return nil
        }
    }

    public static func text(_ c: CourierRef) -> String { "\(c.kind.rawValue):\(c.id)" }

    /// 1 to `maxIDBytes` bytes of printable ASCII without spaces or quotes.
    public static func isIdentifier(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= EdgeProtocol.maxIDBytes
            && text.utf8.allSatisfy { $0 > 32 && $0 < 127 && $0 != 34 && $0 != 39 && $0 != 92 }
    }
}

/// A parcel's label: what a handheld's scanner reads. Daybreak prints `DBK:<order id>` (one parcel)
/// or `DBK:<order id>/<n>` (parcel n of a multi-parcel order) as a QR code; the order id alone is
/// accepted too, for hand entry.
public enum ParcelLabel {
    public static let prefix = "DBK:"

    public static func make(order: OrderID, parcel: Int? = nil) -> String {
        prefix + order.rawValue + (parcel.map { "/\($0)" } ?? "")
    }

    /// The order a label names, or nil when it is not a Daybreak label.
    public static func order(from label: String) -> OrderID? {
        var body = Substring(label)
        if body.hasPrefix(prefix) {
            body = body.dropFirst(prefix.count)
            if let slash = body.lastIndex(of: "/") {
                let n = body[body.index(after: slash)...]
                guard !n.isEmpty, n.count <= 4, n.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
                body = body[..<slash]
            }
        }
        let id = String(body)
        return EdgeNames.isIdentifier(id) ? OrderID(id) : nil
    }
}

/// Which roles may send which message type.
public enum EdgeAccess {
    public static let table: [String: Set<EdgeRole>] = {
        let all = Set(EdgeRole.allCases)
        return [
            "hello": all, "ping": all,
            "reports": [.courier], "manifest.get": [.courier], "scan": [.courier],
            "store.queue": [.store], "store.picking_started": [.store], "store.packed": [.store], "store.handover": [.store],
            "store.unlock": [.store], "store.stock": [.store], "store.no_shows": [.store],
            "order.place": [.storefront], "order.cancel": [.storefront], "slots.offer": [.storefront, .dispatcher, .observer],
            "order.track": [.storefront, .customer], "order.subscribe": [.storefront, .customer], "order.unsubscribe": [.storefront, .customer],
            "dispatch.command": [.dispatcher], "dispatch.orders": [.dispatcher, .observer],
            "dispatch.manifest": [.dispatcher, .observer], "dispatch.status": [.dispatcher, .observer],
            "clock.advance": [.clock],
        ]
    }()

    /// nil when `principal` may send `type`; otherwise the error to answer.
    public static func check(_ type: String, _ principal: EdgePrincipal) -> EdgeError? {
        guard let roles = table[type] else { return EdgeError(.unknownType, "no message type '\(type)' in version \(EdgeProtocol.version)", field: "type") }
        if roles.contains(principal.role) { return nil }
        return EdgeError(.forbidden, "a \(principal.role.rawValue) may not send \(type) (allowed: \(roles.map(\.rawValue).sorted().joined(separator: ", ")))",
                         field: "type")
    }
}
