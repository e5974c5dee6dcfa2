import Foundation
import Geo

/// The products a region offers. A missing product is not offered.
public struct ProductTerms: Sendable, Hashable, Codable {
    public var dawn: DawnConfig?
    public var sameDay: SameDayConfig?
    public var quick: QuickConfig?
    public var scheduled: ScheduledConfig?
    public var bopis: BopisConfig?
    public init(dawn: DawnConfig? = nil, sameDay: SameDayConfig? = nil, quick: QuickConfig? = nil,
                scheduled: ScheduledConfig? = nil, bopis: BopisConfig? = nil) {
        self.dawn = dawn; self.sameDay = sameDay; self.quick = quick; self.scheduled = scheduled; self.bopis = bopis
    }
}

/// A group of identical vehicles or riders based at one site.
public struct FleetEntry: Sendable, Hashable, Codable {
    public var site: SiteID
    public var kind: VehicleKind
    public var count: Int
    public var capacity: Capacity
    public var shift: ShiftPattern
    /// Units are named `<idPrefix>-001`, `-002`, …
    public var idPrefix: String
    /// Riders only; default 3.
    public var maxOrdersPerRun: Int?
}

/// Operations of one dispatch region: road circuity, products (if different from the city's),
/// and fleets.
public struct RegionOperations: Sendable, Hashable, Codable {
    public var id: RegionID
    public var circuity: Double
    public var products: ProductTerms?
    /// Products the city offers that this region does not.
    public var notOffered: [Product]?
    public var fleets: [FleetEntry]
}

/// The contents of `Regions/<city>-operations.json` (format in Docs/DOMAIN.md): speed profiles,
/// circuity, fleets and product terms. Pure: decode from `Data` with `load(_:)`.
public struct OperationsConfig: Sendable, Hashable {
    public static let format = "daybreak.operations"
    public static let supportedVersion = 1

    public var city: String
    public var offset: UTCOffset
    public var defaultCircuity: Double
    public var tripLengthSpeedup: TripLengthSpeedup?
    public var speedProfiles: [VehicleKind: SpeedProfile]
    public var emissionFactors: EmissionFactors
    public var products: ProductTerms
    public var regions: [RegionOperations]
    /// Local time at which a region's operating day changes (`serviceDayRollover`, "HH:MM";
    /// nil: midnight). See `ServiceCalendar` in DispatchPlanning.
    public var serviceDayRollover: TimeOfDay? = nil

    /// The product configuration of `region`; nil if the region is not in this file.
    public func productConfig(for region: RegionID) -> ProductConfig? {
        guard let r = regions.first(where: { $0.id == region }) else { return nil }
        var t = r.products ?? products
        for p in r.notOffered ?? [] {
            switch p {
            case .dawn: t.dawn = nil
            case .sameDay: t.sameDay = nil
            case .quick: t.quick = nil
            case .scheduled: t.scheduled = nil
            case .bopis: t.bopis = nil
            }
        }
        return ProductConfig(region: region, offset: offset, dawn: t.dawn, sameDay: t.sameDay, quick: t.quick,
                             scheduled: t.scheduled, bopis: t.bopis)
    }

    /// Circuity factors by region ID, for `GreatCircleTravelModel`.
    public var circuity: [String: Double] {
        Dictionary(uniqueKeysWithValues: regions.map { ($0.id.rawValue, $0.circuity) })
    }

    /// The built-in travel model over `regions` (polygons from the city's region file).
    public func travelModel(regions map: RegionMap?) throws(TravelModelError) -> GreatCircleTravelModel {
        try GreatCircleTravelModel(regions: map, circuity: circuity, defaultCircuity: defaultCircuity,
                                   speeds: speedProfiles, offset: offset, tripLengthSpeedup: tripLengthSpeedup)
    }

    /// Every van, EV van and truck, expanded from the fleet entries. Deterministic order.
    public func vehicles() -> [Vehicle] {
        regions.flatMap { r in r.fleets.filter { !$0.kind.isRider }.flatMap { f in
            (1...f.count).map { n in
                try! Vehicle(id: VehicleID(Self.unitID(f.idPrefix, n)), kind: f.kind, capacity: f.capacity, home: f.site, shift: f.shift)
            }
        } }
    }

    /// Every rider, expanded from the fleet entries.
    public func riders() -> [Rider] {
        regions.flatMap { r in r.fleets.filter { $0.kind.isRider }.flatMap { f in
            (1...f.count).map { n in
                try! Rider(id: RiderID(Self.unitID(f.idPrefix, n)), kind: f.kind, capacity: f.capacity, store: f.site,
                           shift: f.shift, maxOrdersPerRun: f.maxOrdersPerRun ?? 3)
            }
        } }
    }

    static func unitID(_ prefix: String, _ n: Int) -> String {
        let s = String(n)
        return prefix + "-" + String(repeating: "0", count: max(0, 3 - s.count)) + s
    }
}

/// Why an operations file was rejected; names the item (JSON path, region, fleet entry).
public struct OperationsConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where: a JSON path such as `regions[2].fleets[0].capacity`, or a region ID.
    public var item: String
    public var message: String
    public init(item: String, message: String) { self.item = item; self.message = message }
    public var description: String { "operations config: \(item): \(message)" }
}

extension OperationsConfig {
    private struct File: Decodable {
        var format: String
        var version: Int
        var city: String
        var utcOffset: String
        var defaultCircuity: Double
        var tripLengthSpeedup: TripLengthSpeedupKm?
        var speedProfiles: [String: SpeedProfile]
        var emissionFactors: EmissionFactors?
        var products: ProductTerms
        var regions: [RegionOperations]
        var serviceDayRollover: TimeOfDay?
    }

    private struct TripLengthSpeedupKm: Decodable { var fromKm: Double; var fullKm: Double; var maxFactor: Double }

    /// Decodes and validates. Every error names the item at fault.
    public static func load(_ data: Data) throws(OperationsConfigError) -> OperationsConfig {
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) }
        catch let e as DecodingError { throw OperationsConfigError(item: path(of: e), message: reason(of: e)) }
        catch { throw OperationsConfigError(item: "(file)", message: "\(error)") }

        guard file.format == format else { throw OperationsConfigError(item: "format", message: "expected \"\(format)\", found \"\(file.format)\"") }
        guard file.version == supportedVersion else {
            throw OperationsConfigError(item: "version", message: "version \(file.version) is not supported (expected \(supportedVersion))")
        }
        guard let offset = parseOffset(file.utcOffset) else {
            throw OperationsConfigError(item: "utcOffset", message: "\"\(file.utcOffset)\" is not ±HH:MM")
        }
        var speeds: [VehicleKind: SpeedProfile] = [:]
        for (k, p) in file.speedProfiles {
            guard let kind = VehicleKind(rawValue: k) else {
                throw OperationsConfigError(item: "speedProfiles.\(k)", message: "unknown vehicle kind (known: \(VehicleKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            speeds[kind] = p
        }
        guard file.defaultCircuity.isFinite, (1...3).contains(file.defaultCircuity) else {
            throw OperationsConfigError(item: "defaultCircuity", message: "\(file.defaultCircuity) is not in 1...3")
        }
        var speedup: TripLengthSpeedup?
        if let t = file.tripLengthSpeedup {
            let s = TripLengthSpeedup(fromMetres: Int64((t.fromKm * 1000).rounded()), fullMetres: Int64((t.fullKm * 1000).rounded()), maxFactor: t.maxFactor)
            do { try s.validate() } catch { throw OperationsConfigError(item: "tripLengthSpeedup", message: error.description) }
            speedup = s
        }
        try validate(file.products, item: "products")
        var seen = Set<RegionID>()
        for (i, r) in file.regions.enumerated() {
            let at = "regions[\(i)] (\(r.id))"
            guard seen.insert(r.id).inserted else { throw OperationsConfigError(item: at, message: "region defined twice") }
            guard r.circuity.isFinite, (1...3).contains(r.circuity) else {
                throw OperationsConfigError(item: "\(at).circuity", message: "\(r.circuity) is not in 1...3")
            }
            if let p = r.products { try validate(p, item: "\(at).products") }
            var prefixes = Set<String>()
            for (j, f) in r.fleets.enumerated() {
                let fat = "\(at).fleets[\(j)]"
                guard f.count >= 1 else { throw OperationsConfigError(item: fat, message: "count \(f.count) must be at least 1") }
                guard speeds[f.kind] != nil else { throw OperationsConfigError(item: fat, message: "no speed profile for \(f.kind.rawValue)") }
                guard f.shift.start < f.shift.end else { throw OperationsConfigError(item: "\(fat).shift", message: "ends before it starts") }
                guard !f.idPrefix.isEmpty, prefixes.insert(f.idPrefix).inserted else {
                    throw OperationsConfigError(item: "\(fat).idPrefix", message: "\"\(f.idPrefix)\" is empty or repeated")
                }
                if let m = f.maxOrdersPerRun, m < 1 || !f.kind.isRider {
                    throw OperationsConfigError(item: "\(fat).maxOrdersPerRun", message: "only for riders, and at least 1")
                }
            }
        }
        var factors = EmissionFactors.defaults
        for (k, v) in file.emissionFactors?.gramsPerKm ?? [:] { factors.gramsPerKm[k] = v }
        var config = OperationsConfig(city: file.city, offset: offset, defaultCircuity: file.defaultCircuity,
                                      tripLengthSpeedup: speedup, speedProfiles: speeds,
                                      emissionFactors: factors, products: file.products, regions: file.regions)
        if let r = file.serviceDayRollover {
            guard r.seconds < Time.secondsPerDay else {
                throw OperationsConfigError(item: "serviceDayRollover", message: "\(r) must be before 24:00")
            }
            config.serviceDayRollover = r
        }
        // Unit IDs must be unique across the whole city.
        var ids = Set<String>()
        for r in config.regions { for f in r.fleets { for n in 1...f.count where !ids.insert(unitID(f.idPrefix, n)).inserted {
            throw OperationsConfigError(item: "region \(r.id) fleet \(f.idPrefix)", message: "unit \(unitID(f.idPrefix, n)) also exists elsewhere")
        } } }
        return config
    }

    /// Cross-checks with the city's region file: every region here exists there, and every fleet
    /// site is a known site. Pass what the region file defines.
    public func validate(regionIDs: Set<String>, siteIDs: Set<String>) throws(OperationsConfigError) {
        for r in regions {
            guard regionIDs.contains(r.id.rawValue) else { throw OperationsConfigError(item: "region \(r.id)", message: "not in the region file") }
            for f in r.fleets where !siteIDs.contains(f.site.rawValue) {
                throw OperationsConfigError(item: "region \(r.id) fleet \(f.idPrefix)", message: "site \(f.site) is not in the region file")
            }
        }
    }

    static func validate(_ t: ProductTerms, item: String) throws(OperationsConfigError) {
        func bad(_ what: String, _ msg: String) -> OperationsConfigError { OperationsConfigError(item: "\(item).\(what)", message: msg) }
        if let d = t.dawn {
            guard d.cutoff.seconds <= Time.secondsPerDay else { throw bad("dawn.cutoff", "must be at most 24:00") }
            guard d.windowStart < d.windowEnd else { throw bad("dawn", "window start \(d.windowStart) is not before end \(d.windowEnd)") }
            for w in d.waves ?? [] where w >= d.windowEnd { throw bad("dawn.waves", "wave at \(w) leaves after the window ends (\(d.windowEnd))") }
        }
        if let s = t.sameDay {
            guard s.windowStart < s.windowEnd else { throw bad("sameDay", "window start \(s.windowStart) is not before end \(s.windowEnd)") }
            guard s.cutoff <= s.windowStart else { throw bad("sameDay.cutoff", "\(s.cutoff) is after the window starts (\(s.windowStart))") }
        }
        if let q = t.quick {
            guard q.minMinutes > 0, q.minMinutes <= q.maxMinutes else { throw bad("quick", "need 0 < minMinutes ≤ maxMinutes") }
            guard q.storeHours.open < q.storeHours.close else { throw bad("quick.storeHours", "opens after it closes") }
            guard q.maxRadiusMetres > 0 else { throw bad("quick.maxRadiusMetres", "must be positive") }
        }
        if let s = t.scheduled {
            guard s.slotMinutes > 0, !s.slotStarts.isEmpty else { throw bad("scheduled", "need slotMinutes > 0 and at least one slot") }
            guard Set(s.slotStarts).count == s.slotStarts.count, s.slotStarts.allSatisfy({ $0.seconds < Time.secondsPerDay }) else {
                throw bad("scheduled.slotStarts", "repeated or past 24:00")
            }
            guard s.leadMinutes >= 0, s.horizonDays >= 0 else { throw bad("scheduled", "negative lead or horizon") }
            if let c = s.slotCapacity, c < 1 { throw bad("scheduled.slotCapacity", "\(c): a slot must take at least one order (leave it out for no limit)") }
        }
        if let b = t.bopis {
            guard b.readyWithinMinutes > 0, b.holdHours > 0 else { throw bad("bopis", "need readyWithinMinutes > 0 and holdHours > 0") }
            guard b.storeHours.open < b.storeHours.close else { throw bad("bopis.storeHours", "opens after it closes") }
        }
    }

    static func parseOffset(_ s: String) -> UTCOffset? {
        guard s.count == 6, let sign = s.first, sign == "+" || sign == "-" else { return nil }
        let parts = s.dropFirst().split(separator: ":")
        guard parts.count == 2, let h = Int64(parts[0]), let m = Int64(parts[1]), (0...14).contains(h), (0..<60).contains(m) else { return nil }
        return UTCOffset(seconds: (sign == "-" ? -1 : 1) * (h * 3600 + m * 60))
    }

    static func path(of e: DecodingError) -> String {
        let ctx: DecodingError.Context
        var keyName: String?
        switch e {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): ctx = c
        case .keyNotFound(let k, let c): ctx = c; keyName = k.stringValue
        @unknown default: return "(file)"
        }
        var s = ""
        for k in ctx.codingPath + (keyName.map { [AnyKey($0)] } ?? []) {
            if let i = k.intValue { s += "[\(i)]" } else { s += s.isEmpty ? k.stringValue : ".\(k.stringValue)" }
        }
        return s.isEmpty ? "(file)" : s
    }

    static func reason(of e: DecodingError) -> String {
        switch e {
        case .typeMismatch(let t, let c): return "expected \(t): \(c.debugDescription)"
        case .valueNotFound(let t, _): return "missing \(t) value"
        case .keyNotFound: return "required field missing"
        case .dataCorrupted(let c): return c.debugDescription
        @unknown default: return "\(e)"
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String; var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { return nil }
    }
}
