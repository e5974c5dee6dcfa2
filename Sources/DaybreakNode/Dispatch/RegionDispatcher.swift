import Base
import Cluster
import DispatchPlanning
import Distributed
import Fleet
import Geo

extension RegionDispatchState: DispatchMachine {
    public var machineConfig: RegionDispatchConfig { config }
    public func decide(request: DispatchRequest, entropy: UInt64) -> (event: DispatchEvent?, response: DispatchResponse) {
        let d = decide(request, entropy: entropy)
        return (d.event, d.response)
    }
    public mutating func apply(event: DispatchEvent) { apply(event) }
    public static func effects(of event: DispatchEvent) -> [DispatchEffect] { event.effects }
    public static func eventType(of event: DispatchEvent) -> String { "dispatcher." + event.request.kindName }
    public func isSoft(event: DispatchEvent) -> Bool { isSoft(event) }
    // manifestProbe(for:) and manifestDigests(_:): RegionDispatchState's own (ManifestFeed.swift).
}

/// The journaled shell of a region's dispatcher on the cluster.
public typealias RegionDispatchShell = DispatchShell<RegionDispatchState>

/// A region's dispatcher, `dispatcher/<region>@<region>`, hosted on the region's owner: the
/// region's service days (`RegionDays`: one journaled `DispatchShell` over `RegionDispatchState` per
/// day, each request sent to its day, the schedule of due work). Wire names (stable):
/// "dispatcher.open", "dispatcher.handle", "dispatcher.records", "dispatcher.manifest",
/// "dispatcher.advance", "dispatcher.status", and for the edge gateway "dispatcher.tracking",
/// "dispatcher.pickQueue", "dispatcher.noShows", "dispatcher.slotOffers".
public distributed actor RegionDispatcher {
    public typealias ActorSystem = ClusterActorSystem

    let days: RegionDays

    public init(actorSystem: ClusterActorSystem, days: RegionDays) {
        self.actorSystem = actorSystem
        self.days = days
    }

    /// Opens the service day `config.serviceDay` with an explicit config (an operator's override,
    /// tests); journaled once (the same config again: `.alreadyOpen`; another: `.refused`), then the
    /// day's sites are opened as store actors with its stock (idempotent, safe after a failover).
    /// A node with the deployment's files opens its days by itself; this is not needed then.
    public distributed func open(_ config: RegionDispatchConfig) async throws -> DispatcherOpenOutcome {
        guard config.region.rawValue == id.region else { return .refused("config of region \(config.region) sent to \(id.region)") }
        do { return try await days.open(config).outcome } catch { throw dispatchFailure(error) }
    }

    /// One request, sent to its service day. After a `.tick` the work it made due (the dawn wave,
    /// re-optimisation) runs before the reply, so the caller's deadline must allow for it.
    public distributed func handle(_ request: DispatchRequest, idempotencyKey: String) async throws -> DispatchResponse {
        do { return try await days.handle(request, idempotencyKey: idempotencyKey) } catch { throw dispatchFailure(error) }
    }

    /// Every order of the region's open service days (empty before any is open).
    public distributed func records() async throws -> [OrderRecord] {
        do { return try await days.records() } catch { throw NodeCallFailure(error) }
    }

    public distributed func manifest(of courier: CourierRef, at: Instant) async throws -> Manifest? {
        do { return try await days.manifest(of: courier, at: at) } catch { throw NodeCallFailure(error) }
    }

    /// The driven clock reached `to`: does what is due on every open day (opening the days the
    /// calendar wants open) and returns when it is done, with the days open after it.
    public distributed func advance(to: Instant) async throws -> [LocalDay] {
        do { return try await days.advance(to: to) } catch { throw dispatchFailure(error) }
    }

    /// Each open day in numbers (orders by state, the next due work), at `now` (nil: the owner's clock).
    public distributed func status(now: Instant?) async throws -> RegionStatus {
        do { return try await days.status(now: now) } catch { throw NodeCallFailure(error) }
    }

    /// The customer's view of one order (`RegionDispatchState.tracking`), from the day holding it
    /// (nil: no day of this region holds it). Read-only.
    public distributed func tracking(order: OrderID, at: Instant) async throws -> OrderTracking? {
        do { return try await days.tracking(order: order, at: at) } catch { throw NodeCallFailure(error) }
    }

    /// A site's pick queue over the open days (`RegionDispatchState.pickQueue`), by due time. Read-only.
    public distributed func pickQueue(site: SiteID, at: Instant) async throws -> [PickQueueEntry] {
        do { return try await days.pickQueue(site: site, at: at) } catch { throw NodeCallFailure(error) }
    }

    /// The scheduled slots checkout offers at `at` (promisable, with room), over the open days. Read-only.
    public distributed func slotOffers(at: Instant) async throws -> [SlotOffer] {
        do { return try await days.slotOffers(at: at) } catch { throw NodeCallFailure(error) }
    }

    /// A site's BOPIS no-shows over the open days, by when. Read-only.
    public distributed func noShows(site: SiteID) async throws -> [NoShowEntry] {
        do { return try await days.noShows(site: site) } catch { throw NodeCallFailure(error) }
    }

    /// The topic manifest changes of `region` are published on (payload `ManifestChange`).
    public static func manifestTopic(region: String) -> String { ManifestChange.topic(region: region) }

    public static let kind = "dispatcher"

    public static func identity(region: String) -> ActorIdentity { ActorIdentity(kind: kind, key: region, region: region) }

    public static func registerTargets(on system: ClusterActorSystem) async throws {
        let proxy = try RegionDispatcher.resolve(id: ActorIdentity(kind: "manifest", key: "-", region: "-"), using: system)
        try await system.register("dispatcher.open", on: proxy, roles: CallTargetRegistry.nodeAndOperator) { _ = try await $0.open(RegionDispatcher.placeholderConfig) }
        try await system.register("dispatcher.handle", on: proxy) {
            _ = try await $0.handle(.tick(at: Instant(epochSeconds: 0)), idempotencyKey: "")
        }
        try await system.register("dispatcher.records", on: proxy) { _ = try await $0.records() }
        try await system.register("dispatcher.manifest", on: proxy) {
            _ = try await $0.manifest(of: .rider("-"), at: Instant(epochSeconds: 0))
        }
        try await system.register("dispatcher.advance", on: proxy) { _ = try await $0.advance(to: Instant(epochSeconds: 0)) }
        try await system.register("dispatcher.status", on: proxy) { _ = try await $0.status(now: nil) }
        try await system.register("dispatcher.tracking", on: proxy) { _ = try await $0.tracking(order: "-", at: Instant(epochSeconds: 0)) }
        try await system.register("dispatcher.pickQueue", on: proxy) { _ = try await $0.pickQueue(site: "-", at: Instant(epochSeconds: 0)) }
        try await system.register("dispatcher.noShows", on: proxy) { _ = try await $0.noShows(site: "-") }
        try await system.register("dispatcher.slotOffers", on: proxy) { _ = try await $0.slotOffers(at: Instant(epochSeconds: 0)) }
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
    static func effectRunner(system: ClusterActorSystem, region: String, day: LocalDay, logger: Logger?) -> @Sendable (DispatchEffectCall, String) async throws -> Void {
        @Sendable func run(_ call: DispatchEffectCall, _ key: String) async throws {
            switch call {
            case .order(let o, let command, let at):
                let actor = try OrderActor.resolve(id: OrderActor.identity(o, region: region), using: system)
                if case .rejected(let r) = try await actor.handle(OrderCommandEnvelope(command, at: at, notify: false), idempotencyKey: key) {
                    logger?.warning("dispatcher effect refused by the order", ["key": key, "rejection": "\(r)"])
                }
            case .store(let s, let command):
                let actor = try StoreActor.resolve(id: StoreActor.identity(s, region: region, day: day), using: system)
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
    /// `dispatcher/<region>@<region>`: the region's service days. With `operating` (what `daybreak
    /// node` loads from the deployment's files) days open by themselves; without it only explicitly
    /// opened days exist.
    public static func dispatcherKind(operating: OperatingConfig? = nil, snapshotEvery: Int64 = 200,
                                      logger: Logger? = Logger(label: "dispatcher", level: .warning)) -> HostedActorKind {
        HostedActorKind(kind: RegionDispatcher.kind, activate: { grant, system in
            let days = RegionDays(grant: grant, system: system, operating: operating, snapshotEvery: snapshotEvery, logger: logger)
            return (system.withIdentity(grant.identity) { RegionDispatcher(actorSystem: system, days: days) }, days)
        }, registerTargets: { try await RegionDispatcher.registerTargets(on: $0) })
    }
}
