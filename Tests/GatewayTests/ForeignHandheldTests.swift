import Base
import DispatchPlanning
import Edge
import Fleet
import Foundation
import Gateway
import Geo
import Messaging
import Testing

/// A handheld written in another language (Tools/clients/handheld.py: Python and pyzmq, nothing of
/// Daybreak's) does a courier's work through two real gateways over CURVE: shift, manifest, scan,
/// pickup, an offline stretch queued on disk, replay through the other gateway exactly once, a
/// deliberate second replay (all duplicates), and refusals for another courier's parcel. The Swift
/// side then checks what the deployment recorded.
@Suite(.serialized) struct ForeignHandheldTests {
    typealias D = EdgeDeployment

    static func sameDay(_ id: String, _ lat: Double, _ lon: Double) -> WireOrder {
        WireOrder(id: id, product: "same_day", destination: WirePosition(lat: lat, lon: lon), lines: [WireLine(sku: "grocery-ambient", quantity: 1)])
    }

    /// Another courier of the same fleet: `vehicle:gangnam-day-van-001` → `vehicle:gangnam-day-van-002`.
    static func sibling(of courier: String) -> String? {
        guard let dash = courier.lastIndex(of: "-"), let n = Int(courier[courier.index(after: dash)...]) else { return nil }
        let other = String(n == 1 ? 2 : 1)
        return String(courier[...dash]) + String(repeating: "0", count: max(0, 3 - other.count)) + other
    }

    @Test func aPythonHandheldReplaysExactlyOnceAndIsRefusedAnotherCouriersParcel() async throws {
        guard let python = ForeignClients.python(importing: "zmq") else {
            if ForeignClients.required {
                Issue.record("foreign clients required (DAYBREAK_TEST_REQUIRE_CLIENTS=1) but no python3 imports zmq: run Tools/setup (python3-zmq)")
            } else {
                print("note: skipping the Python handheld test: no python3 with zmq (Debian: python3-zmq; Tools/setup installs it)")
            }
            return
        }
        try await D.with(gateways: 2) { d in
            let shop = try await d.client(try await d.principal(.storefront, user: "storefront:py-shop"))
            let dispatcher = try await d.client(try await d.principal(.dispatcher, "gangnam", user: "dispatcher:py"))
            for (id, lat, lon) in [("py-mine", 37.4979, 127.0276), ("py-theirs", 37.5172, 127.0473)] {
                let placed = try await shop.expect("order.place", PlaceOrderBody(order: Self.sameDay(id, lat, lon), at: WireTime(D.at(0, 10))),
                                                   "order.placed", OrderPlacedBody.self)
                #expect(placed.outcome == "assigned", "\(id): \(placed.outcome)")
            }
            func records() async throws -> [String: WireOrderRecord] {
                let r = try await dispatcher.expect("dispatch.orders", DispatchOrdersBody(region: "gangnam"), "dispatch.orders", DispatchOrdersReplyBody.self)
                return Dictionary(r.orders.map { ($0.order, $0) }, uniquingKeysWith: { a, _ in a })
            }
            var before = try await records()
            let mine = try #require(before["py-mine"]?.courier, "py-mine has no courier: \(before)")
            if before["py-theirs"]?.courier == nil || before["py-theirs"]?.courier == mine {
                // Both landed on one courier: the dispatcher moves the second to another van of the same fleet.
                let other = try #require(Self.sibling(of: mine))
                let r = try await dispatcher.call("dispatch.command", DispatchCommandBody(region: "gangnam", command: "assign", order: "py-theirs",
                                                                                         courier: other, key: "py-move", at: WireTime(D.at(0, 10, 1))))
                #expect(r.type == "ok", "assign py-theirs to \(other): \(r.text)")
                before = try await records()
            }
            let theirs = try #require(before["py-theirs"]?.courier)
            try #require(theirs != mine, "both orders on \(mine)")
            let courier = try #require(EdgeNames.courier(mine))

            let key = try await d.principal(.courier, mine)
            let queue = FileManager.default.temporaryDirectory.appendingPathComponent("daybreak-handheld-\(UUID().uuidString).json").path
            defer { try? FileManager.default.removeItem(atPath: queue) }
            let gw1 = d.gateways[0].server, gw2 = d.gateways[1].server
            let device = "py-hh-1"
            let run = try await ForeignClients.run(python, [
                D.root.appendingPathComponent("Tools/clients/handheld.py").path,
                // Keys in the --name=value form: a Z85 key may start with '-', which argparse would take for an option.
                "--endpoint", gw1.endpoint, "--server-key=\(gw1.publicKey)",
                "--endpoint2", gw2.endpoint, "--server-key2=\(gw2.publicKey)",
                "--public-key=\(key.publicKey)", "--secret-key=\(key.secretKey)",
                "--courier", mine, "--order", "py-mine", "--foreign-label", "DBK:py-theirs",
                "--device", device, "--queue", queue, "--start", "2026-12-02T10:05:00+09:00",
                // Small batches on replay, the second sent first: the gap and the resend are exercised too.
                "--batch", "3", "--lose-first-batch", "--timeout", "60",
            ], timeout: .seconds(240))
            try #require(run.status == 0, "handheld.py exited \(run.status)\(run.timedOut ? " (timed out)" : "")\n\(run.transcript)")

            // What the handheld says it did: its last line.
            let lines = run.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            let done = try #require(lines.last { $0["step"] as? String == "done" }, "no done line\n\(run.transcript)")
            let offline = try #require(done["offline_seqs"] as? [Int], "\(done)")
            let refusedSeq = try #require(done["refused_seq"] as? Int, "\(done)")
            #expect(offline.count >= 5 && offline.first == 3, "\(offline)")
            #expect(lines.contains { $0["step"] as? String == "replay.gap" }, "the out-of-order batch got no gap\n\(run.transcript)")
            #expect(lines.first { $0["step"] as? String == "reconnected" }?["gateway"] as? String == "gw2", "\(run.transcript)")

            // Delivered exactly once, the other courier's order untouched.
            let delivered = try await dispatcher.expect("dispatch.orders", DispatchOrdersBody(region: "gangnam", states: ["delivered"]),
                                                        "dispatch.orders", DispatchOrdersReplyBody.self)
            #expect(delivered.orders.map(\.order) == ["py-mine"])
            let after = try await records()
            #expect(after["py-theirs"]?.state == before["py-theirs"]?.state && after["py-theirs"]?.courier == theirs,
                    "py-theirs changed: \(String(describing: before["py-theirs"])) → \(String(describing: after["py-theirs"]))")
            // The courier's journal: py-mine delivered once (two replays through two gateways added nothing).
            func journaled(_ order: String) async throws -> Int64 {
                try await d.count("""
                    SELECT count(*) FROM actor_events WHERE type = 'courier.delivered' AND actor_kind = $1 AND actor_key = $2
                    AND position(convert_to($3, 'UTF8') IN payload) > 0
                    """, [courier.kind.rawValue, courier.id, order])
            }
            #expect(try await journaled("py-mine") == 1, "the courier's journal")
            // The refused delivery of another courier's parcel should leave no fact in this courier's journal.
            // A refused report uses up its number but is no fact of the courier's record.
            let foreignFacts = try await journaled("py-theirs")
            #expect(foreignFacts == 0, "courier.delivered facts for py-theirs in \(mine)'s journal")

            // The audit: every sequence number of the device once (replays and duplicates add nothing),
            // the offline ones through the second gateway, the foreign delivery as a refusal.
            // The gateway writes a report's audit row before it acknowledges it: the client's acks mean the rows are there.
            let rows = try await d.admin.query("SELECT detail, gateway, kind, order_id, outcome FROM edge_audit WHERE device = $1 AND kind LIKE 'report.%' ORDER BY id",
                                               [device], purpose: "audit")
            var bySeq: [Int: [(gateway: String, kind: String, order: String?, outcome: String)]] = [:]
            for r in rows {
                let detail = try r.decode(0, as: String.self)
                let seq = try #require(Int(detail.replacingOccurrences(of: "seq ", with: "")), "detail '\(detail)'")
                bySeq[seq, default: []].append((try r.decode(1, as: String.self), try r.decode(2, as: String.self), try r.decode(3, as: String?.self),
                                                try r.decode(4, as: String.self)))
            }
            #expect(bySeq.keys.sorted() == Array(1 ... refusedSeq), "audited seqs \(bySeq.keys.sorted())")
            #expect(bySeq.values.allSatisfy { $0.count == 1 }, "a seq audited twice: \(bySeq.filter { $0.value.count > 1 })")
            for seq in offline {
                #expect(bySeq[seq]?.first.map { $0.gateway == "gw2" && $0.outcome == "ok" } == true, "seq \(seq): \(String(describing: bySeq[seq]))")
            }
            #expect(try await d.count("SELECT count(*) FROM edge_audit WHERE kind = 'report.delivered' AND order_id = 'py-mine' AND outcome = 'ok'") == 1)
            let foreign = try #require(bySeq[refusedSeq]?.first)
            #expect(foreign.kind == "report.delivered" && foreign.order == "py-theirs" && foreign.outcome.hasPrefix("refused"), "\(foreign)")
            #expect(try await d.count("SELECT count(*) FROM edge_audit WHERE kind = 'scan' AND order_id = 'py-theirs' AND outcome = 'not_on_manifest'") == 1)
        }
    }
}

/// Clients in other languages, run as child processes.
enum ForeignClients {
    /// Set by Tools/test: a missing interpreter or module fails the test instead of skipping it.
    static var required: Bool { ProcessInfo.processInfo.environment["DAYBREAK_TEST_REQUIRE_CLIENTS"] == "1" }

    /// A python3 that imports `module`: `$DAYBREAK_PYTHON`, then Debian's (where python3-zmq installs), then the PATH's.
    static func python(importing module: String) -> String? {
        var candidates = ["/usr/bin/python3", "python3"]
        if let p = ProcessInfo.processInfo.environment["DAYBREAK_PYTHON"], !p.isEmpty { candidates.insert(p, at: 0) }
        for c in candidates {
            if let r = try? runSync(c, ["-c", "import \(module)"]), r == 0 { return c }
        }
        return nil
    }

    private static func process(_ executable: String, _ arguments: [String]) -> Process {
        let p = Process()
        if executable.hasPrefix("/") {
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = arguments
        } else {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [executable] + arguments
        }
        return p
    }

    private static func runSync(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let p = process(executable, arguments)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    struct Run {
        var status: Int32
        var timedOut: Bool
        var stdout: String
        var stderr: String
        var transcript: String { "--- stdout\n\(stdout)--- stderr\n\(stderr)" }
    }

    /// Runs `executable` with `arguments`, its output in files (no pipe to fill), killed after `timeout`.
    static func run(_ executable: String, _ arguments: [String], timeout: Duration) async throws -> Run {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("daybreak-client-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("stdout"), err = dir.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = process(executable, arguments)
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        p.standardOutput = outHandle
        p.standardError = errHandle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        while p.isRunning {
            if ContinuousClock.now >= deadline {
                timedOut = true
                p.terminate()
                try await Task.sleep(for: .seconds(1))
                if p.isRunning { kill(p.processIdentifier, SIGKILL) }
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        p.waitUntilExit()
        try? outHandle.close(); try? errHandle.close()
        let stdout = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        return Run(status: timedOut ? -1 : p.terminationStatus, timedOut: timedOut, stdout: stdout, stderr: stderr)
    }
}
