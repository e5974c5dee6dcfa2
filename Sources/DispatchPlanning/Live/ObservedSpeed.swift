import Fleet
import Geo

/// The region's observed road speed: how much slower (or faster) than the travel model couriers
/// actually drove lately, learned from consecutive handheld reports on a known leg. A value of the
/// state (journaled in every event's change), never read from a clock: instants come from reports.
///
/// `factor` is an exponentially weighted ratio observed ÷ model, each observation clamped to
/// `minRatio…maxRatio` and weighted by its driven seconds (`1 − ½^(seconds / halfLife)`); over
/// time nobody was observed, and when applied to a later instant, the excess over 1 decays with
/// half-life `halfLifeSeconds` since the last observation. So a jam raises it within a few reports,
/// normal reports bring it back, and with no reports it fades to 1.
struct ObservedSpeed: Sendable, Hashable, Codable {
    static let halfLifeSeconds: Double = 1800
    static let minRatio = 0.7, maxRatio = 2.5
    /// Reports faster than this are impossible (a GPS jump, a wrong clock): ignored.
    static let maxKmh = 150.0
    /// Observations over less than this are noise (rounding of report times): skipped.
    static let minSegmentMetres: Int64 = 200
    static let minExpectedSeconds = 30.0

    var factor: Double = 1
    /// When the last observation ended; nil = nothing observed yet.
    var at: Instant?
    /// Observations used so far (for tests and the log).
    var observations: Int = 0

    /// The factor as it applies to travel starting at `t` (decayed since the last observation).
    func factor(at t: Instant) -> Double {
        guard let last = at, factor != 1 else { return factor }
        let dt = Double(max(0, t - last))
        return 1 + (factor - 1) * Self.decay(dt)
    }

    static func decay(_ seconds: Double) -> Double {
        seconds <= 0 ? 1 : Double.twoToThe(-seconds / halfLifeSeconds)
    }

    /// Folds in one observation: `ratio` = observed ÷ model seconds over the driving from `start`
    /// to `t`. A continuous-time average: over the time nobody was observed (since the last
    /// observation until `start`) the excess decays towards 1; over the observed stretch it moves
    /// towards the ratio with weight `1 − ½^(seconds / halfLife)`.
    mutating func observe(ratio: Double, from start: Instant, to t: Instant) {
        let r = min(Self.maxRatio, max(Self.minRatio, ratio))
        let current = factor(at: start)
        let w = 1 - Self.decay(Double(t - start))
        factor = min(Self.maxRatio, max(Self.minRatio, current + w * (r - current)))
        at = max(at ?? t, t)
        observations += 1
    }
}

extension Double {
    /// 2^x without Foundation (deterministic: the same libm on every build of one platform).
    static func twoToThe(_ x: Double) -> Double {
        // exp(x ln 2) by range reduction: 2^x = 2^n · 2^f, f in [0, 1), 2^f by its Taylor series.
        let n = x.rounded(.down)
        let f = (x - n) * 0.693_147_180_559_945_3
        var term = 1.0, sum = 1.0
        for k in 1...20 { term *= f / Double(k); sum += term }
        guard n > -1000 else { return 0 }
        return sum * Double(sign: .plus, exponent: Int(n), significand: 1)
    }
}

/// A leg a courier is driving, as the dispatcher knows it: from where and when it set off (its last
/// report before driving: a delivery, a failure, a load, or a position), towards its manifest's first
/// stop; and how far along it was at the last report used.
struct DrivingLeg: Sendable, Hashable, Codable {
    var from: Coordinate
    var at: Instant
    var to: Coordinate
    /// Model road metres from `from` reached at `doneAt`.
    var done: Int64
    var doneAt: Instant
}

extension RegionDispatchState {
    /// Where an `arrived` report puts the courier (as `report` does).
    func arrivalLocation(_ i: Int, _ kind: ManifestStop.Kind, _ ids: [OrderID]) -> Coordinate? {
        let home = siteLocation(config.couriers[i].home)
        switch kind {
        case .delivery: return ids.last.flatMap { orders[$0]?.order.destination }
        case .pickup: return positionOfPickup(i, ids) ?? home
        case .returnToBase: return home
        }
    }

    /// Learns from courier `i`'s report `r` at `t` reaching `p`: when it was driving a known leg and
    /// `p` lies on it, the progress since the last report (model road metres) against the model's
    /// time for that share of the leg. Ignored: no leg (stops, service, idle), time not after the
    /// last report, `p` off the leg (re-routed: the leg is dropped), too short, faster than 150 km/h.
    mutating func learnSpeed(_ i: Int, reached p: Coordinate, at t: Instant) {
        guard var leg = couriers[i].leg else { return }
        guard t > leg.doneAt, t > (couriers[i].positionAt ?? leg.at) else { return }
        let from = travel.point(leg.from), to = travel.point(leg.to), here = travel.point(p)
        let total = travel.metres(from, to)
        let along = travel.metres(from, here), rest = travel.metres(here, to)
        // On the leg: going there and on costs no more than the leg (2 % + 50 m for rounding).
        guard total > 0, Double(along + rest) <= Double(total) * 1.02 + 50 else { couriers[i].leg = nil; return }
        let progress = min(along, total) - leg.done
        let seconds = Double(t - leg.doneAt)
        guard progress >= ObservedSpeed.minSegmentMetres else { return }
        guard Double(progress) / seconds * 3.6 <= ObservedSpeed.maxKmh else { return }
        let model = Double(travel.seconds(metres: total, config.couriers[i].kind, at: leg.at))
        let expected = model * Double(progress) / Double(total)
        guard expected >= ObservedSpeed.minExpectedSeconds else { return }
        observedSpeed.observe(ratio: seconds / expected, from: leg.doneAt, to: t)
        leg.done = min(along, total); leg.doneAt = t
        couriers[i].leg = leg
    }

    /// After a report: the leg courier `i` drives now (towards its manifest's first stop `next`),
    /// or none (at a stop, idle, broken down). A position report on the same leg keeps it.
    mutating func setLeg(_ i: Int, after r: HandheldReport, next: Coordinate?) {
        let drives: Bool
        switch r {
        case .delivered, .failed, .pickedUp: drives = true
        case .position:
            if let leg = couriers[i].leg, let n = next, leg.to == n { return }
            drives = true
        default: drives = false
        }
        guard drives, !couriers[i].broken, let p = couriers[i].position, let n = next, let at = couriers[i].positionAt,
              travel.metres(travel.point(p), travel.point(n)) >= ObservedSpeed.minSegmentMetres else {
            couriers[i].leg = nil
            return
        }
        couriers[i].leg = DrivingLeg(from: p, at: at, to: n, done: 0, doneAt: at)
    }
}
