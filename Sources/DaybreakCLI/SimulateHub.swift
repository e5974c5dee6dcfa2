import Base
import Fleet
import Foundation
import Geo
import Simulation
import Warehouse

extension SimulateRun {
    /// The optimised night's dawn wave through the hub (`HubDay.run`) with the hub's layout from
    /// `sites/<hub>.site` beside the regions file; nil (noted) when the city has no hub or no layout.
    func hubWave(_ result: SimulationResult, city: CityRegionsFile) throws(CommandFailure) -> HubDayReport? {
        guard let hub = city.hubs.first?.id else { return nil }
        let dir = URL(fileURLWithPath: resolve(o.files.regions)).deletingLastPathComponent()
        let file = dir.appendingPathComponent("sites").appendingPathComponent("\(hub).site")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            note("no layout for hub \(hub) at \(file.path): the hub's wave is not simulated")
            return nil
        }
        let layout: SiteLayout
        do { layout = try SiteLayout.parse(text, file: file.path) } catch {
            throw CommandFailure(message: "\(error)", status: ExitStatus.dataError)
        }
        return HubDay.run(result.optimised, scenario: result.scenario, layout: layout, hub: SiteID(hub), robots: o.hubRobots)
    }
}
