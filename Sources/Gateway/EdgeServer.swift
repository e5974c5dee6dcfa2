import Base
import Cluster
import DaybreakNode
import DispatchPlanning
import Edge
import Fleet
import Foundation
import Geo
import Messaging
import Storage
import Synchronization

/// The edge socket's CURVE authority: a key is let in only when its principal has an edge role
/// and a valid scope for it (node, gateway and operator keys get nothing here). In memory, from
/// the `PrincipalDirectory` the server refreshes; synchronous, as the ZAP handler requires.
public struct EdgeAuthority: CurveAuthority {
    public let directory: PrincipalDirectory
    public init(directory: PrincipalDirectory) { self.directory = directory }

    public func authenticate(publicKey: String, domain: String, address: String) -> CurveIdentity? {
        guard let p = directory.lookup(publicKey: publicKey), let role = EdgeRole(rawValue: p.role),
              case .success = EdgeScope.parse(p.scope, role: role) else { return nil }
        return try? CurveIdentity(userID: p.userID, role: p.role)
    }
}

/// `daybreak gateway`'s server: a ROUTER with CURVE on every connection, speaking the edge
/// protocol (Docs/EDGE.md) and acting on the cluster through a `ClusterGateway`.
///
/// - Stateless for the product: every order, sequence number and token lives in the cluster or
///   PostgreSQL, so any gateway serves any request and a client may reconnect through another.
///   What it keeps in memory is per connection (whom to push manifests and notifications to).
/// - Authorisation uses the principal of the key that signed the message (ZAP User-Id → the
///   principals table), never a field of the message.
/// - Bounded: at most `maxInFlightPerPeer` requests per connection and `maxInFlight` in all;
///   more are answered `overloaded` at once.
public final class EdgeServer: Sendable {
    public struct Configuration: Sendable {
        public var listen: String
        public var keyPair: CurveKeyPair
        /// This gateway's name in the audit (`gateway:<name>`).
        public var name: String
        /// The city's offset, for times written on the wire.
        public var offset: UTCOffset
        public var principalRefresh: Duration = .seconds(1)
        public var maxInFlight = 4_096
        public var socket: SocketOptions = .edge
        public init(listen: String, keyPair: CurveKeyPair, name: String, offset: UTCOffset) {
            self.listen = listen; self.keyPair = keyPair; self.name = name; self.offset = offset
        }
    }

    public let configuration: Configuration
    /// The bound endpoint (port resolved).
    public let endpoint: String
    public var publicKey: String { configuration.keyPair.publicKey }
    let cluster: ClusterGateway
    let pool: PostgresPool
    let directory: PrincipalDirectory
    let context: MessagingContext
    let server: RequestServer
    let logger: Logger
    let audit: AuditLog
    let clock: GatewayClock
    let sessions = Mutex(Sessions())
    let inFlight = Mutex(InFlight())
    public let counters = EdgeCounters()

    struct InFlight {
        var total = 0
        var perPeer: [[UInt8]: Int] = [:]
    }

    init(configuration: Configuration, endpoint: String, cluster: ClusterGateway, pool: PostgresPool, directory: PrincipalDirectory,
         context: MessagingContext, server: RequestServer, logger: Logger) {
        self.configuration = configuration; self.endpoint = endpoint; self.cluster = cluster; self.pool = pool
        self.directory = directory; self.context = context; self.server = server; self.logger = logger
        audit = AuditLog(pool: pool, gateway: configuration.name, logger: logger)
        clock = GatewayClock(pool: pool)
    }

    /// Reads the principals, binds the edge socket. `cluster` must be connected (its `run()` is
    /// driven by `run()` here).
    public static func start(_ configuration: Configuration, cluster: ClusterGateway, pool: PostgresPool, logger: Logger) async throws -> EdgeServer {
        let directory = try PrincipalDirectory()
        try await directory.refresh(pool)
        let context = try MessagingContext(logger: logger, curveAuthority: EdgeAuthority(directory: directory))
        var options = configuration.socket
        options.curveServer = try CurveServer(keyPair: configuration.keyPair, domain: "daybreak-edge", recheckEachMessage: true)
        options.heartbeat = .milliseconds(EdgeProtocol.heartbeatMs)
        options.maxMessageSize = EdgeProtocol.maxFrameBytes
        let server: RequestServer
        do { server = try await context.bindServer(configuration.listen, options: options) } catch {
            await context.shutdown()
            throw error
        }
        logger.info("edge gateway listening", ["endpoint": server.endpoint, "public_key": configuration.keyPair.publicKey,
                                                "principals": "\(directory.count)"])
        let edge = EdgeServer(configuration: configuration, endpoint: server.endpoint, cluster: cluster, pool: pool, directory: directory,
                              context: context, server: server, logger: logger)
        cluster.onNotification { [weak edge] n in edge?.notify(n) }
        return edge
    }

    /// Serves until `close()` or cancellation: requests, the principals' refresh, the cluster's notifications and
    /// manifest changes pushed to connected clients.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.directory.run(self.pool, every: self.configuration.principalRefresh, logger: self.logger) }
            group.addTask { await self.cluster.run() }
            group.addTask { await self.pumpManifestChanges() }
            // Cancellation of `run()` closes the socket (so `serve` ends) and the cluster client (so its pumps end).
            group.addTask {
                do { try await Task.sleep(for: .seconds(1_000_000_000)) } catch {}
                await self.server.close()
                await self.cluster.client.close()
            }
            await self.serve()
            group.cancelAll()
        }
    }

    /// Stops serving; `run()` returns.
    public func close() async {
        await server.close()
        await cluster.client.close()
        await context.shutdown()
    }

    public var stats: SocketStats { server.stats }

    // MARK: - Requests

    func serve() async {
        await withDiscardingTaskGroup { group in
            for await batch in server.requests {
                for request in batch {
                    guard admit(request.replyAddress.routingID) else {
                        counters.overloaded.add(1, ordering: .relaxed)
                        send(request.replyAddress, EdgeCodec.encodeError(EdgeError(.overloaded, "too many requests in flight; retry shortly")))
                        continue
                    }
                    group.addTask {
                        let body = await self.handle(request)
                        self.release(request.replyAddress.routingID)
                        if let body { self.send(request.replyAddress, body) }
                    }
                }
            }
        }
    }

    func admit(_ peer: [UInt8]) -> Bool {
        inFlight.withLock { f in
            let n = f.perPeer[peer, default: 0]
            guard f.total < configuration.maxInFlight, n < EdgeProtocol.maxInFlightPerPeer else { return false }
            f.total += 1
            f.perPeer[peer] = n + 1
            return true
        }
    }

    func release(_ peer: [UInt8]) {
        inFlight.withLock { f in
            f.total -= 1
            let n = f.perPeer[peer, default: 1] - 1
            if n <= 0 { f.perPeer.removeValue(forKey: peer) } else { f.perPeer[peer] = n }
        }
    }

    func send(_ address: ReplyAddress, _ body: [UInt8]) {
        do { try server.reply(to: address, Message(body)) } catch {
            counters.replyFailures.add(1, ordering: .relaxed)
        }
    }

    /// One request → its reply body (nil: no reply at all, for a sender without a principal).
    func handle(_ request: IncomingRequest) async -> [UInt8]? {
        counters.requests.add(1, ordering: .relaxed)
        // Unauthenticated or revoked since the handshake: nothing, not even an error.
        guard let peer = request.peer, let p = directory.lookup(publicKey: peer.publicKey), let role = EdgeRole(rawValue: p.role),
              case .success(let scope) = EdgeScope.parse(p.scope, role: role) else {
            counters.unauthenticated.add(1, ordering: .relaxed)
            return nil
        }
        let principal = EdgePrincipal(userID: p.userID, role: role, scope: scope)
        let context = RequestContext(principal: principal, peer: peer.address, routingID: request.replyAddress.routingID)
        guard request.message.count == 1 else {
            return fail(EdgeError(.malformed, "a request is one JSON frame after the 8-byte correlation id; got \(request.message.count) frames"))
        }
        let envelope: EdgeEnvelope
        switch EdgeCodec.envelope(request.message.first) {
        case .success(let e): envelope = e
        case .failure(let e): return fail(e)
        }
        if let denied = EdgeAccess.check(envelope.type, principal) {
            await audit.record(AuditEntry(context, kind: envelope.type, outcome: denied.code.rawValue, detail: denied.message))
            return fail(denied)
        }
        do {
            return try await dispatch(envelope, context)
        } catch let e as EdgeError {
            if e.code == .forbidden {
                await audit.record(AuditEntry(context, kind: envelope.type, outcome: e.code.rawValue, detail: e.message))
            }
            return fail(e)
        } catch {
            counters.unavailable.add(1, ordering: .relaxed)
            logger.warning("edge request failed", ["type": envelope.type, "principal": principal.userID, "error": "\(error)"])
            return fail(EdgeError(.unavailable, "the cluster did not answer in time; retry with the same seq or key"))
        }
    }

    func fail(_ e: EdgeError) -> [UInt8] {
        counters.errors.add(1, ordering: .relaxed)
        return EdgeCodec.encodeError(e)
    }

    func body<T: Decodable>(_ envelope: EdgeEnvelope, _ type: T.Type) throws(EdgeError) -> T {
        switch envelope.body(T.self) {
        case .success(let b): return b
        case .failure(let e): throw e
        }
    }

    func time(_ t: Instant) -> WireTime { WireTime(t, offset: configuration.offset) }
}

/// Who sent a request, from where.
struct RequestContext: Sendable {
    var principal: EdgePrincipal
    var peer: String
    var routingID: [UInt8]
}

/// Counters of an edge server (monotonic), for `status` and the benchmark.
public final class EdgeCounters: Sendable {
    public let requests = Atomic<Int>(0)
    public let errors = Atomic<Int>(0)
    public let unauthenticated = Atomic<Int>(0)
    public let overloaded = Atomic<Int>(0)
    public let unavailable = Atomic<Int>(0)
    public let replyFailures = Atomic<Int>(0)
    public let reportsApplied = Atomic<Int>(0)
    public let reportsDuplicate = Atomic<Int>(0)
    public let pushes = Atomic<Int>(0)
    init() {}
}

/// The driven or wall clock of the deployment, as the gateway sees it (for requests that carry no
/// time: a manifest, a scan). Driven: `cluster_clock.now_us`, re-read at most every 250 ms.
final class GatewayClock: Sendable {
    let pool: PostgresPool
    let cache = Mutex<(read: ContinuousClock.Instant, now: Instant?, driven: Bool)?>(nil)
    init(pool: PostgresPool) { self.pool = pool }

    func now() async -> Instant {
        let wall = Instant(epochSeconds: Int64(Date().timeIntervalSince1970))
        if let c = cache.withLock({ $0 }), ContinuousClock.now - c.read < .milliseconds(250) {
            return c.driven ? (c.now ?? wall) : wall
        }
        let pool = self.pool
        let row = try? await withDeadline(.seconds(2), "read the cluster clock") {
            try await pool.query("SELECT mode, now_us FROM cluster_clock", purpose: "read the cluster clock").first
        }
        var driven = false, now: Instant? = nil
        if let row, let mode = try? row.decode(0, as: String.self), mode == "driven", let us = try? row.decode(1, as: Int64.self) {
            driven = true; now = Instant(epochSeconds: us / 1_000_000)
        }
        cache.withLock { $0 = (ContinuousClock.now, now, driven) }
        return driven ? (now ?? wall) : wall
    }
}

extension EdgeServer {
    /// Whether `publicKey` is a live principal in this gateway's directory (tests wait on it).
    public func knows(publicKey: String) -> Bool { directory.lookup(publicKey: publicKey) != nil }
}
