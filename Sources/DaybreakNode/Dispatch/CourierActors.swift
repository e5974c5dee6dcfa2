import Cluster
import DispatchPlanning
import Distributed
import Fleet
import Geo

/// A courier's own journaled fact, from its handheld's report.
public enum CourierFact: Sendable, Hashable, Codable {
    case shiftStarted(CourierRef, at: Instant, position: Coordinate)
    /// A new position; `metres` is the great-circle distance from the previous one (0 for the first).
    case moved(Coordinate, metres: Double, at: Instant)
    case arrived(ManifestStop.Kind, orders: [OrderID], at: Instant)
    case pickedUp([OrderID], at: Instant)
    case delivered(OrderID, at: Instant)
    case failed(OrderID, FailureReason, at: Instant)
    case returned(at: Instant)
    case brokeDown(Coordinate, at: Instant)
    case shiftEnded(at: Instant)
    /// A report from a handheld, applied in the device's sequence: `seq` is now the device's last
    /// applied number; `fact` is nil when the report was not a fact of this courier's own record
    /// (the dispatcher still decided on it).
    indirect case fromDevice(device: String, seq: Int64, fact: CourierFact?)
}

/// What a courier actor is asked: a handheld's report, with its device id and per-device sequence
/// number when it comes through the edge gateway (nil for in-process callers).
public struct CourierCommand: Sendable, Hashable, Codable {
    public var report: HandheldReport
    public var device: String?
    public var seq: Int64?
    /// Sequenced reports: whether the dispatcher accepted the report (only then is it a fact of
    /// the courier's own record; a refused one only uses up its number).
    public var accepted: Bool
    public init(_ report: HandheldReport, device: String? = nil, seq: Int64? = nil, accepted: Bool = true) {
        self.report = report; self.device = device; self.seq = seq; self.accepted = accepted
    }
}

/// Why a device's report was not applied: its sequence number was already applied, or one before
/// it is missing. Carries the device's last applied number.
public enum DeviceSequenceError: Error, Sendable, Hashable {
    case duplicate(last: Int64)
    case gap(last: Int64)
}

/// The answer to a handheld's sequenced report (`VehicleActor.deviceReport`).
public enum DeviceReportOutcome: Sendable, Hashable, Codable {
    /// Applied now, in sequence; the dispatcher's answer.
    case applied(DispatchResponse)
    /// Applied before (a replay): nothing new happened; the dispatcher's original answer.
    case duplicate(lastSeq: Int64, DispatchResponse)
    /// `seq` is beyond the next expected one: nothing applied; resend from `lastSeq + 1`.
    case gap(lastSeq: Int64)
}

/// Why a courier actor refused a report (nothing journaled).
public struct CourierRejection: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public var courier: String
    public var message: String
    public var description: String { "courier \(courier): \(message)" }
}

/// The state of one courier (a vehicle's driver or a rider), shared by `VehicleActor` and
/// `RiderActor`: status, stops done, last position, distance driven (great circle between reported
/// positions). Pure: decide turns a report into a fact; apply folds it.
public struct CourierModel: DomainState, Hashable {
    public static let kind = "courier"
    public typealias Command = CourierCommand
    public typealias Event = CourierFact

    public var courier: CourierRef?
    public var status: Manifest.Status = .offShift
    public var position: Coordinate?
    public var metres: Double = 0
    public var stopsDone = 0
    public var delivered = 0
    public var failed = 0
    public var onBoard: Set<OrderID> = []
    public var lastReport: Instant?
    /// Each handheld's last applied sequence number (reports through the edge gateway).
    public var devices: [String: Int64] = [:]

    public init() {}

    /// The device's last applied sequence number (0: none yet).
    public func lastSeq(of device: String) -> Int64 { devices[device] ?? 0 }

    public var kilometres: Double { metres / 1000 }

    public func decide(_ command: CourierCommand) throws -> CourierFact {
        guard let device = command.device, let seq = command.seq else { return try decide(report: command.report) }
        let last = lastSeq(of: device)
        if seq <= last { throw DeviceSequenceError.duplicate(last: last) }
        if seq != last + 1 { throw DeviceSequenceError.gap(last: last) }
        return .fromDevice(device: device, seq: seq, fact: command.accepted ? try? decide(report: command.report) : nil)
    }

    func decide(report: HandheldReport) throws -> CourierFact {
        let who = report.courier
        if let c = courier, c != who { throw CourierRejection(courier: c.id, message: "a report of \(who.kind.rawValue) \(who.id)") }
        if courier == nil, case .shiftStarted = report {} else if courier == nil {
            throw CourierRejection(courier: who.id, message: "the shift has not started")
        }
        switch report {
        case .shiftStarted(let c, let at, let p):
            guard status == .offShift else { throw CourierRejection(courier: c.id, message: "already on shift (\(status.rawValue))") }
            return .shiftStarted(c, at: at, position: p)
        case .position(_, let p, let at):
            return .moved(p, metres: position.map { GreatCircle.distanceMetres($0, p) } ?? 0, at: at)
        case .arrived(_, let kind, let orders, let at): return .arrived(kind, orders: orders, at: at)
        case .pickedUp(_, let orders, let at): return .pickedUp(orders, at: at)
        case .delivered(_, let o, _, let at): return .delivered(o, at: at)
        case .failed(_, let o, let reason, let at): return .failed(o, reason, at: at)
        case .returned(_, let at): return .returned(at: at)
        case .breakdown(_, let p, let at): return .brokeDown(p, at: at)
        case .shiftEnded(let c, let at):
            guard status != .offShift else { throw CourierRejection(courier: c.id, message: "not on shift") }
            return .shiftEnded(at: at)
        }
    }

    public mutating func apply(_ fact: CourierFact) {
        switch fact {
        case .shiftStarted(let c, let at, let p):
            courier = c; status = .idle; position = p; lastReport = at
        case .moved(let p, let m, let at):
            position = p; metres += m; lastReport = at
        case .arrived(_, _, let at):
            stopsDone += 1; lastReport = at
        case .pickedUp(let orders, let at):
            onBoard.formUnion(orders); if status != .brokenDown { status = .working }; lastReport = at
        case .delivered(let o, let at):
            delivered += 1; onBoard.remove(o); lastReport = at
        case .failed(_, _, let at):
            failed += 1; lastReport = at
        case .returned(let at):
            onBoard = []; if status != .brokenDown { status = .idle }; lastReport = at
        case .brokeDown(let p, let at):
            status = .brokenDown; position = p; lastReport = at
        case .shiftEnded(let at):
            status = .offShift; lastReport = at
        case .fromDevice(let device, let seq, let fact):
            devices[device] = seq
            if let fact { apply(fact) }
        }
    }

    public static func eventType(of fact: CourierFact) -> String {
        switch fact {
        case .shiftStarted: "courier.shift_started"
        case .moved: "courier.moved"
        case .arrived: "courier.arrived"
        case .pickedUp: "courier.picked_up"
        case .delivered: "courier.delivered"
        case .failed: "courier.failed"
        case .returned: "courier.returned"
        case .brokeDown: "courier.broke_down"
        case .shiftEnded: "courier.shift_ended"
        case .fromDevice(_, _, let fact): fact.map(eventType(of:)) ?? "courier.device_report"
        }
    }
}

/// The shared body of `VehicleActor.report` and `RiderActor.report`: journal the courier's fact
/// (a report the courier model refuses journals nothing here), then forward the report to the region's dispatcher (on the same owner: a local call) with the
/// same key, and return its answer (`.manifest` or `.refused`). A retry with the same key is a
/// duplicate for both journals and returns the dispatcher's original answer.
enum CourierReporting {
    static func report(_ report: HandheldReport, key: String, actor id: ActorIdentity, entity: DomainEntity<CourierModel>,
                       system: ClusterActorSystem) async throws -> DispatchResponse {
        guard report.courier.kind.rawValue == id.kind, report.courier.id == id.key else {
            return .refused(DispatchCommandError(item: "\(report.courier.kind.rawValue) \(report.courier.id)", problem: .unknownCourier,
                                                 message: "sent to \(id)"))
        }
        do {
            _ = try await entity.handle(CourierCommand(report), idempotencyKey: "c:" + key)
        } catch is CourierRejection {
            // Not a fact of this courier's own record (e.g. a report before the shift started): nothing
            // journaled here; the dispatcher, the authority on manifests, still decides on the report.
        } catch {
            throw NodeCallFailure(error)
        }
        let dispatcher = try RegionDispatcher.resolve(id: RegionDispatcher.identity(region: id.region), using: system)
        return try await ClusterCall.$timeout.withValue(.seconds(10)) {
            try await ClusterCall.$idempotencyKey.withValue(.text(key)) {
                try await dispatcher.handle(.report(report), idempotencyKey: key)
            }
        }
    }

    /// A handheld's sequenced report, applied exactly once and in the device's order whichever
    /// gateway it comes through, with one turn of the courier's lock (the write):
    /// 1. the device's last applied number is peeked (`JournaledEntity.peek`: not waiting for another
    ///    report of this courier being written): a number beyond the next is a gap (nothing done);
    /// 2. the dispatcher decides on the report under the key `<courier>/dev/<device>/<seq>` (its
    ///    journal applies a key once and answers a repeat with the original reply; a position that
    ///    changes nothing but the courier's position is soft state there, not journaled);
    /// 3. the courier's journal takes the number, with the report's fact only when the dispatcher
    ///    accepted it (a refused report, e.g. another courier's parcel, leaves the courier's record
    ///    as it was); the append shares a group commit with other couriers' appends. The entity
    ///    re-checks the number when it writes (step 1 is only a fast path), so two gateways racing
    ///    with one report write it once, and a number whose predecessor is still being written is
    ///    answered as a gap (resend); a crash between 2 and 3 is repaired by the handheld's resend
    ///    (the dispatcher answers it as a repeat).
    static func deviceReport(_ report: HandheldReport, device: String, seq: Int64, actor id: ActorIdentity,
                             entity: DomainEntity<CourierModel>, system: ClusterActorSystem) async throws -> DeviceReportOutcome {
        guard report.courier.kind.rawValue == id.kind, report.courier.id == id.key else {
            return .applied(.refused(DispatchCommandError(item: "\(report.courier.kind.rawValue) \(report.courier.id)", problem: .unknownCourier,
                                                          message: "sent to \(id)")))
        }
        let key = "dev/\(device)/\(seq)"
        let last: Int64
        do { last = try await entity.peek { $0.lastSeq(of: device) } } catch { throw NodeCallFailure(error) }
        if seq > last + 1 { return .gap(lastSeq: last) }
        let dispatcherKey = "\(id.kind)/\(id.key)/\(key)"
        let dispatcher = try RegionDispatcher.resolve(id: RegionDispatcher.identity(region: id.region), using: system)
        let response = try await ClusterCall.$timeout.withValue(.seconds(10)) {
            try await ClusterCall.$idempotencyKey.withValue(.text(dispatcherKey)) {
                try await dispatcher.handle(.report(report), idempotencyKey: dispatcherKey)
            }
        }
        if seq <= last { return .duplicate(lastSeq: last, response) }
        let accepted = if case .manifest = response { true } else { false }
        do {
            let ack = try await entity.handle(CourierCommand(report, device: device, seq: seq, accepted: accepted), idempotencyKey: "c:" + key)
            return ack.duplicate ? .duplicate(lastSeq: ack.state.lastSeq(of: device), response) : .applied(response)
        } catch DeviceSequenceError.gap(let l) {
            return .gap(lastSeq: l)
        } catch DeviceSequenceError.duplicate(let l) {
            return .duplicate(lastSeq: l, response)
        } catch {
            throw NodeCallFailure(error)
        }
    }

    static func kind(_ kind: String, make: @escaping @Sendable (ClusterActorSystem, DomainEntity<CourierModel>) -> any DistributedActor,
                     register: @escaping @Sendable (ClusterActorSystem) async throws -> Void) -> HostedActorKind {
        HostedActorKind(kind: kind, activate: { grant, system in
            let entity = DomainEntity<CourierModel>(identity: grant.identity, token: grant.token, journal: grant.journal,
                                                    mayWrite: grant.mayWrite, onFenced: grant.onFenced)
            return (make(system, entity), entity)
        }, registerTargets: register)
    }
}

/// A van's driver's handheld counterpart, `vehicle/<id>@<region>`. Wire names: "vehicle.report", "vehicle.state".
public distributed actor VehicleActor {
    public typealias ActorSystem = ClusterActorSystem
    let entity: DomainEntity<CourierModel>

    public init(actorSystem: ClusterActorSystem, entity: DomainEntity<CourierModel>) {
        self.actorSystem = actorSystem
        self.entity = entity
    }

    /// Journals the courier's fact, forwards the report to the region's dispatcher, returns its answer.
    public distributed func report(_ report: HandheldReport, idempotencyKey: String) async throws -> DispatchResponse {
        try await CourierReporting.report(report, key: idempotencyKey, actor: id, entity: entity, system: actorSystem)
    }

    /// A handheld's report with its device id and sequence number (the edge gateway's path).
    public distributed func deviceReport(_ report: HandheldReport, device: String, seq: Int64) async throws -> DeviceReportOutcome {
        try await CourierReporting.deviceReport(report, device: device, seq: seq, actor: id, entity: entity, system: actorSystem)
    }

    public distributed func state() async throws -> CommandAck<CourierModel> {
        do { return try await entity.read() } catch { throw NodeCallFailure(error) }
    }

    public static func identity(_ id: String, region: String) -> ActorIdentity { ActorIdentity(kind: "vehicle", key: id, region: region) }

    public static func registerTargets(on system: ClusterActorSystem) async throws {
        let proxy = try VehicleActor.resolve(id: ActorIdentity(kind: "manifest", key: "-", region: "-"), using: system)
        try await system.register("vehicle.report", on: proxy) {
            _ = try await $0.report(.returned(.vehicle("-"), at: Instant(epochSeconds: 0)), idempotencyKey: "")
        }
        try await system.register("vehicle.device_report", on: proxy) {
            _ = try await $0.deviceReport(.returned(.vehicle("-"), at: Instant(epochSeconds: 0)), device: "", seq: 0)
        }
        try await system.register("vehicle.state", on: proxy, roles: CallTargetRegistry.nodeAndOperator) { _ = try await $0.state() }
    }
}

/// A rider's handheld counterpart, `rider/<id>@<region>`. Wire names: "rider.report", "rider.state".
public distributed actor RiderActor {
    public typealias ActorSystem = ClusterActorSystem
    let entity: DomainEntity<CourierModel>

    public init(actorSystem: ClusterActorSystem, entity: DomainEntity<CourierModel>) {
        self.actorSystem = actorSystem
        self.entity = entity
    }

    public distributed func report(_ report: HandheldReport, idempotencyKey: String) async throws -> DispatchResponse {
        try await CourierReporting.report(report, key: idempotencyKey, actor: id, entity: entity, system: actorSystem)
    }

    /// A handheld's report with its device id and sequence number (the edge gateway's path).
    public distributed func deviceReport(_ report: HandheldReport, device: String, seq: Int64) async throws -> DeviceReportOutcome {
        try await CourierReporting.deviceReport(report, device: device, seq: seq, actor: id, entity: entity, system: actorSystem)
    }

    public distributed func state() async throws -> CommandAck<CourierModel> {
        do { return try await entity.read() } catch { throw NodeCallFailure(error) }
    }

    public static func identity(_ id: String, region: String) -> ActorIdentity { ActorIdentity(kind: "rider", key: id, region: region) }

    public static func registerTargets(on system: ClusterActorSystem) async throws {
        let proxy = try RiderActor.resolve(id: ActorIdentity(kind: "manifest", key: "-", region: "-"), using: system)
        try await system.register("rider.report", on: proxy) {
            _ = try await $0.report(.returned(.rider("-"), at: Instant(epochSeconds: 0)), idempotencyKey: "")
        }
        try await system.register("rider.device_report", on: proxy) {
            _ = try await $0.deviceReport(.returned(.rider("-"), at: Instant(epochSeconds: 0)), device: "", seq: 0)
        }
        try await system.register("rider.state", on: proxy, roles: CallTargetRegistry.nodeAndOperator) { _ = try await $0.state() }
    }
}

extension DomainNode {
    public static let vehicle = CourierReporting.kind("vehicle", make: { system, entity in
        system.withIdentity(entity.identity) { VehicleActor(actorSystem: system, entity: entity) }
    }, register: { try await VehicleActor.registerTargets(on: $0) })

    public static let rider = CourierReporting.kind("rider", make: { system, entity in
        system.withIdentity(entity.identity) { RiderActor(actorSystem: system, entity: entity) }
    }, register: { try await RiderActor.registerTargets(on: $0) })
}
