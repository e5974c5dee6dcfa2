@testable import DispatchPlanning
import Fleet
import Foundation
import Geo
import Testing

@Suite struct NightOrdersTests {
    @Test func theSameSeedGivesTheSameOrdersAndAnotherSeedOthers() {
        let a = Fixture.orders(300, seed: 42), b = Fixture.orders(300, seed: 42), c = Fixture.orders(300, seed: 43)
        #expect(a == b)
        #expect(a.map(\.destination) != c.map(\.destination))
    }

    @Test func everyOrderLiesInsideItsOwnRegionPolygon() {
        for o in Fixture.orders(1500, seed: 9) {
            let region = Fixture.city.regions.region(id: o.region.rawValue)
            #expect(region?.contains(o.destination) == true, "\(o.id) at \(o.destination) is outside \(o.region)")
        }
    }

    @Test func ordersAreDawnGroceriesPromisedForTheMorning() {
        let orders = Fixture.orders(1000, seed: 4)
        let off = Fixture.operations.offset
        #expect(Set(orders.map(\.id)).count == orders.count)
        #expect(orders.map(\.createdAt) == orders.map(\.createdAt).sorted(), "ids follow arrival order")
        for o in orders {
            #expect(o.product == .dawn)
            #expect(o.promise.earliest == Instant.local(Fixture.day, 0, off))
            #expect(o.promise.latest == Instant.local(Fixture.day, 7 * 3600, off))
            #expect(o.createdAt.localDay(off) == Fixture.day + (-1) && o.createdAt.secondsOfLocalDay(off) < 23 * 3600)
            #expect((3000...12000).contains(o.weightGrams), "\(o.id): \(o.weightGrams) g")
            #expect((1...2).contains(o.parcels), "\(o.id): \(o.parcels) parcels")
        }
        let frozen = Double(orders.filter { $0.zone == .frozen }.count) / Double(orders.count)
        let chilled = Double(orders.filter { $0.zone == .chilled }.count) / Double(orders.count)
        #expect(abs(frozen - 0.25) < 0.05 && abs(chilled - 0.45) < 0.05)
    }

    @Test func regionsGetOrdersInProportionToTheirPopulation() {
        let orders = Fixture.orders(4000, seed: 2)
        let total = Double(Fixture.demand.districts.reduce(0) { $0 + $1.population })
        for r in Fixture.city.regions.regions {
            let share = Double(Fixture.demand.districts.filter { $0.regionID == r.id }.reduce(0) { $0 + $1.population }) / total
            let got = Double(orders.filter { $0.region.rawValue == r.id }.count) / Double(orders.count)
            #expect(abs(got - share) < 0.03, "\(r.id): \(got) of orders vs \(share) of people")
        }
    }

    @Test func zeroOrdersIsAnEmptyNight() {
        #expect(Fixture.orders(0, seed: 1).isEmpty)
    }
}

@Suite struct DemandModelTests {
    static let regions = Fixture.regionsData

    @Test func aDistrictMissingFromTheDemandFileIsNamed() {
        let demand = Data(#"{"format":"daybreak.demand","version":1,"districts":[{"id":"jongno-gu","population":1}]}"#.utf8)
        #expect(throws: DemandError.self) { try DemandModel.load(regionsFile: Self.regions, demandFile: demand) }
        do { _ = try DemandModel.load(regionsFile: Self.regions, demandFile: demand) }
        catch { #expect(error.description.contains("jung-gu") && error.description.contains("not in the demand file")) }
    }

    @Test func anUnknownDistrictOrBadPopulationIsNamed() throws {
        var json = try JSONSerialization.jsonObject(with: Fixture.data("seoul-demand.json")) as! [String: Any]
        var ds = json["districts"] as! [[String: Any]]
        ds.append(["id": "atlantis-gu", "population": 5])
        json["districts"] = ds
        let extra = try JSONSerialization.data(withJSONObject: json)
        do { _ = try DemandModel.load(regionsFile: Self.regions, demandFile: extra); Issue.record("accepted an unknown district") }
        catch { #expect(error.description.contains("atlantis-gu")) }
        ds.removeLast(); ds[3]["population"] = 0; json["districts"] = ds
        let zero = try JSONSerialization.data(withJSONObject: json)
        do { _ = try DemandModel.load(regionsFile: Self.regions, demandFile: zero); Issue.record("accepted population 0") }
        catch { #expect(error.description.contains("\(ds[3]["id"]!)") && error.description.contains("population")) }
    }

    @Test func theWrongFormatIsRejected() {
        let demand = Data(#"{"format":"daybreak.operations","version":1,"districts":[]}"#.utf8)
        do { _ = try DemandModel.load(regionsFile: Self.regions, demandFile: demand); Issue.record("accepted") }
        catch { #expect(error.description.contains("format")) }
    }
}
