import Fleet
import Geo

// The manifest change feed: after a journaled event changes what a courier's handheld shows, the
// cluster publishes a `ManifestChange` on `manifest.<region>` (best effort, after the commit: a
// handheld that missed one still polls its manifest). Which couriers an event may have changed
// and whether their manifest really did is decided here, purely.

/// "Courier `courier`'s manifest changed": fetch it again (`version` is the plan version of the
/// change, `Manifest.version`; a handheld holding that version or newer has it).
public struct ManifestChange: Sendable, Hashable, Codable {
    public var courier: CourierRef
    public var version: Int
    /// The service day whose plan changed.
    public var day: LocalDay
    public init(courier: CourierRef, version: Int, day: LocalDay) { self.courier = courier; self.version = version; self.day = day }

    /// The topic manifest changes of `region` are published on: `manifest.<region>`.
    public static func topic(region: String) -> String { "manifest." + region }
}

/// What an event may have changed: these couriers' manifests, compared at `at`.
public struct ManifestProbe: Sendable, Hashable {
    public var couriers: [CourierRef]
    public var at: Instant
    public init(couriers: [CourierRef], at: Instant) { self.couriers = couriers; self.at = at }
}

/// A courier's manifest reduced to what the handheld acts on: status, stops (kind, orders, site,
/// from courier), orders on board, and the ETAs (compared with a tolerance).
public struct ManifestDigest: Sendable, Hashable {
    struct Stop: Sendable, Hashable {
        var kind: ManifestStop.Kind
        var orders: [OrderID]
        var site: SiteID?
        var from: CourierRef?
    }
    public var courier: CourierRef
    /// The plan version when it was taken.
    public var version: Int
    var status: Manifest.Status
    var stops: [Stop]
    var onBoard: [OrderID]
    var etas: [Int64]

    public init(_ m: Manifest) {
        courier = m.courier; version = m.version; status = m.status; onBoard = m.onBoard
        stops = m.stops.map { Stop(kind: $0.kind, orders: $0.orders, site: $0.site, from: $0.fromCourier) }
        etas = m.stops.map(\.eta.epochSeconds)
    }

    /// ETAs that moved by less than this alone are no change worth a push.
    public static let etaToleranceSeconds: Int64 = 60

    /// Whether the handheld should fetch `self` when it holds `old`: anything but ETAs differs, or
    /// some ETA moved by `etaToleranceSeconds` or more.
    public func differs(from old: ManifestDigest) -> Bool {
        guard status == old.status, stops == old.stops, onBoard == old.onBoard, etas.count == old.etas.count else { return true }
        return zip(etas, old.etas).contains { abs($0 - $1) >= Self.etaToleranceSeconds }
    }
}

extension RegionDispatchState {
    /// The couriers whose manifest `event` (not yet applied) may change: those whose entry it
    /// changes, and those that hold (before or after) an order it changes; every courier with work
    /// when it changes the observed road speed. Compared at the event's instant (the state's clock
    /// for a job result). Call before `apply`; O(size of the change).
    public func manifestProbe(for event: DispatchEvent) -> ManifestProbe? {
        let at = event.request.at ?? clock ?? Instant(epochSeconds: 0)
        guard let c = event.change else { return ManifestProbe(couriers: courierRefs(), at: at) }
        var touched = Set<Int>(c.couriers.map(\.index))
        for o in c.orders {
            for ref in [o.courier, orders[o.order.id]?.courier] {
                if let ref, let i = courierIndex(ref) { touched.insert(i) }
            }
        }
        if let speed = c.observedSpeed, speed != observedSpeed {
            for i in couriers.indices where !couriers[i].trips.isEmpty || !couriers[i].failedOnBoard.isEmpty { touched.insert(i) }
        }
        guard !touched.isEmpty else { return nil }
        return ManifestProbe(couriers: touched.sorted().map { couriers[$0].ref }, at: at)
    }

    /// The digests of the probe's couriers' manifests (one route simulation each).
    public func manifestDigests(_ probe: ManifestProbe) -> [ManifestDigest] {
        probe.couriers.compactMap { manifest(of: $0, at: probe.at).map(ManifestDigest.init) }
    }
}
