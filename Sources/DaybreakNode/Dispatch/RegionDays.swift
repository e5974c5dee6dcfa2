import Base
import Cluster
import DispatchPlanning
import Fleet
import Foundation
import Geo
import Storage

/// One region's service days on its owner node: a journaled `DispatchShell` per day
/// (`dispatch-day/<YYYY-MM-DD>@<region>`), the rule that sends each request to its day
/// (`ServiceCalendar`), opening days by themselves from the deployment's files (`OperatingConfig`),
/// and the schedule: each day says when it next needs to act (`RegionDispatchState.nextDue`), and
/// `step(now:)` does what is due — a `.tick` and the work it makes pending (the dawn wave,
/// re-optimisation) — exactly as a client's tick would, under keys that make a re-run after a
/// failover apply once.
///
/// Isolation: an actor; every request to a day goes through that day's shell (its own FIFO lock,
/// decide and append with no `await` between). `step` runs one at a time (its own lock), so the
/// scheduler and a driven-clock advance never tick a day twice for one instant.
/// One region's days as `daybreak status` shows them.
public struct RegionStatus: Sendable, Hashable, Codable {
    public var region: String
    /// The owner's clock when it answered.
    public var now: Instant
    /// The day whose daytime operations run now (nil: no calendar: no deployment files, no open day).
    public var operatingDay: LocalDay?
    /// The open days, oldest first.
    public var days: [DaySummary]
    /// Orders not yet final over every open day.
    public var openOrders: Int { days.reduce(0) { $0 + $1.openOrders.values.reduce(0, +) } }
    /// The earliest work due on any open day.
    public var nextDue: DueWork? { days.compactMap(\.nextDue).min { $0.at < $1.at } }
}

public actor RegionDays: JournaledActivation {
    public nonisolated let identity: ActorIdentity
    public nonisolated let token: FencingToken
    let grant: ActivationGrant
    let system: ClusterActorSystem
    let operating: OperatingConfig?
    let snapshotEvery: Int64
    let logger: Logger?
    var region: String { identity.region }

    /// The open days' shells (their journals say they were opened).
    private var shells: [LocalDay: RegionDispatchShell] = [:]
    /// The one shell instance per day this activation made (open or not yet known to be): two
    /// instances of one day's journal would both write (a sequence conflict), so every path takes
    /// the day's instance from here, made without a suspension point.
    private var instances: [LocalDay: RegionDispatchShell] = [:]
    private var configs: [LocalDay: RegionDispatchConfig] = [:]
    private var lastTick: [LocalDay: Instant] = [:]
    /// Days being opened, with the callers waiting for that opening to end (a second caller never
    /// opens a day again; it waits, then finds the day's shell or opens it itself if that failed).
    private var opening: [LocalDay: [CheckedContinuation<Void, Never>]] = [:]
    private var directoryLoaded = false
    /// The driven clock's time as this owner last learned it.
    private var drivenNow: Instant?
    private var inFlight = 0
    private var stepping = false
    private var stepWaiters: [CheckedContinuation<Void, Never>] = []
    /// Wall clock: the instant the scheduler sleeps until, and how to wake it earlier.
    private var wakeAt: Instant?
    private var wake: AsyncStream<Void>.Continuation?

    public static let dayKind = "dispatch-day"

    public init(grant: ActivationGrant, system: ClusterActorSystem, operating: OperatingConfig?, snapshotEvery: Int64 = 200, logger: Logger?) {
        self.identity = grant.identity; self.token = grant.token; self.grant = grant; self.system = system
        self.operating = operating; self.snapshotEvery = snapshotEvery; self.logger = logger
    }

    public var isIdle: Bool { inFlight == 0 && !stepping }

    public func snapshot() async throws {
        for day in shells.keys.sorted() { try await shells[day]?.snapshot() }
    }

    public static func dayIdentity(region: String, day: LocalDay) -> ActorIdentity {
        ActorIdentity(kind: dayKind, key: day.isoDate, region: region)
    }

    // MARK: - Days

    /// The calendar of this region: the deployment's, or (a day opened with an explicit config and
    /// no deployment files) the one of the latest open day's product terms.
    var calendar: ServiceCalendar? {
        if let operating, let c = operating.calendar(region: RegionID(region)) { return c }
        return configs.keys.max().flatMap { configs[$0] }.map { ServiceCalendar(config: $0) }
    }

    /// The days recorded open in `dispatch_days` (a new owner after a failover), at most a week old.
    private func loadDirectory(now: Instant?) async throws {
        guard !directoryLoaded else { return }
        let oldest = (now.map { calendar?.operatingDay(at: $0) ?? $0.localDay(.utc) } ?? LocalDay(index: 0)) + (-7)
        let pool = grant.journal.pool, region = self.region
        let rows = try await withDeadline(.seconds(5), "read open days") {
            try await pool.query(DeploymentSchema.openDays, [region, oldest.isoDate], purpose: "read open days")
        }
        for r in rows {
            guard let day = LocalDay(isoDate: try r.decode(0, as: String.self)) else { continue }
            if shells[day] == nil { _ = try await restore(day) }
        }
        directoryLoaded = true
    }

    /// A day's shell from its journal (nil config: the day was never opened).
    /// Never publishes a day before its sites are open: an `open` in progress is waited for (its
    /// config is journaled before its store actors are opened, so reading the journal alone would
    /// let a request place an order and pick at a store that then opens with its full stock), and
    /// a restored day opens its sites again (keyed: a no-op when they are; the repair when a node
    /// died between journaling the day and opening them).
    private func restore(_ day: LocalDay) async throws -> RegionDispatchShell? {
        while opening[day] != nil {
            await withCheckedContinuation { opening[day, default: []].append($0) }
        }
        if let s = shells[day] { return s }
        let shell = instance(day)
        guard let config = try await shell.read({ $0.config }) else { return nil }
        if let s = shells[day] { return s }   // restored meanwhile
        try await openSites(config)
        if let s = shells[day] { return s }
        shells[day] = shell
        configs[day] = config
        return shell
    }

    /// The day's one shell instance (made on first use).
    private func instance(_ day: LocalDay) -> RegionDispatchShell {
        if let s = instances[day] { return s }
        let id = Self.dayIdentity(region: region, day: day)
        let shell = RegionDispatchShell(identity: id, token: grant.token, journal: grant.journal, mayWrite: grant.mayWrite, onFenced: grant.onFenced,
                                        snapshotEvery: snapshotEvery, serviceDay: day.isoDate,
                                        onManifestChanges: Self.manifestPublisher(system: system, region: region, day: day, logger: logger),
                                        runEffect: RegionDispatcher.effectRunner(system: system, region: region, day: day, logger: logger))
        instances[day] = shell
        return shell
    }

    /// The open shell of `day`, opened from the deployment's files when it is not (nil: no files,
    /// or the files do not describe this region).
    private func shell(for day: LocalDay) async throws -> RegionDispatchShell? {
        if let s = shells[day] { return s }
        if let s = try await restore(day) { return s }
        guard let operating else { return nil }
        let config: RegionDispatchConfig
        do { config = try operating.dayConfig(region: RegionID(region), day: day) } catch {
            logger?.error("cannot open the service day from the deployment's files", ["region": region, "day": day.isoDate, "error": "\(error)"])
            return nil
        }
        return try await open(config).shell
    }

    /// Opens `config.serviceDay` with `config` (journaled once; the same config again: `.alreadyOpen`;
    /// another: `.refused`), records the day in `dispatch_days` (same transaction) and opens the
    /// day's sites as store actors with its stock (keyed: safe to repeat after a failover).
    func open(_ config: RegionDispatchConfig) async throws -> (outcome: DispatcherOpenOutcome, shell: RegionDispatchShell?) {
        let day = config.serviceDay
        while opening[day] != nil {
            await withCheckedContinuation { opening[day, default: []].append($0) }
            if let s = shells[day] { return (.alreadyOpen, s) }
        }
        opening[day] = []
        defer {
            for waiter in opening.removeValue(forKey: day) ?? [] { waiter.resume() }
        }
        let region = self.region
        do {
            let shell = instance(day)
            let outcome = try await shell.open(config, also: { tx, _ in
                _ = try await tx.execute(DeploymentSchema.insertDay, [region, day.isoDate], purpose: "record service day")
            })
            if case .refused(let why) = outcome { return (.refused(why), nil) }
            try await openSites(config)
            let stored = try await shell.read { $0.config }
            shells[day] = shell
            configs[day] = stored ?? config
            if stored == config { logger?.info("service day open", ["region": region, "day": day.isoDate]) }
            return (stored == config && outcome == .opened ? .opened : .alreadyOpen, shell)
        }
    }

    private func openSites(_ config: RegionDispatchConfig) async throws {
        for site in config.sites {
            let command = StoreCommand.open(site: site.id, onHand: config.stock[site.id] ?? [:], holdSeconds: 48 * 3600,
                                            codeDigits: config.bopis.codeDigits, maxAttempts: config.bopis.maxAttempts)
            let store = try StoreActor.resolve(id: StoreActor.identity(site.id, region: region, day: config.serviceDay), using: system)
            let key = "\(region)/\(config.serviceDay.isoDate)/open/\(site.id)"
            let reply = try await ClusterCall.$timeout.withValue(.seconds(10)) {
                try await ClusterCall.$idempotencyKey.withValue(.text(key)) { try await store.handle(command, idempotencyKey: key) }
            }
            switch reply {
            case .accepted: break
            case .rejected(let r) where r.problem == .alreadyOpen: break
            case .rejected(let r): throw DispatcherError(region: region, message: "opening \(site.id): \(r)")
            }
        }
    }

    // MARK: - Routing requests to days

    /// The open day that knows `order` (loaded days first, then the order directory).
    private func day(of order: OrderID) async throws -> LocalDay? {
        for d in shells.keys.sorted(by: >) {
            if try await shells[d]?.read({ $0.knows(order: order) }) == true { return d }
        }
        let pool = grant.journal.pool
        let rows = try await withDeadline(.seconds(2), "find order") {
            try await pool.query(DeploymentSchema.findOrder, [order.rawValue], purpose: "find order's day")
        }
        guard let r = rows.first, try r.decode(0, as: String.self) == region else { return nil }
        return LocalDay(isoDate: try r.decode(1, as: String.self))
    }

    /// The open day whose shift of `courier` is nearest `at` (an active shift first).
    private func day(ofCourier courier: CourierRef, at: Instant) async throws -> LocalDay? {
        var best: (claim: Int64, day: LocalDay)?
        for d in shells.keys.sorted() {
            guard let shell = shells[d] else { continue }
            // Without waiting for the day's lock (held while a batch commits): a claim changes with
            // shifts and loads, not with what a batch in flight decides.
            let peeked = await shell.peek { $0.claim(courier: courier, at: at) }
            let claim: Int64?
            if let peeked { claim = peeked } else { claim = try await shell.read({ $0.claim(courier: courier, at: at) }) ?? nil }
            guard let claim else { continue }
            if best.map({ claim < $0.claim }) ?? true { best = (claim, d) }
        }
        return best?.day
    }

    /// The day a new order belongs to: a retry's (the day already holding the order id), else the calendar's.
    private func day(forNew draft: OrderDraft, slot: Instant?, at: Instant) async throws -> LocalDay? {
        if let d = try await day(of: draft.id) { return d }
        guard let calendar else { return shells.keys.max() }
        let d = calendar.serviceDay(product: draft.product, at: at, slot: slot)
        let today = calendar.operatingDay(at: at)
        // A slot further ahead than any product is sold goes to today, whose dispatcher refuses it.
        return d >= today + (-1) && d <= today + 15 ? d : today
    }

    static func notOpen(_ region: String) -> DispatchResponse {
        .refused(DispatchCommandError(item: region, problem: .wrongRegion, message: "the region's dispatcher is not open"))
    }

    static func unknownOrder(_ o: OrderID) -> DispatchResponse {
        .refused(DispatchCommandError(item: "order \(o)", problem: .unknownOrder, message: "no service day of this region has it"))
    }

    /// One request, sent to its day. A `.tick` goes to every open day (and runs the work it makes due).
    public func handle(_ request: DispatchRequest, idempotencyKey key: String) async throws -> DispatchResponse {
        inFlight += 1
        defer { inFlight -= 1 }
        try await loadDirectory(now: request.at)
        let target: LocalDay?
        switch request {
        case .placeOrder(let draft, let slot, let at): target = try await day(forNew: draft, slot: slot, at: at)
        case .cancelOrder(let o, _, _), .collect(let o, _, _): guard let d = try await day(of: o) else { return Self.unknownOrder(o) }; target = d
        case .site(.pickingStarted(_, let o, _)), .site(.packed(_, let o, _)), .unlockCollection(let o, _, _):
            guard let d = try await day(of: o) else { return Self.unknownOrder(o) }
            target = d
        case .stock(let c): target = stockDay(at: c.at)
        case .report(let r): target = try await day(ofCourier: r.courier, at: r.at)
        case .command(let c, let at):
            switch c {
            case .assign(let o, _), .reassign(let o, _), .unassign(let o), .hold(let o), .release(let o), .cancel(let o, _):
                guard let d = try await day(of: o) else { return Self.unknownOrder(o) }
                target = d
            case .lockRoute(let c), .unlockRoute(let c): target = try await day(ofCourier: c, at: at)
            case .replanNow: return try await everyDay(request, key: key)
            }
        case .tick(let at):
            let response = try await everyDay(request, key: key)
            try await runWork(at: at)
            return response
        case .workDone: return .refused(DispatchCommandError(item: region, problem: .invalidState, message: "work results come from the region's own jobs"))
        }
        guard let target else {
            if case .report(let r) = request {
                return .refused(DispatchCommandError(item: "\(r.courier.kind.rawValue) \(r.courier.id)", problem: .unknownCourier,
                                                     message: "on no open service day of region \(region)"))
            }
            return Self.notOpen(region)
        }
        guard let shell = try await shell(for: target) else { return Self.notOpen(region) }
        var response = try await shell.handle(request, idempotencyKey: key)
        await rescheduleIfEarlier(target)
        if case .placed(.rejected(var r)) = response, r.problem == .slotFull, case .placeOrder(let draft, let slot?, let at) = request {
            r.offeredSlots = try await freeSlots(after: slot, orderedAt: at, asking: target, order: draft.id)
            response = .placed(.rejected(r))
        }
        return response
    }

    /// The slots checkout offers at `at`, across the region's service days (each day counts its
    /// own slots' bookings; the latest open day answers with those of the others). Empty when
    /// no day is open.
    public func slotOffers(at: Instant) async throws -> [SlotOffer] {
        inFlight += 1
        defer { inFlight -= 1 }
        try await loadDirectory(now: at)
        guard let answering = shells.keys.max() else { return [] }
        var others: [Instant: Int] = [:]
        for (d, shell) in shells where d != answering {
            guard let counts = try await shell.read({ $0.slotBookings() }) else { continue }
            others.merge(counts, uniquingKeysWith: +)
        }
        let booked = others
        return try await shells[answering]?.read { $0.slotOffers(orderedAt: at, others: booked) } ?? []
    }

    /// The next free slots after a full one, across the region's service days: a day holds only its
    /// own slots' bookings, so the day that refused counts in those of every other open day (a day
    /// not open yet has none).
    private func freeSlots(after full: Instant, orderedAt: Instant, asking target: LocalDay, order: OrderID) async throws -> [Instant] {
        var others: [Instant: Int] = [:]
        for (d, shell) in shells where d != target {
            guard let counts = try await shell.read({ $0.slotBookings() }) else { continue }
            others.merge(counts, uniquingKeysWith: +)
        }
        let booked = others
        return try await shells[target]?.read { $0.nextFreeSlots(after: full, orderedAt: orderedAt, others: booked) } ?? []
    }

    /// The day a stock change goes to: the operating day at `at` when it is open, else the latest
    /// open day before it (stock is per day: Docs/DISPATCH.md), else the earliest open one.
    private func stockDay(at: Instant) -> LocalDay? {
        guard let today = calendar?.operatingDay(at: at) else { return shells.keys.max() }
        if shells[today] != nil || operating != nil { return today }
        return shells.keys.filter { $0 <= today }.max() ?? shells.keys.min()
    }

    /// Publishes manifest changes on `manifest.<region>` (after the commit, best effort: a full
    /// publisher outbox drops them, logged; handhelds also poll).
    static func manifestPublisher(system: ClusterActorSystem, region: String, day: LocalDay, logger: Logger?) -> @Sendable ([ManifestDigest]) -> Void {
        { digests in
            let changes = digests.map { ManifestChange(courier: $0.courier, version: $0.version, day: day) }
            do { try system.publish(topic: ManifestChange.topic(region: region), events: changes) } catch {
                logger?.warning("manifest changes not published", ["region": region, "couriers": changes.count, "error": "\(error)"])
            }
        }
    }

    /// A request every open day answers (a tick, a replan): the first refusal, or `.done`.
    private func everyDay(_ request: DispatchRequest, key: String) async throws -> DispatchResponse {
        guard !shells.isEmpty else { return Self.notOpen(region) }
        var refusal: DispatchResponse?
        for d in shells.keys.sorted() {
            let r = try await shells[d]!.handle(request, idempotencyKey: "\(key)/\(d.isoDate)")
            if case .refused = r, refusal == nil { refusal = r }
        }
        return refusal ?? .done
    }

    private func runWork(at: Instant) async throws {
        for d in shells.keys.sorted() {
            guard let shell = shells[d], let budgets = try await shell.read({ $0.config.budgets }) else { continue }
            try await shell.runWork(at: at, timeLimit: { job in
                .milliseconds(Int64(1000 * (job.kind == .dawnWave ? budgets.dawnWaveTimeLimitSeconds : budgets.reoptimiseTimeLimitSeconds)))
            })
        }
    }

    /// Every order of the region's latest service days (open or settled: the five latest in
    /// `dispatch_days`, plus any open one), for reconciliation. A settled day is read from its journal.
    public func records() async throws -> [OrderRecord] {
        inFlight += 1
        defer { inFlight -= 1 }
        try await loadDirectory(now: nil)
        let pool = grant.journal.pool, region = self.region
        let rows = try await withDeadline(.seconds(5), "read recent days") {
            try await pool.query(DeploymentSchema.recentDays, [region, Int64(5)], purpose: "read recent days")
        }
        var days = Set(shells.keys)
        for r in rows { if let d = LocalDay(isoDate: try r.decode(0, as: String.self)) { days.insert(d) } }
        var out: [OrderRecord] = []
        for d in days.sorted() {
            out += try await instance(d).read { $0.records() } ?? []
        }
        return out
    }

    public func manifest(of courier: CourierRef, at: Instant) async throws -> Manifest? {
        inFlight += 1
        defer { inFlight -= 1 }
        try await loadDirectory(now: at)
        guard let d = try await day(ofCourier: courier, at: at) else { return nil }
        return try await shells[d]?.read { $0.manifest(of: courier, at: at) } ?? nil
    }

    /// The customer's view of `order` (nil: no day of this region holds it).
    public func tracking(order: OrderID, at: Instant) async throws -> OrderTracking? {
        inFlight += 1
        defer { inFlight -= 1 }
        try await loadDirectory(now: at)
        guard let d = try await day(of: order), let shell = try await restore(d) else { return nil }
        return try await shell.read { $0.tracking(order: order, at: at) } ?? nil
    }

    /// `site`'s pick queue over every open day, by due time.
    public func pickQueue(site: SiteID, at: Instant) async throws -> [PickQueueEntry] {
        inFlight += 1
        defer { inFlight -= 1 }
        try await loadDirectory(now: at)
        var out: [PickQueueEntry] = []
        for d in shells.keys.sorted() { out += try await shells[d]?.read { $0.pickQueue(site: site, at: at) } ?? [] }
        // Stable: within a day the state's order (due, then arrival) is kept.
        return out.enumerated().sorted { a, b in a.element.due != b.element.due ? a.element.due < b.element.due : a.offset < b.offset }.map(\.element)
    }

    /// `site`'s no-shows over every open day, by when.
    public func noShows(site: SiteID) async throws -> [NoShowEntry] {
        inFlight += 1
        defer { inFlight -= 1 }
        try await loadDirectory(now: nil)
        var out: [NoShowEntry] = []
        for d in shells.keys.sorted() { out += try await shells[d]?.read { $0.noShows(site: site) } ?? [] }
        return out.sorted { a, b in a.at != b.at ? a.at < b.at : a.order < b.order }
    }

    // MARK: - The schedule

    /// Opens the days the calendar wants open at `now`, performs on every open day the work due at
    /// or before `now` (a `.tick(at: now)`, then its pending jobs), puts away days that are settled
    /// and past, and returns the earliest instant anything is due next (nil: nothing is).
    public func step(now: Instant) async throws -> Instant? {
        await lockStep()
        defer { unlockStep() }
        inFlight += 1
        defer { inFlight -= 1 }
        try await loadDirectory(now: now)
        if let calendar, operating != nil {
            for d in calendar.daysToOpen(at: now) { _ = try await shell(for: d) }
        }
        // The next rollover opens the next day (a wall clock wakes for it even when nothing else is due).
        var next: Instant? = operating != nil ? calendar?.nextRollover(after: now) : nil
        for day in shells.keys.sorted() {
            guard let shell = shells[day] else { continue }
            let last = lastTick[day]
            guard var due = try await shell.read({ $0.nextDue(after: last) }) ?? nil else {
                try await retireIfSettled(day, now: now)
                continue
            }
            if due.at <= now {
                logger?.debug("due", ["region": region, "day": day.isoDate, "work": due.kind.rawValue])
                _ = try await shell.handle(.tick(at: now), idempotencyKey: "\(region)/\(day.isoDate)/tick/\(now.epochSeconds)")
                let budgets = try await shell.read { $0.config.budgets } ?? RegionDispatchConfig.Budgets()
                try await shell.runWork(at: now, timeLimit: { job in
                    .milliseconds(Int64(1000 * (job.kind == .dawnWave ? budgets.dawnWaveTimeLimitSeconds : budgets.reoptimiseTimeLimitSeconds)))
                })
                lastTick[day] = now
                guard let again = try await shell.read({ $0.nextDue(after: now) }) ?? nil else {
                    try await retireIfSettled(day, now: now)
                    continue
                }
                due = again
            }
            try await retireIfSettled(day, now: now)
            if shells[day] != nil { next = min(next ?? due.at, due.at) }
        }
        return next
    }

    /// A settled day before the operating day is put away: `dispatch_days.closed_at` set, its
    /// shell snapshotted and dropped (it is restored from the journal if an order of it is asked for).
    private func retireIfSettled(_ day: LocalDay, now: Instant) async throws {
        guard let shell = shells[day], let calendar, day < calendar.operatingDay(at: now),
              try await shell.read({ $0.isSettled(at: now) }) == true else { return }
        try? await shell.snapshot()
        let pool = grant.journal.pool, region = self.region
        _ = try await withDeadline(.seconds(2), "close day") {
            try await pool.execute(DeploymentSchema.closeDay, [region, day.isoDate], purpose: "close service day")
        }
        shells[day] = nil; instances[day] = nil; configs[day] = nil; lastTick[day] = nil
        logger?.info("service day settled", ["region": region, "day": day.isoDate])
    }

    /// Driven clock: the deployment's time moved to `to`; does what is due. Returns the days open after it.
    public func advance(to: Instant) async throws -> [LocalDay] {
        drivenNow = max(drivenNow ?? to, to)
        _ = try await step(now: drivenNow!)
        return shells.keys.sorted()
    }

    /// What `daybreak status` shows of this region.
    public func status(now: Instant?) async throws -> RegionStatus {
        let now = now ?? drivenNow ?? (operating?.wallNow ?? DeploymentClock.wallNow)()
        try await loadDirectory(now: now)
        var out: [DaySummary] = []
        for d in shells.keys.sorted() {
            guard let shell = shells[d], var s = try await shell.read({ [last = lastTick[d]] in $0.summary(at: now, lastTick: last) }) else { continue }
            s.running = await shell.runningWork?.rawValue
            out.append(s)
        }
        return RegionStatus(region: region, now: now, operatingDay: calendar?.operatingDay(at: now), days: out)
    }

    /// The owner's schedule until the region is no longer served here (or the task is cancelled):
    /// driven clock — catch up once with the stored time (a new owner does what was due), then the
    /// advances drive it; wall clock — sleep until the earliest due instant (woken sooner when a
    /// request makes something due earlier; at most `longestSleep`, against clock jumps), do it, repeat.
    public func runSchedule(mode: ClockMode, wallNow: @escaping @Sendable () -> Instant = DeploymentClock.wallNow,
                            longestSleep: Int64 = 900) async {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        wake = continuation
        defer { wake = nil; continuation.finish() }
        var failures = 0
        while !Task.isCancelled && grant.mayWrite() {
            let now: Instant
            switch mode {
            case .wall: now = wallNow()
            case .driven:
                do {
                    guard let t = try await DeploymentClock.read(grant.journal.pool)?.driven else { return }
                    drivenNow = max(drivenNow ?? t, t)
                    now = drivenNow!
                } catch {
                    logger?.warning("cannot read the clock", ["region": region, "error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
            }
            var next: Instant?
            do {
                next = try await step(now: now)
                failures = 0
            } catch {
                failures += 1
                logger?.warning("scheduled work failed; retrying", ["region": region, "error": "\(error)", "attempt": failures])
                next = now + Int64(min(30, 1 << min(failures, 5)))
            }
            if mode == .driven && failures == 0 { return }
            let until = min(next ?? now + longestSleep, now + longestSleep)
            wakeAt = until
            let seconds = max(0, until - wallNow())
            await Self.sleep(seconds: seconds, orUntil: stream)
            wakeAt = nil
        }
    }

    /// Sleeps `seconds` or until `stream` yields, whichever is first.
    static func sleep(seconds: Int64, orUntil stream: AsyncStream<Void>) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: .seconds(seconds)) }
            group.addTask { for await _ in stream { return } }
            _ = await group.next()
            group.cancelAll()
        }
    }

    /// Wall clock: wake the schedule when `day` now has work due before the scheduled wake-up.
    private func rescheduleIfEarlier(_ day: LocalDay) async {
        guard let wakeAt, let wake, let shell = shells[day] else { return }
        let last = lastTick[day]
        if let due = try? await shell.read({ $0.nextDue(after: last) }) ?? nil, due.at < wakeAt { wake.yield() }
    }

    private func lockStep() async {
        if stepping { await withCheckedContinuation { stepWaiters.append($0) } } else { stepping = true }
    }

    private func unlockStep() {
        if stepWaiters.isEmpty { stepping = false } else { stepWaiters.removeFirst().resume() }
    }
}
