import Base
import Cluster
import DaybreakNode
import DispatchPlanning
import Fleet
import Foundation
import Geo
import Storage
import Testing

/// `daybreak ctl dispatch …` (the built binary, a child process) against `NodeService` (what
/// `daybreak node` runs) in process, over ZeroMQ and a real PostgreSQL. Orders are placed through
/// `ClusterGateway`; each outcome is checked in the dispatcher's records and manifests, not only
/// by the exit status.
@Suite(.serialized) struct CtlDispatchTests {
    typealias F = DispatchFixtures

    /// The fixture region with a second day van, so an order can be moved between two vans that
    /// can both carry it.
    static func config() throws -> RegionDispatchConfig {
        var c = try F.config()
        c.couriers.append(.init(ref: .vehicle("day-2"), kind: .van, capacity: F.big, home: F.hub, shiftStart: F.at(9), shiftEnd: F.at(22, 30)))
        return c
    }

    @Test func dispatchersActOnARunningRegionFromTheCommandLine() async throws {
        guard CtlChild.binary != nil else { Issue.record("the daybreak binary is not built next to the tests"); return }
        try await DomainTestDatabase.withSoloNode(region: F.region.rawValue, prefix: "ctldisp") { client, _, schema in
            try await client.connectToNodes()
            let gateway = try await ClusterGateway(client: client, configs: [try Self.config()])
            try await Self.scenario(gateway, schema: schema)
        }
    }

    static func scenario(_ gateway: ClusterGateway, schema: String) async throws {
        try await gateway.openRegions()
        for id in ["sd-1", "sd-2", "sd-3"] {
            let o = try await gateway.placeOrder(F.draft(id, .sameDay), slot: nil, at: F.at(10))
            guard case .assigned = o else { Issue.record("\(id) not assigned: \(o)"); return }
        }
        func ctl(_ args: [String], at: Instant? = nil) async throws -> CtlChild.Result {
            var a = ["ctl", "dispatch"] + args + ["--schema", schema, "--timeout-ms", "20000"]
            if let at { a += ["--at", String(at.epochSeconds)] }
            return try await CtlChild.run(a)
        }
        func record(_ id: OrderID) async throws -> OrderRecord? { try await gateway.records(region: F.region).first { $0.order == id } }
        func stops(_ courier: CourierRef, at: Instant) async throws -> [OrderID] {
            guard case .success(let m) = try await gateway.manifest(of: courier, at: at) else { return [] }
            return m.stops.flatMap(\.orders)
        }
        let vans: [CourierRef] = [.vehicle("day-1"), .vehicle("day-2"), .vehicle("am-1"), .vehicle("dawn-1")]
        let region = F.region.rawValue

        // hold: off its courier at once, and never planned while held (a replan, a re-optimising tick).
        let hold = try await ctl([region, "hold", "sd-1"], at: F.at(10, 1))
        #expect(hold.status == 0, "\(hold.stderr)")
        #expect(hold.stdout.contains("\(region): hold order sd-1: done (key ctl-"), "\(hold.stdout)")
        #expect(try await record("sd-1")?.courier == nil)
        let replan = try await ctl([region, "replan"], at: F.at(10, 2))
        #expect(replan.status == 0, "\(replan.stderr)")
        try await gateway.advance(region: F.region, to: F.at(10, 30))
        #expect(try await record("sd-1")?.courier == nil)
        for v in vans { #expect(try await !stops(v, at: F.at(10, 30)).contains("sd-1"), "\(v.id) plans a held order") }
        let unplanned = try await ctl([region, "orders", "--json", "--utc-offset", "+09:00"])
        #expect(unplanned.status == 0, "\(unplanned.stderr)")
        let lines = try unplanned.stdout.split(separator: "\n").map { try JSONValue.parse(String($0)) }
        #expect(lines.count == 3)
        let sd1 = lines.first { $0["order"]?.stringValue == "sd-1" }
        #expect(sd1?["courier"] == .null && sd1?["product"]?.stringValue == "sameDay")
        #expect(sd1?["promise"]?["earliest"]?.stringValue?.hasSuffix("T14:00:00+09:00") == true, "\(String(describing: sd1))")

        // release: planned again.
        let release = try await ctl([region, "release", "sd-1"], at: F.at(10, 31))
        #expect(release.status == 0, "\(release.stderr)")
        #expect(try await record("sd-1")?.courier != nil)

        // reassign to the other day van: the records and the manifest (through the CLI) show it.
        guard let from = try await record("sd-2")?.courier else { Issue.record("sd-2 has no courier"); return }
        let to: CourierRef = from == .vehicle("day-1") ? .vehicle("day-2") : .vehicle("day-1")
        let move = try await ctl([region, "reassign", "sd-2", "vehicle:\(to.id)"], at: F.at(10, 32))
        #expect(move.status == 0, "\(move.stderr)")
        #expect(try await record("sd-2")?.courier == to)
        #expect(try await !stops(from, at: F.at(10, 32)).contains("sd-2"))
        let manifest = try await ctl([region, "manifest", "vehicle:\(to.id)", "--json", "--utc-offset", "+09:00"], at: F.at(10, 33))
        #expect(manifest.status == 0, "\(manifest.stderr)")
        let m = try JSONValue.parse(manifest.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(m["courier"]?.stringValue == "vehicle:\(to.id)")
        guard case .array(let mstops)? = m["stops"] else { Issue.record("no stops: \(manifest.stdout)"); return }
        let delivery = mstops.first { $0["kind"]?.stringValue == "delivery" && $0["orders"] == .array([.string("sd-2")]) }
        #expect(delivery?["eta"]?.stringValue?.hasSuffix("+09:00") == true, "\(manifest.stdout)")
        let table = try await ctl([region, "manifest", "vehicle:\(to.id)", "--utc-offset", "+09:00"], at: F.at(10, 33))
        #expect(table.status == 0 && table.stdout.contains("ETA (+09:00)") && table.stdout.contains("sd-2"), "\(table.stdout)")

        // lock: the locked route takes no order (refused, typed); unlock: it does. unassign; replan.
        guard let sd1On = try await record("sd-1")?.courier else { Issue.record("sd-1 has no courier"); return }
        let other: CourierRef = sd1On == .vehicle("day-1") ? .vehicle("day-2") : .vehicle("day-1")
        #expect(try await ctl([region, "lock", "vehicle:\(other.id)"], at: F.at(10, 34)).status == 0)
        let locked = try await ctl([region, "assign", "sd-1", "vehicle:\(other.id)"], at: F.at(10, 35))
        #expect(locked.status == 65 && locked.stderr.contains("\(region): courier \(other.id): infeasible: courier \(other.id)'s route is locked"),
                "\(locked.stderr)")
        #expect(try await record("sd-1")?.courier == sd1On)
        #expect(try await ctl([region, "unlock", "vehicle:\(other.id)"], at: F.at(10, 36)).status == 0)
        let assign = try await ctl([region, "assign", "sd-1", "vehicle:\(other.id)", "--json"], at: F.at(10, 37))
        #expect(assign.status == 0, "\(assign.stderr)")
        let ack = try JSONValue.parse(assign.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(ack["result"]?.stringValue == "done" && ack["key"]?.stringValue?.hasPrefix("ctl-") == true, "\(assign.stdout)")
        #expect(try await record("sd-1")?.courier == other)
        #expect(try await stops(other, at: F.at(10, 37)).contains("sd-1"))
        #expect(try await ctl([region, "unassign", "sd-1"], at: F.at(10, 38)).status == 0)
        #expect(try await !stops(other, at: F.at(10, 38)).contains("sd-1"))
        #expect(try await ctl([region, "replan"], at: F.at(10, 39)).status == 0)
        #expect(try await record("sd-1")?.courier != nil)

        // cancel of a delivered order: the typed refusal, exit 65, nothing changed.
        guard let v3 = try await record("sd-3")?.courier else { Issue.record("sd-3 has no courier"); return }
        _ = try await gateway.report(.shiftStarted(v3, at: F.at(10, 40), position: Coordinate(lat: 37.55, lon: 126.96)))
        guard case .success = try await gateway.report(.pickedUp(v3, orders: ["sd-3"], at: F.at(10, 41))),
              case .success = try await gateway.report(.delivered(v3, order: "sd-3", proof: DeliveryProof(kind: .pin, reference: "p"), at: F.at(14, 10)))
        else { Issue.record("sd-3 not delivered"); return }
        #expect(try await record("sd-3")?.state == .delivered)
        let late = try await ctl([region, "cancel", "sd-3", "--reason", "customerRequest"], at: F.at(14, 11))
        #expect(late.status == 65)
        #expect(late.stderr.contains("\(region): order sd-3: invalidState: "), "\(late.stderr)")
        #expect(late.stdout.isEmpty)
        #expect(try await record("sd-3")?.state == .delivered)

        // cancel of an unknown order; an unknown courier (command and manifest).
        let unknown = try await ctl([region, "cancel", "nope"], at: F.at(14, 12))
        #expect(unknown.status == 65 && unknown.stderr.contains("\(region): order nope: unknownOrder: "), "\(unknown.stderr)")
        let ghost = try await ctl([region, "assign", "sd-1", "vehicle:ghost"], at: F.at(14, 12))
        #expect(ghost.status == 65 && ghost.stderr.contains("\(region): courier ghost: unknownCourier: "), "\(ghost.stderr)")
        let ghostManifest = try await ctl([region, "manifest", "rider:ghost"], at: F.at(14, 12))
        #expect(ghostManifest.status == 65 && ghostManifest.stderr.contains("courier rider:ghost: unknownCourier"), "\(ghostManifest.stderr)")
        let sd1Courier = try await record("sd-1")?.courier
        #expect(sd1Courier != nil)

        // Malformed arguments: exit 64 with usage, nothing sent.
        for bad in [[region, "assign", "sd-1", "truck:1"], [region, "frobnicate", "sd-1"], [region, "hold"], [region, "hold", "sd-1", "--state", "assigned"]] {
            let r = try await ctl(bad, at: F.at(14, 13))
            #expect(r.status == 64 && r.stderr.contains("usage: "), "\(bad): \(r.stderr)")
        }
        #expect(try await record("sd-1")?.courier == sd1Courier)
        #expect(try await record("sd-1")?.state != .cancelled)

        // An unknown region is named, not waited for.
        let nowhere = try await ctl(["nowhere", "orders"])
        #expect(nowhere.status == 65 && nowhere.stderr.contains("nowhere: region nowhere: unknownRegion: "), "\(nowhere.stderr)")

        // A command repeated with its key (what an operator does after a 69) is applied once: the
        // same answer, one journaled command.
        let key = "ctl-test-\(UInt32.random(in: 0 ... .max))"
        let first = try await ctl([region, "cancel", "sd-2", "--key", key], at: F.at(14, 14))
        let again = try await ctl([region, "cancel", "sd-2", "--key", key], at: F.at(14, 15))
        #expect(first.status == 0 && again.status == 0, "\(first.stderr) \(again.stderr)")
        #expect(again.stdout.contains("(key \(key))"))
        #expect(try await record("sd-2")?.state == .cancelled)
        let cancelled = try await ctl([region, "orders", "--state", "cancelled,delivered"])
        #expect(cancelled.status == 0)
        #expect(cancelled.stdout.contains("sd-2") && cancelled.stdout.contains("sd-3") && !cancelled.stdout.contains("sd-1 "), "\(cancelled.stdout)")
        #expect(cancelled.stdout.hasSuffix("2 orders in \(region)\n"), "\(cancelled.stdout)")
    }
}

extension CtlDispatchTests {
    /// The region has no owner when the command is sent (its node left); the CLI retries with the
    /// same key until a second node takes the region over, restores the dispatcher from the
    /// journal and applies the command: once, with one journaled event under that key.
    @Test func aCommandSentWhileTheRegionHasNoOwnerIsRetriedWithItsKeyUntilANodeTakesOver() async throws {
        guard CtlChild.binary != nil else { Issue.record("the daybreak binary is not built next to the tests"); return }
        try await DomainTestDatabase.withSchema(prefix: "ctlretry") { c, schema in
            let services = (1...2).map { DomainTestDatabase.domainNode("r\($0)", region: F.region.rawValue, schema: schema) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await services[0].run() }
                defer { group.cancelAll() }
                try await NodeHostingTests.waitUntil("r1 to serve the region") { services[0].servingRegions().count == 1 }
                let client = try await ClusterClient(database: PostgresConfiguration("").withSearchPath(schema), logger: DomainTestDatabase.logger)
                do {
                    try await client.connectToNodes()
                    let gateway = try await ClusterGateway(client: client, configs: [try Self.config()])
                    try await gateway.openRegions()
                    guard case .assigned = try await gateway.placeOrder(F.draft("rt-1", .sameDay), slot: nil, at: F.at(10)) else {
                        Issue.record("rt-1 not assigned"); return
                    }
                    // r1 leaves: nobody owns the region.
                    services[0].requestLeave()
                    try await NodeHostingTests.waitUntil("the region to have no owner") {
                        try? await client.ownership.refresh()
                        return client.ownership.owner(ofRegion: F.region.rawValue) == nil
                    }
                    let key = "ctl-retry-\(UInt32.random(in: 0 ... .max))"
                    // No owner within the deadline: 69, and the key to repeat the command with.
                    let gaveUp = try await CtlChild.run(["ctl", "dispatch", F.region.rawValue, "hold", "rt-1", "--key", key, "--schema", schema,
                                                         "--at", String(F.at(10, 5).epochSeconds), "--timeout-ms", "1000"])
                    #expect(gaveUp.status == 69, "\(gaveUp.stderr)")
                    #expect(gaveUp.stderr.contains("\(F.region): hold order rt-1: cluster unreachable: "), "\(gaveUp.stderr)")
                    #expect(gaveUp.stderr.contains("repeat it with --key \(key)"), "\(gaveUp.stderr)")
                    // Repeated with that key; a node takes the region over meanwhile.
                    async let hold = CtlChild.run(["ctl", "dispatch", F.region.rawValue, "hold", "rt-1", "--key", key, "--schema", schema,
                                                   "--at", String(F.at(10, 5).epochSeconds), "--timeout-ms", "30000"])
                    try await Task.sleep(for: .milliseconds(1500))
                    group.addTask { try await services[1].run() }
                    let r = try await hold
                    #expect(r.status == 0, "\(r.stderr)")
                    #expect(r.stdout.contains("hold order rt-1: done (key \(key)"), "\(r.stdout)")
                    #expect(services[1].servingRegions().count == 1)
                    let rec = try await gateway.records(region: F.region).first { $0.order == "rt-1" }
                    #expect(rec != nil && rec?.courier == nil, "\(String(describing: rec))")
                    try await c.executeScript("SET search_path TO \(schema)", purpose: "use schema")
                    #expect(try await DomainTestDatabase.count(c, "SELECT count(*) FROM actor_events WHERE actor_kind = 'dispatch-day' AND idempotency_key = $1",
                                                               [key]) == 1)
                } catch {
                    await client.close()
                    throw error
                }
                await client.close()
            }
        }
    }
}

/// The built `daybreak` binary as a child process, waited for off the cooperative pool: a
/// dedicated thread runs and reads it (the node under test needs the pool's threads meanwhile).
enum CtlChild {
    struct Result: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: URL? {
        if let explicit = ProcessInfo.processInfo.environment["DAYBREAK_BIN"] { return URL(fileURLWithPath: explicit) }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("daybreak")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    struct NotBuilt: Error {}

    static func run(_ arguments: [String]) async throws -> Result {
        guard let binary else { throw NotBuilt() }
        return try await withCheckedThrowingContinuation { (k: CheckedContinuation<Result, any Error>) in
            let thread = Thread {
                let p = Process()
                p.executableURL = binary
                p.arguments = arguments
                let out = Pipe(), err = Pipe()
                p.standardOutput = out
                p.standardError = err
                do { try p.run() } catch { k.resume(throwing: error); return }
                let errData = CtlChildData()
                let reader = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
                reader.start()
                let o = out.fileHandleForReading.readDataToEndOfFile()
                let e = errData.waitForValue()
                p.waitUntilExit()
                k.resume(returning: Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                                           stderr: String(decoding: e, as: UTF8.self)))
            }
            thread.start()
        }
    }
}

/// Written once by one thread, read by another that waits for it. Invariant: every access holds `condition`'s lock.
final class CtlChildData: @unchecked Sendable {
    private let condition = NSCondition()
    private var data = Data()
    private var written = false
    func set(_ d: Data) { condition.lock(); data = d; written = true; condition.broadcast(); condition.unlock() }
    func waitForValue() -> Data {
        condition.lock(); defer { condition.unlock() }
        while !written { condition.wait() }
        return data
    }
}
