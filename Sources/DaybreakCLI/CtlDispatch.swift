import Base
import Cluster
import DaybreakNode
import DispatchPlanning
import Fleet
import Foundation
import Messaging
import Geo
import Storage

// `daybreak ctl dispatch REGION VERB …`: a dispatcher's command line against a running cluster.
// The command line is parsed and validated completely (CtlDispatchInvocation) before anything is
// sent; then CtlDispatchRunner finds the region's owner through the lease table and calls the
// region's `RegionDispatcher` with per-attempt deadlines, retrying retriable transport failures
// with the SAME idempotency key until the overall deadline.

let ctlDispatchUsage = """
    REGION VERB [ARGS] [OPTIONS]

    verbs:
      assign ORDER COURIER     plan ORDER on COURIER (orders not yet loaded)
      reassign ORDER COURIER   move ORDER to COURIER
      unassign ORDER           take ORDER off its courier (back to the unplanned pool)
      hold ORDER               keep ORDER out of planning until released
      release ORDER            let a held ORDER be planned again
      cancel ORDER             cancel ORDER [--reason R] (default operatorDecision)
      lock COURIER             keep COURIER's route as it is (no insertion, no re-optimisation)
      unlock COURIER           let planning touch COURIER's route again
      replan                   place the unplanned orders now; re-optimise at the next tick
      orders                   the region's orders as a table [--state S[,S…]] [--json: JSON lines]
      manifest COURIER         COURIER's remaining stops, ETAs in local time [--json]
    COURIER is vehicle:ID or rider:ID. Commands carry a fresh idempotency key (printed; --key to repeat one).

    exit status:
      0   done
      64  bad command line (unknown verb or option, malformed COURIER, …): nothing was sent
      65  refused by the dispatcher, printed as "REGION: ITEM: problem: message": nothing changed;
          or nothing to show (orders: the region has no open service day; manifest: no such courier)
      69  cluster unreachable, or no answer within --timeout-ms: a command may or may not have
          been applied; repeat it with --key KEY (applied at most once)
      70  internal error (an unexpected reply or failure on the node)
    """

let ctlDispatchCommand = Command(
    name: "dispatch",
    summary: "Act on a region's dispatcher: assign, hold, cancel, lock, replan; list its orders; show a manifest.",
    usage: ctlDispatchUsage,
    options: databaseOptions + [
        .value("at", "TIME", "the command's time: ISO-8601 with offset (2024-03-04T10:00:00+09:00) or epoch seconds (default: now)"),
        .value("key", "KEY", "idempotency key of a command (default: a fresh one); repeat a command with the key it printed"),
        .value("reason", "R", "cancel only: " + CancelReason.allCases.map(\.rawValue).joined(separator: "|") + " (default operatorDecision)"),
        .value("state", "S[,S…]", "orders only: keep orders in these states (" + OrderState.allCases.map(\.rawValue).joined(separator: "|") + ")"),
        .value("utc-offset", "±HH:MM", "orders/manifest: show times at this UTC offset (default: this machine's time zone)"),
        .value("timeout-ms", "N", "overall deadline including retries (default 20000)"),
        .flag("json", "machine-readable output (orders: one JSON object per line)"),
        .value("gateway", "ENDPOINT", "go through this edge gateway (tcp://HOST:PORT) as a dispatcher instead of the database; "
               + "default: the gateway of the deployment in --data, when it records one and --database is not given"),
        .value("gateway-key", "Z85|FILE.pub", "the gateway's public key (with --gateway; default: the deployment's when the endpoint is its gateway)"),
    ],
    maxPositionals: 4
) { args in
    let invocation = try CtlDispatchInvocation(args, now: Date())
    // Through a gateway (the edge protocol, a dispatcher's key: --identity, default DIR/keys/dispatcher.key).
    let edge: CtlEdgeTarget?
    do { edge = try CtlEdgeTarget.resolve(args) } catch let f as CommandFailure {
        printErr("daybreak ctl dispatch: \(f.message)")
        return f.status
    }
    if let edge { return await CtlEdgeDispatchRunner(invocation, target: edge).run() }
    let database = try databaseConfiguration(args)
    return await CtlDispatchRunner(invocation, database: database, identity: try clientIdentity(args)).run()
}

/// What `ctl dispatch` was asked to do, fully validated.
struct CtlDispatchInvocation: Sendable {
    enum Action: Sendable {
        case command(DispatcherCommand)
        case orders(states: Set<OrderState>?)
        case manifest(CourierRef)
    }
    var region: String
    var verb: String
    var action: Action
    var at: Instant
    var key: String
    var json: Bool
    var offset: UTCOffset
    var timeout: Duration

    static let verbs = ["assign", "reassign", "unassign", "hold", "release", "cancel", "lock", "unlock", "replan", "orders", "manifest"]

    init(_ args: ParsedArguments, now: Date) throws(UsageError) {
        let p = args.positionals
        guard let region = p.first else { throw UsageError("missing REGION") }
        _ = try Self.name(region, "REGION")
        guard p.count >= 2 else { throw UsageError("missing VERB after REGION (one of \(Self.verbs.joined(separator: "|")))") }
        let verb = p[1]
        guard Self.verbs.contains(verb) else { throw UsageError("unknown verb '\(displayed(verb))' (one of \(Self.verbs.joined(separator: "|")))") }
        let rest = Array(p.dropFirst(2))
        func operands(_ names: String...) throws(UsageError) -> [String] {
            if rest.count < names.count { throw UsageError("\(verb): missing \(names[rest.count])") }
            if rest.count > names.count { throw UsageError("\(verb): unexpected extra argument '\(displayed(rest[names.count]))'") }
            return rest
        }
        func order(_ s: String) throws(UsageError) -> OrderID {
            OrderID(try Self.name(s, "\(verb): ORDER"))
        }
        let action: Action
        switch verb {
        case "assign", "reassign":
            let o = try operands("ORDER", "COURIER")
            let id = try order(o[0]), c = try Self.courier(o[1])
            action = .command(verb == "assign" ? .assign(id, to: c) : .reassign(id, to: c))
        case "unassign": action = .command(.unassign(try order(try operands("ORDER")[0])))
        case "hold": action = .command(.hold(try order(try operands("ORDER")[0])))
        case "release": action = .command(.release(try order(try operands("ORDER")[0])))
        case "cancel":
            let id = try order(try operands("ORDER")[0])
            let raw = args.string("reason") ?? CancelReason.operatorDecision.rawValue
            guard let reason = CancelReason(rawValue: raw) else {
                throw UsageError("--reason must be one of \(CancelReason.allCases.map(\.rawValue).joined(separator: "|")), got '\(displayed(raw))'")
            }
            action = .command(.cancel(id, reason: reason))
        case "lock": action = .command(.lockRoute(try Self.courier(try operands("COURIER")[0])))
        case "unlock": action = .command(.unlockRoute(try Self.courier(try operands("COURIER")[0])))
        case "replan":
            _ = try operands()
            action = .command(.replanNow)
        case "orders":
            _ = try operands()
            var states: Set<OrderState>?
            if let raw = args.string("state") {
                states = []
                for s in raw.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                    guard let st = OrderState(rawValue: s) else {
                        throw UsageError("--state: unknown state '\(displayed(s))' (one of \(OrderState.allCases.map(\.rawValue).joined(separator: "|")))")
                    }
                    states!.insert(st)
                }
            }
            action = .orders(states: states)
        default: // manifest
            action = .manifest(try Self.courier(try operands("COURIER")[0]))
        }
        // Options that do not apply to the verb are mistakes, not silently ignored.
        func only(_ option: String, _ verbs: Set<String>) throws(UsageError) {
            let given = option == "json" ? args.flag(option) : args.string(option) != nil
            if given && !verbs.contains(verb) { throw UsageError("option '--\(option)' does not apply to '\(verb)'") }
        }
        let commands: Set<String> = ["assign", "reassign", "unassign", "hold", "release", "cancel", "lock", "unlock", "replan"]
        try only("reason", ["cancel"])
        try only("state", ["orders"])
        try only("key", commands)
        try only("at", commands.union(["manifest"]))
        try only("utc-offset", ["orders", "manifest"])

        self.region = region
        self.verb = verb
        self.action = action
        self.at = try args.string("at").map { s throws(UsageError) in try Self.instant(s) } ?? Instant(epochSeconds: Int64(now.timeIntervalSince1970.rounded(.down)))
        if let k = args.string("key") {
            key = try checkIdentifier(k, "--key", maxBytes: 200)
        } else {
            key = "ctl-" + UUID().uuidString.lowercased()
        }
        json = args.flag("json")
        offset = try args.string("utc-offset").map { s throws(UsageError) in try Self.offset(s) }
            ?? UTCOffset(seconds: Int64(TimeZone.current.secondsFromGMT(for: now)))
        timeout = .milliseconds(try args.int("timeout-ms", default: 20_000, range: 1 ... 3_600_000))
    }

    /// A region, order or courier id from the command line (`what` names the argument): at most
    /// what the cluster's wire carries in an identity (`WireLimits.maxIdentifierBytes`), printable,
    /// no white space, not starting with '-'. Messages quote it escaped (`displayed`), never raw.
    static func name(_ s: String, _ what: String) throws(UsageError) -> String {
        _ = try checkIdentifier(s, what, maxBytes: WireLimits.default.maxIdentifierBytes)
        guard !s.hasPrefix("-"), !s.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw UsageError("malformed \(what) '\(displayed(s))': no white space, not starting with '-'")
        }
        return s
    }

    /// `vehicle:ID` or `rider:ID`.
    static func courier(_ s: String) throws(UsageError) -> CourierRef {
        let bad = UsageError("malformed COURIER '\(displayed(s))': expected vehicle:ID or rider:ID")
        guard let colon = s.firstIndex(of: ":") else { throw bad }
        let id = String(s[s.index(after: colon)...])
        guard let kind = CourierRef.Kind(rawValue: String(s[..<colon])), !id.isEmpty else { throw bad }
        return CourierRef(kind: kind, id: try name(id, "COURIER id"))
    }

    /// The instants `--at` accepts: 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z (what ISO-8601
    /// prints with four-digit years, and far from overflowing the dispatcher's arithmetic).
    static let atRange: ClosedRange<Int64> = 0 ... 253_402_300_799

    /// Epoch seconds, or ISO-8601 with an offset (fractional seconds allowed).
    static func instant(_ s: String) throws(UsageError) -> Instant {
        let outOfRange = UsageError("--at '\(displayed(s))' is out of range: expected 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z "
                                    + "(epoch seconds \(atRange.lowerBound)...\(atRange.upperBound))")
        // Epoch seconds: an optional sign and digits; beyond Int64 is out of range too (never a trap).
        let digits = s.first == "-" || s.first == "+" ? s.dropFirst() : Substring(s)
        if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) {
            guard let n = Int64(s), atRange.contains(n) else { throw outOfRange }
            return Instant(epochSeconds: n)
        }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        var date = f.date(from: s)
        if date == nil {
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            date = f.date(from: s)
        }
        guard let date else {
            throw UsageError("--at expects ISO-8601 with an offset (2024-03-04T10:00:00+09:00) or epoch seconds, got '\(displayed(s))'")
        }
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard seconds >= Double(atRange.lowerBound), seconds <= Double(atRange.upperBound) else { throw outOfRange }
        return Instant(epochSeconds: Int64(seconds))
    }

    /// `Z`, `UTC`, `±HH`, `±HHMM` or `±HH:MM`, within ±14:00.
    static func offset(_ s: String) throws(UsageError) -> UTCOffset {
        if s == "Z" || s == "UTC" { return .utc }
        let bad = UsageError("--utc-offset expects ±HH:MM (e.g. +09:00), got '\(displayed(s))'")
        guard let sign = s.first, sign == "+" || sign == "-" else { throw bad }
        let digits = s.dropFirst().filter { $0 != ":" }
        guard digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), digits.count == 2 || digits.count == 4,
              s.dropFirst().count == digits.count || (s.count == 6 && Array(s)[3] == ":"),
              let h = Int64(digits.prefix(2)), let m = Int64(digits.count == 4 ? String(digits.suffix(2)) : "0"), h <= 14, m < 60 else { throw bad }
        return UTCOffset(seconds: (sign == "-" ? -1 : 1) * (h * 3600 + m * 60))
    }
}

/// The cluster did not answer within the deadline (after retries).
struct CtlNoAnswer: Error, CustomStringConvertible {
    var attempts: Int
    var last: String
    var description: String { "no answer after \(attempts) attempt\(attempts == 1 ? "" : "s") (last: \(last))" }
}

/// Runs a validated invocation against the cluster and prints the outcome; returns the exit status.
struct CtlDispatchRunner: Sendable {
    let invocation: CtlDispatchInvocation
    let database: PostgresConfiguration
    /// The operator's CURVE key pair (nil: a plaintext cluster).
    let identity: CurveKeyPair?
    /// The deadline of one attempt (never beyond the overall deadline).
    let attemptTimeout: Duration = .seconds(5)

    init(_ invocation: CtlDispatchInvocation, database: PostgresConfiguration, identity: CurveKeyPair? = nil) {
        self.invocation = invocation; self.database = database; self.identity = identity
    }

    static let retriable: Set<ClusterCallError.Code> = [.timeout, .nodeDown, .notOwner, .fenced, .overloaded, .unknownActor]

    var region: String { invocation.region }

    func run() async -> Int32 {
        let logger = Logger(label: "ctl", level: .error)
        let deadline = ContinuousClock.now + invocation.timeout
        let client: ClusterClient
        do {
            let db = database, identity = self.identity
            client = try await withDeadline(min(invocation.timeout, .seconds(10)), "connect to the cluster's database") {
                try await ClusterClient(database: db, curve: identity, attemptTimeout: .seconds(5), logger: logger)
            }
        } catch {
            printErr("\(region): cluster unreachable: \(error)")
            return ExitStatus.unavailable
        }
        let status = await run(client, deadline: deadline)
        await client.close()
        return status
    }

    func run(_ client: ClusterClient, deadline: ContinuousClock.Instant) async -> Int32 {
        let dispatcher: RegionDispatcher
        do {
            try await RegionDispatcher.registerTargets(on: client.system)
            dispatcher = try RegionDispatcher.resolve(id: RegionDispatcher.identity(region: region), using: client.system)
        } catch {
            printErr("\(region): internal error: \(error)")
            return ExitStatus.software
        }
        if client.ownership.owner(ofRegion: region) == nil, let known = await knownRegions(), !known.contains(region) {
            printErr("\(region): region \(region): unknownRegion: the cluster has no such region (regions: \(known.sorted().joined(separator: ", ")))")
            return ExitStatus.dataError
        }
        let inv = invocation
        do {
            switch inv.action {
            case .command(let command):
                let key = inv.key, request = DispatchRequest.command(command, at: inv.at)
                let response: DispatchResponse, attempts: Int
                do {
                    (response, attempts) = try await callCounting(client, key: key, deadline: deadline) {
                        try await dispatcher.handle(request, idempotencyKey: key)
                    }
                } catch {
                    printErr("\(region): \(Self.describe(command)): \(error is CtlNoAnswer ? "cluster unreachable" : "failed"): \(error)")
                    printErr("\(region): the command may or may not have been applied; repeat it with --key \(key) (it is applied at most once)")
                    return error is CtlNoAnswer ? ExitStatus.unavailable : ExitStatus.software
                }
                switch response {
                case .done:
                    if inv.json {
                        print(JSONValue.object([("region", .string(region)), ("verb", .string(inv.verb)), ("command", .string(Self.describe(command))),
                                                ("result", .string("done")), ("key", .string(key)), ("attempts", .int(attempts)),
                                                ("at", .int(Int(inv.at.epochSeconds)))]).rendered())
                    } else {
                        print("\(region): \(Self.describe(command)): done (key \(key)\(attempts > 1 ? ", \(attempts) attempts" : ""))")
                    }
                    return ExitStatus.ok
                case .refused(let e):
                    printErr("\(region): \(e)")
                    return ExitStatus.dataError
                default:
                    printErr("\(region): \(Self.describe(command)): internal error: unexpected reply \(response) (key \(key))")
                    return ExitStatus.software
                }
            case .orders(let states):
                let records = try await call(client, key: nil, deadline: deadline) { try await dispatcher.records() }
                // Nothing to list may mean nothing is open: ask the dispatcher rather than print "0 orders".
                if records.isEmpty, try await call(client, key: nil, deadline: deadline, { try await dispatcher.status(now: nil) }).days.isEmpty {
                    printErr("\(region): region \(region) has no open service day: no orders to list (see daybreak status)")
                    return ExitStatus.dataError
                }
                let shown = records.filter { states?.contains($0.state) ?? true }.sorted { $0.order.rawValue < $1.order.rawValue }
                print(inv.json ? CtlDispatchFormat.ordersJSONLines(shown, offset: inv.offset)
                               : CtlDispatchFormat.ordersTable(shown, region: region, offset: inv.offset), terminator: "")
                return ExitStatus.ok
            case .manifest(let courier):
                let at = inv.at
                guard let manifest = try await call(client, key: nil, deadline: deadline, { try await dispatcher.manifest(of: courier, at: at) }) else {
                    printErr("\(region): courier \(CtlDispatchFormat.ref(courier)): unknownCourier: not a courier of region \(region) (or its dispatcher is not open)")
                    return ExitStatus.dataError
                }
                print(inv.json ? CtlDispatchFormat.manifestJSON(manifest, region: region, offset: inv.offset).rendered()
                               : CtlDispatchFormat.manifestTable(manifest, region: region, offset: inv.offset), terminator: inv.json ? "\n" : "")
                return ExitStatus.ok
            }
        } catch let e as CtlNoAnswer {
            printErr("\(region): cluster unreachable: \(e)")
            return ExitStatus.unavailable
        } catch {
            printErr("\(region): internal error: \(error)")
            return ExitStatus.software
        }
    }

    /// One call, retried on retriable failures (with the same key) until `deadline`; each
    /// attempt has its own deadline. Throws `CtlNoAnswer` when the deadline passes.
    func call<R: Sendable>(_ client: ClusterClient, key: String?, deadline: ContinuousClock.Instant,
                           _ body: @escaping @Sendable () async throws -> R) async throws -> R {
        try await callCounting(client, key: key, deadline: deadline, body).value
    }

    /// `call`, also saying how many attempts it took.
    func callCounting<R: Sendable>(_ client: ClusterClient, key: String?, deadline: ContinuousClock.Instant,
                                   _ body: @escaping @Sendable () async throws -> R) async throws -> (value: R, attempts: Int) {
        var backoff = Duration.milliseconds(50)
        var attempts = 0
        var last = "none"
        while true {
            let left = deadline - .now
            guard left > .zero else { throw CtlNoAnswer(attempts: attempts, last: last) }
            let per = min(left, attemptTimeout)
            attempts += 1
            do {
                let value = try await ClusterCall.$timeout.withValue(per) {
                    try await ClusterCall.$idempotencyKey.withValue(key.map { .text($0) }) {
                        // The actor system enforces `per`; the outer deadline only guards against a hang.
                        try await withDeadline(per + .milliseconds(500), "call \(region)") { try await body() }
                    }
                }
                return (value, attempts)
            } catch let e as ClusterCallError where Self.retriable.contains(e.code) {
                last = e.description
            } catch let e as DeadlineExceeded {
                last = e.description
            }
            try await Task.sleep(for: min(backoff, max(.zero, deadline - .now)))
            backoff = min(backoff * 2, .seconds(1))
            try? await client.ownership.refresh()
        }
    }

    /// The regions in the lease table (nil if it cannot be read quickly).
    func knownRegions() async -> Set<String>? {
        let db = database
        return try? await withDeadline(.seconds(5), "read regions") {
            let conn = try await PostgresConnection.connect(db, logger: Logger(label: "ctl", level: .error))
            do {
                let rows = try await conn.query(ClusterSchema.readLeases, purpose: "read regions")
                await conn.close()
                return Set(try rows.map { try $0.decode(0, as: String.self) })
            } catch {
                await conn.close()
                throw error
            }
        }
    }

    static func describe(_ c: DispatcherCommand) -> String {
        switch c {
        case .assign(let o, let to): "assign order \(o) to \(CtlDispatchFormat.ref(to))"
        case .reassign(let o, let to): "reassign order \(o) to \(CtlDispatchFormat.ref(to))"
        case .unassign(let o): "unassign order \(o)"
        case .hold(let o): "hold order \(o)"
        case .release(let o): "release order \(o)"
        case .cancel(let o, let reason): "cancel order \(o) (\(reason.rawValue))"
        case .lockRoute(let c): "lock \(CtlDispatchFormat.ref(c))"
        case .unlockRoute(let c): "unlock \(CtlDispatchFormat.ref(c))"
        case .replanNow: "replan"
        }
    }
}
