import Geo
import Hub
import Testing
import Warehouse

@Suite struct HubWavesTests {
    /// Three vans of the dawn plan, two leaving in the same half hour: their parcels in their vans,
    /// one tote per order, waves by the half hour of departure, and the wave opens in `HubState`
    /// with a chute for every van, reused by nobody in the same departure wave.
    @Test func theDawnPlansVansBecomeTheHubsWave() throws {
        let layout = try hubLayout()
        let midnight = Instant(epochSeconds: 1_800_000_000)
        let loads = [
            HubWaves.VanLoad(van: "van-a", departure: midnight + 5400, orders: [.init(id: "o1", parcels: 2), .init(id: "o2", parcels: 0)]),
            HubWaves.VanLoad(van: "van-b", departure: midnight + 6000, orders: [.init(id: "o3", parcels: 3)]),
            HubWaves.VanLoad(van: "van-c", departure: midnight + 7300, orders: [.init(id: "o4", parcels: 1)]),
        ]
        let (wave, totes) = HubWaves.wave(layout: layout, loads: loads, origin: midnight, start: 0)
        #expect(wave.vans.map(\.wave) == [0, 0, 1])
        #expect(wave.vans.map(\.departure) == [5400, 6000, 7300])
        #expect(wave.parcels.map(\.id) == ["o1#1", "o1#2", "o2#1", "o3#1", "o3#2", "o3#3", "o4#1"])
        #expect(wave.parcels.map(\.van) == [0, 0, 0, 1, 1, 1, 2])
        #expect(totes == [[0, 1], [2], [3, 4, 5], [6]])
        #expect(totes.allSatisfy { t in Set(t.map { wave.parcels[$0].storage }).count == 1 })
        var s = HubState()
        s.apply(try s.decide(.open(wave)))
        for v in wave.vans.indices { #expect(!s.chutes(ofVan: v).isEmpty) }
        #expect(Set(s.chutes(ofVan: 0)).isDisjoint(with: s.chutes(ofVan: 1)))
    }
}
