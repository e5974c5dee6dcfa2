import Base
import Edge
import Foundation
import Gateway
import Geo
import Messaging
import Testing

/// `daybreak ctl keys`, `ctl audit` and `ctl dispatch --gateway` (the built binary, a child
/// process) against an `EdgeDeployment`: real PostgreSQL, a keyed node, a gateway over CURVE.
@Suite(.serialized) struct CtlEdgeCLITests {
    typealias D = EdgeDeployment

    /// The deployment's database for the child: the PG* environment (`--database ''`) and the test's schema.
    static func db(_ d: D) -> [String] { ["--database", "", "--schema", d.schema] }

    static func tempDir() throws -> String {
        let dir = NSTemporaryDirectory() + "ctl-edge-\(UInt32.random(in: 0 ... .max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func keysAreAdmittedCheckedListedAndRevoked() async throws {
        guard DaybreakChild.binary != nil else { Issue.record("the daybreak binary is not built next to the tests"); return }
        try await D.with { d in
            let dir = try Self.tempDir()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let files = ["--regions-file", D.root.appendingPathComponent("Regions/seoul.json").path]
            let van = try #require(d.operating.operations.vehicles().first { $0.id.rawValue.hasPrefix("gangnam-day-van") }).id.rawValue

            // A typo'd courier: refused, named, nothing admitted.
            let typo = try await DaybreakChild.run(["ctl", "keys", "add", "--role", "courier", "--courier", "vehicle:\(van)x"] + files + Self.db(d))
            #expect(typo.status == 65, "\(typo.stderr)")
            #expect(typo.stderr.contains("courier vehicle:\(van)x is not in the deployment"), "\(typo.stderr)")
            let site = try await DaybreakChild.run(["ctl", "keys", "add", "--role", "store", "--site", "mfc-gangnam-9"] + files + Self.db(d))
            #expect(site.status == 65 && site.stderr.contains("site mfc-gangnam-9"), "\(site.stderr)")
            // Malformed scopes and options that do not fit the role: usage errors.
            let malformed = try await DaybreakChild.run(["ctl", "keys", "add", "--role", "courier", "--courier", "truck:1"] + Self.db(d))
            #expect(malformed.status == 64 && malformed.stderr.contains("vehicle:ID or rider:ID"), "\(malformed.stderr)")
            let misfit = try await DaybreakChild.run(["ctl", "keys", "add", "--role", "dispatcher", "--courier", "vehicle:\(van)"] + Self.db(d))
            #expect(misfit.status == 64 && misfit.stderr.contains("'--courier' does not apply to role dispatcher"), "\(misfit.stderr)")
            let role = try await DaybreakChild.run(["ctl", "keys", "add", "--role", "driver"] + Self.db(d))
            #expect(role.status == 64 && role.stderr.contains("unknown role 'driver'"), "\(role.stderr)")
            #expect(try await d.count("SELECT count(*) FROM principals WHERE role IN ('courier', 'store')") == 0)

            // A real courier: the secret in a 0600 file, the public key printed and admitted; the gateway lets it in.
            let out = dir + "/handheld.key"
            let add = try await DaybreakChild.run(["ctl", "keys", "add", "--role", "courier", "--courier", "vehicle:\(van)", "--out", out] + files + Self.db(d))
            #expect(add.status == 0, "\(add.stderr)")
            let pair = try CurveKeyFile.readSecret(from: out)
            #expect(add.stdout == pair.publicKey + "\n")
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? Int)
            #expect(mode & 0o077 == 0)
            #expect(try await d.count("SELECT count(*) FROM principals WHERE public_key = $1 AND user_id = $2 AND role = 'courier' AND scope = $3",
                                      [pair.publicKey, "courier:vehicle:\(van)", "vehicle:\(van)"]) == 1)
            try await waitUntil("the gateway knows the new key") { d.gateway.server.knows(publicKey: pair.publicKey) }
            let handheld = try await d.client(pair)
            let welcome = try await handheld.expect("hello", HelloBody(client: "test"), "welcome", WelcomeBody.self)
            #expect(welcome.role == "courier" && welcome.scope == "vehicle:\(van)")

            // A dispatcher over two regions, printed pair, named user.
            let disp = try await DaybreakChild.run(["ctl", "keys", "add", "--role", "dispatcher", "--regions", "gangnam,east", "--user", "dispatcher:kim"]
                                                   + files + Self.db(d))
            #expect(disp.status == 0, "\(disp.stderr)")
            let printed = disp.stdout.split(separator: "\n").map(String.init)
            #expect(printed.count == 2 && (try? CurveKeyPair(secretKey: printed[1]).publicKey) == printed[0], "\(disp.stdout)")

            // Revoked: listed as revoked, the gateway forgets it.
            let revoke = try await DaybreakChild.run(["ctl", "keys", "revoke"] + Self.db(d) + ["--", pair.publicKey])
            #expect(revoke.status == 0 && revoke.stdout.hasPrefix("revoked 1 key"), "\(revoke.stdout)\(revoke.stderr)")
            let list = try await DaybreakChild.run(["ctl", "keys", "list", "--json"] + Self.db(d))
            #expect(list.status == 0, "\(list.stderr)")
            let mine = try #require(list.stdout.split(separator: "\n").first { $0.contains(pair.publicKey) })
            #expect(mine.contains("\"status\":\"revoked\"") && mine.contains("\"revoked_at\":\"20"), "\(mine)")
            #expect(list.stdout.contains("\"user\":\"dispatcher:kim\"") && !list.stdout.contains(printed[1]), "no secrets listed")
            let table = try await DaybreakChild.run(["ctl", "keys", "list"] + Self.db(d))
            #expect(table.stdout.split(separator: "\n").contains { $0.contains(pair.publicKey) && $0.contains("revoked ") }, "\(table.stdout)")
            try await waitUntil("the gateway forgets the revoked key") { !d.gateway.server.knows(publicKey: pair.publicKey) }
            let byUser = try await DaybreakChild.run(["ctl", "keys", "revoke", "--user", "dispatcher:kim"] + Self.db(d))
            #expect(byUser.status == 0 && byUser.stdout.hasPrefix("revoked 1 key"), "\(byUser.stdout)")
            let nobody = try await DaybreakChild.run(["ctl", "keys", "revoke", "--user", "dispatcher:nobody"] + Self.db(d))
            #expect(nobody.status == 65 && nobody.stderr.contains("no principal with user dispatcher:nobody"), "\(nobody.stderr)")
        }
    }

    @Test func dispatchersWorkThroughTheGatewayAndTheAuditShowsTheOrdersHistory() async throws {
        guard DaybreakChild.binary != nil else { Issue.record("the daybreak binary is not built next to the tests"); return }
        try await D.with { d in
            let dir = try Self.tempDir()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let shop = try await d.client(try await d.principal(.storefront, user: "storefront:shop-1"))
            let order = WireOrder(id: "sd-1", product: "same_day", destination: WirePosition(lat: 37.4979, lon: 127.0276),
                                  lines: [WireLine(sku: "grocery-ambient", quantity: 1)])
            _ = try await shop.expect("order.place", PlaceOrderBody(order: order, at: WireTime(D.at(0, 10))), "order.placed", OrderPlacedBody.self)

            let dispatcherKey = try await d.principal(.dispatcher, "gangnam", user: "dispatcher:kim")
            try CurveKeyFile.writeSecret(dispatcherKey, to: dir + "/dispatcher.key")
            try CurveKeyFile.writePublic(d.gateway.server.publicKey, to: dir + "/gateway.pub")
            let courierKey = try await d.principal(.courier, "vehicle:gangnam-day-van-001")
            try CurveKeyFile.writeSecret(courierKey, to: dir + "/courier.key")
            // No database options at all: the child reaches only the gateway (--data names an empty directory).
            func ctl(_ args: [String], key: String = "dispatcher.key", at: Instant? = nil) async throws -> DaybreakChild.Result {
                var a = ["ctl", "dispatch"] + args + ["--gateway", d.gateway.server.endpoint, "--gateway-key", dir + "/gateway.pub",
                                                      "--identity", dir + "/" + key, "--data", dir, "--timeout-ms", "20000"]
                if let at { a += ["--at", String(at.epochSeconds)] }
                return try await DaybreakChild.run(a)
            }

            let orders = try await ctl(["gangnam", "orders", "--json"])
            #expect(orders.status == 0, "\(orders.stderr)")
            let line = try #require(orders.stdout.split(separator: "\n").first { $0.contains("\"order\":\"sd-1\"") }, "\(orders.stdout)")
            #expect(line.contains("\"state\":\"allocated\"") && line.contains("\"product\":\"sameDay\""), "\(line)")
            let table = try await ctl(["gangnam", "orders", "--state", "allocated", "--utc-offset", "+09:00"])
            #expect(table.status == 0 && table.stdout.hasSuffix("1 order in gangnam\n") && table.stdout.contains("PROMISE (+09:00)"), "\(table.stdout)")

            let hold = try await ctl(["gangnam", "hold", "sd-1"], at: D.at(0, 10, 1))
            #expect(hold.status == 0 && hold.stdout.hasPrefix("gangnam: hold order sd-1: done (key ctl-"), "\(hold.stdout)\(hold.stderr)")
            let held = try await ctl(["gangnam", "orders", "--json"])
            #expect(held.stdout.contains("\"order\":\"sd-1\"") && held.stdout.contains("\"courier\":null"), "\(held.stdout)")
            let release = try await ctl(["gangnam", "release", "sd-1"], at: D.at(0, 10, 2))
            #expect(release.status == 0, "\(release.stderr)")
            let assign = try await ctl(["gangnam", "assign", "sd-1", "vehicle:gangnam-day-van-002", "--json"], at: D.at(0, 10, 3))
            #expect(assign.status == 0, "\(assign.stderr)")
            #expect(assign.stdout.contains("\"result\":\"done\"") && assign.stdout.contains("assign order sd-1 to vehicle:gangnam-day-van-002"), "\(assign.stdout)")
            let after = try await ctl(["gangnam", "orders", "--json"])
            #expect(after.stdout.contains("\"courier\":\"vehicle:gangnam-day-van-002\""), "\(after.stdout)")
            let manifest = try await ctl(["gangnam", "manifest", "vehicle:gangnam-day-van-002"], at: D.at(0, 10, 4))
            #expect(manifest.status == 0 && manifest.stdout.contains("sd-1"), "\(manifest.stdout)\(manifest.stderr)")

            // Refusals: an unknown order (the dispatcher's, named), another region, and a courier's key (not a dispatcher).
            let ghost = try await ctl(["gangnam", "hold", "sd-ghost"], at: D.at(0, 10, 5))
            #expect(ghost.status == 65 && ghost.stderr.contains("gangnam: order sd-ghost: unknownOrder"), "\(ghost.stderr)")
            let other = try await ctl(["songpa", "orders"])
            #expect(other.status == 65, "\(other.stderr)")
            let courier = try await ctl(["gangnam", "hold", "sd-1"], key: "courier.key", at: D.at(0, 10, 6))
            #expect(courier.status == 65 && courier.stderr.contains("forbidden") && courier.stderr.contains("a courier may not send dispatch.command"),
                    "\(courier.stderr)")
            let courierOrders = try await ctl(["gangnam", "orders"], key: "courier.key")
            #expect(courierOrders.status == 65 && courierOrders.stdout.isEmpty, "\(courierOrders.stderr)")

            // The audit: the placement, the dispatcher's commands (and the refusal of the unknown order elsewhere), oldest first.
            try await waitUntil("the audit has the dispatcher's commands") {
                try await d.count("SELECT count(*) FROM edge_audit WHERE order_id = 'sd-1' AND kind LIKE 'dispatch.%'") >= 3
            }
            let audit = try await DaybreakChild.run(["ctl", "audit", "--order", "sd-1", "--json"] + Self.db(d))
            #expect(audit.status == 0, "\(audit.stderr)")
            let rows = audit.stdout.split(separator: "\n").map(String.init)
            let kinds = rows.compactMap { r in ["order.place", "dispatch.hold", "dispatch.release", "dispatch.assign"].first { r.contains("\"kind\":\"\($0)\"") } }
            #expect(kinds == ["order.place", "dispatch.hold", "dispatch.release", "dispatch.assign"], "\(audit.stdout)")
            #expect(rows.filter { $0.contains("dispatch.") }.allSatisfy { $0.contains("\"principal\":\"dispatcher:kim\"") && $0.contains("\"gateway\":\"gw1\"") })
            #expect(rows.first?.contains("\"when\":\"2026-12-02T10:00:00+09:00\"") == true, "\(rows.first ?? "")")
            #expect(!audit.stdout.contains("37.49") && !audit.stdout.contains("sd-ghost"), "no addresses, only this order")
            let text = try await DaybreakChild.run(["ctl", "audit", "--order", "sd-1", "--principal", "dispatcher:kim"] + Self.db(d))
            #expect(text.status == 0 && text.stdout.hasSuffix("3 entries for order sd-1, principal dispatcher:kim\n"), "\(text.stdout)\(text.stderr)")
            #expect(text.stdout.contains("2026-12-02 10:01:00") && text.stdout.contains("WHEN (+09:00)"), "\(text.stdout)")
            let missing = try await DaybreakChild.run(["ctl", "audit"] + Self.db(d))
            #expect(missing.status == 64, "\(missing.stderr)")
        }
    }
}

/// Runs the built `daybreak` as a child process (on a thread of its own: waiting blocks).
enum DaybreakChild {
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
                let errBox = ErrBox()
                let reader = Thread { errBox.set(err.fileHandleForReading.readDataToEndOfFile()) }
                reader.start()
                let o = out.fileHandleForReading.readDataToEndOfFile()
                let e = errBox.wait()
                p.waitUntilExit()
                k.resume(returning: Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self)))
            }
            thread.start()
        }
    }

    /// Data written once by one thread, waited for by another. Every access holds `condition`'s lock.
    final class ErrBox: @unchecked Sendable {
        private let condition = NSCondition()
        private var data: Data?
        func set(_ d: Data) { condition.lock(); data = d; condition.broadcast(); condition.unlock() }
        func wait() -> Data {
            condition.lock(); defer { condition.unlock() }
            while data == nil { condition.wait() }
            return data!
        }
    }
}
