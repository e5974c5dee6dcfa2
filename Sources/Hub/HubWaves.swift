import DispatchPlanning
import Fleet
import Geo
import Warehouse

/// The hub's wave from the dawn plan: which van carries which order's parcels and when it leaves
/// (DispatchPlanning's `PlannedRoute`s from the hub), as the `HubWave` a `HubController` opens.
public enum HubWaves {
    /// One van's load: its id, departure and the orders it carries with their parcels.
    public struct VanLoad: Sendable, Equatable {
        public var van: String
        public var departure: Instant
        public var orders: [Order]
        public struct Order: Sendable, Equatable {
            public var id: String
            public var parcels: Int
            public init(id: String, parcels: Int) { self.id = id; self.parcels = parcels }
        }
        public init(van: String, departure: Instant, orders: [Order]) { self.van = van; self.departure = departure; self.orders = orders }
    }

    /// The loads of the plan's routes leaving `hub` (routes with no stop are left out).
    public static func loads(_ routes: [PlannedRoute], hub: SiteID) -> [VanLoad] {
        routes.filter { $0.hub == hub && !$0.stops.isEmpty }.map { r in
            VanLoad(van: r.vehicle.rawValue, departure: r.departure, orders: r.stops.map { VanLoad.Order(id: $0.order.rawValue, parcels: $0.parcels) })
        }
    }

    /// The wave for `layout` (its chutes and their capacity): times in seconds since `origin`
    /// (e.g. local midnight of the delivery morning); a van's departure wave is the `waveSeconds`
    /// slot its departure falls in; each order's parcels (`<order>#<k>`, at least one) are one tote
    /// from one storage location chosen by the order id. Returns the wave and the totes (parcel
    /// indices per order).
    public static func wave(layout: SiteLayout, loads: [VanLoad], origin: Instant, start: Double,
                            waveSeconds: Int64 = 1800, loadingLeadSeconds: Double = 1800) -> (wave: HubWave, totes: [[Int]]) {
        let slots = Array(Set(loads.map { ($0.departure - origin) / waveSeconds })).sorted()
        let vans = loads.map { l in
            HubVan(van: l.van, wave: slots.firstIndex(of: (l.departure - origin) / waveSeconds)!, departure: Double(l.departure - origin))
        }
        let racks = max(1, layout.features(.storage).count)
        var parcels: [HubParcel] = [], totes: [[Int]] = []
        for (v, l) in loads.enumerated() {
            for o in l.orders {
                let rack = Int(fnv1a(o.id) % UInt64(racks))
                var tote: [Int] = []
                for k in 0..<max(1, o.parcels) {
                    tote.append(parcels.count)
                    parcels.append(HubParcel(id: "\(o.id)#\(k + 1)", van: v, storage: rack))
                }
                totes.append(tote)
            }
        }
        return (HubWave(site: layout.site, vans: vans, parcels: parcels, chutes: layout.features(.chute).count,
                        chuteCapacity: layout.chuteCapacity ?? 1, start: start, loadingLeadSeconds: loadingLeadSeconds), totes)
    }

    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
