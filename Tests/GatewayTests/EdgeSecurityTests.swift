import Base
import Cluster
import DispatchPlanning
import Edge
import Fleet
import Foundation
import Gateway
import Geo
import Messaging
import Synchronization
import Testing

/// The front door under attack, on a real node, gateway, PostgreSQL and CURVE: wrong roles,
/// another principal's items, unknown and revoked keys (no reply at all), malformed and oversized
/// bodies, and 20,000 hostile frames — each answered with a typed error, nothing changed, and
/// correct clients served throughout.
@Suite(.serialized) struct EdgeSecurityTests {
    typealias D = EdgeDeployment

    static func order(_ id: String, _ product: String = "same_day", at: WirePosition = WirePosition(lat: 37.4979, lon: 127.0276)) -> WireOrder {
        WireOrder(id: id, product: product, destination: at, lines: [WireLine(sku: "grocery-ambient", quantity: 1)])
    }

    /// Events journaled so far (what "nothing changed" is checked against).
    static func journaled(_ d: D) async throws -> Int64 { try await d.count("SELECT count(*) FROM actor_events") }

    @Test func everyRoleIsHeldToItsOwnItems() async throws {
        try await D.with { d in
            let shopA = try await d.client(try await d.principal(.storefront, user: "storefront:a"))
            let shopB = try await d.client(try await d.principal(.storefront, user: "storefront:b"))
            let placed = try await shopA.expect("order.place", PlaceOrderBody(order: Self.order("sec-1"), at: WireTime(D.at(0, 10))),
                                                "order.placed", OrderPlacedBody.self)
            let before = try await Self.journaled(d)

            // A courier may not place orders; an observer may not command; a dispatcher of songpa may not touch gangnam.
            let courier = try await d.client(try await d.principal(.courier, "vehicle:gangnam-day-van-001"))
            #expect(try await courier.expectError("order.place", PlaceOrderBody(order: Self.order("sec-2"), at: WireTime(D.at(0, 10)))).code == .forbidden)
            let observer = try await d.client(try await d.principal(.observer, user: "observer:x"))
            let command = DispatchCommandBody(region: "gangnam", command: "cancel", order: "sec-1", at: WireTime(D.at(0, 10, 1)))
            #expect(try await observer.expectError("dispatch.command", command).code == .forbidden)
            #expect(try await observer.call("dispatch.orders", DispatchOrdersBody(region: "gangnam")).type == "dispatch.orders")
            let songpa = try await d.client(try await d.principal(.dispatcher, "songpa", user: "dispatcher:songpa"))
            let e = try await songpa.expectError("dispatch.command", command)
            #expect(e.code == .forbidden && e.field == "region")
            // Another storefront cannot cancel by a token it got from elsewhere.
            #expect(try await shopB.expectError("order.cancel", CancelOrderBody(token: placed.token, at: WireTime(D.at(0, 10, 2)))).code == .forbidden)
            // A customer sees nothing of an order without its token (a guessed or malformed token: the same answer).
            let customer = try await d.client(try await d.principal(.customer, user: "customer:c"))
            #expect(try await customer.expectError("order.track", TokenBody(token: TrackingToken.make())).code == .notFound)
            #expect(try await customer.expectError("order.track", TokenBody(token: "sec-1")).code == .notFound)
            #expect(try await customer.expectError("order.cancel", CancelOrderBody(token: placed.token, at: WireTime(D.at(0, 10)))).code == .forbidden)
            // A store clerk cannot pack an order of another site (the hub's order, a store's key).
            let store = try await d.client(try await d.principal(.store, "mfc-gangnam-1"))
            let pack = try await store.expectError("store.packed", StoreOrderBody(order: "sec-1", at: WireTime(D.at(0, 10, 3))))
            #expect([.refused, .forbidden].contains(pack.code) && pack.message.contains("sec-1"), "\(pack)")
            // The courier's identity is its key's: a report names no courier, so it cannot speak for another.
            // (A clock principal cannot report either.)
            let clock = try await d.client(try await d.principal(.clock, user: "clock:x"))
            #expect(try await clock.expectError("reports", ReportsBody(device: "d", reports: [
                WireReport(seq: 1, at: WireTime(D.at(0, 10)), kind: "returned")])).code == .forbidden)
            #expect(try await Self.journaled(d) == before, "a refused request changed the journal")
            // The audit has the refusals with who sent them.
            #expect(try await d.count("SELECT count(*) FROM edge_audit WHERE outcome = 'forbidden'") >= 2)
        }
    }

    @Test func unknownAndRevokedKeysGetNoReplyAtAll() async throws {
        try await D.with { d in
            // An unknown key: the handshake is refused; the request times out, nothing answers.
            let stranger = try await d.client(try CurveKeyPair.generate())
            await #expect(throws: MessagingError.self) { _ = try await stranger.call("ping", EmptyBody(), timeout: .seconds(2)) }
            // A node-port principal (an operator) is not an edge principal.
            let operatorKey = try CurveKeyPair.generate()
            _ = try await d.admin.execute(PrincipalDirectory.upsert, [operatorKey.publicKey, "operator:x", "operator", ""], purpose: "operator")
            try await waitUntil("the gateway has read the operator's key") { d.gateway.server.knows(publicKey: operatorKey.publicKey) }
            let op = try await d.client(operatorKey)
            await #expect(throws: MessagingError.self) { _ = try await op.call("ping", EmptyBody(), timeout: .seconds(2)) }
            // A revoked key is refused at its next message, on a connection already established.
            let key = try await d.principal(.observer, user: "observer:leaving")
            let client = try await d.client(key)
            #expect(try await client.call("ping", EmptyBody(), timeout: .seconds(10)).type == "pong")
            _ = try await d.admin.execute(PrincipalDirectory.revokeKey, [key.publicKey], purpose: "revoke")
            try await waitUntil("the gateway forgets the key", within: .seconds(10)) { !d.gateway.server.knows(publicKey: key.publicKey) }
            await #expect(throws: MessagingError.self) { _ = try await client.call("ping", EmptyBody(), timeout: .seconds(2)) }
            #expect(d.gateway.server.stats.revokedDropped + d.gateway.server.counters.unauthenticated.load(ordering: .relaxed) >= 1)
        }
    }

    @Test func badInputIsATypedErrorAndNothingChanges() async throws {
        try await D.with { d in
            let courier = try await d.client(try await d.principal(.courier, "vehicle:gangnam-day-van-002"))
            let before = try await Self.journaled(d)
            func raw(_ text: String) async throws -> EdgeError? { try await courier.raw(Array(text.utf8), timeout: .seconds(10)).error }
            #expect(try await raw("{not json")?.code == .malformed)
            #expect(try await raw("[]")?.code == .malformed)
            #expect(try await raw(#"{"v":1,"type":"warp"}"#)?.code == .unknownType)
            let version = try await raw(#"{"v":7,"type":"ping"}"#)
            #expect(version?.code == .unsupportedVersion && version?.supportedVersions == [1])
            #expect(try await courier.expectError("hello", HelloBody(versions: [2, 3])).code == .unsupportedVersion)
            let typed = try await raw(#"{"v":1,"type":"reports","device":"d1","reports":[{"seq":"one","at":0,"kind":"returned"}]}"#)
            #expect(typed?.code == .malformed && typed?.field == "reports[0].seq", "\(String(describing: typed))")
            // A body above the protocol's limit (below the socket's frame limit): too_large.
            let big = #"{"v":1,"type":"ping","pad":""# + String(repeating: "x", count: 100_000) + #""}"#
            #expect(try await raw(big)?.code == .tooLarge)
            // Two body frames: malformed.
            let frames = try await courier.rawFrames([Array(#"{"v":1,"type":"ping"}"#.utf8), [1, 2]], timeout: .seconds(10))
            #expect(try EdgeReply(bytes: frames.first).error?.code == .malformed)
            // A batch over the limit, a batch with a malformed report: nothing applied.
            let many = (1 ... 101).map { WireReport(seq: Int64($0), at: WireTime(D.at(0, 13)), kind: "returned") }
            #expect(try await courier.expectError("reports", ReportsBody(device: "d1", reports: many)).code == .tooLarge)
            let mixed = ReportsBody(device: "d1", reports: [
                WireReport(seq: 1, at: WireTime(D.at(0, 13)), kind: "shift_started", position: WirePosition(lat: 37.5, lon: 127)),
                WireReport(seq: 2, at: WireTime(D.at(0, 13)), kind: "failed", order: "o", reason: "bored")])
            let m = try await courier.expectError("reports", mixed)
            #expect(m.field == "reports[1].reason")
            #expect(try await Self.journaled(d) == before, "bad input changed the journal")
            // A replayed sequence number: applied once.
            let one = ReportsBody(device: "d1", reports: [WireReport(seq: 1, at: WireTime(D.at(0, 13)), kind: "shift_started", position: WirePosition(lat: 37.5, lon: 127))])
            let first = try await courier.expect("reports", one, "reports.ack", ReportsAckBody.self)
            let again = try await courier.expect("reports", one, "reports.ack", ReportsAckBody.self)
            #expect(first.results.map(\.status) == ["applied"] && again.results.map(\.status) == ["duplicate"] && again.lastSeq == 1)
            // A frame above the socket's limit drops the connection: no reply; a fresh connection is served.
            let huge = [UInt8](repeating: 0x20, count: EdgeProtocol.maxFrameBytes + 1)
            await #expect(throws: MessagingError.self) { _ = try await courier.raw(huge, timeout: .seconds(2)) }
            let fresh = try await d.client(try await d.principal(.observer, user: "observer:after"))
            #expect(try await fresh.call("ping", EmptyBody(), timeout: .seconds(10)).type == "pong")
        }
    }

    @Test func twentyThousandHostileFramesAndCorrectClientsAreStillServed() async throws {
        try await D.with { d in
            // 40 connections of one courier's key, 500 frames each, paced under the edge socket's
            // per-connection rate limit (50/s), while a correct client keeps asking.
            let key = try await d.principal(.courier, "vehicle:gangnam-day-van-003")
            var attackers: [EdgeClient] = []
            for _ in 0 ..< 40 { attackers.append(try await d.client(key)) }
            let observer = try await d.client(try await d.principal(.observer, user: "observer:fuzz"))
            let before = try await Self.journaled(d)
            let answered = Counter(), served = Counter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for _ in 0 ..< 40 {
                        if try await observer.call("dispatch.orders", DispatchOrdersBody(region: "gangnam"), timeout: .seconds(20)).type == "dispatch.orders" {
                            served.add()
                        }
                        try await Task.sleep(for: .milliseconds(250))
                    }
                }
                for (i, attacker) in attackers.enumerated() {
                    group.addTask {
                        var fuzz = Fuzz(seed: UInt64(i) &* 7919 &+ 1)
                        for _ in 0 ..< 500 {
                            if (try? await attacker.raw(fuzz.frame(), timeout: .seconds(20)))?.error != nil { answered.add() }
                            try await Task.sleep(for: .milliseconds(22))
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(answered.value >= 19_000, "hostile frames answered with a typed error: \(answered.value) of 20,000")
            #expect(served.value == 40, "the correct client was served \(served.value) of 40 times")
            #expect(try await Self.journaled(d) == before, "hostile frames changed the journal")
            #expect(try await observer.call("ping", EmptyBody(), timeout: .seconds(10)).type == "pong")
        }
    }
}

/// A thread-safe count for the fuzz test's tasks.
final class Counter: Sendable {
    let n = Synchronization.Atomic<Int>(0)
    func add() { n.add(1, ordering: .relaxed) }
    var value: Int { n.load(ordering: .relaxed) }
}

/// Hostile frames, seeded: random bytes, templates with wrong types and values, truncated JSON,
/// deep nesting.
struct Fuzz {
    var rng: SplitMix64
    init(seed: UInt64) { rng = SplitMix64(seed: seed) }
    mutating func next() -> UInt64 { rng.next() }
    static let templates = [
        #"{"v":1,"type":"reports","device":"x","reports":[{"seq":%N,"at":%T,"kind":"%K","position":{"lat":%F,"lon":%F}}]}"#,
        #"{"v":%N,"type":"%K"}"#, #"{"v":1,"type":"scan","label":"%S"}"#, #"{"v":1,"type":"order.place","order":{"id":"%S"}}"#,
        #"{"v":1,"type":"dispatch.command","region":"%S","command":"%K","at":0}"#, #"{"v":1,"type":"manifest.get","if_newer_than":"%S"}"#,
        #"{"v":1,"type":"store.handover","order":"%S","code":"%S","at":%T}"#,
    ]
    mutating func frame() -> [UInt8] {
        switch next() % 4 {
        case 0: return (0 ..< Int(next() % 300)).map { _ in UInt8(truncatingIfNeeded: next()) }
        case 1:
            var t = Self.templates[Int(next() % UInt64(Self.templates.count))]
            let kinds = ["position", "delivered", "", "x\u{0}", "shift_started"], floats = ["1e999", "-91", "null", "37.5"]
            for (k, v) in [("%N", "\(Int64(bitPattern: next()) % 1000)"), ("%T", "\"\(next() % 99)\""), ("%K", kinds[Int(next() % 5)]),
                           ("%F", floats[Int(next() % 4)]), ("%S", String(repeating: "a", count: Int(next() % 300)))] {
                t = t.replacingOccurrences(of: k, with: v)
            }
            return Array(t.utf8)
        case 2: return Array(#"{"v":1,"type":"ping""#.utf8)   // truncated
        default: return Array(String(repeating: "[", count: Int(next() % 5_000)).utf8)   // deep nesting
        }
    }
}
