import Base
import DaybreakCLI
import Cluster
import CZeroMQ
import Distributed
import Foundation
import Messaging

// `daybreak bench cluster`: distributed-actor calls and events between two node PROCESSES,
// beside raw libzmq DEALER/ROUTER echo to the same child process, in the same run.
let benchClusterCommand = Command(
    name: "cluster",
    summary: "Distributed-actor call round trip and event throughput between two processes, beside raw ZeroMQ.",
    usage: "[--rounds N] [--calls N] [--events N] [--json]",
    options: [
        .value("rounds", "N", "rounds per figure; medians are reported (default 5)"),
        .value("calls", "N", "round trips per call round (default 10000)"),
        .value("events", "N", "events per throughput round (default 500000)"),
        .flag("json", "print one JSON line instead of the table"),
        .flag("serve", "(internal) be the benchmark's second node: print endpoints, serve until stopped"),
        .value("client-key", "KEY", "(internal, with --serve) the measuring process's CURVE public key"),
        .flag("codec", "only measure the per-event CPU cost of encoding and decoding, in one thread"),
    ]
) { args in
    if args.flag("serve") { return try await ClusterBench.serve(clientKey: args.string("client-key")) }
    if args.flag("codec") { return ClusterBench.codecCost(try args.int("events", default: 500_000, range: 1_000...100_000_000)) }
    let bench = ClusterBench(rounds: try args.int("rounds", default: 5, range: 1...1_000),
                             calls: try args.int("calls", default: 10_000, range: 10...10_000_000),
                             events: try args.int("events", default: 500_000, range: 1_000...100_000_000),
                             json: args.flag("json"))
    return try await bench.run()
}

/// A small event like a vehicle position update (≈ 40 bytes encoded).
struct BenchEvent: Codable, Sendable {
    var seq: Int
    var vehicle: String
    var lat: Double
    var lon: Double
}

/// Ends the serving process when its parent says so.
final class BenchStop: Sendable {
    let stream: AsyncStream<Void>
    let continuation: AsyncStream<Void>.Continuation
    init() { (stream, continuation) = AsyncStream.makeStream(of: Void.self) }
}

distributed actor BenchEcho {
    typealias ActorSystem = ClusterActorSystem
    let stop: BenchStop

    init(actorSystem: ActorSystem, stop: BenchStop) {
        self.actorSystem = actorSystem
        self.stop = stop
    }

    distributed func echo(_ bytes: [UInt8]) -> [UInt8] { bytes }

    /// Publishes `count` events on `topic` in batches once `subscribers` subscriptions arrived;
    /// returns the nanoseconds spent publishing.
    distributed func publish(topic: String, count: Int, batch: Int, subscribers: Int) async throws -> UInt64 {
        try await actorSystem.waitForSubscribers(subscribers, topic: topic, timeout: .seconds(10))
        let events = (0..<batch).map { BenchEvent(seq: $0, vehicle: "V-\(1000 + $0 % 100)", lat: 37.5 + Double($0) * 1e-6, lon: 127.0) }
        var sent = 0
        let t0 = MessagingBench.now()
        while sent < count {
            let k = min(batch, count - sent)
            do {
                try actorSystem.publish(topic: topic, events: k == batch ? events : Array(events[..<k]))
                sent += k
            } catch let e as ClusterCallError where e.code == .outboxFull {
                try await actorSystem.waitForEventOutboxSpace(batch)
            }
        }
        return MessagingBench.now() - t0
    }

    distributed func shutdown() { stop.continuation.finish() }

    static let id = ActorIdentity(kind: "bench-echo", key: "1", region: "bench")
    /// The same echo on the child's CURVE node.
    static let secureID = ActorIdentity(kind: "bench-echo", key: "1", region: "bench-secure")

    static func register(on system: ClusterActorSystem) async throws {
        let p = try BenchEcho.resolve(id: ActorIdentity(kind: "manifest", key: "-", region: "-"), using: system)
        try await system.register("BenchEcho.echo", on: p) { _ = try await $0.echo([]) }
        try await system.register("BenchEcho.publish", on: p) { _ = try await $0.publish(topic: "", count: 0, batch: 0, subscribers: 0) }
        try await system.register("BenchEcho.shutdown", on: p) { try await $0.shutdown() }
    }
}

struct ClusterBench {
    let rounds: Int
    let calls: Int
    let events: Int
    let json: Bool
    typealias Latency = MessagingBench.Latency
    static let payload = [UInt8](repeating: 0x61, count: 100)
    static let topic = "bench-events"

    /// CPU per event, one thread: what `publish` does (payload + envelope encode) and what a
    /// subscriber does (envelope decode + payload decode). Separates cost from scheduling noise.
    static func codecCost(_ n: Int) -> Int32 {
        let codec = WireCodec()
        let source = ActorIdentity(kind: "node", key: "bench-server", region: "node:bench-server")
        var frames: [[UInt8]] = []
        frames.reserveCapacity(n)
        let t0 = MessagingBench.now()
        for i in 0..<n {
            let e = BenchEvent(seq: i, vehicle: "V-\(1000 + i % 100)", lat: 37.5, lon: 127.0)
            let payload = try! BinaryEncoder().encode(e)
            frames.append(try! codec.encode(.event(EventMessage(correlation: UInt64(i), deadlineMillis: .max, actor: source,
                                                                target: "bench-events", payload: payload))))
        }
        let t1 = MessagingBench.now()
        var sum = 0
        for f in frames {
            guard case .event(let m) = try! codec.decode(f) else { fatalError() }
            sum &+= try! BinaryDecoder().decode(BenchEvent.self, from: m.payload).seq
        }
        let t2 = MessagingBench.now()
        var envelopeOnly = 0
        for f in frames { if case .event(let m) = try! codec.decode(f) { envelopeOnly &+= m.payload.count } }
        let t3 = MessagingBench.now()
        func per(_ ns: UInt64) -> String { String(format: "%.2f", Double(ns) / Double(n) / 1000) }
        print("per event (\(frames.first?.count ?? 0)-byte frame), one thread: encode \(per(t1 - t0)) us, "
              + "decode \(per(t2 - t1)) us (envelope alone \(per(t3 - t2)) us); checksum \(sum &+ envelopeOnly)")
        return ExitStatus.ok
    }

    // MARK: - The second process

    static func serve(clientKey: String?) async throws -> Int32 {
        let ctx = try MessagingContext(logger: .disabled)
        // The same node again with CURVE: its own context (ZAP authority: the parent's key, role node).
        let secureKeys = try CurveKeyPair.generate()
        let table = try CurveKeyTable(clientKey.map { [$0: try CurveIdentity(userID: "node:bench-client", role: "node")] } ?? [:])
        let sctx = try MessagingContext(logger: .disabled, curveAuthority: table)
        var sconfig = ClusterActorSystem.Configuration(nodeID: "bench-secure")
        sconfig.serveOnIOThread = true
        sconfig.curve = secureKeys
        let sownership = StaticRegionOwnership(localNodeID: "bench-secure")
        let ssystem = try await ClusterActorSystem(context: sctx, configuration: sconfig, ownership: sownership, logger: .disabled)
        sownership.assign("bench-secure", to: ssystem.address)
        try await BenchEcho.register(on: ssystem)
        var config = ClusterActorSystem.Configuration(nodeID: "bench-server")
        config.serveOnIOThread = true   // the echo actor is thin glue: no thread hops on the callee
        let ownership = StaticRegionOwnership(localNodeID: "bench-server")
        let system = try await ClusterActorSystem(context: ctx, configuration: config, ownership: ownership, logger: .disabled)
        ownership.assign("bench", to: system.address)
        try await BenchEcho.register(on: system)
        let stop = BenchStop()
        let echo = system.withIdentity(BenchEcho.id) { BenchEcho(actorSystem: system, stop: stop) }
        let secureEcho = ssystem.withIdentity(BenchEcho.secureID) { BenchEcho(actorSystem: ssystem, stop: stop) }
        let rawCtx = MessagingBench.ContextBox()
        let (rawThread, rawEndpoint) = await MessagingBench.BenchThread.run { MessagingBench.rawEchoServer(rawCtx, "tcp://127.0.0.1:*") }
        // Unbuffered: the parent waits for this line.
        FileHandle.standardOutput.write(Data(("READY \(system.address.endpoint) \(system.address.eventEndpoint ?? "-") \(rawEndpoint) "
                                              + "\(ssystem.address.endpoint) \(ssystem.address.eventEndpoint ?? "-") \(secureKeys.publicKey)\n").utf8))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await system.run() }
            group.addTask { await ssystem.run() }
            group.addTask {
                // Stop on the parent's word, or after 15 minutes if it vanished.
                await withTaskGroup(of: Void.self) { g in
                    g.addTask { for await _ in stop.stream {} }
                    g.addTask { try? await Task.sleep(for: .seconds(900)) }
                    await g.next()
                    g.cancelAll()
                }
                await system.shutdown(drainFor: .milliseconds(500))   // lets the stop call's reply out
                await ssystem.shutdown(drainFor: .milliseconds(100))
            }
        }
        _ = echo
        _ = secureEcho
        await ctx.shutdown()
        await sctx.shutdown()
        await MessagingBench.BenchThread.run { rawCtx.shutdownAndTerm(joining: [rawThread]) }
        return ExitStatus.ok
    }

    // MARK: - The measuring process

    func run() async throws -> Int32 {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        let clientKeys = try CurveKeyPair.generate()
        child.arguments = ["bench", "cluster", "--serve", "--client-key", clientKeys.publicKey]
        let out = Pipe()
        child.standardOutput = out
        try child.run()
        let handle = out.fileHandleForReading
        let line = await MessagingBench.BenchThread.run { () -> String in
            var bytes: [UInt8] = []
            while true {
                let d = handle.readData(ofLength: 1)
                if d.isEmpty || d[d.startIndex] == 0x0A { break }
                bytes.append(d[d.startIndex])
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        let parts = line.split(separator: " ").map(String.init)
        guard parts.count == 7, parts[0] == "READY" else {
            child.terminate()
            printErr("bench cluster: the serving process did not start (\(line))")
            return ExitStatus.software
        }
        let server = NodeAddress(id: "bench-server", endpoint: parts[1], eventEndpoint: parts[2])
        let rawEndpoint = parts[3]
        let secureServer = NodeAddress(id: "bench-secure", endpoint: parts[4], eventEndpoint: parts[5], publicKey: parts[6])
        // The CURVE client: its own context (its unused call port admits no one).
        let sctx = try MessagingContext(logger: .disabled, curveAuthority: try CurveKeyTable())
        var sconfig = ClusterActorSystem.Configuration(nodeID: "bench-client-secure")
        sconfig.curve = clientKeys
        let ssystem = try await ClusterActorSystem(context: sctx, configuration: sconfig,
                                                   ownership: StaticRegionOwnership(localNodeID: "bench-client-secure", owners: ["bench-secure": secureServer]),
                                                   logger: .disabled)
        try await BenchEcho.register(on: ssystem)
        try await ssystem.connect(to: secureServer)

        let ctx = try MessagingContext(logger: .disabled)
        let ownership = StaticRegionOwnership(localNodeID: "bench-client", owners: ["bench": server])
        let system = try await ClusterActorSystem(context: ctx, configuration: .init(nodeID: "bench-client"),
                                                  ownership: ownership, logger: .disabled)
        try await BenchEcho.register(on: system)
        try await system.connect(to: server)
        let result: Int32 = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await system.run() }
            group.addTask { await ssystem.run() }
            defer { group.cancelAll() }
            let proxy = try BenchEcho.resolve(id: BenchEcho.id, using: system)
            let secureProxy = try BenchEcho.resolve(id: BenchEcho.secureID, using: ssystem)
            var raw: [Latency] = [], onExecutor: [Latency] = [], onPool: [Latency] = [], rates: [Double] = [], pubRates: [Double] = []
            var curveCalls: [Latency] = [], curveRates: [Double] = []
            let n = calls
            for r in 0..<rounds {
                printErr("bench cluster: round \(r + 1)/\(rounds)")
                raw.append(await MessagingBench.BenchThread.run { Self.rawClient(rawEndpoint, n) })
                onExecutor.append(try await withTaskExecutorPreference(system.taskExecutor) { try await Self.measure(proxy, n) })
                onPool.append(try await Self.measure(proxy, n))
                let (received, published) = try await measureEvents(system, proxy)
                rates.append(received)
                pubRates.append(published)
                curveCalls.append(try await withTaskExecutorPreference(ssystem.taskExecutor) { try await Self.measure(secureProxy, n) })
                curveRates.append(try await measureEvents(ssystem, secureProxy).received)
            }
            // The child closes its sockets as soon as it is told, so this reply may never come.
            try? await ClusterCall.$timeout.withValue(.seconds(1)) { try await proxy.shutdown() }
            report(raw: raw, executor: onExecutor, pool: onPool, rates: rates, pubRates: pubRates, curve: curveCalls, curveRates: curveRates)
            return ExitStatus.ok
        }
        await system.shutdown()
        await ssystem.shutdown()
        await ctx.shutdown()
        await sctx.shutdown()
        await MessagingBench.BenchThread.run {
            for _ in 0..<500 where child.isRunning { usleep(10_000) }   // up to 5 s, on a plain thread
            if child.isRunning { child.terminate() }
            child.waitUntilExit()
        }
        return result
    }

    static func measure(_ proxy: BenchEcho, _ n: Int) async throws -> Latency {
        var out: [UInt64] = []
        out.reserveCapacity(n)
        let warm = min(1_000, n / 10)
        for i in 0..<(n + warm) {
            let t0 = MessagingBench.now()
            _ = try await proxy.echo(payload)
            if i >= warm { out.append(MessagingBench.now() - t0) }
        }
        return MessagingBench.percentiles(out)
    }

    /// One-way events from the child to this process: the child publishes in batches of 1,000 once
    /// our subscription reached it; we time the first to the last arrival.
    func measureEvents(_ system: ClusterActorSystem, _ proxy: BenchEcho) async throws -> (received: Double, published: Double) {
        let stream = try await system.subscribe(topic: Self.topic, as: BenchEvent.self)
        let n = events
        return try await withThrowingTaskGroup(of: Double.self) { group -> (received: Double, published: Double) in
            group.addTask {
                var got = 0
                var t0: UInt64 = 0
                for await _ in stream {
                    if got == 0 { t0 = MessagingBench.now() }
                    got += 1
                    if got == n { break }
                }
                return Double(n - 1) / (Double(MessagingBench.now() - t0) / 1e9)
            }
            let ns = try await ClusterCall.$timeout.withValue(.seconds(120)) {
                try await proxy.publish(topic: Self.topic, count: n, batch: 1_000, subscribers: 1)
            }
            let rate = try await group.next()!
            return (rate, Double(n) / (Double(ns) / 1e9))
        }
    }

    /// A blocking DEALER against the child's raw ROUTER echo: the same two-frame envelope as Messaging.
    static func rawClient(_ endpoint: String, _ n: Int) -> Latency {
        let ctx = MessagingBench.ContextBox()
        let out = MessagingBench.rawDealerRoundTrips(ctx, endpoint, n)
        ctx.shutdownAndTerm(joining: [])
        return MessagingBench.percentiles(out)
    }

    func report(raw: [Latency], executor: [Latency], pool: [Latency], rates: [Double], pubRates: [Double], curve: [Latency], curveRates: [Double]) {
        func med(_ xs: [Double]) -> Double {
            let s = xs.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        func m(_ ls: [Latency]) -> Latency { Latency(p50: med(ls.map(\.p50)), p99: med(ls.map(\.p99))) }
        let r = m(raw), e = m(executor), p = m(pool), rate = med(rates), pubRate = med(pubRates), c = m(curve), cRate = med(curveRates)
        if json {
            let fields: [(String, JSONValue)] = [
                ("benchmark", "cluster"), ("rounds", .int(rounds)), ("calls", .int(calls)), ("events", .int(events)),
                ("payload_bytes", .int(Self.payload.count)),
                ("call_p50_us", .double(e.p50)), ("call_p99_us", .double(e.p99)),
                ("call_pool_p50_us", .double(p.p50)), ("call_pool_p99_us", .double(p.p99)),
                ("raw_p50_us", .double(r.p50)), ("raw_p99_us", .double(r.p99)),
                ("call_p50_ratio", .double(e.p50 / r.p50)), ("call_pool_p50_ratio", .double(p.p50 / r.p50)),
                ("events_per_s", .double(rate)), ("events_published_per_s", .double(pubRate)),
                ("curve_call_p50_us", .double(c.p50)), ("curve_call_p99_us", .double(c.p99)), ("curve_call_p50_vs_plain", .double(c.p50 / e.p50)),
                ("curve_events_per_s", .double(cRate)),
            ]
            print(JSONValue.object(fields).rendered())
        } else {
            func f(_ x: Double, _ d: Int = 1) -> String { String(format: "%.\(d)f", x) }
            func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
            print("daybreak bench cluster: 2 processes over tcp, \(rounds) rounds, medians; \(calls) calls/round "
                  + "(\(Self.payload.count)-byte argument), \(events) events/round")
            print(pad("figure", 52) + pad("p50 / p99 us", 18) + "p50 vs raw")
            print(pad("raw libzmq DEALER->ROUTER echo (blocking threads)", 52) + pad("\(f(r.p50)) / \(f(r.p99))", 18) + "1.00x")
            print(pad("actor call, caller on ctx.taskExecutor", 52) + pad("\(f(e.p50)) / \(f(e.p99))", 18) + f(e.p50 / r.p50, 2) + "x")
            print(pad("actor call, caller on the cooperative pool", 52) + pad("\(f(p.p50)) / \(f(p.p99))", 18) + f(p.p50 / r.p50, 2) + "x")
            print(pad("events child -> parent (batches of 1000), events/s", 52) + f(rate, 0))
            print(pad("  publisher side (encode + send), events/s", 52) + f(pubRate, 0))
            print(pad("actor call over CURVE, caller on ctx.taskExecutor", 52) + pad("\(f(c.p50)) / \(f(c.p99))", 18) + f(c.p50 / r.p50, 2)
                  + "x (\(f(c.p50 / e.p50, 2))x plaintext)")
            print(pad("events child -> parent over CURVE, events/s", 52) + f(cRate, 0))
        }
    }
}
