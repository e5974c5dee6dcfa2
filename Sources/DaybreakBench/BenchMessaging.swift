import Base
import DaybreakCLI
import CZeroMQ
import Foundation
import Messaging
import Synchronization

// Owned by the Messaging work: `daybreak bench messaging`.
let benchMessagingCommand = Command(
    name: "messaging",
    summary: "Async request-reply and fan-out over ZeroMQ beside raw blocking libzmq, and CURVE beside plaintext, same run.",
    usage: "[--rounds N] [--requests N] [--messages N] [--only WHAT] [--busy-poll-us N] [--json]",
    options: [
        .value("rounds", "N", "rounds per figure; medians are reported (default 5)"),
        .value("requests", "N", "round trips per request-reply round (default 10000)"),
        .value("messages", "N", "100-byte messages per fan-out round (default 500000)"),
        .value("only", "WHAT", "run only 'request-reply', 'fan-out' or 'curve' (default all)"),
        .value("busy-poll-us", "N", "Messaging I/O thread busy-polls N us after activity (default 0: off)"),
        .flag("json", "print one JSON line instead of the table"),
    ]
) { args in
    let rounds = try args.int("rounds", default: 5, range: 1...1_000)
    let requests = try args.int("requests", default: 10_000, range: 10...10_000_000)
    let messages = try args.int("messages", default: 500_000, range: 1_000...100_000_000)
    let busy = try args.int("busy-poll-us", default: 0, range: 0...1_000_000)
    let only = try args.choice("only", ["request-reply", "fan-out", "curve"])
    return try await MessagingBench(rounds: rounds, requests: requests, messages: messages,
                                    busyPoll: .microseconds(busy), only: only, json: args.flag("json")).run()
}

/// Runs each figure `rounds` times, alternating raw and async so drift on a noisy machine hits
/// both, and reports medians. Raw figures use blocking libzmq in plain threads (never the pool).
struct MessagingBench {
    let rounds: Int
    let requests: Int
    let messages: Int
    let busyPoll: Duration
    let only: String?
    let json: Bool
    static let payload = [UInt8](repeating: 0x61, count: 100)

    struct Latency { var p50: Double; var p99: Double }  // microseconds

    /// How the async side of a request-reply figure is set up.
    enum Variant: CaseIterable {
        case poolClient       // client task on the cooperative pool, raw server (inproc: Messaging server)
        case executorClient   // client task preferring the context's I/O-thread executor
        case bothAsync        // Messaging server too, client on the pool

        var label: String {
            switch self {
            case .poolClient: "async client"
            case .executorClient: "  client (and server) on ctx.taskExecutor"
            case .bothAsync: "  Messaging server too"
            }
        }
        var key: String {
            switch self {
            case .poolClient: "async"
            case .executorClient: "async_executor"
            case .bothAsync: "async_both"
            }
        }
    }

    func run() async throws -> Int32 {
        var raw: [String: [Latency]] = [:]
        var asy: [String: [Variant: [Latency]]] = [:]
        var fanRaw: [Double] = [], fanAsync: [Double] = []
        // CURVE beside plaintext: Messaging on both ends over tcp, same shapes, alternating.
        var plainRR: [Latency] = [], curveRR: [Latency] = []
        var plainFan: [Double] = [], curveFan: [Double] = []
        let transports = only == nil || only == "request-reply" ? ["tcp", "inproc"] : []
        let fanOutRounds = only == nil || only == "fan-out" ? rounds : 0
        let curveRounds = only == nil || only == "curve" ? rounds : 0
        for transport in transports {
            for r in 0..<rounds {
                printErr("bench messaging: request-reply \(transport) round \(r + 1)/\(rounds)")
                raw[transport, default: []].append(try await rawRequestReply(transport))
                for v in Variant.allCases {
                    asy[transport, default: [:]][v, default: []].append(try await asyncRequestReply(transport, v))
                }
            }
        }
        for r in 0..<fanOutRounds {
            printErr("bench messaging: fan-out tcp round \(r + 1)/\(rounds)")
            fanRaw.append(try await rawFanOut())
            fanAsync.append(try await asyncFanOut())
        }
        for r in 0..<curveRounds {
            printErr("bench messaging: CURVE beside plaintext, tcp, round \(r + 1)/\(rounds)")
            plainRR.append(try await asyncRequestReply("tcp", .bothAsync))
            curveRR.append(try await asyncRequestReply("tcp", .bothAsync, curve: true))
            plainFan.append(try await asyncFanOut())
            curveFan.append(try await asyncFanOut(curve: true))
        }

        func med(_ xs: [Double]) -> Double {
            let s = xs.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        func medLatency(_ ls: [Latency]) -> Latency { Latency(p50: med(ls.map(\.p50)), p99: med(ls.map(\.p99))) }
        let fanR = fanRaw.isEmpty ? .nan : med(fanRaw), fanA = fanAsync.isEmpty ? .nan : med(fanAsync)

        if json {
            var fields: [(String, JSONValue)] = [
                ("benchmark", "messaging"), ("rounds", .int(rounds)), ("requests", .int(requests)),
                ("messages", .int(messages)), ("payload_bytes", .int(Self.payload.count)),
                ("busy_poll_us", .int(Int(busyPoll.components.seconds * 1_000_000 + busyPoll.components.attoseconds / 1_000_000_000_000))),
            ]
            for t in transports {
                let r = medLatency(raw[t]!)
                fields.append(("rr_\(t)_raw_p50_us", .double(r.p50)))
                fields.append(("rr_\(t)_raw_p99_us", .double(r.p99)))
                for v in Variant.allCases {
                    let l = medLatency(asy[t]![v]!)
                    fields.append(("rr_\(t)_\(v.key)_p50_us", .double(l.p50)))
                    fields.append(("rr_\(t)_\(v.key)_p99_us", .double(l.p99)))
                    fields.append(("rr_\(t)_\(v.key)_p50_ratio", .double(l.p50 / r.p50)))
                }
            }
            fields.append(("fanout_tcp_raw_msgs_per_s", .double(fanR)))
            fields.append(("fanout_tcp_async_msgs_per_s", .double(fanA)))
            fields.append(("fanout_ratio", .double(fanA / fanR)))
            if curveRounds > 0 {
                let p = medLatency(plainRR), c = medLatency(curveRR)
                let pf = med(plainFan), cf = med(curveFan)
                fields.append(("plain_request_p50_us", .double(p.p50)))
                fields.append(("plain_request_p99_us", .double(p.p99)))
                fields.append(("curve_request_p50_us", .double(c.p50)))
                fields.append(("curve_request_p99_us", .double(c.p99)))
                fields.append(("curve_request_p50_ratio", .double(c.p50 / p.p50)))
                fields.append(("plain_events_per_s", .double(pf)))
                fields.append(("curve_events_per_s", .double(cf)))
                fields.append(("curve_events_ratio", .double(cf / pf)))
            }
            print(JSONValue.object(fields).rendered())
        } else {
            func f(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
            func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
            print("daybreak bench messaging: \(rounds) rounds, medians; \(requests) round trips/round, "
                  + "\(messages) messages/round, \(Self.payload.count)-byte payloads, busy poll \(busyPoll)")
            print(pad("figure", 46) + pad("raw libzmq", 18) + pad("async Messaging", 18) + "ratio (p50)")
            for t in transports {
                let r = medLatency(raw[t]!)
                print("request-reply \(t), p50 / p99 in us")
                for v in Variant.allCases {
                    let l = medLatency(asy[t]![v]!)
                    print(pad("  " + v.label, 46) + pad("\(f(r.p50)) / \(f(r.p99))", 18)
                          + pad("\(f(l.p50)) / \(f(l.p99))", 18) + f(l.p50 / r.p50, 2) + "x")
                }
            }
            if !fanRaw.isEmpty { print(pad("fan-out tcp, 1 subscriber, msgs/s", 46) + pad(f(fanR, 0), 18) + pad(f(fanA, 0), 18)
                  + f(fanA / fanR, 2) + "x") }
            if curveRounds > 0 {
                let p = medLatency(plainRR), c = medLatency(curveRR)
                let pf = med(plainFan), cf = med(curveFan)
                print(pad("CURVE, tcp, Messaging on both ends", 46) + pad("plaintext", 18) + pad("CURVE", 18) + "ratio")
                print(pad("  request-reply p50 / p99 in us", 46) + pad("\(f(p.p50)) / \(f(p.p99))", 18)
                      + pad("\(f(c.p50)) / \(f(c.p99))", 18) + f(c.p50 / p.p50, 2) + "x")
                print(pad("  fan-out, 1 subscriber, msgs/s", 46) + pad(f(pf, 0), 18) + pad(f(cf, 0), 18)
                      + f(cf / pf, 2) + "x")
            }
        }
        return ExitStatus.ok
    }

    static func percentiles(_ ns: [UInt64]) -> Latency {
        let s = ns.sorted()
        func at(_ q: Double) -> Double { Double(s[min(s.count - 1, Int(Double(s.count) * q))]) / 1_000 }
        return Latency(p50: at(0.50), p99: at(0.99))
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    // MARK: - Raw libzmq in plain threads

    /// A blocking ROUTER echo: forwards every frame back as it arrives. Runs until the context shuts down.
    static func rawEchoServer(_ ctx: ContextBox, _ endpoint: String) -> (RawThread, String) {
        let ready = BenchLatch<String>()
        let t = BenchThread.start {
            let s = zmq_socket(ctx.raw, ZMQ_ROUTER)!
            var zero: Int32 = 0
            zmq_setsockopt(s, ZMQ_LINGER, &zero, 4)
            zmq_bind(s, endpoint)
            var buf = [CChar](repeating: 0, count: 256)
            var len = buf.count
            zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, &buf, &len)
            ready.set(buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
            var msg = zmq_msg_t()
            zmq_msg_init(&msg)
            while zmq_msg_recv(&msg, s, 0) >= 0 {
                let more = zmq_msg_more(&msg) != 0
                if zmq_msg_send(&msg, s, more ? ZMQ_SNDMORE : 0) < 0 { break }
            }
            zmq_msg_close(&msg)
            zmq_close(s)
        }
        return (t, ready.wait())
    }

    func rawRequestReply(_ transport: String) async throws -> Latency {
        let n = requests
        return await BenchThread.run { Self.rawRequestReplyBlocking(transport, n) }
    }

    /// The raw reference client: a blocking DEALER sending `n` (+ warm-up) two-frame requests
    /// (8-byte correlation id, 100-byte payload) and timing each round trip in nanoseconds.
    /// Used by `bench messaging` and `bench cluster` so both compare against the same loop.
    static func rawDealerRoundTrips(_ ctx: ContextBox, _ endpoint: String, _ n: Int) -> [UInt64] {
        let s = zmq_socket(ctx.raw, ZMQ_DEALER)!
        var zero: Int32 = 0
        zmq_setsockopt(s, ZMQ_LINGER, &zero, 4)
        zmq_connect(s, endpoint)
        var out: [UInt64] = []
        out.reserveCapacity(n)
        var buf = [UInt8](repeating: 0, count: 256)
        let warm = min(1_000, n / 10)
        for i in 0..<(n + warm) {
            var id = UInt64(i)
            let t0 = now()
            zmq_send(s, &id, 8, ZMQ_SNDMORE)
            _ = payload.withUnsafeBytes { zmq_send(s, $0.baseAddress, $0.count, 0) }
            zmq_recv(s, &buf, 256, 0)
            zmq_recv(s, &buf, 256, 0)
            if i >= warm { out.append(now() - t0) }
        }
        zmq_close(s)
        return out
    }

    static func rawRequestReplyBlocking(_ transport: String, _ n: Int) -> Latency {
        let ctx = ContextBox()
        let (server, endpoint) = Self.rawEchoServer(ctx, transport == "tcp" ? "tcp://127.0.0.1:*" : "inproc://raw-echo")
        let lat = Self.rawDealerRoundTrips(ctx, endpoint, n)
        ctx.shutdownAndTerm(joining: [server])
        return Self.percentiles(lat)
    }

    /// Raw fan-out: an XPUB with NODROP sending with blocking sends (so nothing is dropped),
    /// one SUB thread counting. Returns messages/s from the first send to the last receive.
    func rawFanOut() async throws -> Double {
        let n = messages
        return await BenchThread.run { Self.rawFanOutBlocking(n) }
    }

    static func rawFanOutBlocking(_ n: Int) -> Double {
        let ctx = ContextBox()
        let ready = BenchLatch<String>()
        let subReady = BenchLatch<Bool>()
        let done = BenchLatch<UInt64>()
        let pub = BenchThread.start {
            let s = zmq_socket(ctx.raw, ZMQ_XPUB)!
            var one: Int32 = 1, zero: Int32 = 0
            zmq_setsockopt(s, ZMQ_LINGER, &zero, 4)
            zmq_setsockopt(s, ZMQ_XPUB_NODROP, &one, 4)
            zmq_bind(s, "tcp://127.0.0.1:*")
            var buf = [CChar](repeating: 0, count: 256)
            var len = buf.count
            zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, &buf, &len)
            ready.set(buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
            var sub = [UInt8](repeating: 0, count: 16)
            zmq_recv(s, &sub, 16, 0)  // the subscription frame: the subscriber is connected
            subReady.set(true)
            Self.payload.withUnsafeBytes { p in
                for _ in 0..<n { zmq_send(s, p.baseAddress, p.count, 0) }
            }
            _ = done.wait()
            zmq_close(s)
        }
        let endpoint = ready.wait()
        let sub = BenchThread.start {
            let s = zmq_socket(ctx.raw, ZMQ_SUB)!
            var zero: Int32 = 0
            zmq_setsockopt(s, ZMQ_LINGER, &zero, 4)
            zmq_setsockopt(s, ZMQ_SUBSCRIBE, nil, 0)
            zmq_connect(s, endpoint)
            var buf = [UInt8](repeating: 0, count: 256)
            var got = 0
            var t0: UInt64 = 0
            while got < n {
                if zmq_recv(s, &buf, 256, 0) < 0 { break }
                if got == 0 { t0 = Self.now() }
                got += 1
            }
            done.set(Self.now() - t0)
            zmq_close(s)
        }
        _ = subReady.wait()
        let ns = done.wait()
        ctx.shutdownAndTerm(joining: [pub, sub])
        return Double(n - 1) / (Double(ns) / 1e9)
    }

    // MARK: - Async Messaging

    /// `curve`: the Messaging server serves CURVE and the client presents a key the context's
    /// authority (an in-memory table) accepts; every request is then re-checked against it too.
    func asyncRequestReply(_ transport: String, _ variant: Variant, curve: Bool = false) async throws -> Latency {
        let asyncServer = variant == .bothAsync
        let n = requests
        let id = UInt64.random(in: 0..<UInt64.max)
        let keys = curve ? try BenchCurve() : nil
        return try await withMessagingContext(logger: .disabled, busyPoll: busyPoll, curveAuthority: keys?.table) { ctx in
            var rawCtx: ContextBox? = nil
            var rawServer: RawThread? = nil
            let endpoint: String
            var server: RequestServer? = nil
            if asyncServer || transport == "inproc" {
                // inproc needs the same context, so the inproc server is always a Messaging server.
                let s = try await ctx.bindServer(transport == "tcp" ? "tcp://127.0.0.1:*" : "inproc://async-echo-\(id)",
                                                 options: keys?.serverOptions(SocketOptions()) ?? SocketOptions())
                server = s
                endpoint = s.endpoint
            } else {
                let c = ContextBox()
                let (t, ep) = await BenchThread.run { Self.rawEchoServer(c, "tcp://127.0.0.1:*") }
                rawCtx = c
                rawServer = t
                endpoint = ep
            }
            let lat = try await withThrowingTaskGroup(of: [UInt64].self) { group in
                if let s = server {
                    // With the client on the I/O executor, the server loop runs there as well.
                    let pref: (any TaskExecutor)? = variant == .executorClient ? ctx.taskExecutor : nil
                    group.addTask(executorPreference: pref) { try await s.serve { $0.message }; return [] }
                }
                let client = try await ctx.connectClient(endpoint, options: keys?.clientOptions(SocketOptions()) ?? SocketOptions())
                let measure = { @Sendable () async throws -> [UInt64] in
                    let m = Message(Self.payload)
                    var out: [UInt64] = []
                    out.reserveCapacity(n)
                    let warm = min(1_000, n / 10)
                    for i in 0..<(n + warm) {
                        let t0 = Self.now()
                        _ = try await client.request(m, timeout: .seconds(5))
                        if i >= warm { out.append(Self.now() - t0) }
                    }
                    return out
                }
                let out = variant == .executorClient
                    ? try await withTaskExecutorPreference(ctx.taskExecutor) { try await measure() }
                    : try await measure()
                await server?.close()
                try await group.waitForAll()
                return out
            }
            if let c = rawCtx, let t = rawServer {
                await BenchThread.run { c.shutdownAndTerm(joining: [t]) }
            }
            return Self.percentiles(lat)
        }
    }

    /// Messages/s from the first to the last received. The publisher keeps back pressure
    /// (`.backpressure`, as the raw XPUB keeps NODROP): every message counts, none is dropped.
    /// `curve`: CURVE publisher and subscriber, the subscriber's key accepted by the authority.
    func asyncFanOut(curve: Bool = false) async throws -> Double {
        let n = messages
        let keys = curve ? try BenchCurve() : nil
        var pubOptions = SocketOptions.bulk
        pubOptions.slowSubscribers = .backpressure
        // Publisher and subscriber in separate contexts (two I/O threads), as the raw side uses
        // two threads, and as two nodes would.
        return try await withMessagingContext(logger: .disabled, busyPoll: busyPoll, curveAuthority: keys?.table) { ctx in
          try await withMessagingContext(logger: .disabled, busyPoll: busyPoll) { subCtx in
            let pub = try await ctx.bindPublisher("tcp://127.0.0.1:*", options: keys?.serverOptions(pubOptions) ?? pubOptions)
            let sub = try await subCtx.connectSubscriber(pub.endpoint, topics: [[]],
                                                         options: keys?.clientOptions(.bulk) ?? .bulk)
            try await pub.waitForSubscribers(1, timeout: .seconds(5))
            let batch = (0..<1_000).map { _ in Message(Self.payload) }
            return try await withThrowingTaskGroup(of: UInt64.self) { group in
                group.addTask {
                    var got = 0
                    var t0: UInt64 = 0
                    for await b in sub.messages {
                        if got == 0 { t0 = Self.now() }
                        got += b.count
                        if got >= n { break }
                    }
                    return Self.now() - t0
                }
                var sent = 0
                while sent < n {
                    let k = min(batch.count, n - sent)
                    do {
                        try pub.publish(contentsOf: k == batch.count ? batch : Array(batch[0..<k]))
                        sent += k
                    } catch let e as MessagingError where e.code == .outboxFull {
                        try await pub.waitForOutboxSpace(batch.count)
                    }
                }
                let ns = try await group.next()!
                return Double(n - 1) / (Double(ns) / 1e9)
            }
          }
        }
    }

    /// Fresh keys for one CURVE figure and the table that accepts the client's.
    struct BenchCurve {
        let server: CurveKeyPair
        let client: CurveKeyPair
        let table: CurveKeyTable

        init() throws {
            server = try CurveKeyPair.generate()
            client = try CurveKeyPair.generate()
            table = try CurveKeyTable([client.publicKey: CurveIdentity(userID: "bench:client", role: "bench")])
        }

        func serverOptions(_ base: SocketOptions) throws -> SocketOptions {
            var o = base
            o.curveServer = try CurveServer(keyPair: server, domain: "bench")
            return o
        }

        func clientOptions(_ base: SocketOptions) throws -> SocketOptions {
            var o = base
            o.curveClient = try CurveClient(serverPublicKey: server.publicKey, keyPair: client)
            return o
        }
    }

    // MARK: - Small thread tools for the raw side

    /// A zmq context for the raw figures. libzmq contexts are thread-safe; the pointer is only read.
    struct ContextBox: @unchecked Sendable {
        let raw: UnsafeMutableRawPointer
        init() { raw = zmq_ctx_new()! }
        /// Unblocks every blocking call (ETERM), joins the threads, terminates.
        func shutdownAndTerm(joining threads: [RawThread]) {
            zmq_ctx_shutdown(raw)
            for t in threads { t.join() }
            zmq_ctx_term(raw)
        }
    }

    /// A value set once by one thread and waited for by another (plain threads only).
    final class BenchLatch<T: Sendable>: Sendable {
        private let state = Mutex<T?>(nil)
        private let cond = NSCondition()
        func set(_ v: T) {
            cond.lock()
            state.withLock { $0 = v }
            cond.broadcast()
            cond.unlock()
        }
        func wait() -> T {
            cond.lock()
            defer { cond.unlock() }
            while true {
                if let v = state.withLock({ $0 }) { return v }
                cond.wait()
            }
        }
    }

    /// A started pthread that can be joined.
    struct RawThread: Sendable {
        let id: pthread_t
        func join() { pthread_join(id, nil) }
    }

    enum BenchThread {
        private final class Box { let body: () -> Void; init(_ b: @escaping () -> Void) { body = b } }

        static func start(_ body: @escaping @Sendable () -> Void) -> RawThread {
            var tid = pthread_t()
            let box = Unmanaged.passRetained(Box(body)).toOpaque()
            pthread_create(&tid, nil, { raw in
                Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
                return nil
            }, box)
            return RawThread(id: tid)
        }

        /// Runs `body` on a new plain thread and awaits its result without blocking the pool.
        static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
            let result = await withUnsafeContinuation { (k: UnsafeContinuation<(T, RawThread), Never>) in
                let me = BenchLatch<RawThread>()
                let t = start {
                    let v = body()
                    k.resume(returning: (v, me.wait()))  // the starter sets it right after pthread_create
                }
                me.set(t)
            }
            result.1.join()  // the thread has finished its body; this only reaps it
            return result.0
        }
    }
}
