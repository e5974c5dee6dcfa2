import Foundation
import Geo

/// Where dawn orders come from: the city's districts with a relative weight (population) and a
/// scatter around their centroid. Built from the region file (district centroids, Docs/REGIONS.md)
/// and `Regions/<city>-demand.json` (Docs/REPORT.md). Pure: decodes bytes.
public struct DemandModel: Sendable {
    public struct District: Sendable, Equatable {
        public var id: String
        public var regionID: String
        public var centroid: Coordinate
        public var population: Int
        /// Standard deviation of the scatter around the centroid, metres.
        public var spreadMetres: Double
    }
    public let districts: [District]

    public init(districts: [District]) throws(DemandError) {
        guard !districts.isEmpty else { throw DemandError(item: "districts", message: "no districts") }
        for d in districts {
            guard d.population > 0 else { throw DemandError(item: "district \(d.id).population", message: "\(d.population) is not positive") }
            guard d.spreadMetres.isFinite, d.spreadMetres > 0, d.spreadMetres <= 20_000 else {
                throw DemandError(item: "district \(d.id).spreadKm", message: "\(d.spreadMetres / 1000) is not in (0, 20]")
            }
            guard d.centroid.isValid else { throw DemandError(item: "district \(d.id).centroid", message: "not a valid coordinate") }
        }
        self.districts = districts
    }

    private struct RegionsFile: Decodable {
        struct District: Decodable { var id: String; var centroid: Coordinate }
        struct Region: Decodable { var id: String; var districts: [District] }
        var regions: [Region]
    }
    private struct DemandFile: Decodable {
        struct District: Decodable { var id: String; var population: Int; var spreadKm: Double? }
        var format: String
        var version: Int
        var districts: [District]
    }

    /// Joins the district centroids of the region file with the demand file. Every district must
    /// be in both (errors name the district and the file it is missing from).
    public static func load(regionsFile: Data, demandFile: Data) throws(DemandError) -> DemandModel {
        let r: RegionsFile, d: DemandFile
        do { r = try JSONDecoder().decode(RegionsFile.self, from: regionsFile) }
        catch { throw DemandError(item: "regions file", message: "\(error)") }
        do { d = try JSONDecoder().decode(DemandFile.self, from: demandFile) }
        catch { throw DemandError(item: "demand file", message: "\(error)") }
        guard d.format == "daybreak.demand" else { throw DemandError(item: "demand file format", message: "\"\(d.format)\" is not \"daybreak.demand\"") }
        guard d.version == 1 else { throw DemandError(item: "demand file version", message: "\(d.version) is not supported (expected 1)") }
        var weights: [String: DemandFile.District] = [:]
        for (i, x) in d.districts.enumerated() {
            guard weights[x.id] == nil else { throw DemandError(item: "demand file districts[\(i)]", message: "district \(x.id) appears twice") }
            weights[x.id] = x
        }
        var out: [District] = []
        for region in r.regions {
            for x in region.districts {
                guard let w = weights.removeValue(forKey: x.id) else {
                    throw DemandError(item: "district \(x.id)", message: "is in the regions file but not in the demand file")
                }
                out.append(District(id: x.id, regionID: region.id, centroid: x.centroid, population: w.population,
                                    spreadMetres: (w.spreadKm ?? 1.4) * 1000))
            }
        }
        if let extra = weights.keys.sorted().first {
            throw DemandError(item: "district \(extra)", message: "is in the demand file but not in the regions file")
        }
        return try DemandModel(districts: out)
    }
}

/// A demand model that cannot be used; names the item.
public struct DemandError: Error, Sendable, Equatable, CustomStringConvertible {
    public var item: String
    public var message: String
    public var description: String { "demand: \(item): \(message)" }
}
