import Base
import Messaging
import Storage

/// A caller outside (or inside) the cluster: finds a region's owner from the lease table
/// (`ClusterSchema.readPlacement`), sends a WireCodec call over ZeroMQ with a deadline, and on a
/// retriable failure (not owner, fenced, overloaded, timeout, no owner yet) refreshes the placement
/// and retries until the overall deadline. Only calls that are safe to repeat are retried:
/// reads, and commands carrying an idempotency key.
///
/// Isolation: an actor; the placement cache and the per-endpoint sockets are its state.
public actor ClusterClient {
    public struct Placement: Hashable, Sendable {
        public var owner: NodeID
        public var token: FencingToken
        public var endpoint: String
    }

    /// What one call went through (for tests and the benchmark).
    public struct CallReport: Sendable {
        public var payload: [UInt8]
        public var attempts: Int
        public var served: Placement
        /// Errors that were retried, oldest first.
        public var retried: [String]
    }

    let database: PostgresConfiguration
    let logger: Logger
    let context: MessagingContext
    var connection: PostgresConnection?
    var clients: [String: RequestClient] = [:]
    var placement: [RegionKey: Placement] = [:]
    var correlation: UInt64 = 0
    let codec = WireCodec()
    /// Deadline of one attempt (and of each placement read).
    public var attemptTimeout: Duration = .seconds(1)

    public init(database: PostgresConfiguration, logger: Logger) throws {
        self.database = database
        self.logger = logger.child("client")
        self.context = try MessagingContext(logger: logger.child("messaging"))
    }

    public func setAttemptTimeout(_ d: Duration) { attemptTimeout = d }

    public func close() async {
        for c in clients.values { await c.close() }
        clients = [:]
        await connection?.close()
        connection = nil
        await context.shutdown()
    }

    /// Reads who serves what now (alive owners with unexpired leases).
    public func refreshPlacement() async throws -> [RegionKey: Placement] {
        let conn: PostgresConnection
        if let c = connection { conn = c } else {
            conn = try await PostgresConnection.connect(database, logger: logger)
            connection = conn
        }
        let rows = try await withDeadline(attemptTimeout, "read placement") {
            try await conn.query(ClusterSchema.readPlacement, purpose: "read placement")
        }
        var p: [RegionKey: Placement] = [:]
        for r in rows {
            p[RegionKey(try r.decode(0, as: String.self))] = Placement(
                owner: NodeID(try r.decode(1, as: String.self)), token: FencingToken(UInt64(try r.decode(2, as: Int64.self))),
                endpoint: try r.decode(3, as: String.self))
        }
        placement = p
        return p
    }

    /// Calls `target` on `actor` and returns the reply payload.
    /// - Parameters:
    ///   - retriable: whether repeating the call is safe (a read, or a command with `idempotencyKey`).
    ///   - timeout: the overall deadline, over all attempts.
    /// - Throws: `RemoteCallError` (the last failure, or `deadlineExceeded`).
    public func call(_ actor: ActorIdentity, target: String, payload: [UInt8], idempotencyKey: IdempotencyKey? = nil,
                     retriable: Bool, timeout: Duration) async throws -> CallReport {
        let deadline = ContinuousClock.now + timeout
        let region = RegionKey(actor.region)
        var attempts = 0
        var retried: [String] = []
        var backoff = Duration.milliseconds(20)
        var stale = placement[region] == nil
        while true {
            try Task.checkCancellation()
            let left = deadline - .now
            if left <= .zero {
                throw RemoteCallError(code: .deadlineExceeded,
                                      message: "\(target) on \(actor): no success within \(timeout) after \(attempts) attempts; last: \(retried.last ?? "none")")
            }
            var failure: RemoteCallError
            do {
                if stale { _ = try await refreshPlacement(); stale = false }
                if let place = placement[region] {
                    attempts += 1
                    do {
                        let payload = try await send(actor, target: target, payload: payload, key: idempotencyKey,
                                                     to: place.endpoint, timeout: min(left, attemptTimeout))
                        return CallReport(payload: payload, attempts: attempts, served: place, retried: retried)
                    } catch let e as RemoteCallError {
                        failure = e
                    }
                } else {
                    failure = RemoteCallError(code: .notOwner, message: "no live owner of \(region) yet")
                }
            } catch let e as RemoteCallError {
                failure = e
            } catch {
                failure = RemoteCallError(code: .overloaded, message: "placement unavailable: \(error)")
            }
            guard retriable, failure.isRetriable else { throw failure }
            retried.append(failure.description)
            stale = true
            try await Task.sleep(for: min(backoff, max(.zero, deadline - .now)))
            backoff = min(backoff * 2, .milliseconds(200))
        }
    }

    private func send(_ actor: ActorIdentity, target: String, payload: [UInt8], key: IdempotencyKey?,
                      to endpoint: String, timeout: Duration) async throws -> [UInt8] {
        let client: RequestClient
        if let c = clients[endpoint] { client = c } else {
            client = try await context.connectClient(endpoint)
            clients[endpoint] = client
        }
        correlation &+= 1
        let frame = try codec.encode(.call(CallMessage(
            correlation: correlation, deadlineMillis: WireDeadline.millis(remaining: timeout), actor: actor,
            target: target, idempotencyKey: key, payload: payload)))
        let reply: Message
        do {
            reply = try await client.request(Message(frame), timeout: timeout)
        } catch let e where e.code == .timeout {
            throw RemoteCallError(code: .deadlineExceeded, message: "\(endpoint) did not answer within \(timeout)")
        } catch let e where e.code == .cancelled {
            throw CancellationError()
        } catch {
            throw RemoteCallError(code: .overloaded, message: "\(endpoint): \(error)")
        }
        switch try codec.decode(reply.first) {
        case let .reply(_, payload): return payload
        case let .errorReply(_, code, message): throw RemoteCallError(code: code, message: message)
        default: throw RemoteCallError(code: .badArguments, message: "unexpected reply frame from \(endpoint)")
        }
    }
}

extension ClusterClient {
    /// `counter.apply`: add `amount` to the counter `key` in `region` (idempotent on `commandKey`).
    public func addToCounter(_ key: String, region: String, amount: Int64, commandKey: String,
                             timeout: Duration = .seconds(10)) async throws -> (CommandAck<CounterState>, CallReport) {
        let report = try await call(ActorIdentity(kind: CounterState.kind, key: key, region: region), target: "counter.apply",
                                    payload: try BinaryEncoder().encode(CounterState.Command(amount: amount)),
                                    idempotencyKey: .text(commandKey), retriable: true, timeout: timeout)
        return (try BinaryDecoder().decode(CommandAck<CounterState>.self, from: report.payload), report)
    }

    /// `counter.state`: the counter's current state (a read; always retriable).
    public func counterState(_ key: String, region: String, timeout: Duration = .seconds(10)) async throws -> (CommandAck<CounterState>, CallReport) {
        let report = try await call(ActorIdentity(kind: CounterState.kind, key: key, region: region), target: "counter.state",
                                    payload: [], retriable: true, timeout: timeout)
        return (try BinaryDecoder().decode(CommandAck<CounterState>.self, from: report.payload), report)
    }
}
