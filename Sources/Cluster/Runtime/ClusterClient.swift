import Base
import Distributed
import Messaging
import Storage
import Synchronization

/// `RegionOwnership` for a process outside the cluster (a client, `daybreak ctl call`, tests, the
/// benchmark): owners come from `ClusterSchema.readOwnership` (alive owners with unexpired leases).
/// `waitForChange` re-reads the table until something changes or the timeout passes, so a caller
/// that got `notOwner` or found no owner learns of the take-over without a background loop.
public final class DatabaseRegionOwnership: RegionOwnership {
    struct State {
        var owners: [String: (address: NodeAddress, token: FencingToken)] = [:]
        var version: UInt64 = 0
    }
    let connection: PostgresConnection
    let timeout: Duration
    let state = Mutex(State())

    public init(connection: PostgresConnection, timeout: Duration = .seconds(1)) {
        self.connection = connection; self.timeout = timeout
    }

    /// Re-reads the lease table (one statement, with a deadline); bumps `version` on any change.
    public func refresh() async throws {
        let conn = connection
        let rows = try await withDeadline(timeout, "read ownership") {
            try await conn.query(ClusterSchema.readOwnership, purpose: "read ownership")
        }
        var fresh: [String: (address: NodeAddress, token: FencingToken)] = [:]
        for r in rows {
            fresh[try r.decode(0, as: String.self)] = (NodeAddress(id: try r.decode(1, as: String.self), endpoint: try r.decode(3, as: String.self),
                                                                   publicKey: try r.decode(5, as: String?.self)),
                                                       FencingToken(UInt64(try r.decode(2, as: Int64.self))))
        }
        state.withLock { s in
            let changed = fresh.count != s.owners.count || fresh.contains { k, v in s.owners[k]?.address != v.address || s.owners[k]?.token != v.token }
            if changed { s.owners = fresh; s.version += 1 }
        }
    }

    /// The owner and token of `region` as last read.
    public func lease(ofRegion region: String) -> (address: NodeAddress, token: FencingToken)? { state.withLock { $0.owners[region] } }

    public func owner(ofRegion region: String) -> NodeAddress? { state.withLock { $0.owners[region]?.address } }
    public func isServing(region: String) -> Bool { false }
    public var version: UInt64 { state.withLock { $0.version } }

    public func waitForChange(after version: UInt64, timeout: Duration) async -> UInt64 {
        let until = ContinuousClock.now + timeout
        while !Task.isCancelled {
            try? await refresh()
            if self.version > version || ContinuousClock.now >= until { break }
            try? await Task.sleep(for: min(.milliseconds(50), max(.zero, until - .now)))
        }
        return self.version
    }
}

/// A caller outside the cluster: a client-only `ClusterActorSystem` (serves nothing) whose
/// ownership is the lease table, plus an outer retry loop: each attempt has its own deadline
/// (`attemptTimeout`, so a call to a node that was just killed fails fast), and retriable
/// failures (timeout, node down, not owner, fenced, overloaded) are retried after re-reading the
/// ownership until the overall deadline. Only calls that are safe to repeat are retried: reads,
/// and commands carrying an idempotency key.
public final class ClusterClient: Sendable {
    /// What one call went through (for tests and the benchmark).
    public struct CallReport: Sendable {
        public var attempts: Int
        /// Errors that were retried, oldest first.
        public var retried: [String]
    }

    public let system: ClusterActorSystem
    public let ownership: DatabaseRegionOwnership
    public let logger: Logger
    let context: MessagingContext
    let connection: PostgresConnection
    /// Deadline of one attempt.
    public let attemptTimeout: Duration

    /// `curve`: the client's key pair (a principal of the deployment: an operator, a gateway);
    /// required to call nodes that serve CURVE. nil: plaintext nodes only.
    public init(database: PostgresConfiguration, curve: CurveKeyPair? = nil, attemptTimeout: Duration = .seconds(1), logger: Logger) async throws {
        self.attemptTimeout = attemptTimeout
        self.logger = logger
        connection = try await PostgresConnection.connect(database, logger: logger)
        ownership = DatabaseRegionOwnership(connection: connection)
        // A client serves nobody: with a key, its own (unused) call port is CURVE with an authority
        // that admits no one, so it answers nothing to anyone.
        context = try MessagingContext(logger: logger.child("messaging"), curveAuthority: curve == nil ? nil : try CurveKeyTable())
        var config = ClusterActorSystem.Configuration(nodeID: "client-\(UInt32.random(in: 0 ... .max))")
        config.eventEndpoint = nil
        config.defaultTimeout = attemptTimeout
        config.curve = curve
        do {
            system = try await ClusterActorSystem(context: context, configuration: config, ownership: ownership, logger: logger)
            try await CounterActor.registerTargets(on: system)
            try? await ownership.refresh()
        } catch {
            await context.shutdown()
            await connection.close()
            throw error
        }
    }

    let closed = Mutex(false)

    /// Pumps events from the nodes' publishers into `system.subscribe` streams; returns after
    /// `close()`. Only needed when subscribing: run it in a task group you own.
    public func run() async { await system.run() }

    /// Idempotent.
    public func close() async {
        guard closed.withLock({ c in defer { c = true }; return !c }) else { return }
        await system.shutdown()
        await context.shutdown()
        await connection.close()
    }

    static let retriable: Set<ClusterCallError.Code> = [.timeout, .nodeDown, .notOwner, .fenced, .overloaded]

    /// Runs `body` (one distributed call) with per-attempt deadlines and retries, within `timeout`.
    /// - Throws: the last `ClusterCallError`, or one that is not retriable.
    public func call<R: Sendable>(key: IdempotencyKey?, retriable: Bool, timeout: Duration,
                                  _ body: @Sendable () async throws -> R) async throws -> (R, CallReport) {
        let deadline = ContinuousClock.now + timeout
        var report = CallReport(attempts: 0, retried: [])
        var backoff = Duration.milliseconds(20)
        while true {
            let left = deadline - .now
            report.attempts += 1
            do {
                let r = try await ClusterCall.$timeout.withValue(min(left, attemptTimeout)) {
                    try await ClusterCall.$idempotencyKey.withValue(key) { try await body() }
                }
                return (r, report)
            } catch let e as ClusterCallError where retriable && Self.retriable.contains(e.code) {
                report.retried.append(e.description)
                if deadline - .now <= .zero { throw e }
                try await Task.sleep(for: min(backoff, max(.zero, deadline - .now)))
                backoff = min(backoff * 2, .milliseconds(200))
                try? await ownership.refresh()
            }
        }
    }

    /// Connects the client's actor system to every alive node (their call servers and event
    /// publishers), so `system.subscribe(topic:)` receives their events. Call again after nodes join.
    public func connectToNodes() async throws {
        let conn = connection
        let rows = try await withDeadline(attemptTimeout, "read nodes") {
            try await conn.query(ClusterSchema.readNodes, purpose: "read nodes")
        }
        for r in rows where try r.decode(4, as: String.self) == NodeStatus.alive.rawValue {
            try await system.connect(to: NodeAddress(id: try r.decode(0, as: String.self), endpoint: try r.decode(1, as: String.self),
                                                     eventEndpoint: try r.decode(6, as: String?.self), publicKey: try r.decode(7, as: String?.self)))
        }
    }

    /// The counter actor `key` of `region` (a remote reference; no call is made).
    public func counter(_ key: String, region: String) throws -> CounterActor {
        try CounterActor.resolve(id: ActorIdentity(kind: CounterState.kind, key: key, region: region), using: system)
    }

    /// `counter.apply`: add `amount` to the counter `key` in `region` (idempotent on `commandKey`).
    public func addToCounter(_ key: String, region: String, amount: Int64, commandKey: String,
                             timeout: Duration = .seconds(10)) async throws -> (CommandAck<CounterState>, CallReport) {
        let counter = try counter(key, region: region)
        return try await call(key: .text(commandKey), retriable: true, timeout: timeout) {
            try await counter.apply(CounterState.Command(amount: amount), idempotencyKey: commandKey)
        }
    }

    /// `counter.state`: the counter's current state (a read; always retriable).
    public func counterState(_ key: String, region: String, timeout: Duration = .seconds(10)) async throws -> (CommandAck<CounterState>, CallReport) {
        let counter = try counter(key, region: region)
        return try await call(key: nil, retriable: true, timeout: timeout) { try await counter.state() }
    }
}
