import Base
import Cluster
import DispatchPlanning
import Distributed
import Fleet
import Geo

extension RegionDispatchState: DispatchMachine {
    public var machineConfig: RegionDispatchConfig { config }
    public func decide(request: DispatchRequest) -> (event: DispatchEvent?, response: DispatchResponse) {
        let d = decide(request)
        return (d.event, d.response)
    }
    public mutating func apply(event: DispatchEvent) { apply(event) }
    public static func effects(of event: DispatchEvent) -> [DispatchEffect] { event.effects }
    public static func eventType(of event: DispatchEvent) -> String { "dispatcher." + event.request.kindName }
}

/// The journaled shell of a region's dispatcher on the cluster.
public typealias RegionDispatchShell = DispatchShell<RegionDispatchState>

/// A region's dispatcher, `dispatcher/<region>@<region>`, hosted on the region's owner: the pure
/// `RegionDispatchState` inside `DispatchShell` (journal first, effects on the region's order and
/// store actors, work on a dedicated thread). Wire names (stable): "dispatcher.open",
/// "dispatcher.handle", "dispatcher.records", "dispatcher.manifest".
public distributed actor RegionDispatcher {
    public typealias ActorSystem = ClusterActorSystem

    let shell: RegionDispatchShell

    public init(actorSystem: ClusterActorSystem, shell: RegionDispatchShell) {
        self.actorSystem = actorSystem
        self.shell = shell
    }

    /// Journals `config` as the region's first event (the same config again: `.alreadyOpen`;
    /// another: `.refused`), then opens the region's sites as store actors with their stock
    /// (idempotent, so it is safe to call again after a failover).
    public distributed func open(_ config: RegionDispatchConfig) async throws -> DispatcherOpenOutcome {
        guard config.region.rawValue == id.region else { return .refused("config of region \(config.region) sent to \(id.region)") }
        let outcome: DispatcherOpenOutcome
        do { outcome = try await shell.open(config) } catch { throw dispatchFailure(error) }
        if case .refused = outcome { return outcome }
        for site in config.sites {
            let command = StoreCommand.open(site: site.id, onHand: config.stock[site.id] ?? [:], holdSeconds: 48 * 3600,
                                            codeDigits: config.bopis.codeDigits, maxAttempts: config.bopis.maxAttempts)
            let store = try StoreActor.resolve(id: StoreActor.identity(site.id, region: id.region), using: actorSystem)
            let key = "\(id.region)/open/\(site.id)"
            let reply = try await ClusterCall.$timeout.withValue(.seconds(10)) {
                try await ClusterCall.$idempotencyKey.withValue(.text(key)) { try await store.handle(command, idempotencyKey: key) }
            }
            switch reply {
            case .accepted: break
            case .rejected(let r) where r.problem == .alreadyOpen: break
            case .rejected(let r): throw NodeCallFailure(DispatcherError(region: id.region, message: "opening \(site.id): \(r)"))
            }
        }
        return outcome
    }

    /// One request. After an accepted or repeated `.tick`, the work it made due (the dawn wave,
    /// re-optimisation) runs before the reply, so the caller's deadline must allow for it.
    public distributed func handle(_ request: DispatchRequest, idempotencyKey: String) async throws -> DispatchResponse {
        do {
            let response = try await shell.handle(request, idempotencyKey: idempotencyKey)
            if case .tick(let at) = request {
                let budgets = try await shell.read { $0.config.budgets } ?? RegionDispatchConfig.Budgets()
                try await shell.runWork(at: at, timeLimit: { job in
                    .milliseconds(Int64(1000 * (job.kind == .dawnWave ? budgets.dawnWaveTimeLimitSeconds : budgets.reoptimiseTimeLimitSeconds)))
                })
            }
            return response
        } catch {
            throw dispatchFailure(error)
        }
    }

    /// Every order the region knows (empty before `open`).
    public distributed func records() async throws -> [OrderRecord] {
        do { return try await shell.read { $0.records() } ?? [] } catch { throw NodeCallFailure(error) }
    }

    public distributed func manifest(of courier: CourierRef, at: Instant) async throws -> Manifest? {
        do { return try await shell.read { $0.manifest(of: courier, at: at) } ?? nil } catch { throw NodeCallFailure(error) }
    }

    public static let kind = "dispatcher"

    public static func identity(region: String) -> ActorIdentity { ActorIdentity(kind: kind, key: region, region: region) }

    public static func registerTargets(on system: ClusterActorSystem) async throws {
        let proxy = try RegionDispatcher.resolve(id: ActorIdentity(kind: "manifest", key: "-", region: "-"), using: system)
        try await system.register("dispatcher.open", on: proxy) { _ = try await $0.open(RegionDispatcher.placeholderConfig) }
        try await system.register("dispatcher.handle", on: proxy) {
            _ = try await $0.handle(.tick(at: Instant(epochSeconds: 0)), idempotencyKey: "")
        }
        try await system.register("dispatcher.records", on: proxy) { _ = try await $0.records() }
        try await system.register("dispatcher.manifest", on: proxy) {
            _ = try await $0.manifest(of: .rider("-"), at: Instant(epochSeconds: 0))
        }
    }

    /// Only used to name the target while registering (the call is recorded, never made).
    static var placeholderConfig: RegionDispatchConfig {
        RegionDispatchConfig(region: "-", policy: DispatchPolicy.allCases[0], offset: .utc,
                             serviceDay: Instant(epochSeconds: 0).localDay(.utc),
                             shape: Region(id: "-", name: "-", polygons: []), sites: [], couriers: [], products: ProductConfig(region: "-"),
                             catalogue: [], stock: [:],
                             travel: .init(circuity: 1, defaultCircuity: 1, speeds: [:]))
    }

    /// Runs one effect of a dispatcher event on the region's order or store actor (a local call on
    /// the region's owner), with its key. A typed rejection is an answer (logged by the caller's
    /// tests, not retried); only a failure to get an answer throws.
    static func effectRunner(system: ClusterActorSystem, region: String, logger: Logger?) -> @Sendable (DispatchEffectCall, String) async throws -> Void {
        @Sendable func run(_ call: DispatchEffectCall, _ key: String) async throws {
            switch call {
            case .order(let o, let command, let at):
                let actor = try OrderActor.resolve(id: OrderActor.identity(o, region: region), using: system)
                if case .rejected(let r) = try await actor.handle(OrderCommandEnvelope(command, at: at, notify: false), idempotencyKey: key) {
                    logger?.warning("dispatcher effect refused by the order", ["key": key, "rejection": "\(r)"])
                }
            case .store(let s, let command):
                let actor = try StoreActor.resolve(id: StoreActor.identity(s, region: region), using: system)
                if case .rejected(let r) = try await actor.handle(command, idempotencyKey: key) {
                    logger?.warning("dispatcher effect refused by the store", ["key": key, "rejection": "\(r)"])
                }
            }
        }
        return { call, key in
            try await ClusterCall.$timeout.withValue(.seconds(10)) {
                try await ClusterCall.$idempotencyKey.withValue(.text(key)) { try await run(call, key) }
            }
        }
    }
}

extension DomainNode {
    /// `dispatcher/<region>@<region>`.
    public static func dispatcherKind(snapshotEvery: Int64 = 200,
                                      logger: Logger? = Logger(label: "dispatcher", level: .warning)) -> HostedActorKind {
        HostedActorKind(kind: RegionDispatcher.kind, activate: { grant, system in
            let shell = RegionDispatchShell(identity: grant.identity, token: grant.token, journal: grant.journal, mayWrite: grant.mayWrite,
                                            onFenced: grant.onFenced, snapshotEvery: snapshotEvery,
                                            runEffect: RegionDispatcher.effectRunner(system: system, region: grant.identity.region, logger: logger))
            return (system.withIdentity(grant.identity) { RegionDispatcher(actorSystem: system, shell: shell) }, shell)
        }, registerTargets: { try await RegionDispatcher.registerTargets(on: $0) })
    }
}
