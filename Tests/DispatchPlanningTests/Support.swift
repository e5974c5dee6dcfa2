@testable import DispatchPlanning
import Fleet
import Foundation
import Geo
import Routing
import Testing

/// The repository's Regions/ files, loaded once.
enum Fixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func data(_ name: String) -> Data { try! Data(contentsOf: root.appendingPathComponent("Regions").appendingPathComponent(name)) }
    static let regionsData = data("seoul.json")
    static let city = try! CityRegionsFile.load(regionsData)
    static let operations = try! OperationsConfig.load(data("seoul-operations.json"))
    static let demand = try! DemandModel.load(regionsFile: regionsData, demandFile: data("seoul-demand.json"))
    static let day = LocalDay(index: 20_500)
    static let setup = try! WaveSetup.dawn(config: operations, city: city, deliveryDay: day)
    static var configs: [RegionID: ProductConfig] {
        var c: [RegionID: ProductConfig] = [:]
        for r in operations.regions { c[r.id] = operations.productConfig(for: r.id) }
        return c
    }
    static func orders(_ n: Int, seed: UInt64) -> [Order] {
        try! NightOrders.generate(count: n, seed: seed, demand: demand, regions: city.regions, configs: configs,
                                  deliveryDay: day, offset: operations.offset)
    }
    /// A deterministic solver budget: iterations, not time.
    static func options(seed: UInt64 = 1, iterations: Int = 400) -> SolveOptions {
        SolveOptions(seed: seed, maxIterations: iterations)
    }
}
