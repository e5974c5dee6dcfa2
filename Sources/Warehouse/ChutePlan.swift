/// Chute assignment for a night's waves (Docs/SITES.md): every van route of the dawn plan gets the
/// chute(s) its parcels will collect in, for its wave; chutes are reused by later waves once the
/// earlier wave's vans have left. Pure. Times are seconds on the caller's clock (e.g. since local
/// midnight of the delivery morning, negative before midnight).

/// One van route as the sorter sees it.
public struct SorterRoute: Sendable, Equatable {
    /// The van (its `VehicleID`'s text, for reports).
    public var van: String
    /// The departure wave, 0 for the first; chutes are assigned per wave.
    public var wave: Int
    /// When the van leaves the hub (seconds).
    public var departure: Double
    /// Parcels to sort for this route.
    public var parcels: Int
    /// When loading into the van starts (its dock door slot); nil: `SorterConfig.loadingLeadSeconds`
    /// before its departure.
    public var loadingStart: Double?
    public init(van: String, wave: Int, departure: Double, parcels: Int, loadingStart: Double? = nil) {
        self.van = van; self.wave = wave; self.departure = departure; self.parcels = parcels; self.loadingStart = loadingStart
    }
}

/// A chute given to a route for its wave: from `from` (when the chute's previous route is due to
/// leave, or the start of sorting) until the route's departure.
public struct ChuteAssignment: Sendable, Equatable, Codable {
    public var chute: Int
    public var route: Int
    public var wave: Int
    public var from: Double
    public var until: Double
}

public struct ChutePlan: Sendable, Equatable {
    public var chutes: Int
    /// Parcels a chute holds before loading empties it.
    public var capacity: Int
    /// In assignment order: waves by their first departure, routes by departure then index.
    public var assignments: [ChuteAssignment]
    /// Per route, its assignments' indices; per chute, its assignments' indices in time order.
    public private(set) var byRoute: [[Int]]
    public private(set) var byChute: [[Int]]

    /// A plan from explicit assignments (tests, or a dispatcher's manual plan). Each chute's
    /// assignments are kept in the order given.
    public init(chutes: Int, capacity: Int, routes: Int, assignments: [ChuteAssignment]) {
        precondition(chutes > 0 && capacity > 0)
        self.chutes = chutes; self.capacity = capacity; self.assignments = assignments
        byRoute = Array(repeating: [], count: routes)
        byChute = Array(repeating: [], count: chutes)
        for (k, a) in assignments.enumerated() {
            precondition(a.chute >= 0 && a.chute < chutes && a.route >= 0 && a.route < routes, "assignment \(k) out of range")
            byRoute[a.route].append(k)
            byChute[a.chute].append(k)
        }
    }

    /// Chutes a route needs so that all its parcels fit without loading: ⌈parcels / capacity⌉, at least 1.
    public static func chutesNeeded(parcels: Int, capacity: Int) -> Int { max(1, (parcels + capacity - 1) / capacity) }

    /// Assigns chutes wave by wave (waves ordered by their earliest departure). Within a wave,
    /// routes in departure order each take the chutes that free up earliest (ties: lowest chute):
    /// `chutesNeeded` of them (at most `maxChutesPerRoute`: the overflow then recirculates until
    /// loading empties the chute), never a chute already serving this wave. A chute reused from an
    /// earlier wave is free at its previous route's departure. Fails when a wave has too few
    /// chutes, or a route's chute would only free up at or after its own departure.
    public static func assign(routes: [SorterRoute], chutes: Int, capacity: Int, start: Double,
                              maxChutesPerRoute: Int = .max) throws(ChuteAssignmentError) -> ChutePlan {
        precondition(chutes > 0 && capacity > 0 && maxChutesPerRoute > 0)
        func chutesFor(_ r: SorterRoute) -> Int { min(maxChutesPerRoute, chutesNeeded(parcels: r.parcels, capacity: capacity)) }
        var freeAt = [Double](repeating: start, count: chutes)
        var assignments: [ChuteAssignment] = []
        let waves = Dictionary(grouping: routes.indices, by: { routes[$0].wave })
        let waveOrder = waves.keys.sorted { a, b in
            let da = waves[a]!.map { routes[$0].departure }.min()!, db = waves[b]!.map { routes[$0].departure }.min()!
            return da != db ? da < db : a < b
        }
        for w in waveOrder {
            let members = waves[w]!.sorted { routes[$0].departure != routes[$1].departure ? routes[$0].departure < routes[$1].departure : $0 < $1 }
            let needed = members.reduce(0) { $0 + chutesFor(routes[$1]) }
            guard needed <= chutes else { throw .tooFewChutes(wave: w, routes: members.count, needed: needed, chutes: chutes) }
            var pool = Array(0..<chutes).sorted { freeAt[$0] != freeAt[$1] ? freeAt[$0] < freeAt[$1] : $0 < $1 }[...]
            for r in members {
                let route = routes[r]
                for _ in 0..<chutesFor(route) {
                    let c = pool.removeFirst()
                    guard freeAt[c] < route.departure else {
                        throw .chuteFreesTooLate(van: route.van, wave: w, chute: c, freeAt: freeAt[c], departure: route.departure)
                    }
                    assignments.append(ChuteAssignment(chute: c, route: r, wave: w, from: freeAt[c], until: route.departure))
                }
            }
            for a in assignments where a.wave == w { freeAt[a.chute] = max(freeAt[a.chute], a.until) }
        }
        return ChutePlan(chutes: chutes, capacity: capacity, routes: routes.count, assignments: assignments)
    }
}

public enum ChuteAssignmentError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooFewChutes(wave: Int, routes: Int, needed: Int, chutes: Int)
    case chuteFreesTooLate(van: String, wave: Int, chute: Int, freeAt: Double, departure: Double)

    public var description: String {
        switch self {
        case let .tooFewChutes(wave, routes, needed, chutes):
            "wave \(wave): its \(routes) routes need \(needed) chutes, the sorter has \(chutes)"
        case let .chuteFreesTooLate(van, wave, chute, freeAt, departure):
            "wave \(wave): van \(van) leaves at \(Int(departure)) s but its chute \(chute) is only free at \(Int(freeAt)) s (all chutes busy with earlier waves)"
        }
    }
}
