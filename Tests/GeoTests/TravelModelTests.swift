import Testing
@testable import Geo

/// Van-like profile: fast at night, slow in the rush hours.
let vanProfile = try! SpeedProfile(kmh: [33, 35, 35, 35, 35, 32, 26, 20, 18, 20, 22, 22,
                                         22, 22, 22, 21, 20, 19, 18, 20, 24, 27, 30, 32])
let day0 = LocalDay(index: 20_000)

@Suite struct TimeTests {
    @Test func seoulLocalTimeOfDayAndDay() {
        // 2024-01-01T00:00:00+09:00 is 2023-12-31T15:00:00Z = 1704034800.
        let t = Instant(epochSeconds: 1_704_034_800)
        #expect(t.secondsOfLocalDay(.seoul) == 0)
        #expect(t.localDay(.seoul) == (t - 1).localDay(.seoul) + 1)
        #expect(Instant.local(t.localDay(.seoul), Time.hm(23), .seoul) == t + 23 * 3600)
        #expect((t - 1).localHour(.seoul) == 23)
    }
    @Test func beforeEpochFloors() {
        let t = Instant(epochSeconds: -1)
        #expect(t.localDay(.utc).index == -1)
        #expect(t.secondsOfLocalDay(.utc) == 86_399)
    }
}

@Suite struct TravelModelTests {
    let model = try! GreatCircleTravelModel(regions: nil, circuity: [:], defaultCircuity: 1.35,
                                            speeds: [.van: vanProfile, .eBike: .constant(15)])

    @Test func constantSpeedIsDistanceOverSpeed() {
        // 15 km at 15 km/h is one hour exactly.
        #expect(SpeedProfile.constant(15).travelSeconds(metres: 15_000, departingAt: Instant(epochSeconds: 0), offset: .utc) == 3600)
        #expect(SpeedProfile.constant(15).travelSeconds(metres: 1, departingAt: Instant(epochSeconds: 0), offset: .utc) == 1)
        #expect(SpeedProfile.constant(15).travelSeconds(metres: 0, departingAt: Instant(epochSeconds: 0), offset: .utc) == 0)
    }

    @Test func integratesAcrossAnHourBoundary() throws {
        // 10 km/h until 01:00 then 20 km/h: leaving 00:30 for 15 km = 5 km in 30 min + 10 km in 30 min.
        var kmh = Array(repeating: 20.0, count: 24); kmh[0] = 10
        let p = try SpeedProfile(kmh: kmh)
        #expect(p.travelSeconds(metres: 15_000, departingAt: Instant.local(day0, 1800, .utc), offset: .utc) == 3600)
    }

    @Test func nightIsFasterThanRushHour() {
        let night = Instant.local(day0, Time.hm(3), .seoul), rush = Instant.local(day0, Time.hm(8), .seoul)
        #expect(model.travelSeconds(from: cityHall, to: gangnamStation, kind: .van, departingAt: night)
                < model.travelSeconds(from: cityHall, to: gangnamStation, kind: .van, departingAt: rush))
    }

    @Test func fifoHoldsOverManyRandomDepartures() {
        var g = TestRNG(seed: 42)
        for _ in 0..<3000 {
            let metres = Int64.random(in: 0...60_000, using: &g)
            let t = Instant.local(day0, Int64.random(in: 0..<86_400 * 2, using: &g), .seoul)
            let dt = Int64.random(in: 1...1800, using: &g)
            let a1 = t + vanProfile.travelSeconds(metres: metres, departingAt: t, offset: .seoul)
            let a2 = (t + dt) + vanProfile.travelSeconds(metres: metres, departingAt: t + dt, offset: .seoul)
            #expect(a2 >= a1, "metres \(metres) t \(t) dt \(dt)")
        }
    }

    @Test func fifoHoldsSecondBySecondAcrossTheSixOClockSlowdown() {
        // Every departure second from 05:00 to 07:00: slowest change in the profile.
        var last = Instant(epochSeconds: .min)
        for s in Time.hm(5)...Time.hm(7) {
            let t = Instant.local(day0, s, .seoul)
            let a = t + vanProfile.travelSeconds(metres: 25_000, departingAt: t, offset: .seoul)
            #expect(a >= last); last = a
        }
    }

    @Test func matricesAreSymmetricWithZeroDiagonal() {
        var g = TestRNG(seed: 9)
        let pts = (0..<25).map { _ in g.seoulPoint() }
        let d = model.distanceMatrix(pts)
        let slots = TimeSlots.every(3600, from: Instant.local(day0, 0, .seoul), count: 24)
        let td = model.durationMatrices(pts, kind: .van, slots: slots)
        #expect(td.matrices.count == 24)
        for i in 0..<pts.count {
            #expect(d[i, i] == 0)
            for m in td.matrices { #expect(m[i, i] == 0) }
            for j in 0..<pts.count {
                #expect(d[i, j] == d[j, i])
                #expect(d[i, j] >= 0)
                if i != j { #expect(d[i, j] >= Int64(GreatCircle.distanceMetres(pts[i], pts[j]))) }
                for m in td.matrices { #expect(m[i, j] == m[j, i]) }
            }
        }
    }

    @Test func matrixAgreesWithPairwiseModel() {
        var g = TestRNG(seed: 3)
        let pts = (0..<6).map { _ in g.seoulPoint() }
        let t = Instant.local(day0, Time.hm(2, 15), .seoul)
        let td = model.durationMatrices(pts, kind: .van, slots: TimeSlots(starts: [t]))
        for i in 0..<6 { for j in 0..<6 where i != j {
            #expect(td.matrices[0][i, j] == model.travelSeconds(from: pts[i], to: pts[j], kind: .van, departingAt: t))
        } }
    }

    @Test func interpolatedSlotDurationsStayFIFO() {
        var g = TestRNG(seed: 11)
        let pts = (0..<5).map { _ in g.seoulPoint() }
        let slots = TimeSlots.every(3600, from: Instant.local(day0, 0, .seoul), count: 24)
        let td = model.durationMatrices(pts, kind: .van, slots: slots)
        for i in 0..<5 { for j in 0..<5 where i != j {
            var last = Int64.min
            for s in stride(from: Int64(-600), through: 86_400 + 600, by: 97) {
                let t = Instant.local(day0, s, .seoul)
                let a = t.epochSeconds + td.duration(from: i, to: j, departingAt: t)
                #expect(a >= last); last = a
            }
        } }
    }

    @Test func circuityComesFromTheRegionOfEachEnd() throws {
        let map = try RegionMap([
            Region(id: "a", name: "A", polygons: [try Polygon(id: "a", outer: [c(37.4, 126.8), c(37.7, 126.8), c(37.7, 127.0), c(37.4, 127.0)])]),
        ])
        let m = try GreatCircleTravelModel(regions: map, circuity: ["a": 1.2], defaultCircuity: 1.4, speeds: [:])
        let inA = c(37.5, 126.9), outside = c(37.5, 127.1)
        #expect(m.circuityFactor(at: inA) == 1.2)
        #expect(m.circuityFactor(at: outside) == 1.4)
        let crow = GreatCircle.distanceMetres(inA, outside)
        #expect(m.distanceMetres(from: inA, to: outside) == Int64((crow * 1.3).rounded()))
    }

    @Test func badInputsAreRejected() {
        #expect(throws: SpeedProfileError.wrongLength(3)) { try SpeedProfile(kmh: [1, 2, 3]) }
        #expect(throws: SpeedProfileError.badSpeed(hour: 0, 0)) { try SpeedProfile(kmh: [0] + Array(repeating: 10, count: 23)) }
        #expect(throws: TravelModelError.badCircuity(region: "x", 0.5)) {
            try GreatCircleTravelModel(regions: nil, circuity: ["x": 0.5], speeds: [:])
        }
    }
}

@Suite struct TripLengthSpeedupTests {
    let speedup = TripLengthSpeedup(fromMetres: 8_000, fullMetres: 30_000, maxFactor: 2)

    @Test func factorRisesLinearlyThenFlattens() {
        #expect(speedup.factor(metres: 5_000) == 1)
        #expect(speedup.factor(metres: 19_000) == 1.5)
        #expect(speedup.factor(metres: 60_000) == 2)
    }

    @Test func timeNeverFallsWithDistance() {
        for h in [Int64(3), 8, 18] {
            let t = Instant.local(day0, Time.hm(h), .seoul)
            var last: Int64 = 0
            for m in stride(from: Int64(0), through: 60_000, by: 50) {
                let s = vanProfile.travelSeconds(metres: m, departingAt: t, offset: .seoul, speedFactor: speedup.factor(metres: m))
                #expect(s >= last, "\(m) m at \(h):00"); last = s
            }
        }
    }

    @Test func fifoHoldsWithTheSpeedup() {
        var g = TestRNG(seed: 77)
        for _ in 0..<2000 {
            let m = Int64.random(in: 0...60_000, using: &g), f = speedup.factor(metres: m)
            let t = Instant.local(day0, Int64.random(in: 0..<86_400, using: &g), .seoul), dt = Int64.random(in: 1...900, using: &g)
            #expect(t.epochSeconds + vanProfile.travelSeconds(metres: m, departingAt: t, offset: .seoul, speedFactor: f)
                    <= (t + dt).epochSeconds + vanProfile.travelSeconds(metres: m, departingAt: t + dt, offset: .seoul, speedFactor: f))
        }
    }

    @Test func aSpeedupThatMakesLongerTripsShorterIsRejected() {
        let bad = TripLengthSpeedup(fromMetres: 20_000, fullMetres: 25_000, maxFactor: 3)
        #expect(throws: TravelModelError.badTripLengthSpeedup(bad)) {
            try GreatCircleTravelModel(regions: nil, circuity: [:], speeds: [:], tripLengthSpeedup: bad)
        }
    }

    @Test func longHubTripsGetFaster() throws {
        let plain = try GreatCircleTravelModel(regions: nil, circuity: [:], speeds: [.van: vanProfile])
        let fast = try GreatCircleTravelModel(regions: nil, circuity: [:], speeds: [.van: vanProfile], tripLengthSpeedup: speedup)
        let gimpo = Coordinate(lat: 37.615, lon: 126.716), t = Instant.local(day0, Time.hm(2), .seoul)
        #expect(fast.travelSeconds(from: gimpo, to: gangnamStation, kind: .van, departingAt: t)
                < plain.travelSeconds(from: gimpo, to: gangnamStation, kind: .van, departingAt: t))
        #expect(fast.travelSeconds(from: cityHall, to: cityHall, kind: .van, departingAt: t) == 0)
    }
}
