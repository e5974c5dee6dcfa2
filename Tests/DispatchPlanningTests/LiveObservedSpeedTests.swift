@testable import DispatchPlanning
import Fleet
import Foundation
import Geo
import Testing

/// The dispatcher learns the observed road speed from handheld reports (Docs/DISPATCH.md,
/// "Observed speed"). Riders at a walking 5 km/h so one leg lasts about 40 minutes.
@Suite struct LiveObservedSpeedTests {
    static let a1 = CourierRef.rider("a-1")
    static let b1 = CourierRef.rider("b-1")
    static let storeA = Coordinate(lat: 37.55, lon: 127.03)
    static let door = Coordinate(lat: 37.55, lon: 127.058)

    static func config() -> RegionDispatchConfig {
        var c = Live.config(couriers: [Live.rider("a-1", Live.storeA), Live.rider("b-1", Live.storeB)])
        c.travel.speeds[.motorbike] = .constant(5)
        return c
    }

    /// a-1 loads quick order q0 at 10:06 and drives to its door taking `ratio` × the model's time,
    /// reporting its position every 10 minutes on the straight line, then arrives and delivers.
    /// Returns (harness, arrival, delivery instant).
    static func day(ratio: Double, impossible: Bool = false) -> (Harness, Instant, Instant) {
        var h = Harness(config())
        guard case .assigned = h.place(Live.draft("q0", .quick, door.lat, door.lon), at: Live.at(10)) else {
            Issue.record("q0 not assigned"); return (h, Live.at(10), Live.at(10))
        }
        _ = h.handheld(.shiftStarted(a1, at: Live.at(9, 30), position: storeA))
        let t0 = Live.at(10, 6)
        _ = h.handheld(.pickedUp(a1, orders: ["q0"], at: t0))
        let arrival = drive(&h, a1, from: storeA, to: door, at: t0, ratio: ratio, impossible: impossible)
        _ = h.handheld(.arrived(a1, stop: .delivery, orders: ["q0"], at: arrival))
        let done = arrival + 120
        _ = h.handheld(.delivered(a1, order: "q0", proof: .init(kind: .pin, reference: "1"), at: done))
        return (h, arrival, done)
    }

    /// Position reports every 10 minutes along a → b for a leg taking `ratio` × the model's time;
    /// returns the arrival instant. `impossible`: after the first report, one jumping to 95 % of the
    /// leg a minute later, and one repeating that instant.
    static func drive(_ h: inout Harness, _ c: CourierRef, from a: Coordinate, to b: Coordinate, at t0: Instant, ratio: Double,
                      impossible: Bool = false) -> Instant {
        let s = h.state
        let metres = s.travel.metres(s.travel.point(a), s.travel.point(b))
        let secs = Int64((Double(s.travel.seconds(metres: metres, .motorbike, at: t0)) * ratio).rounded())
        func point(_ f: Double) -> Coordinate { Coordinate(lat: a.lat + (b.lat - a.lat) * f, lon: a.lon + (b.lon - a.lon) * f) }
        var t = t0 + 600
        while t < t0 + secs {
            _ = h.handheld(.position(c, point(Double(t - t0) / Double(secs)), at: t))
            if impossible && t == t0 + 600 {
                let before = h.state.observedSpeed
                _ = h.handheld(.position(c, point(0.95), at: t + 60))
                #expect(h.state.observedSpeed == before, "a jump at > 150 km/h is ignored")
                _ = h.handheld(.position(c, point(0.96), at: t + 60))
                #expect(h.state.observedSpeed == before, "a report not after the last one is ignored")
            }
            t = t + 600
        }
        return t0 + secs
    }

    @Test func slowReportsRaiseTheFactorAndStretchETAs() {
        let (slow, _, slowDone) = Self.day(ratio: 1.8)
        let (normal, _, normalDone) = Self.day(ratio: 1.0)
        let f = slow.state.observedSpeed.factor
        #expect(f > 1.5 && f < 1.8, "factor \(f) after a leg at ×1.8")
        #expect(slow.state.observedSpeed.observations >= 5)
        #expect(abs(normal.state.observedSpeed.factor - 1) < 0.02, "normal speed: \(normal.state.observedSpeed.factor)")
        // The ride back to the store: the model's time × the factor as it applies at departure.
        func back(_ h: Harness, _ t: Instant) -> Int64 {
            let m = h.state.manifest(of: Self.a1, at: t)!
            guard let stop = m.stops.first, stop.kind == .returnToBase else { Issue.record("no return: \(m.stops)"); return 1 }
            return stop.eta - t
        }
        let ratio = Double(back(slow, slowDone)) / Double(back(normal, normalDone))
        let expected = slow.state.observedSpeed.factor(at: slowDone) / normal.state.observedSpeed.factor(at: normalDone)
        #expect(ratio > 1.4 && abs(ratio - expected) < 0.01, "ETA stretched ×\(ratio), factor ×\(expected)")
        slow.checkReplay()
        normal.checkReplay()
    }

    @Test func normalReportsAndTimeBringItBack() {
        var (h, _, done) = Self.day(ratio: 1.8)
        let high = h.state.observedSpeed.factor
        // Decays with time since the last observation: half-life 30 minutes.
        let later = h.state.observedSpeed.factor(at: done + 3600)
        #expect(abs((later - 1) - (h.state.observedSpeed.factor(at: done) - 1) / 4) < 0.01)
        // Waiting at a stop is not driving: no observation.
        let n = h.state.observedSpeed.observations
        _ = h.handheld(.position(Self.a1, Self.door, at: done + 60))
        #expect(h.state.observedSpeed.observations == n)
        // Home at the model's speed.
        let back = Self.drive(&h, Self.a1, from: Self.door, to: Self.storeA, at: done + 60, ratio: 1.0)
        _ = h.handheld(.arrived(Self.a1, stop: .returnToBase, orders: [], at: back))
        let f = h.state.observedSpeed.factor
        #expect(h.state.observedSpeed.observations > n)
        #expect(f < 1 + (high - 1) * 0.5 && f >= 1, "factor \(f) after a normal leg (was \(high))")
        h.checkReplay()
    }

    @Test func impossibleAndOutOfOrderReportsAreIgnored() {
        let (bad, _, _) = Self.day(ratio: 1.8, impossible: true)
        let (good, _, _) = Self.day(ratio: 1.8)
        // The bad reports change nothing the later ones learn (the leg's progress is kept).
        #expect(bad.state.observedSpeed.factor == good.state.observedSpeed.factor)
        #expect(bad.state.observedSpeed.observations == good.state.observedSpeed.observations)
        bad.checkReplay()
    }

    @Test func replayReproducesTheFactorAndOldJournalsDecode() throws {
        let (h, _, _) = Self.day(ratio: 1.8)
        var rebuilt = RegionDispatchState(config: h.state.config)
        for e in h.events {
            rebuilt.apply(try JSONDecoder().decode(DispatchEvent.self, from: try JSONEncoder().encode(e)))
        }
        #expect(rebuilt.observedSpeed == h.state.observedSpeed && rebuilt.observedSpeed.factor > 1.5)
        #expect(rebuilt == h.state)
        // Journals and snapshots written before the field existed still decode (no speed learned).
        func strip(_ v: Any) -> Any {
            if let d = v as? [String: Any] {
                var out: [String: Any] = [:]
                for (k, x) in d where k != "observedSpeed" && k != "leg" { out[k] = strip(x) }
                return out
            }
            if let a = v as? [Any] { return a.map(strip) }
            return v
        }
        func old<T: Codable>(_ x: T) throws -> T {
            let json = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(x))
            return try JSONDecoder().decode(T.self, from: try JSONSerialization.data(withJSONObject: strip(json)))
        }
        var fromOld = RegionDispatchState(config: h.state.config)
        for e in h.events { fromOld.apply(try old(e)) }
        #expect(fromOld.observedSpeed == ObservedSpeed() && fromOld.records() == h.state.records())
        let snapshot = try old(h.state)
        #expect(snapshot.observedSpeed == ObservedSpeed() && snapshot.records() == h.state.records())
    }

    @Test func anInsertionFeasibleAtNormalSpeedIsRefusedInAJam() {
        // Quick q1 from store B, 2.8 km away: at 5 km/h 44 min to the door, ×1.5 more than the hour.
        for ratio in [1.0, 1.8] {
            var (h, arrival, _) = Self.day(ratio: ratio)
            let out = h.place(Live.draft("q1", .quick, 37.555, 127.08), at: arrival + 180)
            if ratio == 1.0 {
                guard case .assigned(let c, _, _, _) = out else { Issue.record("normal speed: \(out)"); continue }
                #expect(c == Self.b1)
            } else {
                guard case .rejected(let r) = out else { Issue.record("observed ×1.8 yet placed: \(out)"); continue }
                #expect(r.problem == .noCapacity)
            }
            h.checkReplay()
        }
    }

    @Test func theBaselineLearnsNothing() {
        var h = Harness({ var c = Self.config(); c.policy = .baseline; return c }())
        guard case .assigned = h.place(Live.draft("q0", .quick, Self.door.lat, Self.door.lon), at: Live.at(10)) else { Issue.record("q0"); return }
        _ = h.handheld(.shiftStarted(Self.a1, at: Live.at(9, 30), position: Self.storeA))
        _ = h.handheld(.pickedUp(Self.a1, orders: ["q0"], at: Live.at(10, 6)))
        _ = Self.drive(&h, Self.a1, from: Self.storeA, to: Self.door, at: Live.at(10, 6), ratio: 1.8)
        #expect(h.state.observedSpeed == ObservedSpeed())
    }
}
