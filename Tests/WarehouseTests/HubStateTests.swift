import Base
import Testing
@testable import Warehouse

/// The hub's state machine against an independent bookkeeping of the same events: who holds each
/// chute (from the assignments and the vans that have left, recomputed here), its fill, each
/// parcel's history. Random drivers try wrong chutes, repeated picks and sorts on purpose.
@Suite struct HubStateTests {
    static func randomWave(_ rng: inout SplitMix64) -> HubWave {
        let waves = Int.random(in: 1...3, using: &rng)
        var vans: [HubVan] = []
        for w in 0..<waves {
            for k in 0..<Int.random(in: 1...5, using: &rng) {
                vans.append(HubVan(van: "w\(w)-v\(k)", wave: w, departure: Double(1000 + w * 600 + Int.random(in: 0...200, using: &rng))))
            }
        }
        var parcels: [HubParcel] = []
        for v in vans.indices {
            for _ in 0..<Int.random(in: 0...12, using: &rng) {
                parcels.append(HubParcel(id: "p\(parcels.count)", van: v, storage: Int.random(in: 0...30, using: &rng)))
            }
        }
        parcels.shuffle(using: &rng)
        let cap = Int.random(in: 2...6, using: &rng)
        let need = (0..<waves).map { w in vans.indices.filter { vans[$0].wave == w }.reduce(0) { n, v in
            n + ChutePlan.chutesNeeded(parcels: parcels.filter { $0.van == v }.count, capacity: cap) } }
        return HubWave(site: "hub-t", vans: vans, parcels: parcels, chutes: need.max()! + Int.random(in: 0...3, using: &rng),
                       chuteCapacity: cap, start: 0, loadingLeadSeconds: Double(Int.random(in: 60...400, using: &rng)))
    }

    /// Independent bookkeeping: chute holders from the assignments and departed vans only.
    struct Books {
        let wave: HubWave
        let assignments: [ChuteAssignment]
        var left = Set<Int>()
        var loading = Set<Int>()
        var fill: [Int]
        var stage: [String]
        var sortedInto: [Int?]
        var events: [String: Int] = [:]   // "<parcel>/<what>" → count
        init(wave: HubWave, assignments: [ChuteAssignment]) {
            self.wave = wave; self.assignments = assignments
            fill = Array(repeating: 0, count: wave.chutes)
            stage = Array(repeating: "waiting", count: wave.parcels.count)
            sortedInto = Array(repeating: nil, count: wave.parcels.count)
        }
        func holder(_ c: Int) -> Int? { assignments.filter { $0.chute == c }.map(\.route).first { !left.contains($0) } }
        func legalSort(_ p: Int, _ c: Int) -> Bool {
            let v = wave.parcels[p].van
            return stage[p] == "picked" && holder(c) == v && (loading.contains(v) || fill[c] < wave.chuteCapacity)
        }
        mutating func record(_ e: HubEvent) {
            switch e {
            case .opened, .robotFaulted: break
            case .released(_, let ps, _): for p in ps { stage[p] = "picking" }
            case .picked(let ps, _, _): for p in ps { stage[p] = "picked"; events["\(p)/picked", default: 0] += 1 }
            case let .sorted(p, c, _):
                events["\(p)/sorted", default: 0] += 1
                sortedInto[p] = c
                let v = wave.parcels[p].van
                if loading.contains(v) { stage[p] = "loaded"; events["\(p)/loaded", default: 0] += 1; leaveIfDone(v) } else { stage[p] = "sorted"; fill[c] += 1 }
            case let .loadingStarted(v, _):
                loading.insert(v)
                for c in 0..<wave.chutes where holder(c) == v { fill[c] = 0 }
                for p in wave.parcels.indices where wave.parcels[p].van == v && stage[p] == "sorted" { stage[p] = "loaded"; events["\(p)/loaded", default: 0] += 1 }
            case .departureDue(let v, _, _):
                due.insert(v)
                leaveIfDone(v)
            }
        }
        var due = Set<Int>()
        mutating func leaveIfDone(_ v: Int) {
            guard due.contains(v), !left.contains(v),
                  wave.parcels.indices.allSatisfy({ wave.parcels[$0].van != v || stage[$0] == "loaded" }) else { return }
            for c in 0..<wave.chutes where holder(c) == v { fill[c] = 0 }
            left.insert(v)
        }
    }

    @Test func aRandomWaveIsPickedSortedAndLoadedOnceNeverIntoAnotherVansChute() throws {
        for seed in 0..<120 as Range<UInt64> {
            var rng = SplitMix64(seed: seed)
            let wave = Self.randomWave(&rng)
            var s = HubState()
            let opened = try s.decide(.open(wave))
            guard case .opened(_, let assignments) = opened else { Issue.record("not opened"); return }
            s.apply(opened)
            var books = Books(wave: wave, assignments: assignments)
            var now = 0.0
            var missingSeen: [Int: [Int]] = [:]
            var steps = 0
            while !s.isDone {
                steps += 1
                #expect(steps < 20_000, "seed \(seed): no progress")
                if steps >= 20_000 { return }
                var commands: [HubCommand] = []
                switch Int.random(in: 0..<6, using: &rng) {
                case 0:
                    let ps = Array(s.toPick().prefix(Int.random(in: 1...4, using: &rng)))
                    if !ps.isEmpty { commands.append(.release(round: s.rounds, parcels: ps, at: now)) }
                case 1:
                    let picking = s.parcels.indices.filter { s.parcels[$0].stage == .picking }.shuffled(using: &rng)
                    if !picking.isEmpty { commands.append(.picked(parcels: Array(picking.prefix(3)), robot: "r\(Int.random(in: 0...2, using: &rng))", at: now)) }
                    // And a repeat of a pick already journaled: refused.
                    if let done = s.parcels.indices.first(where: { s.parcels[$0].stage == .sorted || s.parcels[$0].stage == .loaded }) {
                        #expect(throws: HubRejection.self) { try s.decide(.picked(parcels: [done], robot: nil, at: now)) }
                    }
                case 2, 3:
                    // The sorter: a random chute (often wrong) or the state's choice.
                    for p in s.toSort.shuffled(using: &rng).prefix(3) {
                        let c = Bool.random(using: &rng) ? Int.random(in: 0..<wave.chutes, using: &rng) : (s.chute(for: p) ?? 0)
                        let legal = books.legalSort(p, c)
                        do {
                            let e = try s.decide(.sort(parcel: p, chute: c, at: now))
                            #expect(legal, "seed \(seed): sorting \(p) into \(c) accepted, illegal by the books")
                            s.apply(e); books.record(e)
                        } catch {
                            #expect(!legal, "seed \(seed): sorting \(p) into \(c) refused (\(error)), legal by the books")
                        }
                    }
                default:
                    now += Double(Int.random(in: 10...120, using: &rng))
                    for v in s.loadingDue(at: now) { commands.append(.startLoading(van: v, at: now)) }
                }
                for c in commands {
                    let e = try s.decide(c)
                    s.apply(e); books.record(e)
                }
                // Departures after loading (the actor's order).
                for v in s.departuresDue(at: now) where s.vans[v].loadingAt != nil {
                    let e = try s.decide(.departureDue(van: v, at: now))
                    if case .departureDue(_, _, let m) = e {
                        let expected = wave.parcels.indices.filter { wave.parcels[$0].van == v && books.stage[$0] != "loaded" }
                        #expect(m == expected, "seed \(seed): van \(v) missing")
                        missingSeen[v] = m
                    }
                    s.apply(e); books.record(e)
                }
            }
            for p in wave.parcels.indices {
                #expect(books.events["\(p)/picked"] == 1 && books.events["\(p)/sorted"] == 1 && books.events["\(p)/loaded"] == 1,
                        "seed \(seed): parcel \(p) \(books.events["\(p)/picked"] ?? 0)/\(books.events["\(p)/sorted"] ?? 0)/\(books.events["\(p)/loaded"] ?? 0)")
                #expect(s.parcels[p].stage == .loaded)
                // Its chute was one assigned to its van.
                let c = books.sortedInto[p]!
                #expect(assignments.contains { $0.chute == c && $0.route == wave.parcels[p].van })
            }
            for (v, out) in s.vanReport.enumerated() {
                #expect(out.missingAtDeparture == (missingSeen[v] ?? []).map { wave.parcels[$0].id })
                #expect(out.isLate == !(missingSeen[v] ?? []).isEmpty)
                #expect(out.leftAt != nil && out.leftAt! >= wave.vans[v].departure)
                let sorts = wave.parcels.indices.filter { wave.parcels[$0].van == v }.map { s.parcels[$0].sortedAt! }
                if let last = sorts.max() { #expect(out.loadReady == last) }
            }
        }
    }

    /// Two vans; van 0's parcels are only picked after its departure: it is reported with exactly
    /// those parcels missing, leaves when the last is loaded, and its load-ready time is that sort.
    @Test func aVanWhoseParcelsAreNotInItsChuteByDepartureIsReportedWithThem() throws {
        let wave = HubWave(site: "hub-t", vans: [HubVan(van: "van-a", wave: 0, departure: 600), HubVan(van: "van-b", wave: 0, departure: 900)],
                           parcels: [HubParcel(id: "a1", van: 0, storage: 0), HubParcel(id: "a2", van: 0, storage: 1), HubParcel(id: "b1", van: 1, storage: 2)],
                           chutes: 4, chuteCapacity: 10, start: 0, loadingLeadSeconds: 300)
        var s = HubState()
        func run(_ c: HubCommand) throws { s.apply(try s.decide(c)) }
        try run(.open(wave))
        try run(.release(round: 0, parcels: [0, 2], at: 10))
        try run(.picked(parcels: [0, 2], robot: "r1", at: 100))
        try run(.sort(parcel: 0, chute: s.chute(for: 0)!, at: 110))
        try run(.sort(parcel: 2, chute: s.chute(for: 2)!, at: 120))
        try run(.startLoading(van: 0, at: 300))
        #expect(s.parcels[0].stage == .loaded && s.parcels[0].loadedAt == 300)
        try run(.departureDue(van: 0, at: 600))
        #expect(s.vanReport[0].missingAtDeparture == ["a2"] && s.vanReport[0].leftAt == nil && s.vanReport[0].loadReady == nil)
        // Van b's chute is not van a's: a2 cannot go there.
        let bChute = s.chutes(ofVan: 1)[0]
        try run(.release(round: 1, parcels: [1], at: 610))
        try run(.picked(parcels: [1], robot: "r2", at: 700))
        #expect(throws: HubRejection.self) { try s.decide(.sort(parcel: 1, chute: bChute, at: 700)) }
        try run(.sort(parcel: 1, chute: s.chute(for: 1)!, at: 705))
        #expect(s.vanReport[0] == VanOutcome(van: "van-a", departure: 600, loadReady: 705, leftAt: 705, missingAtDeparture: ["a2"]))
        try run(.startLoading(van: 1, at: 600))
        try run(.departureDue(van: 1, at: 900))
        #expect(s.vanReport[1] == VanOutcome(van: "van-b", departure: 900, loadReady: 120, leftAt: 900, missingAtDeparture: []))
        #expect(s.isDone)
        // Nothing twice.
        #expect(throws: HubRejection.self) { try s.decide(.sort(parcel: 1, chute: s.chute(for: 1) ?? 0, at: 710)) }
        #expect(throws: HubRejection.self) { try s.decide(.startLoading(van: 1, at: 910)) }
        #expect(throws: HubRejection.self) { try s.decide(.departureDue(van: 0, at: 910)) }
    }

    @Test func aFullChuteRefusesTheParcelUntilLoadingEmptiesIt() throws {
        // Two parcels, chutes of one: the plan gives the van two chutes.
        let wave = HubWave(site: "hub-t", vans: [HubVan(van: "v", wave: 0, departure: 1000)],
                           parcels: (0..<2).map { HubParcel(id: "p\($0)", van: 0, storage: $0) }, chutes: 2, chuteCapacity: 1, start: 0, loadingLeadSeconds: 100)
        var s = HubState()
        func run(_ c: HubCommand) throws { s.apply(try s.decide(c)) }
        try run(.open(wave))
        #expect(s.chutes(ofVan: 0) == [0, 1])
        try run(.release(round: 0, parcels: [0, 1], at: 0))
        try run(.picked(parcels: [0, 1], robot: nil, at: 1))
        try run(.sort(parcel: 0, chute: 0, at: 2))
        #expect(throws: HubRejection.chuteFull(chute: 0)) { try s.decide(.sort(parcel: 1, chute: 0, at: 3)) }
        #expect(s.chute(for: 1) == 1)
        try run(.startLoading(van: 0, at: 900))
        // Loading: the chute is live, the parcel goes straight into the van.
        try run(.sort(parcel: 1, chute: 0, at: 901))
        #expect(s.parcels.map(\.stage) == [.loaded, .loaded] && s.parcels[1].loadedAt == 901)
        // Too few chutes for a wave: refused at open, naming the chutes.
        var w = wave; w.chutes = 1
        do { _ = try HubState().decide(.open(w)); Issue.record("opened") } catch { #expect(error.description.contains("need 2 chutes, the sorter has 1")) }
    }

    @Test func badWavesAreRefusedNamingTheItem() {
        let v = [HubVan(van: "v1", wave: 0, departure: 100)]
        func refusal(_ w: HubWave) -> String {
            do { _ = try HubState().decide(.open(w)); return "accepted" } catch { return error.description }
        }
        #expect(refusal(HubWave(site: "h", vans: v, parcels: [HubParcel(id: "x", van: 3, storage: 0)], chutes: 2, chuteCapacity: 5, start: 0))
                .contains("parcels[0] (x): no van 3"))
        #expect(refusal(HubWave(site: "h", vans: v, parcels: [HubParcel(id: "x", van: 0, storage: 0), HubParcel(id: "x", van: 0, storage: 1)],
                                chutes: 2, chuteCapacity: 5, start: 0)).contains("parcels[1]: parcel id x twice"))
        #expect(refusal(HubWave(site: "h", vans: v + v, parcels: [], chutes: 2, chuteCapacity: 5, start: 0)).contains("vans[1]: van v1 twice"))
        #expect(refusal(HubWave(site: "h", vans: [HubVan(van: "v1", wave: 0, departure: 100, loadingStart: 200)], parcels: [], chutes: 2, chuteCapacity: 5, start: 0))
                .contains("vans[0] (v1): loading starts at 200"))
        #expect(throws: HubRejection.notOpen) { try HubState().decide(.release(round: 0, parcels: [0], at: 0)) }
    }
}

/// The hub's night (`HubNight`) on the Gimpo hub's layout: robots pick, the sorter sorts, vans load.
@Suite struct HubNightTests {
    static func hub() throws -> SiteLayout {
        let path = "Regions/sites/hub-dawn.site"
        return try SiteLayout.parse(try String(contentsOf: SiteLayoutTests.root.appendingPathComponent(path), encoding: .utf8), file: path)
    }

    /// 8 vans over 2 departure waves, 1–3 parcels per order: every parcel loaded exactly once into
    /// its own van's chute, nothing mis-sorted, no van late with two hours of picking ahead; the
    /// busiest hour never beats the inducts' nominal rate; pick-to-load is never negative.
    @Test func aNightIsPickedSortedAndLoadedWithoutMisSortsOrLateVans() throws {
        let layout = try Self.hub()
        var rng = SplitMix64(seed: 5)
        let vans = (0..<8).map { HubVan(van: "van-\($0)", wave: $0 / 4, departure: $0 < 4 ? 5400 : 7200) }
        var parcels: [HubParcel] = [], totes: [[Int]] = []
        for o in 0..<400 {
            let v = rng.below(vans.count), rack = rng.below(layout.features(.storage).count)
            var tote: [Int] = []
            for k in 0..<(1 + rng.below(3)) { tote.append(parcels.count); parcels.append(HubParcel(id: "o\(o)#\(k)", van: v, storage: rack)) }
            totes.append(tote)
        }
        let wave = HubWave(site: layout.site, vans: vans, parcels: parcels, chutes: layout.features(.chute).count, chuteCapacity: 120, start: -1800)
        let config = try #require(HubNightConfig(layout: layout, robots: 30))
        let r = try HubNight.run(layout: layout, wave: wave, totes: totes, config: config)
        #expect(r.misSorts == 0)
        #expect(r.picksDone == totes.count)
        #expect(r.state.parcels.allSatisfy { $0.stage == .loaded && $0.loadedAt! >= $0.sortedAt! && $0.sortedAt! > $0.pickedAt! })
        for (p, parcel) in parcels.enumerated() {
            let c = try #require(r.state.parcels[p].chute)
            #expect(r.state.chutes.contains { $0.chute == c && $0.route == parcel.van })
        }
        #expect(r.lateVans.isEmpty, "\(r.lateVans)")
        #expect(r.sortedPerHour > 0 && r.sortedPerHour <= Double(config.inducts) * config.inductsPerHour + 1)
        #expect(r.pickToLoad.count == parcels.count && r.pickToLoad.allSatisfy { $0 >= 0 })
        #expect(r.p95PickToLoad >= r.pickToLoad.sorted()[parcels.count / 2])
        #expect(r.robotUtilisation > 0 && r.robotUtilisation <= 1)
        #expect(r.traffic.reduce(0, +) > 0)
        #expect(r.peakFill.count == 2 && r.peakFill.allSatisfy { $0.allSatisfy { $0 <= 120 } })
    }

    /// Too few robots for the first departure: its vans leave late, each named with exactly the
    /// parcels not loaded at its departure (checked against the per-parcel load times).
    @Test func vansLateBecauseOfTheHubAreNamedWithTheirMissingParcels() throws {
        let layout = try Self.hub()
        var rng = SplitMix64(seed: 9)
        let vans = (0..<3).map { HubVan(van: "van-\($0)", wave: 0, departure: 1200) }
        var parcels: [HubParcel] = [], totes: [[Int]] = []
        for o in 0..<90 {
            totes.append([parcels.count])
            parcels.append(HubParcel(id: "o\(o)", van: o % 3, storage: rng.below(layout.features(.storage).count)))
        }
        let wave = HubWave(site: layout.site, vans: vans, parcels: parcels, chutes: layout.features(.chute).count, chuteCapacity: 120,
                           start: 0, loadingLeadSeconds: 600)
        var config = try #require(HubNightConfig(layout: layout, robots: 2))
        config.releaseLeadSeconds = 1200
        let r = try HubNight.run(layout: layout, wave: wave, totes: totes, config: config)
        #expect(r.misSorts == 0)
        #expect(!r.lateVans.isEmpty)
        for (v, out) in r.vans.enumerated() {
            let missing = parcels.indices.filter { parcels[$0].van == v && r.state.parcels[$0].loadedAt! > 1200 }.map { parcels[$0].id }
            #expect(out.missingAtDeparture == missing, "\(out.van)")
            #expect(out.isLate == !missing.isEmpty)
            if out.isLate { #expect(out.leftAt! > out.departure && out.leftAt == out.loadReady) }
        }
    }
}
