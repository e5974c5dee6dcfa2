import Base
import DispatchPlanning
import Edge
import Fleet
import Foundation
import Geo
import Testing

/// The edge protocol's codec and mapping, pure: every bad body is a typed error naming the field,
/// every good one maps to the domain value it says.
struct EdgeCodecTests {
    func envelope(_ text: String) -> Result<EdgeEnvelope, EdgeError> { EdgeCodec.envelope(Array(text.utf8)) }
    func code(_ text: String) -> EdgeErrorCode? { if case .failure(let e) = envelope(text) { return e.code }; return nil }

    @Test func envelopesAreCheckedForJSONVersionTypeAndSize() throws {
        #expect(code("not json") == .malformed)
        #expect(code("[1,2]") == .malformed)
        #expect(code("{\"type\":\"ping\"}") == .malformed)                       // no v
        #expect(code("{\"v\":\"1\",\"type\":\"ping\"}") == .malformed)            // v a string
        #expect(code("{\"v\":2,\"type\":\"ping\"}") == .unsupportedVersion)
        #expect(code("{\"v\":1}") == .malformed)
        #expect(code("{\"v\":1,\"type\":\"teleport\"}") == .unknownType)
        #expect(EdgeCodec.envelope([0xff, 0xfe]).failureCode == .malformed)      // not UTF-8
        let big = "{\"v\":1,\"type\":\"ping\",\"pad\":\"" + String(repeating: "x", count: EdgeProtocol.maxBodyBytes) + "\"}"
        #expect(code(big) == .tooLarge)
        if case .failure(let e) = envelope("{\"v\":9,\"type\":\"ping\"}") { #expect(e.supportedVersions == [1] && e.field == "v") }
        let ok = try envelope("{\"v\":1,\"type\":\"ping\",\"extra\":true}").get()
        #expect(ok.type == "ping" && ok.version == 1)
    }

    @Test func aMistypedFieldIsNamedWithItsPath() throws {
        let text = #"{"v":1,"type":"reports","device":"d","reports":[{"seq":1,"at":"2026-12-02T10:00:00+09:00","kind":"position","position":{"lat":"north","lon":127}}]}"#
        let env = try envelope(text).get()
        guard case .failure(let e) = env.body(ReportsBody.self) else { Issue.record("decoded"); return }
        #expect(e.code == .malformed && e.field == "reports[0].position.lat", "\(e)")
        let missing = try envelope(#"{"v":1,"type":"reports","device":"d","reports":[{"at":0,"kind":"returned"}]}"#).get()
        guard case .failure(let m) = missing.body(ReportsBody.self) else { Issue.record("decoded"); return }
        #expect(m.field == "reports[0].seq", "\(m)")
        let badTime = try envelope(#"{"v":1,"type":"clock.advance","to":"tomorrow"}"#).get()
        guard case .failure(let t) = badTime.body(ClockAdvanceBody.self) else { Issue.record("decoded"); return }
        #expect(t.field == "to" && t.message.contains("ISO-8601"), "\(t)")
    }

    @Test func repliesCarryVersionTypeAndSnakeCaseKeys() throws {
        let bytes = EdgeCodec.encode("reports.ack", ReportsAckBody(lastSeq: 7, results: [ReportResult(seq: 7, status: "applied")], manifest: nil))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object["v"] as? Int == 1 && object["type"] as? String == "reports.ack" && object["last_seq"] as? Int == 7)
        let error = EdgeCodec.encodeError(EdgeError(.sequenceGap, "gap", lastSeq: 3))
        let e = try #require(try JSONSerialization.jsonObject(with: Data(error)) as? [String: Any])
        #expect(e["code"] as? String == "sequence_gap" && e["last_seq"] as? Int == 3 && e["type"] as? String == "error")
    }

    @Test func timesParseWithOffsetsAndFractionsAndWriteInTheCitysOffset() throws {
        let t = try #require(Instant(iso8601: "2026-12-02T13:10:05.123456+09:00"))
        #expect(t == Instant(iso8601: "2026-12-02T04:10:05Z"))
        #expect(t.iso8601(.seoul) == "2026-12-02T13:10:05+09:00")
        for bad in ["2026-12-02", "2026-12-02T25:00+09:00", "2026-12-02T13:10:05.+09:00", "2026-12-02T13:10:05+9:00", "2026-13-02T13:10Z"] {
            #expect(Instant(iso8601: bad) == nil, "\(bad)")
        }
        let body = try EdgeCodec.decode(ClockAdvanceBody.self, from: Array(#"{"to":1764648000}"#.utf8)).get()
        #expect(body.to.instant.epochSeconds == 1_764_648_000)
    }

    @Test func reportsMapToTheAuthenticatedCouriersDomainReports() throws {
        let me = CourierRef.vehicle("van-1")
        let at = WireTime(Instant(epochSeconds: 1_000))
        func map(_ r: WireReport) -> Result<HandheldReport, EdgeError> { r.handheldReport(courier: me, at: "reports[0]") }
        #expect(try map(WireReport(seq: 1, at: at, kind: "position", position: WirePosition(lat: 37.5, lon: 127))).get()
                == .position(me, Coordinate(lat: 37.5, lon: 127), at: Instant(epochSeconds: 1_000)))
        #expect(try map(WireReport(seq: 1, at: at, kind: "arrived", stop: "return_to_base")).get() == .arrived(me, stop: .returnToBase, orders: [], at: Instant(epochSeconds: 1_000)))
        let photo = SHA256.hex("x")
        let delivered = try map(WireReport(seq: 2, at: at, kind: "delivered", order: "o-1", proof: WireProof(kind: "photo", reference: "p/1.jpg", sha256: photo))).get()
        guard case .delivered(let c, let o, let proof, _) = delivered else { Issue.record("\(delivered)"); return }
        #expect(c == me && o == "o-1" && proof.kind == .photo && proof.reference.hasSuffix(photo))
        // A photo without its digest, a bad enum, a missing position, seq 0, a bad coordinate: each named.
        let cases: [(WireReport, String)] = [
            (WireReport(seq: 1, at: at, kind: "delivered", order: "o-1", proof: WireProof(kind: "photo", reference: "p")), "reports[0].proof.sha256"),
            (WireReport(seq: 1, at: at, kind: "failed", order: "o-1", reason: "aliens"), "reports[0].reason"),
            (WireReport(seq: 1, at: at, kind: "position"), "reports[0].position"),
            (WireReport(seq: 0, at: at, kind: "returned"), "reports[0].seq"),
            (WireReport(seq: 1, at: at, kind: "breakdown", position: WirePosition(lat: 91, lon: 0)), "reports[0].position"),
            (WireReport(seq: 1, at: at, kind: "teleported"), "reports[0].kind"),
            (WireReport(seq: 1, at: at, kind: "arrived", stop: "moon", orders: ["o"]), "reports[0].stop"),
            (WireReport(seq: 1, at: at, kind: "picked_up", orders: ["bad id"]), "reports[0].orders[0]"),
            (WireReport(seq: 1, at: at, kind: "arrived", stop: "delivery"), "reports[0].orders"),
        ]
        for (r, field) in cases {
            guard case .failure(let e) = map(r) else { Issue.record("accepted \(r)"); continue }
            #expect(e.field == field, "\(r.kind): \(e)")
        }
    }

    @Test func ordersAndCommandsAreValidatedFieldByField() throws {
        let ok = WireOrder(id: "o-1", product: "same_day", destination: WirePosition(lat: 37.5, lon: 127), lines: [WireLine(sku: "grocery-ambient", quantity: 2)])
        let draft = try ok.draft().get()
        #expect(draft.product == .sameDay && draft.lines == [OrderLine(sku: "grocery-ambient", quantity: 2)])
        var bad = ok; bad.product = "teleport"
        #expect(bad.draft().failureField == "order.product")
        bad = ok; bad.lines = []
        #expect(bad.draft().failureField == "order.lines")
        bad = ok; bad.lines = [WireLine(sku: "x", quantity: 0)]
        #expect(bad.draft().failureField == "order.lines[0].quantity")
        bad = ok; bad.id = "has space"
        #expect(bad.draft().failureField == "order.id")
        let at = WireTime(Instant(epochSeconds: 0))
        #expect(try DispatchCommandBody(region: "g", command: "assign", order: "o", courier: "rider:r-1", at: at).dispatcherCommand().get()
                == .assign("o", to: .rider("r-1")))
        #expect(DispatchCommandBody(region: "g", command: "assign", order: "o", courier: "bike:1", at: at).dispatcherCommand().failureField == "courier")
        #expect(DispatchCommandBody(region: "g", command: "cancel", order: "o", reason: "whim", at: at).dispatcherCommand().failureField == "reason")
        #expect(DispatchCommandBody(region: "g", command: "explode", at: at).dispatcherCommand().failureField == "command")
    }

    @Test func rolesMayOnlySendTheirMessages() {
        let courier = EdgePrincipal(userID: "c", role: .courier, scope: .courier(.vehicle("v")))
        #expect(EdgeAccess.check("reports", courier) == nil)
        #expect(EdgeAccess.check("order.place", courier)?.code == .forbidden)
        #expect(EdgeAccess.check("dispatch.command", EdgePrincipal(userID: "o", role: .observer, scope: .unscoped))?.code == .forbidden)
        #expect(EdgeAccess.check("dispatch.orders", EdgePrincipal(userID: "o", role: .observer, scope: .unscoped)) == nil)
        #expect(EdgeAccess.check("clock.advance", EdgePrincipal(userID: "d", role: .dispatcher, scope: .regions(nil)))?.code == .forbidden)
        // Every message type is allowed to someone, and hello/ping to all.
        for (type, roles) in EdgeAccess.table { #expect(!roles.isEmpty, "\(type)") }
        #expect(EdgeAccess.table["hello"] == Set(EdgeRole.allCases))
        // Scopes.
        #expect(EdgeScope.parse("vehicle:van-1", role: .courier).successValue == .courier(.vehicle("van-1")))
        #expect(EdgeScope.parse("van-1", role: .courier).successValue == nil)
        #expect(EdgeScope.parse("gangnam,songpa", role: .dispatcher).successValue == .regions(["gangnam", "songpa"]))
        #expect(EdgeScope.parse("*", role: .dispatcher).successValue == .regions(nil))
        #expect(EdgeScope.parse("", role: .store).successValue == nil)
        let songpa = EdgePrincipal(userID: "d", role: .dispatcher, scope: .regions(["songpa"]))
        #expect(songpa.covers(region: "songpa") && !songpa.covers(region: "gangnam"))
    }

    @Test func tokensLabelsAndScans() throws {
        let tokens = (0 ..< 1_000).map { _ in TrackingToken.make() }
        #expect(Set(tokens).count == 1_000 && tokens.allSatisfy { TrackingToken.problem($0) == nil && $0.count == 43 })
        // 256 bits: every position of the alphabet shows up across tokens (not a counter, not hex).
        #expect(Set(tokens.joined()).count > 60)
        #expect(TrackingToken.problem("short") != nil && TrackingToken.reference(tokens[0]).count == 8)
        #expect(TrackingToken.hash(tokens[0]).count == 32 && TrackingToken.hash(tokens[0]) != TrackingToken.hash(tokens[1]))
        #expect(ParcelLabel.order(from: "DBK:o-1") == "o-1" && ParcelLabel.order(from: "DBK:o-1/2") == "o-1" && ParcelLabel.order(from: "o-1") == "o-1")
        #expect(ParcelLabel.order(from: "DBK:o-1/x") == nil && ParcelLabel.order(from: "DBK:") == nil && ParcelLabel.order(from: "a b") == nil)
        let at = Instant(epochSeconds: 0), here = Coordinate(lat: 37.5, lon: 127)
        let m = Manifest(courier: .vehicle("v"), version: 3, status: .working, stops: [
            ManifestStop(kind: .pickup, orders: ["a", "b"], location: here, site: "hub", eta: at),
            ManifestStop(kind: .delivery, orders: ["c"], location: here, eta: at),
        ], onBoard: ["c"])
        #expect(try ScanDecision.decide(label: "DBK:a", manifest: m).get().action == "load")
        #expect(try ScanDecision.decide(label: "DBK:c", manifest: m).get().action == "deliver")
        guard case .failure(let e) = ScanDecision.decide(label: "DBK:zz", manifest: m) else { Issue.record("foreign parcel scanned"); return }
        #expect(e.code == .notOnManifest && e.message.contains("zz"))
        // The etag follows content, not the version.
        var moved = m; moved.version = 4
        #expect(WireManifest.etag(moved) == WireManifest.etag(m))
        moved.stops.removeFirst()
        #expect(WireManifest.etag(moved) != WireManifest.etag(m))
    }
}

extension Result {
    var failureCode: EdgeErrorCode? { if case .failure(let e as EdgeError) = self { return e.code }; return nil }
    var failureField: String? { if case .failure(let e as EdgeError) = self { return e.field }; return nil }
    var successValue: Success? { if case .success(let v) = self { return v }; return nil }
}
