/// A store's quick and BOPIS picks as a pure state machine (Docs/WAREHOUSE.md, "Store floors"):
/// picks requested with a due time, released to the store's pickers (robots) earliest due first and
/// at most `capacity` at a time, picked once. Journaled by `StoreFloor` (module Hub). Times are
/// seconds on the caller's clock; picks are indices in request order.
public struct StorePickState: Sendable, Codable, Equatable {
    public var site: String?
    /// Picks in progress at once, at most (the store's robots or staff on the floor).
    public var capacity = 0
    public var picks: [StorePick] = []
    public var progress: [StorePickProgress] = []
    public var rounds = 0
    public var faulted: [String] = []
    public init() {}

    public var isOpen: Bool { site != nil }

    /// Picks to release next: waiting ones (and those of an unfinished earlier round), earliest due
    /// first (then request order), at most `limit`.
    public func next(limit: Int) -> [Int] {
        Array(progress.indices.filter { progress[$0].stage != .picked }
            .sorted { picks[$0].due != picks[$1].due ? picks[$0].due < picks[$1].due : $0 < $1 }
            .prefix(max(0, min(limit, capacity))))
    }

    /// Picked after their due time: (pick id, due, picked at).
    public var late: [(id: String, due: Double, pickedAt: Double)] {
        progress.indices.compactMap { i in
            guard let t = progress[i].pickedAt, t > picks[i].due else { return nil }
            return (picks[i].id, picks[i].due, t)
        }
    }

    public func decide(_ command: StorePickCommand) throws(HubRejection) -> StorePickEvent {
        switch command {
        case let .open(site, capacity):
            if let s = self.site { throw s == site && self.capacity == capacity ? .alreadyOpen : .invalid("the store floor \(s) is already open") }
            guard capacity > 0 else { throw .invalid("store \(site): capacity \(capacity)") }
            return .opened(site: site, capacity: capacity)
        case let .request(pick, at):
            guard isOpen else { throw .notOpen }
            guard !picks.contains(where: { $0.id == pick.id }) else { throw .invalid("pick \(pick.id) already requested") }
            guard pick.due.isFinite, pick.storage >= 0 else { throw .invalid("pick \(pick.id): due \(pick.due), storage \(pick.storage)") }
            return .requested(pick, at: at)
        case let .release(round, ps, at):
            guard isOpen else { throw .notOpen }
            guard round == rounds else { throw .invalid("round \(round) is not the next (\(rounds))") }
            guard !ps.isEmpty, ps.count <= capacity else { throw .invalid("round \(round) releases \(ps.count) picks, capacity \(capacity)") }
            guard Set(ps).count == ps.count else { throw .invalid("round \(round) releases a pick twice") }
            for p in ps {
                guard p >= 0 && p < picks.count else { throw .unknownParcel(p) }
                guard progress[p].stage != .picked else { throw .wrongStage(parcel: picks[p].id, stage: .picked, wanted: "waiting") }
            }
            return .released(round: round, picks: ps, at: at)
        case let .picked(ps, robot, at):
            guard isOpen else { throw .notOpen }
            for p in ps {
                guard p >= 0 && p < picks.count else { throw .unknownParcel(p) }
                guard progress[p].stage == .picking else {
                    throw .wrongStage(parcel: picks[p].id, stage: ParcelStage(rawValue: progress[p].stage.rawValue) ?? .waiting, wanted: "picking")
                }
            }
            guard Set(ps).count == ps.count else { throw .invalid("a pick twice") }
            return .picked(picks: ps, robot: robot, at: at)
        case let .robotFaulted(robot, at):
            guard isOpen else { throw .notOpen }
            guard !faulted.contains(robot) else { throw .invalid("robot \(robot) is already out") }
            return .robotFaulted(robot: robot, at: at)
        }
    }

    public mutating func apply(_ event: StorePickEvent) {
        switch event {
        case let .opened(site, capacity):
            self.site = site; self.capacity = capacity
        case let .requested(pick, at):
            picks.append(pick)
            progress.append(StorePickProgress(requestedAt: at))
        case let .released(round, ps, at):
            // Picks of an earlier round not picked are no longer in progress: this round replaces it.
            for i in progress.indices where progress[i].stage == .picking { progress[i].stage = .waiting }
            for p in ps {
                progress[p].stage = .picking
                progress[p].releases += 1
                if progress[p].releasedAt == nil { progress[p].releasedAt = at }
            }
            rounds = round + 1
        case let .picked(ps, robot, at):
            for p in ps { progress[p].stage = .picked; progress[p].pickedAt = at; progress[p].robot = robot }
        case let .robotFaulted(robot, _):
            faulted.append(robot)
        }
    }
}

public struct StorePick: Sendable, Codable, Equatable {
    /// The order (or order line) picked, e.g. "q-123" for a quick order.
    public var id: String
    /// Index into the store's storage locations.
    public var storage: Int
    /// When it must be picked (the promise: a quick order's dispatch, a BOPIS order's ready time).
    public var due: Double
    public init(id: String, storage: Int, due: Double) { self.id = id; self.storage = storage; self.due = due }
}

public struct StorePickProgress: Sendable, Codable, Equatable {
    public enum Stage: String, Sendable, Codable { case waiting, picking, picked }
    public var stage: Stage = .waiting
    public var requestedAt: Double
    public var releasedAt: Double?
    public var releases = 0
    public var pickedAt: Double?
    public var robot: String?
    public init(requestedAt: Double) { self.requestedAt = requestedAt }
}

public enum StorePickCommand: Sendable, Codable, Equatable {
    case open(site: String, capacity: Int)
    case request(StorePick, at: Double)
    case release(round: Int, picks: [Int], at: Double)
    case picked(picks: [Int], robot: String?, at: Double)
    case robotFaulted(String, at: Double)
}

public enum StorePickEvent: Sendable, Codable, Equatable {
    case opened(site: String, capacity: Int)
    case requested(StorePick, at: Double)
    case released(round: Int, picks: [Int], at: Double)
    case picked(picks: [Int], robot: String?, at: Double)
    case robotFaulted(robot: String, at: Double)

    public var type: String {
        switch self {
        case .opened: "store_floor.opened"
        case .requested: "store_floor.requested"
        case .released: "store_floor.released"
        case .picked: "store_floor.picked"
        case .robotFaulted: "store_floor.robot_faulted"
        }
    }
}
