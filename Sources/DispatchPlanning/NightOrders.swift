import Fleet
import Foundation
import Geo
import Routing

/// A reproducible dawn night: `count` grocery orders placed during the day before `deliveryDay`,
/// all promised for that morning (00:00–07:00 local by the Seoul terms). Pure: the same inputs
/// and seed give the same orders.
///
/// - Districts are drawn by population weight; each destination is scattered (2-D normal, the
///   district's `spreadMetres`) around the district centroid and redrawn until it falls inside
///   the district's own region polygon (after 64 misses the centroid itself is used).
/// - Mix (grocery dawn delivery): 3–12 kg skewed to the light end, 2.2–3.8 L per kg, coldest zone
///   frozen 25 %, chilled 45 %, ambient 30 %; order times 07:00–22:59 skewed to the evening.
public enum NightOrders {
    /// The SKUs the generated orders use: one generic line per temperature zone (weight and volume
    /// are given per order, so the line says only which zone the box needs).
    public static let catalogue = Catalogue(TemperatureZone.allCases.map {
        CatalogueItem(sku: SKU("grocery-\($0.rawValue)"), name: "grocery box (\($0.rawValue))", unitWeightGrams: 5000,
                      unitVolumeMillilitres: 15000, zone: $0)
    })

    public static func generate(count: Int, seed: UInt64, demand: DemandModel, regions: RegionMap,
                                configs: [RegionID: ProductConfig], deliveryDay: LocalDay,
                                offset: UTCOffset) throws(NightOrdersError) -> [Order] {
        guard count >= 0 else { throw NightOrdersError(message: "order count \(count) is negative") }
        var rng = SeededGenerator(seed: seed ^ 0x6461_7962_7265_616B)   // "daybreak": seed 0 is fine too
        let total = demand.districts.reduce(0) { $0 + $1.population }
        var cumulative: [Int] = []
        var acc = 0
        for d in demand.districts { acc += d.population; cumulative.append(acc) }
        let orderDay = deliveryDay + (-1)
        struct Draft { var at: Instant; var district: Int; var point: Coordinate; var grams: Int64; var ml: Int64; var zone: TemperatureZone }
        var drafts: [Draft] = []
        drafts.reserveCapacity(count)
        for _ in 0..<count {
            let pick = Int(rng.next() % UInt64(total))
            let di = cumulative.firstIndex { pick < $0 }!
            let district = demand.districts[di]
            let point = scatter(around: district, regions: regions, rng: &rng)
            // Evening-heavy: density rising linearly over 07:00–23:00 (sqrt of a uniform).
            let sod = Time.hm(7) + Int64((Double(16 * 3600 - 1) * rng.unit().squareRoot()).rounded(.down))
            let at = Instant.local(orderDay, sod, offset)
            let kg = 3 + 9 * pow(rng.unit(), 1.6)
            let litresPerKg = 2.2 + 1.6 * rng.unit()
            let z = rng.unit()
            let zone: TemperatureZone = z < 0.25 ? .frozen : (z < 0.70 ? .chilled : .ambient)
            drafts.append(Draft(at: at, district: di, point: point, grams: Int64((kg * 1000).rounded()),
                                ml: Int64((kg * litresPerKg * 1000).rounded()), zone: zone))
        }
        // Ids follow arrival order, so "first come first served" is id order too.
        drafts.sort { $0.at < $1.at }
        let width = max(6, String(count).count)
        var orders: [Order] = []
        orders.reserveCapacity(count)
        for (i, d) in drafts.enumerated() {
            let n = String(i + 1)
            let id = OrderID("dawn-" + String(repeating: "0", count: width - n.count) + n)
            let draft = OrderDraft(id: id, lines: [OrderLine(sku: SKU("grocery-\(d.zone.rawValue)"), quantity: 1)],
                                   weightGrams: d.grams, volumeMillilitres: d.ml, zone: d.zone, destination: d.point, product: .dawn)
            do {
                orders.append(try Order.create(draft, at: d.at, catalogue: catalogue,
                                               locate: { regions.containing($0).map { RegionID($0.id) } }, configs: configs))
            } catch {
                throw NightOrdersError(message: "generated order \(id) in \(demand.districts[d.district].id) was rejected: \(error)")
            }
        }
        return orders
    }

    static func scatter(around d: DemandModel.District, regions: RegionMap, rng: inout SeededGenerator) -> Coordinate {
        let region = regions.region(id: d.regionID)
        let metresPerDegLat = 111_195.0
        let metresPerDegLon = metresPerDegLat * cos(d.centroid.lat * .pi / 180)
        for _ in 0..<64 {
            // Box–Muller: two independent standard normals.
            let u1 = max(rng.unit(), 1e-12), u2 = rng.unit()
            let r = (-2 * log(u1)).squareRoot() * d.spreadMetres
            let p = Coordinate(lat: d.centroid.lat + r * sin(2 * .pi * u2) / metresPerDegLat,
                               lon: d.centroid.lon + r * cos(2 * .pi * u2) / metresPerDegLon)
            if region?.contains(p) ?? true, regions.containing(p)?.id == d.regionID { return p }
        }
        return d.centroid
    }
}

public struct NightOrdersError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { "order generation: \(message)" }
}

extension Order {
    /// Boxes handed over at the door: one per started 30 L (grocery totes), at least one.
    public var parcels: Int { max(1, Int((volumeMillilitres + 29_999) / 30_000)) }
}
