/// The hub's wave as a pure state machine (Docs/WAREHOUSE.md, "The hub controller"): the wave's
/// parcels and, per parcel, its pick, sort and load; the chute plan per van (`ChutePlan.assign`);
/// robots taken out for faults; per van its loading, its departure and the parcels missing then.
///
/// Commands are decided against the state (`decide`, pure: the event, or a thrown `HubRejection`
/// naming the parcel, van or chute); events are facts and `apply` never fails. The actor that runs
/// the hub (`HubController`, module Hub) journals each event before it acts on it. Times are
/// seconds on the hub's clock (the caller's); parcels, vans and chutes are indices into the wave.
///
/// Rules the decisions keep (each a rejection otherwise):
/// - a parcel is released for picking only while waiting (or while a pick of an earlier round is
///   unfinished, e.g. its node died: the pick is released again, still picked only once);
/// - a parcel is picked once, sorted once, loaded once, in that order;
/// - a parcel is sorted only into a chute whose current holder (per the chute plan: the first of
///   the chute's vans that has not left) is the parcel's van, and only if that chute has room or
///   its van is loading (a full chute: the parcel recirculates, stays picked);
/// - a van starts loading once; it is due to leave once, with the parcels not loaded then named;
///   it has left when it is due and nothing of it is missing (late: when its last parcel is loaded).
public struct HubState: Sendable, Codable, Equatable {
    /// The wave as the dawn plan gives it.
    public var wave: HubWave?
    /// Chute assignments (from `ChutePlan.assign` at open); per chute, its assignments in time order.
    public var chutes: [ChuteAssignment] = []
    public var parcels: [ParcelProgress] = []
    public var vans: [VanProgress] = []
    /// Per chute: parcels sitting in it (not yet loaded), and the index into its assignments of its
    /// current holder (== count: retired).
    public var chuteFill: [Int] = []
    public var chuteCursor: [Int] = []
    public var faulted: [String] = []
    /// Derived at open (kept for speed): per chute its assignments in time order, per van its chutes,
    /// per van the parcels not yet loaded.
    var byChute: [[ChuteAssignment]] = []
    var vanChutes: [[Int]] = []
    var unloaded: [Int] = []
    /// Pick rounds released (the next round's number).
    public var rounds = 0

    public init() {}

    public var isOpen: Bool { wave != nil }
    /// Every van has left (all its parcels loaded and its departure passed).
    public var isDone: Bool { isOpen && vans.allSatisfy { $0.leftAt != nil } }

    // MARK: Reads

    /// The assignments of chute c, in time order.
    public func assignments(ofChute c: Int) -> [ChuteAssignment] { byChute[c] }

    /// The van now holding chute c (nil: the chute has served all its vans).
    public func holder(ofChute c: Int) -> Int? {
        let list = assignments(ofChute: c)
        return chuteCursor[c] < list.count ? list[chuteCursor[c]].route : nil
    }

    /// Chutes van v holds now.
    public func chutes(ofVan v: Int) -> [Int] {
        vanChutes[v].filter { holder(ofChute: $0) == v }
    }

    /// Where the sorter should drop parcel p now: its van's chute with the most room (ties: lowest),
    /// or any of its chutes when the van is loading; nil when the van holds no chute yet or all are
    /// full (the parcel recirculates).
    public func chute(for p: Int) -> Int? {
        let v = parcels[p].van
        let mine = chutes(ofVan: v)
        guard let cap = wave?.chuteCapacity, !mine.isEmpty else { return nil }
        if vans[v].loadingAt != nil { return mine[0] }
        let best = mine.max { a, b in chuteFill[a] != chuteFill[b] ? chuteFill[a] > chuteFill[b] : a > b }!
        return chuteFill[best] < cap ? best : nil
    }

    /// Parcels still to pick: waiting, then (when `again`) those released in an unfinished round,
    /// ordered by their van's departure (then index).
    public func toPick(again: Bool = true) -> [Int] {
        guard let w = wave else { return [] }
        return parcels.indices.filter {
            switch parcels[$0].stage { case .waiting: true; case .picking: again; default: false }
        }.sorted { a, b in
            let da = w.vans[parcels[a].van].departure, db = w.vans[parcels[b].van].departure
            return da != db ? da < db : a < b
        }
    }

    /// Picked parcels not yet in a chute (waiting at the sorter or recirculating).
    public var toSort: [Int] { parcels.indices.filter { parcels[$0].stage == .picked } }

    /// Vans whose loading is due at `now` and not started; vans due to leave at `now` and not yet due.
    public func loadingDue(at now: Double) -> [Int] {
        guard let w = wave else { return [] }
        return vans.indices.filter { vans[$0].loadingAt == nil && w.loadingStart(of: $0) <= now }
    }
    public func departuresDue(at now: Double) -> [Int] {
        guard let w = wave else { return [] }
        return vans.indices.filter { vans[$0].dueAt == nil && w.vans[$0].departure <= now }
    }

    /// When van v's parcels were all in its chute or the van (the hub's load-ready time for the
    /// route), nil while some are still missing.
    public func loadReady(_ v: Int) -> Double? {
        var t = -Double.infinity
        for p in parcels where p.van == v {
            guard let s = p.sortedAt else { return nil }
            t = max(t, s)
        }
        return t.isFinite ? t : (wave.map { $0.loadingStart(of: v) })
    }

    /// The outcome per van: departure, load-ready time, when it left (nil: not yet), the parcels
    /// missing at its departure (ids).
    public var vanReport: [VanOutcome] {
        guard let w = wave else { return [] }
        return vans.indices.map { v in
            VanOutcome(van: w.vans[v].van, departure: w.vans[v].departure, loadReady: loadReady(v), leftAt: vans[v].leftAt,
                       missingAtDeparture: vans[v].missingAtDeparture.map { w.parcels[$0].id })
        }
    }

    // MARK: Deciding

    public func decide(_ command: HubCommand) throws(HubRejection) -> HubEvent {
        switch command {
        case .open(let wave):
            if let w = self.wave { throw w == wave ? .alreadyOpen : .invalid("the hub already runs a wave for \(w.site)") }
            try wave.validate()
            let plan: ChutePlan
            do {
                plan = try ChutePlan.assign(routes: wave.sorterRoutes, chutes: wave.chutes, capacity: wave.chuteCapacity, start: wave.start)
            } catch { throw .invalid("chutes: \(error)") }
            return .opened(wave, plan.assignments)
        case let .release(round, ps, at):
            guard let w = wave else { throw .notOpen }
            guard round == rounds else { throw .invalid("round \(round) is not the next (\(rounds))") }
            guard !ps.isEmpty else { throw .invalid("round \(round) releases no parcel") }
            var seen = Set<Int>()
            for p in ps {
                guard p >= 0 && p < parcels.count else { throw .unknownParcel(p) }
                guard seen.insert(p).inserted else { throw .invalid("parcel \(w.parcels[p].id) twice in round \(round)") }
                switch parcels[p].stage {
                case .waiting, .picking: break
                default: throw .wrongStage(parcel: w.parcels[p].id, stage: parcels[p].stage, wanted: "waiting")
                }
            }
            return .released(round: round, parcels: ps, at: at)
        case let .picked(ps, robot, at):
            guard let w = wave else { throw .notOpen }
            var seen = Set<Int>()
            for p in ps {
                guard p >= 0 && p < parcels.count else { throw .unknownParcel(p) }
                guard seen.insert(p).inserted, case .picking = parcels[p].stage else {
                    throw .wrongStage(parcel: w.parcels[p].id, stage: parcels[p].stage, wanted: "picking")
                }
            }
            return .picked(parcels: ps, robot: robot, at: at)
        case let .robotFaulted(robot, at):
            guard isOpen else { throw .notOpen }
            guard !faulted.contains(robot) else { throw .invalid("robot \(robot) is already out") }
            return .robotFaulted(robot: robot, at: at)
        case let .sort(p, c, at):
            guard let w = wave else { throw .notOpen }
            guard p >= 0 && p < parcels.count else { throw .unknownParcel(p) }
            guard parcels[p].stage == .picked else { throw .wrongStage(parcel: w.parcels[p].id, stage: parcels[p].stage, wanted: "picked") }
            guard c >= 0 && c < w.chutes else { throw .invalid("no chute \(c)") }
            let v = parcels[p].van
            guard holder(ofChute: c) == v else {
                throw .wrongChute(parcel: w.parcels[p].id, van: w.vans[v].van, chute: c, holder: holder(ofChute: c).map { w.vans[$0].van })
            }
            guard vans[v].loadingAt != nil || chuteFill[c] < w.chuteCapacity else { throw .chuteFull(chute: c) }
            return .sorted(parcel: p, chute: c, at: at)
        case let .startLoading(v, at):
            guard let w = wave else { throw .notOpen }
            guard v >= 0 && v < vans.count else { throw .unknownVan(v) }
            guard vans[v].loadingAt == nil else { throw .invalid("van \(w.vans[v].van) is already loading") }
            return .loadingStarted(van: v, at: at)
        case let .departureDue(v, at):
            guard let w = wave else { throw .notOpen }
            guard v >= 0 && v < vans.count else { throw .unknownVan(v) }
            guard vans[v].dueAt == nil else { throw .invalid("van \(w.vans[v].van) was already due") }
            guard vans[v].loadingAt != nil else { throw .invalid("van \(w.vans[v].van) is due before it started loading") }
            let missing = parcels.indices.filter { parcels[$0].van == v && parcels[$0].loadedAt == nil }
            return .departureDue(van: v, at: at, missing: missing)
        }
    }

    // MARK: Applying

    public mutating func apply(_ event: HubEvent) {
        switch event {
        case let .opened(w, assignments):
            wave = w
            chutes = assignments
            parcels = w.parcels.map { ParcelProgress(van: $0.van) }
            vans = Array(repeating: VanProgress(), count: w.vans.count)
            chuteFill = Array(repeating: 0, count: w.chutes)
            chuteCursor = Array(repeating: 0, count: w.chutes)
            byChute = Array(repeating: [], count: w.chutes)
            vanChutes = Array(repeating: [], count: w.vans.count)
            for a in assignments {
                byChute[a.chute].append(a)
                if !vanChutes[a.route].contains(a.chute) { vanChutes[a.route].append(a.chute) }
            }
            for v in vanChutes.indices { vanChutes[v].sort() }
            unloaded = Array(repeating: 0, count: w.vans.count)
            for p in w.parcels { unloaded[p.van] += 1 }
        case let .released(round, ps, at):
            for p in ps {
                parcels[p].stage = .picking
                parcels[p].round = round
                parcels[p].releases += 1
                if parcels[p].releasedAt == nil { parcels[p].releasedAt = at }
            }
            rounds = round + 1
        case let .picked(ps, robot, at):
            for p in ps {
                parcels[p].stage = .picked
                parcels[p].pickedAt = at
                parcels[p].robot = robot
            }
        case let .robotFaulted(robot, _):
            faulted.append(robot)
        case let .sorted(p, c, at):
            parcels[p].sortedAt = at
            parcels[p].chute = c
            let v = parcels[p].van
            if vans[v].loadingAt != nil {
                parcels[p].stage = .loaded
                parcels[p].loadedAt = at
                unloaded[v] -= 1
                leaveIfComplete(v, at: at)
            } else {
                parcels[p].stage = .sorted
                chuteFill[c] += 1
            }
        case let .loadingStarted(v, at):
            vans[v].loadingAt = at
            for c in chutes(ofVan: v) { chuteFill[c] = 0 }
            for p in parcels.indices where parcels[p].van == v && parcels[p].stage == .sorted {
                parcels[p].stage = .loaded
                parcels[p].loadedAt = at
                unloaded[v] -= 1
            }
        case let .departureDue(v, at, missing):
            vans[v].dueAt = at
            vans[v].missingAtDeparture = missing
            leaveIfComplete(v, at: at)
        }
    }

    /// A van due to leave with nothing missing leaves: its chutes pass to their next vans.
    private mutating func leaveIfComplete(_ v: Int, at: Double) {
        guard vans[v].dueAt != nil, vans[v].leftAt == nil, unloaded[v] == 0 else { return }
        vans[v].leftAt = at
        for c in chutes(ofVan: v) {
            chuteFill[c] = 0
            chuteCursor[c] += 1
        }
    }
}

/// One parcel of the wave: its id (for reports), its van (index into `vans`) and where it is
/// stored (index into the site's storage locations).
public struct HubParcel: Sendable, Codable, Equatable {
    public var id: String
    public var van: Int
    public var storage: Int
    public init(id: String, van: Int, storage: Int) { self.id = id; self.van = van; self.storage = storage }
}

/// One van of the wave: its id, departure wave, departure and (optional) loading start.
public struct HubVan: Sendable, Codable, Equatable {
    public var van: String
    public var wave: Int
    public var departure: Double
    public var loadingStart: Double?
    public init(van: String, wave: Int, departure: Double, loadingStart: Double? = nil) {
        self.van = van; self.wave = wave; self.departure = departure; self.loadingStart = loadingStart
    }
}

/// The wave the hub runs: from the dawn plan (which van carries which parcel, departures), with
/// the sorter's chutes and their capacity. `loadingLeadSeconds`: loading starts this long before
/// a van's departure unless the van has its own `loadingStart`.
public struct HubWave: Sendable, Codable, Equatable {
    public var site: String
    public var vans: [HubVan]
    public var parcels: [HubParcel]
    public var chutes: Int
    public var chuteCapacity: Int
    public var start: Double
    public var loadingLeadSeconds: Double
    public init(site: String, vans: [HubVan], parcels: [HubParcel], chutes: Int, chuteCapacity: Int, start: Double, loadingLeadSeconds: Double = 1800) {
        self.site = site; self.vans = vans; self.parcels = parcels; self.chutes = chutes; self.chuteCapacity = chuteCapacity
        self.start = start; self.loadingLeadSeconds = loadingLeadSeconds
    }

    public func loadingStart(of v: Int) -> Double { vans[v].loadingStart ?? vans[v].departure - loadingLeadSeconds }

    /// The vans as the chute planner sees them.
    public var sorterRoutes: [SorterRoute] {
        var counts = Array(repeating: 0, count: vans.count)
        for p in parcels where p.van >= 0 && p.van < vans.count { counts[p.van] += 1 }
        return vans.indices.map { SorterRoute(van: vans[$0].van, wave: vans[$0].wave, departure: vans[$0].departure, parcels: counts[$0],
                                              loadingStart: vans[$0].loadingStart) }
    }

    /// Bad input names the item: a parcel with no such van, a duplicate parcel or van id, no chute.
    public func validate() throws(HubRejection) {
        guard chutes > 0, chuteCapacity > 0 else { throw .invalid("wave for \(site): \(chutes) chutes of capacity \(chuteCapacity)") }
        var ids = Set<String>()
        for (i, p) in parcels.enumerated() {
            guard p.van >= 0 && p.van < vans.count else { throw .invalid("parcels[\(i)] (\(p.id)): no van \(p.van) (the wave has \(vans.count))") }
            guard p.storage >= 0 else { throw .invalid("parcels[\(i)] (\(p.id)): storage \(p.storage)") }
            guard ids.insert(p.id).inserted else { throw .invalid("parcels[\(i)]: parcel id \(p.id) twice") }
        }
        var vanIds = Set<String>()
        for (i, v) in vans.enumerated() {
            guard vanIds.insert(v.van).inserted else { throw .invalid("vans[\(i)]: van \(v.van) twice") }
            guard v.departure.isFinite else { throw .invalid("vans[\(i)] (\(v.van)): departure \(v.departure)") }
            if let l = v.loadingStart, !(l <= v.departure) { throw .invalid("vans[\(i)] (\(v.van)): loading starts at \(l), after its departure \(v.departure)") }
        }
    }
}

public enum ParcelStage: String, Sendable, Codable, Equatable { case waiting, picking, picked, sorted, loaded }

public struct ParcelProgress: Sendable, Codable, Equatable {
    public var van: Int
    public var stage: ParcelStage = .waiting
    /// The round its (latest) pick was released in, and how many times it was released.
    public var round = -1
    public var releases = 0
    public var releasedAt: Double?
    public var pickedAt: Double?
    public var robot: String?
    public var sortedAt: Double?
    public var chute: Int?
    public var loadedAt: Double?
    public init(van: Int) { self.van = van }
}

public struct VanProgress: Sendable, Codable, Equatable {
    public var loadingAt: Double?
    /// When its departure came (the event), and the parcels (indices) not loaded then.
    public var dueAt: Double?
    public var missingAtDeparture: [Int] = []
    public var leftAt: Double?
    public init() {}
}

public struct VanOutcome: Sendable, Codable, Equatable {
    public var van: String
    public var departure: Double
    /// When all its parcels were in its chute (or in the van): the route's load-ready time.
    public var loadReady: Double?
    public var leftAt: Double?
    /// Parcel ids missing at its departure (empty: on time).
    public var missingAtDeparture: [String]
    public var isLate: Bool { !missingAtDeparture.isEmpty }
}

public enum HubCommand: Sendable, Codable, Equatable {
    case open(HubWave)
    /// Picks released to the floor in round `round` (the next one).
    case release(round: Int, parcels: [Int], at: Double)
    /// Picks finished (by `robot`, when known).
    case picked(parcels: [Int], robot: String?, at: Double)
    case robotFaulted(String, at: Double)
    /// The sorter dropped parcel p into chute c.
    case sort(parcel: Int, chute: Int, at: Double)
    case startLoading(van: Int, at: Double)
    case departureDue(van: Int, at: Double)
}

public enum HubEvent: Sendable, Codable, Equatable {
    case opened(HubWave, [ChuteAssignment])
    case released(round: Int, parcels: [Int], at: Double)
    case picked(parcels: [Int], robot: String?, at: Double)
    case robotFaulted(robot: String, at: Double)
    case sorted(parcel: Int, chute: Int, at: Double)
    case loadingStarted(van: Int, at: Double)
    case departureDue(van: Int, at: Double, missing: [Int])

    /// The stable journal type.
    public var type: String {
        switch self {
        case .opened: "hub.opened"
        case .released: "hub.released"
        case .picked: "hub.picked"
        case .robotFaulted: "hub.robot_faulted"
        case .sorted: "hub.sorted"
        case .loadingStarted: "hub.loading_started"
        case .departureDue: "hub.departure_due"
        }
    }
}

public enum HubRejection: Error, Sendable, Codable, Equatable, CustomStringConvertible {
    case notOpen
    case alreadyOpen
    case unknownParcel(Int)
    case unknownVan(Int)
    case wrongStage(parcel: String, stage: ParcelStage, wanted: String)
    case wrongChute(parcel: String, van: String, chute: Int, holder: String?)
    case chuteFull(chute: Int)
    case invalid(String)

    public var description: String {
        switch self {
        case .notOpen: "the hub has no wave open"
        case .alreadyOpen: "this wave is already open"
        case .unknownParcel(let p): "no parcel \(p) in the wave"
        case .unknownVan(let v): "no van \(v) in the wave"
        case let .wrongStage(p, s, w): "parcel \(p) is \(s.rawValue), not \(w)"
        case let .wrongChute(p, v, c, h): "parcel \(p) of van \(v) cannot go to chute \(c) (held by \(h ?? "no van"))"
        case .chuteFull(let c): "chute \(c) is full"
        case .invalid(let s): s
        }
    }
}
