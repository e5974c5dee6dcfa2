import DispatchPlanning
import Fleet
import Foundation
import Geo

/// What a node needs to open its regions' service days by itself: the deployment's city and
/// operations files (regions, fleets and shifts, stores, product terms), the policy, the seed and
/// each site's opening stock per SKU, and the clock. Every node of a deployment loads the same
/// files, so a new owner after a failover opens a day exactly as the old one would have (and a
/// day already opened is restored from its journal, whatever the files say now).
public struct OperatingConfig: Sendable {
    public var city: CityRegionsFile
    public var operations: OperationsConfig
    public var policy: DispatchPolicy
    public var seed: UInt64
    /// Each site's stock of every catalogue item when a day opens (the nightly count).
    public var stockPerSKU: Int
    /// Local time at which the operating day changes (operations file `serviceDayRollover`, default 00:00).
    public var rollover: TimeOfDay
    public var clock: ClockMode
    /// Driven clock only: where it starts when this process creates it (nil: the real time now).
    public var clockStart: Instant?
    /// Wall clock only: what "now" is (the real clock; tests inject one that starts elsewhere).
    public var wallNow: @Sendable () -> Instant = DeploymentClock.wallNow
    /// Work budgets of every day opened (nil: `RegionDispatchConfig.Budgets()`).
    public var budgets: RegionDispatchConfig.Budgets?

    public init(city: CityRegionsFile, operations: OperationsConfig, policy: DispatchPolicy = .optimised, seed: UInt64 = 1,
                stockPerSKU: Int = 10_000, rollover: TimeOfDay? = nil, clock: ClockMode = .wall, clockStart: Instant? = nil) {
        self.city = city; self.operations = operations; self.policy = policy; self.seed = seed; self.stockPerSKU = stockPerSKU
        self.rollover = rollover ?? operations.serviceDayRollover ?? TimeOfDay(0); self.clock = clock; self.clockStart = clockStart
    }

    /// Loads and cross-checks both files; errors name the file and the item.
    public static func load(regionsFile: String, operationsFile: String) throws -> (CityRegionsFile, OperationsConfig) {
        func read(_ path: String) throws -> Data {
            guard let d = FileManager.default.contents(atPath: path) else { throw OperatingConfigError(file: path, message: "cannot be read") }
            return d
        }
        let city: CityRegionsFile, ops: OperationsConfig
        do { city = try CityRegionsFile.load(try read(regionsFile)) } catch let e as OperatingConfigError { throw e } catch {
            throw OperatingConfigError(file: regionsFile, message: "\(error)")
        }
        do {
            ops = try OperationsConfig.load(try read(operationsFile))
            try ops.validate(regionIDs: Set(city.regions.regions.map(\.id)), siteIDs: Set(city.hubs.map(\.id) + city.stores.map(\.id)))
        } catch let e as OperatingConfigError { throw e } catch {
            throw OperatingConfigError(file: operationsFile, message: "\(error)")
        }
        return (city, ops)
    }

    /// The regions this deployment dispatches (those in the operations file).
    public var regions: [RegionID] { operations.regions.map(\.id) }

    /// Region `region`'s dispatcher for service day `day`, built from the files.
    public func dayConfig(region: RegionID, day: LocalDay) throws(RegionDispatchConfigError) -> RegionDispatchConfig {
        var c = try RegionDispatchConfig.make(operations: operations, city: city, region: region, day: day, policy: policy,
                                              stockPerSKU: stockPerSKU, seed: seed)
        if let budgets { c.budgets = budgets }
        return c
    }

    public func calendar(region: RegionID) -> ServiceCalendar? {
        operations.productConfig(for: region).map { ServiceCalendar(offset: operations.offset, rollover: rollover, products: $0) }
    }
}

public struct OperatingConfigError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var message: String
    public init(file: String, message: String) { self.file = file; self.message = message }
    public var description: String { "\(file): \(message)" }
}
