import Base
import DispatchPlanning
import Edge
import Fleet
import Foundation
import Gateway
import Geo
import Messaging

// `ctl dispatch … --gateway ENDPOINT`: the same verbs over the edge protocol, as a dispatcher
// principal, through a `daybreak gateway` (a dispatcher's machine then needs no database access).
// Output and exit statuses are those of the database path (CtlDispatchRunner).

/// Where and as whom `ctl dispatch` talks to a gateway.
struct CtlEdgeTarget: Sendable {
    var endpoint: String
    var serverKey: String
    var identity: CurveKeyPair

    /// `--gateway ENDPOINT --gateway-key Z85|FILE [--identity FILE]`, else the gateway the deployment
    /// in `--data` records (unless `--database` is given: then the database path); nil: no gateway.
    /// The identity defaults to the deployment's DIR/keys/dispatcher.key.
    static func resolve(_ args: ParsedArguments) throws -> CtlEdgeTarget? {
        let dir = args.string("data", default: Deployment.defaultDataDir)
        var endpoint = args.string("gateway"), keyText = args.string("gateway-key")
        if endpoint == nil, keyText != nil { throw UsageError("--gateway-key goes with --gateway ENDPOINT") }
        if endpoint == nil {
            guard args.string("database") == nil, let d = try Deployment.read(dataDir: dir), let g = d.gateway else { return nil }
            endpoint = g.listen
            keyText = g.publicKey
        } else if keyText == nil, args.string("database") == nil, let d = try? Deployment.read(dataDir: dir), let g = d.gateway, g.listen == endpoint {
            keyText = g.publicKey
        }
        guard let endpoint, !endpoint.isEmpty else { throw UsageError("option '--gateway' needs an endpoint (tcp://HOST:PORT)") }
        guard let keyText else { throw UsageError("--gateway needs --gateway-key Z85|FILE.pub (the gateway's public key)") }
        let serverKey: String
        if (try? CurveKeyPair.validate(keyText)) != nil {
            serverKey = keyText
        } else {
            do { serverKey = try CurveKeyFile.readPublic(from: keyText) } catch {
                throw CommandFailure(message: "--gateway-key \(keyText): neither a 40-character Z85 key nor a readable public key file (\(error))",
                                     status: FileManager.default.fileExists(atPath: keyText) ? ExitStatus.dataError : ExitStatus.noInput)
            }
        }
        let file = args.string("identity") ?? Deployment.absolute(dir) + "/keys/dispatcher.key"
        guard FileManager.default.fileExists(atPath: file) else {
            throw CommandFailure(message: args.string("identity") != nil ? "--identity \(file): no such file"
                                     : "no --identity FILE (a dispatcher's secret key) and no \(file): pass --identity", status: ExitStatus.noInput)
        }
        let identity: CurveKeyPair
        do { identity = try CurveKeyFile.readSecret(from: file) } catch {
            throw CommandFailure(message: "--identity \(file): \(error)", status: ExitStatus.dataError)
        }
        return CtlEdgeTarget(endpoint: endpoint, serverKey: serverKey, identity: identity)
    }
}

/// Runs a validated invocation through a gateway and prints the outcome; returns the exit status.
struct CtlEdgeDispatchRunner: Sendable {
    let invocation: CtlDispatchInvocation
    let target: CtlEdgeTarget

    init(_ invocation: CtlDispatchInvocation, target: CtlEdgeTarget) { self.invocation = invocation; self.target = target }

    var region: String { invocation.region }

    func run() async -> Int32 {
        let context: MessagingContext
        do { context = try MessagingContext(logger: Logger(label: "ctl", level: .error)) } catch {
            printErr("\(region): internal error: \(error)")
            return ExitStatus.software
        }
        let status: Int32
        do {
            let client = try await EdgeClient.connect(target.endpoint, serverKey: target.serverKey, keyPair: target.identity, context: context)
            status = await run(client)
            await client.close()
        } catch {
            printErr("\(region): gateway \(target.endpoint) unreachable: \(error)")
            status = ExitStatus.unavailable
        }
        await context.shutdown()
        return status
    }

    /// The exit status of an edge error: the dispatcher's or the gateway's refusal (65), no answer (69), else 70.
    static func status(of e: EdgeError) -> Int32 {
        switch e.code {
        case .forbidden, .notFound, .refused, .invalid: ExitStatus.dataError
        case .unavailable, .overloaded: ExitStatus.unavailable
        default: ExitStatus.software
        }
    }

    /// An edge error as the database path prints a refusal: `ITEM: problem: message` (problem in
    /// the domain's camelCase) when the gateway names the dispatcher's problem, else `code: message`.
    static func text(of e: EdgeError) -> String {
        if let p = e.problem, let colon = e.message.range(of: ": ") {
            return "\(e.message[..<colon.lowerBound]): \(camel(p)): \(e.message[colon.upperBound...])"
        }
        return e.description
    }

    /// `out_for_delivery` → `outForDelivery`; `unknown_s_k_u` → `unknownSKU`.
    static func camel(_ snake: String) -> String {
        var out = "", upper = false
        for ch in snake {
            if ch == "_" { upper = true } else { out += upper ? ch.uppercased() : String(ch); upper = false }
        }
        return out
    }

    /// Sends one request with the invocation's deadline. Throws `EdgeError` for an error reply.
    func call<B: Encodable, R: Decodable>(_ client: EdgeClient, _ type: String, _ body: B, expect: String, _ r: R.Type) async throws -> R {
        let reply = try await client.call(type, body, timeout: invocation.timeout)
        return try reply.expect(expect, R.self)
    }

    func noAnswer(_ error: any Error) -> String {
        "gateway \(target.endpoint) unreachable: no answer within \(invocation.timeout) (\(error)); is the gateway up, and is your key admitted as a dispatcher?"
    }

    func run(_ client: EdgeClient) async -> Int32 {
        let inv = invocation
        switch inv.action {
        case .command(let command):
            let body = Self.body(command, region: region, key: inv.key, at: inv.at)
            do {
                _ = try await call(client, "dispatch.command", body, expect: "ok", OKBody.self)
            } catch let e as EdgeError {
                printErr("\(region): \(Self.text(of: e))")
                if Self.status(of: e) != ExitStatus.dataError {
                    printErr("\(region): the command may or may not have been applied; repeat it with --key \(inv.key) (it is applied at most once)")
                }
                return Self.status(of: e)
            } catch {
                printErr("\(region): \(CtlDispatchRunner.describe(command)): \(noAnswer(error))")
                printErr("\(region): the command may or may not have been applied; repeat it with --key \(inv.key) (it is applied at most once)")
                return ExitStatus.unavailable
            }
            if inv.json {
                print(JSONValue.object([("region", .string(region)), ("verb", .string(inv.verb)), ("command", .string(CtlDispatchRunner.describe(command))),
                                        ("result", .string("done")), ("key", .string(inv.key)), ("attempts", .int(1)),
                                        ("at", .int(Int(inv.at.epochSeconds)))]).rendered())
            } else {
                print("\(region): \(CtlDispatchRunner.describe(command)): done (key \(inv.key))")
            }
            return ExitStatus.ok
        case .orders(let states):
            do {
                let wire = states.map { $0.map { EdgeNames.snake($0.rawValue) }.sorted() }
                let reply = try await call(client, "dispatch.orders", DispatchOrdersBody(region: region, states: wire), expect: "dispatch.orders",
                                           DispatchOrdersReplyBody.self)
                if reply.orders.isEmpty {
                    let status = try await call(client, "dispatch.status", DispatchStatusBody(regions: [region]), expect: "dispatch.status",
                                                DispatchStatusReplyBody.self)
                    if status.regions.first(where: { $0.region == region }).map({ $0.days.isEmpty && $0.error == nil }) == true {
                        printErr("\(region): region \(region) has no open service day: no orders to list (see daybreak status)")
                        return ExitStatus.dataError
                    }
                }
                let records = try reply.orders.map { try Self.record($0, region: region) }
                print(inv.json ? CtlDispatchFormat.ordersJSONLines(records, offset: inv.offset)
                               : CtlDispatchFormat.ordersTable(records, region: region, offset: inv.offset), terminator: "")
                return ExitStatus.ok
            } catch let e as EdgeError {
                printErr("\(region): \(Self.text(of: e))")
                return Self.status(of: e)
            } catch let e as CtlWireError {
                printErr("\(region): internal error: \(e)")
                return ExitStatus.software
            } catch {
                printErr("\(region): \(noAnswer(error))")
                return ExitStatus.unavailable
            }
        case .manifest(let courier):
            do {
                let reply = try await call(client, "dispatch.manifest", DispatchManifestBody(courier: EdgeNames.text(courier), at: WireTime(inv.at)),
                                           expect: "manifest", ManifestBody.self)
                let m = try Self.manifest(reply.manifest)
                print(inv.json ? CtlDispatchFormat.manifestJSON(m, region: region, offset: inv.offset).rendered()
                               : CtlDispatchFormat.manifestTable(m, region: region, offset: inv.offset), terminator: inv.json ? "\n" : "")
                return ExitStatus.ok
            } catch let e as EdgeError where e.code == .notFound {
                printErr("\(region): courier \(CtlDispatchFormat.ref(courier)): unknownCourier: \(e.message)")
                return ExitStatus.dataError
            } catch let e as EdgeError {
                printErr("\(region): \(Self.text(of: e))")
                return Self.status(of: e)
            } catch let e as CtlWireError {
                printErr("\(region): internal error: \(e)")
                return ExitStatus.software
            } catch {
                printErr("\(region): \(noAnswer(error))")
                return ExitStatus.unavailable
            }
        }
    }

    /// The `dispatch.command` body of `command`.
    static func body(_ command: DispatcherCommand, region: String, key: String, at: Instant) -> DispatchCommandBody {
        func b(_ verb: String, order: OrderID? = nil, courier: CourierRef? = nil, reason: String? = nil) -> DispatchCommandBody {
            DispatchCommandBody(region: region, command: verb, order: order?.rawValue, courier: courier.map(EdgeNames.text), reason: reason,
                                key: key, at: WireTime(at))
        }
        return switch command {
        case .assign(let o, let c): b("assign", order: o, courier: c)
        case .reassign(let o, let c): b("reassign", order: o, courier: c)
        case .unassign(let o): b("unassign", order: o)
        case .hold(let o): b("hold", order: o)
        case .release(let o): b("release", order: o)
        case .cancel(let o, let reason): b("cancel", order: o, reason: EdgeNames.snake(reason.rawValue))
        case .lockRoute(let c): b("lock", courier: c)
        case .unlockRoute(let c): b("unlock", courier: c)
        case .replanNow: b("replan")
        }
    }

    // MARK: wire → domain (for the same formatting as the database path)

    static func value<E: RawRepresentable>(_ snake: String, _ type: E.Type, _ field: String) throws(CtlWireError) -> E where E.RawValue == String {
        guard let v = E(rawValue: camel(snake)) else { throw CtlWireError(message: "\(field): unexpected value '\(displayed(snake))'") }
        return v
    }

    static func courier(_ text: String, _ field: String) throws(CtlWireError) -> CourierRef {
        guard let c = EdgeNames.courier(text) else { throw CtlWireError(message: "\(field): not a courier '\(displayed(text))'") }
        return c
    }

    static func record(_ w: WireOrderRecord, region: String) throws(CtlWireError) -> OrderRecord {
        let product = try value(w.product, Product.self, "product")
        return OrderRecord(order: OrderID(w.order), region: RegionID(region), product: product, state: try value(w.state, OrderState.self, "state"),
                           courier: try w.courier.map { s throws(CtlWireError) in try courier(s, "courier") },
                           promise: PromiseWindow(product: product, earliest: w.window.from.instant, latest: w.window.to.instant))
    }

    static func manifest(_ w: WireManifest) throws(CtlWireError) -> Manifest {
        var stops: [ManifestStop] = []
        for s in w.stops {
            stops.append(ManifestStop(kind: try value(s.kind, ManifestStop.Kind.self, "stop kind"), orders: s.orders.map(OrderID.init),
                                      location: s.location.coordinate, site: s.site.map(SiteID.init),
                                      fromCourier: try s.fromCourier.map { x throws(CtlWireError) in try courier(x, "from_courier") },
                                      eta: s.eta.instant, notBefore: s.notBefore?.instant,
                                      window: s.window.map { PromiseWindow(product: .sameDay, earliest: $0.from.instant, latest: $0.to.instant) }))
        }
        return Manifest(courier: try courier(w.courier, "courier"), version: w.version, status: try value(w.status, Manifest.Status.self, "status"),
                        stops: stops, onBoard: w.onBoard.map(OrderID.init))
    }
}

/// A gateway's reply that does not map back to the domain (a bug on one side).
struct CtlWireError: Error, CustomStringConvertible {
    var message: String
    var description: String { "unexpected reply from the gateway: \(message)" }
}
