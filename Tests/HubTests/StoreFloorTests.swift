import Base
import Cluster
import Distributed
import Floor
import Foundation
import Hub
import Messaging
import Storage
import Synchronization
import Testing
import Warehouse

@Suite(.serialized) struct StoreFloorTests {
    static func store() throws -> SiteLayout {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = root.appendingPathComponent("Regions/sites/mfc-central-2.site")
        return try SiteLayout.parse(String(contentsOf: file, encoding: .utf8), file: file.lastPathComponent)
    }

    /// A store's quick and BOPIS picks on its two robots over ZeroMQ, journaled on one node with
    /// real PostgreSQL: released earliest due first, never more at once than the store's capacity,
    /// each picked once (read back from the journal), and the picks done after their due time are
    /// exactly those reported late.
    @Test func picksGoEarliestDueFirstWithinTheCapacityAndEachIsPickedOnce() async throws {
        try await withDatabase { c, pool in
            let region = "central"
            try await c.execute(ClusterSchema.ensureRegion, [region], purpose: "seed")
            _ = try await c.query(ClusterSchema.acquireLease, [region, "a", Int64(0), Int64(60_000)], purpose: "lease")
            let site = try Self.store()
            let ctx = try MessagingContext(logger: logger)
            let clock = Mutex<Double>(0)
            let serials = ["srb-1", "srb-2"]
            let host = HubFloorHost(context: ctx, endpoint: try await freeEndpoint(ctx))
            var fc = FloorController.Configuration()
            fc.stepTimeout = .seconds(3)
            let floor = HubFloor(site: site, host: host, robots: serials, picksPerRobot: 2, clock: { clock.withLock { $0 } }, controller: fc)
            let kind = StoreFloor.kind(floor: { $0 == site.site ? floor : nil })
            let activator = HubActivator(journal: Journal(pool: pool, node: "a"), kind: kind) { $0 == region ? FencingToken(1) : nil }
            let system = try await ClusterActorSystem(context: ctx, configuration: .init(nodeID: "n0"), ownership: StaticRegionOwnership(localNodeID: "n0"),
                                                      activator: activator, logger: logger)
            try await kind.registerTargets(system)
            (system.ownership as? StaticRegionOwnership)?.assign(region, to: system.address)
            let chargers = site.features(.charger).map { site.grid.cell($0.cell) }
            let vda = VDA5050Layout(mapId: site.site, cellSize: site.cellMetres)
            let robots = serials.enumerated().map { i, s in
                SimulatedRobot(context: ctx, sim: RobotSim(grid: site.grid, start: chargers[i], configuration: .init(
                    serialNumber: s, layout: vda, stepMillis: 4, jitterMillis: 2, drainPerMove: 0.01, connectionTimeoutMillis: 2_000, seed: UInt64(i + 7))),
                               configuration: .init(fleetEndpoint: host.endpoint, clocking: .realTime(maxSleep: .milliseconds(3)),
                                                    stateInterval: .milliseconds(100), ackTimeout: .milliseconds(200), outboxLimit: 256))
            }
            var rng = SplitMix64(seed: 4)
            let racks = site.features(.storage).count
            // Quick orders due 600–1,500 s, BOPIS 900–3,000 s, requested in shuffled order.
            var picks: [StorePick] = []
            for k in 0..<5 { picks.append(StorePick(id: "q-\(k)", storage: rng.below(racks), due: Double(600 + 180 * k))) }
            for k in 0..<4 { picks.append(StorePick(id: "bopis-\(k)", storage: rng.below(racks), due: Double(900 + 700 * k))) }
            picks.shuffle(using: &rng)
            let capacity = 3
            var failure: (any Error)?
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await system.run() }
                group.addTask { await host.run() }
                for r in robots { group.addTask { try? await r.run() } }
                do {
                    let store = try StoreFloor.resolve(id: StoreFloor.identity(site: site.site, region: region), using: system)
                    #expect(try await store.open(capacity: capacity))
                    #expect(try await store.open(capacity: capacity))   // a retry: applied once (one `opened` below)
                    for p in picks { _ = try await store.request(p, at: 0) }
                    _ = try await store.request(picks[0], at: 1)   // a retry: applied once
                    var summary = try await store.state()
                    #expect(summary.picks.count == picks.count)
                    var rounds = 0
                    while summary.progress.contains(where: { $0.stage != .picked }) && rounds < 20 {
                        rounds += 1
                        clock.withLock { $0 += 500 }   // each round takes 500 s of the store's clock
                        _ = try await store.round()
                        summary = try await store.state()
                    }
                    #expect(summary.progress.allSatisfy { $0.stage == .picked })

                    // The journal, read back.
                    let rec = try await Journal(pool: pool, node: "check").recover(StoreFloor.identity(site: site.site, region: region))
                    let events = try rec.events.map { try BinaryDecoder().decode(StorePickEvent.self, from: $0.payload) }
                    var pickedCount = [String: Int](), dueOfRound: [[Double]] = []
                    let byIndex = summary.picks
                    for e in events {
                        switch e {
                        case .released(_, let ps, _):
                            #expect(ps.count <= capacity, "a round released \(ps.count) > \(capacity)")
                            dueOfRound.append(ps.map { byIndex[$0].due })
                        case .picked(let ps, _, _): for p in ps { pickedCount[byIndex[p].id, default: 0] += 1 }
                        default: break
                        }
                    }
                    #expect(picks.allSatisfy { pickedCount[$0.id] == 1 }, "\(pickedCount)")
                    #expect(events.filter { if case .requested = $0 { true } else { false } }.count == picks.count)
                    #expect(events.filter { if case .opened = $0 { true } else { false } }.count == 1)
                    // Earliest due first: every round's latest due is no later than the next round's earliest.
                    for (a, b) in zip(dueOfRound, dueOfRound.dropFirst()) { #expect(a.max()! <= b.min()!, "\(a) then \(b)") }
                    // Late: exactly the picks done after their due time.
                    let late = Set(summary.late.map(\.id))
                    let expected = Set(summary.picks.indices.filter { summary.progress[$0].pickedAt! > summary.picks[$0].due }.map { summary.picks[$0].id })
                    #expect(late == expected && !late.isEmpty && late.count < picks.count, "late \(late)")
                } catch { failure = error }
                await host.close()
                for r in robots { await r.stop() }
                await system.shutdown()
                await ctx.shutdown()
                await group.waitForAll()
            }
            if let failure { throw failure }
        }
    }
}
