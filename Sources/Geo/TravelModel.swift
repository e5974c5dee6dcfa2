/// What moves on the road. Shared by the travel model (speed profiles) and `Fleet` (vehicles, riders).
public enum VehicleKind: String, Sendable, Hashable, Codable, CaseIterable {
    case van, evVan, truck, motorbike, eBike
}

/// A square node-indexed matrix of integers, row-major (`from * count + to`): the layout
/// `Routing.Problem` takes. Distances in metres, durations in seconds.
public struct Matrix: Sendable, Equatable {
    public let count: Int
    public private(set) var values: [Int64]
    public init(count: Int, values: [Int64]) {
        precondition(values.count == count * count, "matrix needs \(count * count) values")
        self.count = count; self.values = values
    }
    public init(count: Int, _ f: (Int, Int) -> Int64) {
        var v = [Int64](repeating: 0, count: count * count)
        for i in 0..<count { for j in 0..<count { v[i * count + j] = f(i, j) } }
        self.init(count: count, values: v)
    }
    public subscript(from: Int, to: Int) -> Int64 { values[from * count + to] }
}

/// Kilometres per hour for each local hour of the day (index 0 = 00:00–01:00).
public struct SpeedProfile: Sendable, Hashable, Codable {
    public let kmh: [Double]
    /// Metres per hour, integer, so travel-time integration is exact and FIFO by construction.
    let metresPerHour: [Int64]

    public init(kmh: [Double]) throws(SpeedProfileError) {
        guard kmh.count == 24 else { throw .wrongLength(kmh.count) }
        for (h, v) in kmh.enumerated() where !(v.isFinite && v >= 1 && v <= 200) { throw .badSpeed(hour: h, v) }
        self.kmh = kmh
        self.metresPerHour = kmh.map { Int64(($0 * 1000).rounded()) }
    }
    public static func constant(_ kmh: Double) -> SpeedProfile { try! SpeedProfile(kmh: Array(repeating: kmh, count: 24)) }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        do { try self.init(kmh: try c.decode([Double].self)) }
        catch let e as SpeedProfileError { throw DecodingError.dataCorruptedError(in: c, debugDescription: e.description) }
    }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(kmh) }
    public static func == (a: SpeedProfile, b: SpeedProfile) -> Bool { a.kmh == b.kmh }
    public func hash(into h: inout Hasher) { h.combine(kmh) }

    /// Seconds to drive `metres` leaving at `departure`, integrating the speed across hour
    /// boundaries (a time-dependent model after Ichoua, Gendreau & Potvin 2003). Exact integer
    /// arithmetic in metre·seconds-per-hour; the result is the ceiling of the exact time, so
    /// arrival = departure + result is non-decreasing in departure: a vehicle that leaves later
    /// never arrives earlier (FIFO). O(hours crossed).
    /// `speedFactor` scales every hour's speed (a trip-length boost, see `TripLengthSpeedup`);
    /// FIFO holds for any fixed factor.
    public func travelSeconds(metres: Int64, departingAt departure: Instant, offset: UTCOffset, speedFactor: Double = 1) -> Int64 {
        guard metres > 0 else { return 0 }
        let speeds = speedFactor == 1 ? metresPerHour : metresPerHour.map { max(1, Int64((Double($0) * speedFactor).rounded())) }
        var remaining = metres * 3600          // metres × (seconds per hour)
        let sod = departure.secondsOfLocalDay(offset)
        var hour = Int(sod / 3600)
        var left = 3600 - sod % 3600           // seconds until the next hour boundary
        var total: Int64 = 0
        while true {
            let v = speeds[hour]               // progress per second, in the same units
            if remaining <= v * left {
                return total + (remaining + v - 1) / v
            }
            remaining -= v * left
            total += left
            hour = (hour + 1) % 24
            left = 3600
        }
    }
}

public enum SpeedProfileError: Error, Sendable, Equatable, CustomStringConvertible {
    case wrongLength(Int)
    case badSpeed(hour: Int, Double)
    public var description: String {
        switch self {
        case .wrongLength(let n): return "speed profile needs 24 hourly values, has \(n)"
        case .badSpeed(let h, let v): return "speed profile hour \(h): \(v) km/h is not in 1...200"
        }
    }
}

/// Departure slots for time-dependent duration matrices: ascending instants.
public struct TimeSlots: Sendable, Equatable {
    public let starts: [Instant]
    public init(starts: [Instant]) {
        precondition(!starts.isEmpty && zip(starts, starts.dropFirst()).allSatisfy { $0 < $1 }, "slot starts must ascend")
        self.starts = starts
    }
    /// `count` slots of `length` seconds from `first`.
    public static func every(_ length: Int64, from first: Instant, count: Int) -> TimeSlots {
        TimeSlots(starts: (0..<count).map { first + Int64($0) * length })
    }
}

/// One duration matrix per departure slot: entry k holds travel times leaving at `slots.starts[k]`.
/// Between slot starts, `duration(from:to:departingAt:)` interpolates arrival times linearly,
/// which keeps FIFO because the arrivals at consecutive slot starts are themselves FIFO.
public struct TimeDependentDurations: Sendable, Equatable {
    public let slots: TimeSlots
    public let matrices: [Matrix]
    public init(slots: TimeSlots, matrices: [Matrix]) {
        precondition(slots.starts.count == matrices.count && Set(matrices.map(\.count)).count <= 1)
        self.slots = slots; self.matrices = matrices
    }

    /// Seconds from node `i` to node `j` departing at `t`. Before the first slot uses the first
    /// matrix, after the last the last one. O(log slots).
    public func duration(from i: Int, to j: Int, departingAt t: Instant) -> Int64 {
        let s = slots.starts
        if t <= s[0] { return matrices[0][i, j] }
        if t >= s[s.count - 1] { return matrices[s.count - 1][i, j] }
        var lo = 0, hi = s.count - 1          // s[lo] <= t < s[hi]
        while hi - lo > 1 { let m = (lo + hi) / 2; if s[m] <= t { lo = m } else { hi = m } }
        let a0 = s[lo].epochSeconds + matrices[lo][i, j]
        let a1 = s[hi].epochSeconds + matrices[hi][i, j]
        let span = s[hi] - s[lo], into = t - s[lo]
        let arrival = a0 + Time.floorDiv((a1 - a0) * into, span)
        return max(0, arrival - t.epochSeconds)
    }
}

/// A travel model produces what the routing engine consumes: integer distance (metres) and
/// time-dependent duration (seconds) matrices. `GreatCircleTravelModel` is the built-in one;
/// a road-network engine (OSRM, Valhalla) can conform later without touching the solver.
///
/// Contract every conformer must keep (the tests state it): distances and durations are
/// non-negative, zero from a point to itself, and travel time is FIFO in departure time.
public protocol TravelModel: Sendable {
    /// Whether `kind` can be timed (e.g. has a speed profile). Timing an unsupported kind is a
    /// programming error; check first where the kind comes from data.
    func supports(_ kind: VehicleKind) -> Bool
    /// Road distance in metres.
    func distanceMetres(from: Coordinate, to: Coordinate) -> Int64
    /// Travel time in seconds for `kind` leaving `from` at `departure`.
    func travelSeconds(from: Coordinate, to: Coordinate, kind: VehicleKind, departingAt departure: Instant) -> Int64
    /// n×n distances. O(n²).
    func distanceMatrix(_ points: [Coordinate]) -> Matrix
    /// One n×n duration matrix per slot. O(slots × n²).
    func durationMatrices(_ points: [Coordinate], kind: VehicleKind, slots: TimeSlots) -> TimeDependentDurations
}

extension TravelModel {
    public func supports(_ kind: VehicleKind) -> Bool { true }
    public func distanceMatrix(_ points: [Coordinate]) -> Matrix {
        Matrix(count: points.count) { i, j in i == j ? 0 : distanceMetres(from: points[i], to: points[j]) }
    }
    public func durationMatrices(_ points: [Coordinate], kind: VehicleKind, slots: TimeSlots) -> TimeDependentDurations {
        TimeDependentDurations(slots: slots, matrices: slots.starts.map { t in
            Matrix(count: points.count) { i, j in i == j ? 0 : travelSeconds(from: points[i], to: points[j], kind: kind, departingAt: t) }
        })
    }
}

/// Great-circle distance × a circuity factor (road distance / crow-fly distance) per region,
/// driven at hour-of-day speeds per vehicle kind. For a pair of points the factor is the mean of
/// the two endpoints' region factors (symmetric); points outside every region use `defaultCircuity`.
public struct GreatCircleTravelModel: TravelModel {
    public let regions: RegionMap?
    public let circuity: [String: Double]
    public let defaultCircuity: Double
    public let speeds: [VehicleKind: SpeedProfile]
    public let offset: UTCOffset
    public let tripLengthSpeedup: TripLengthSpeedup?

    public init(regions: RegionMap?, circuity: [String: Double], defaultCircuity: Double = 1.35,
                speeds: [VehicleKind: SpeedProfile], offset: UTCOffset = .seoul,
                tripLengthSpeedup: TripLengthSpeedup? = nil) throws(TravelModelError) {
        for (id, f) in circuity where !(f.isFinite && f >= 1 && f <= 3) { throw .badCircuity(region: id, f) }
        guard defaultCircuity.isFinite, defaultCircuity >= 1, defaultCircuity <= 3 else { throw .badCircuity(region: "(default)", defaultCircuity) }
        if let t = tripLengthSpeedup { try t.validate() }
        self.regions = regions; self.circuity = circuity; self.defaultCircuity = defaultCircuity
        self.speeds = speeds; self.offset = offset; self.tripLengthSpeedup = tripLengthSpeedup
    }

    func seconds(_ p: SpeedProfile, metres: Int64, at t: Instant) -> Int64 {
        p.travelSeconds(metres: metres, departingAt: t, offset: offset, speedFactor: tripLengthSpeedup?.factor(metres: metres) ?? 1)
    }

    public func supports(_ kind: VehicleKind) -> Bool { speeds[kind] != nil }

    public func circuityFactor(at p: Coordinate) -> Double {
        guard let id = regions?.containing(p)?.id else { return defaultCircuity }
        return circuity[id] ?? defaultCircuity
    }

    func metres(_ a: Coordinate, _ b: Coordinate, _ fa: Double, _ fb: Double) -> Int64 {
        Int64((GreatCircle.distanceMetres(a, b) * (fa + fb) / 2).rounded())
    }

    func profile(_ kind: VehicleKind) -> SpeedProfile {
        // A missing profile is a configuration bug; the loader checks every kind in use has one.
        guard let p = speeds[kind] else { preconditionFailure("no speed profile for \(kind.rawValue)") }
        return p
    }

    public func distanceMetres(from a: Coordinate, to b: Coordinate) -> Int64 {
        metres(a, b, circuityFactor(at: a), circuityFactor(at: b))
    }

    public func travelSeconds(from a: Coordinate, to b: Coordinate, kind: VehicleKind, departingAt t: Instant) -> Int64 {
        seconds(profile(kind), metres: distanceMetres(from: a, to: b), at: t)
    }

    /// Looks each point's region up once, then O(n²) haversines.
    public func distanceMatrix(_ points: [Coordinate]) -> Matrix {
        let f = points.map(circuityFactor(at:))
        return Matrix(count: points.count) { i, j in i == j ? 0 : metres(points[i], points[j], f[i], f[j]) }
    }

    public func durationMatrices(_ points: [Coordinate], kind: VehicleKind, slots: TimeSlots) -> TimeDependentDurations {
        let d = distanceMatrix(points), p = profile(kind)
        return TimeDependentDurations(slots: slots, matrices: slots.starts.map { t in
            Matrix(count: points.count) { i, j in seconds(p, metres: d[i, j], at: t) }
        })
    }
}

/// Longer trips run faster on average: past a few kilometres a van leaves side streets for
/// arterials and expressways (a hub 30 km outside the city is not reached at city-street speed).
/// Speeds are multiplied by a factor rising linearly from 1 at `fromMetres` to `factor` at
/// `fullMetres` and constant beyond. Constant per pair, so FIFO holds; `validate` also keeps
/// travel time non-decreasing in distance ((factor − 1) × from ≤ full − from).
public struct TripLengthSpeedup: Sendable, Hashable, Codable {
    public var fromMetres: Int64
    public var fullMetres: Int64
    public var maxFactor: Double
    public init(fromMetres: Int64, fullMetres: Int64, maxFactor: Double) {
        self.fromMetres = fromMetres; self.fullMetres = fullMetres; self.maxFactor = maxFactor
    }
    public func factor(metres: Int64) -> Double {
        if metres <= fromMetres { return 1 }
        if metres >= fullMetres { return maxFactor }
        return 1 + (maxFactor - 1) * Double(metres - fromMetres) / Double(fullMetres - fromMetres)
    }
    public func validate() throws(TravelModelError) {
        guard fromMetres >= 0, fullMetres > fromMetres, maxFactor.isFinite, maxFactor >= 1, maxFactor <= 4,
              (maxFactor - 1) * Double(fromMetres) <= Double(fullMetres - fromMetres) else { throw .badTripLengthSpeedup(self) }
    }
}

public enum TravelModelError: Error, Sendable, Equatable, CustomStringConvertible {
    case badCircuity(region: String, Double)
    case badTripLengthSpeedup(TripLengthSpeedup)
    public var description: String {
        switch self {
        case .badCircuity(let r, let f): return "region \(r): circuity factor \(f) is not in 1...3"
        case .badTripLengthSpeedup(let t):
            return "trip-length speedup \(t): need 0 ≤ from < full, factor in 1...4 and (factor − 1) × from ≤ full − from (time must not fall with distance)"
        }
    }
}
