import Geo

/// What a vehicle or rider can carry, or what an order needs. Integer grams and millilitres.
/// `volume` is the total; `chilled` and `frozen` are the parts of it that need those zones
/// (a van's chilled and frozen compartments or insulated boxes). JSON uses kg and litres.
public struct Capacity: Sendable, Hashable, Codable {
    public var weightGrams: Int64
    public var volumeMillilitres: Int64
    public var chilledMillilitres: Int64
    public var frozenMillilitres: Int64

    public init(weightGrams: Int64, volumeMillilitres: Int64, chilledMillilitres: Int64 = 0, frozenMillilitres: Int64 = 0) {
        self.weightGrams = weightGrams; self.volumeMillilitres = volumeMillilitres
        self.chilledMillilitres = chilledMillilitres; self.frozenMillilitres = frozenMillilitres
    }
    public static let zero = Capacity(weightGrams: 0, volumeMillilitres: 0)

    public static func + (a: Capacity, b: Capacity) -> Capacity {
        Capacity(weightGrams: a.weightGrams + b.weightGrams, volumeMillilitres: a.volumeMillilitres + b.volumeMillilitres,
                 chilledMillilitres: a.chilledMillilitres + b.chilledMillilitres, frozenMillilitres: a.frozenMillilitres + b.frozenMillilitres)
    }
    /// True when every dimension of `load` is within this capacity.
    public func fits(_ load: Capacity) -> Bool {
        load.weightGrams <= weightGrams && load.volumeMillilitres <= volumeMillilitres
            && load.chilledMillilitres <= chilledMillilitres && load.frozenMillilitres <= frozenMillilitres
    }
    /// The four dimensions in the order `Routing.Load` documents: weight, volume, chilled, frozen.
    public var vector: SIMD4<Int64> { SIMD4(weightGrams, volumeMillilitres, chilledMillilitres, frozenMillilitres) }
    var isNonNegative: Bool { weightGrams >= 0 && volumeMillilitres >= 0 && chilledMillilitres >= 0 && frozenMillilitres >= 0 }

    private enum CodingKeys: String, CodingKey { case weightKg, volumeL, chilledL, frozenL }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func milli(_ k: CodingKeys) throws -> Int64 {
            let v = try c.decodeIfPresent(Double.self, forKey: k) ?? 0
            guard v.isFinite, v >= 0, v < 1e9 else {
                throw DecodingError.dataCorruptedError(forKey: k, in: c, debugDescription: "\(k.rawValue) \(v) must be a non-negative number")
            }
            return Int64((v * 1000).rounded())
        }
        self.init(weightGrams: try milli(.weightKg), volumeMillilitres: try milli(.volumeL),
                  chilledMillilitres: try milli(.chilledL), frozenMillilitres: try milli(.frozenL))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Double(weightGrams) / 1000, forKey: .weightKg); try c.encode(Double(volumeMillilitres) / 1000, forKey: .volumeL)
        try c.encode(Double(chilledMillilitres) / 1000, forKey: .chilledL); try c.encode(Double(frozenMillilitres) / 1000, forKey: .frozenL)
    }
}

extension Order {
    /// What this order occupies: its volume counts against the chilled or frozen space too
    /// when its zone needs it.
    public var load: Capacity {
        Capacity(weightGrams: weightGrams, volumeMillilitres: volumeMillilitres,
                 chilledMillilitres: zone == .chilled ? volumeMillilitres : 0,
                 frozenMillilitres: zone == .frozen ? volumeMillilitres : 0)
    }
}

/// A daily working pattern in local time; `end` may pass 24:00 (a dawn shift 01:00–08:00 is
/// written 01:00–08:00; a night shift 22:00–31:00 ends at 07:00 the next day).
public struct ShiftPattern: Sendable, Hashable, Codable {
    public var start: TimeOfDay
    public var end: TimeOfDay
    public init(start: TimeOfDay, end: TimeOfDay) { self.start = start; self.end = end }
    /// The shift that starts on `day`.
    public func on(_ day: LocalDay, _ offset: UTCOffset) -> (start: Instant, end: Instant) {
        (.local(day, start.seconds, offset), .local(day, end.seconds, offset))
    }
}

extension VehicleKind {
    /// Riders (motorbike, e-bike) work from stores; vehicles (vans, trucks) from hubs or stores.
    public var isRider: Bool { self == .motorbike || self == .eBike }
}

/// A van, EV van or truck.
public struct Vehicle: Sendable, Hashable, Codable {
    public var id: VehicleID
    public var kind: VehicleKind
    public var capacity: Capacity
    public var home: SiteID
    public var shift: ShiftPattern
    public init(id: VehicleID, kind: VehicleKind, capacity: Capacity, home: SiteID, shift: ShiftPattern) throws(FleetError) {
        guard !kind.isRider else { throw .riderKindForVehicle(id.rawValue, kind) }
        guard capacity.isNonNegative else { throw .negativeCapacity(id.rawValue) }
        guard shift.start < shift.end else { throw .emptyShift(id.rawValue) }
        self.id = id; self.kind = kind; self.capacity = capacity; self.home = home; self.shift = shift
    }
}

/// A motorbike or e-bike rider working from a store; carries a few orders per run.
public struct Rider: Sendable, Hashable, Codable {
    public var id: RiderID
    public var kind: VehicleKind
    public var capacity: Capacity
    public var store: SiteID
    public var shift: ShiftPattern
    public var maxOrdersPerRun: Int
    public init(id: RiderID, kind: VehicleKind, capacity: Capacity, store: SiteID, shift: ShiftPattern, maxOrdersPerRun: Int = 3) throws(FleetError) {
        guard kind.isRider else { throw .vehicleKindForRider(id.rawValue, kind) }
        guard capacity.isNonNegative else { throw .negativeCapacity(id.rawValue) }
        guard shift.start < shift.end else { throw .emptyShift(id.rawValue) }
        guard maxOrdersPerRun >= 1 else { throw .badOrdersPerRun(id.rawValue, maxOrdersPerRun) }
        self.id = id; self.kind = kind; self.capacity = capacity; self.store = store; self.shift = shift
        self.maxOrdersPerRun = maxOrdersPerRun
    }
}

public enum FleetError: Error, Sendable, Equatable, CustomStringConvertible {
    case riderKindForVehicle(String, VehicleKind)
    case vehicleKindForRider(String, VehicleKind)
    case negativeCapacity(String)
    case emptyShift(String)
    case badOrdersPerRun(String, Int)
    public var description: String {
        switch self {
        case .riderKindForVehicle(let id, let k): return "vehicle \(id): \(k.rawValue) is a rider kind"
        case .vehicleKindForRider(let id, let k): return "rider \(id): \(k.rawValue) is not a rider kind (motorbike, eBike)"
        case .negativeCapacity(let id): return "\(id): negative capacity"
        case .emptyShift(let id): return "\(id): shift ends before it starts"
        case .badOrdersPerRun(let id, let n): return "rider \(id): maxOrdersPerRun \(n) must be at least 1"
        }
    }
}

/// Grams of CO2e per vehicle-km, well-to-wheel where the source allows. Approximate values;
/// sources and derivation in Docs/DOMAIN.md ("Emission factors").
public struct EmissionFactors: Sendable, Hashable, Codable {
    public var gramsPerKm: [VehicleKind: Double]
    public init(gramsPerKm: [VehicleKind: Double]) { self.gramsPerKm = gramsPerKm }

    /// Defaults (see Docs/DOMAIN.md):
    /// - van (diesel, average ≤3.5 t): UK DESNZ/DEFRA 2023 ≈ 240 g TTW + ≈ 60 g WTT ≈ 300 g/km
    /// - truck (rigid 3.5–7.5 t diesel, average laden): DESNZ/DEFRA 2023 ≈ 480 g TTW + ≈ 120 g WTT ≈ 600 g/km
    /// - motorbike (petrol, small ≤125 cc): DESNZ/DEFRA 2023 ≈ 83 g TTW + ≈ 22 g WTT ≈ 105 g/km
    /// - EV van: ≈ 0.28 kWh/km (Hyundai Porter II Electric class) × ≈ 460 g/kWh Korean grid ≈ 129 g/km
    /// - e-bike: ≈ 0.012 kWh/km × ≈ 460 g/kWh ≈ 6 g/km
    public static let defaults = EmissionFactors(gramsPerKm: [
        .van: 300, .truck: 600, .motorbike: 105, .evVan: 0.28 * koreaGridGramsPerKWh, .eBike: 0.012 * koreaGridGramsPerKWh,
    ])
    /// Korean national grid factor, ≈ 0.4594 tCO2e/MWh (GIR/Ministry of Environment factor used for
    /// the Korean ETS); approximate, generation only.
    public static let koreaGridGramsPerKWh = 459.4

    /// Grams CO2e for `metres` driven by `kind`; 0 for a kind without a factor.
    public func grams(_ kind: VehicleKind, metres: Int64) -> Double { (gramsPerKm[kind] ?? 0) * Double(metres) / 1000 }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode([String: Double].self)
        var m: [VehicleKind: Double] = [:]
        for (k, v) in raw {
            guard let kind = VehicleKind(rawValue: k) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "emission factor for unknown vehicle kind \"\(k)\""))
            }
            guard v.isFinite, v >= 0 else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "emission factor for \(k) must be ≥ 0, is \(v)"))
            }
            m[kind] = v
        }
        gramsPerKm = m
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(Dictionary(uniqueKeysWithValues: gramsPerKm.map { ($0.key.rawValue, $0.value) }))
    }
}
