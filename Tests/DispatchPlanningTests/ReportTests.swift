@testable import DispatchPlanning
import Fleet
import Foundation
import Geo
import Testing

@Suite struct ReportTests {
    static func input() throws -> DemoReport.Input {
        let p = WavePlannerTests.small
        return DemoReport.Input(planID: "plan <&> \"x\"", day: Fixture.day, seed: 11, orders: p.orders, city: Fixture.city, setup: Fixture.setup,
                                optimised: WavePlan(name: "optimised", regions: p.optimised, unassigned: p.cityUnassigned),
                                baseline: WavePlan(name: "baseline", regions: p.baseline, unassigned: p.cityUnassigned),
                                timeLimit: 1, planSeconds: 2, regionSeconds: [:], totalSeconds: 3)
    }

    @Test func reportIsOneOfflineDocumentWithAMapPerRegionAndTheCharts() throws {
        let html = DemoReport.render(try Self.input())
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("src="), "no external resources")
        #expect(html.contains("plan plan &lt;&amp;&gt; \"x\""), "the plan id is escaped")
        let svgs = html.components(separatedBy: "<svg ").count - 1
        // city map + 2 bar charts + 3 histograms + one map per region
        #expect(svgs == 6 + Fixture.city.regions.regions.count)
        for r in Fixture.city.regions.regions { #expect(html.contains(r.name)) }
        #expect(html.contains("km per parcel") && html.contains("g CO2e per parcel"))
    }

    @Test func kpiTableHasARowPerRegionAndATotal() throws {
        let i = try Self.input()
        let lines = DemoReport.kpiTable(optimised: i.optimised, baseline: i.baseline).split(separator: "\n")
        #expect(lines.count == 2 + Fixture.setup.regions.count)
        #expect(lines.last?.hasPrefix("TOTAL") == true)
        for (line, r) in zip(lines.dropFirst(), Fixture.setup.regions) { #expect(line.hasPrefix(r.regionID.rawValue)) }
    }

    @Test func histogramBinsCountEveryVanOnce() {
        #expect(DemoReport.bins([0, 0.05, 0.1, 0.55, 0.999, 1.0, 1.7]) == [2, 1, 0, 0, 0, 1, 0, 0, 0, 3])
        #expect(DemoReport.bins([]).reduce(0, +) == 0)
    }

    @Test func hourlyCountsEveryPlannedStopInTheWindow() throws {
        let i = try Self.input()
        let counts = DemoReport.hourly(i.optimised.allRoutes, offset: Fixture.setup.offset, from: 0, to: 7)
        #expect(counts.reduce(0, +) == PlanKPIs(wave: i.optimised).planned)
        #expect(counts[0] == 0, "no van reaches a door before its first wave")
    }

    @Test func axisStepsAreRoundAndCoverTheRange() {
        for x in [0.37, 1.0, 7.8, 10.2, 99, 2219.6, 43506.5] {
            let step = DemoReport.niceStep(x)
            let mantissa = step / pow(10, log10(step).rounded(.down))
            #expect([1, 2, 2.5, 5, 10].contains { abs($0 - mantissa) < 1e-9 }, "\(x) → \(step)")
            #expect(step * 4 >= x && step * 2 < x * 1.0001, "\(x) → \(step): about four intervals")
            let five = DemoReport.niceStep(x, intervals: 5)
            #expect(five * 5 >= x && five <= step, "\(x) → \(five) with five intervals")
        }
    }

    @Test func datesRoundTrip() {
        #expect(DemoReport.dateString(LocalDay(index: 0)) == "1970-01-01")
        #expect(DemoReport.dateString(LocalDay(index: 20_513)) == "2026-03-01")
        #expect(DemoReport.dateString(LocalDay(index: 19_782)) == "2024-02-29")
    }
}
