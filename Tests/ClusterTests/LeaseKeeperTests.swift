import Base
import Testing
@testable import Cluster

@Suite struct LeaseKeeperTests {
    let t0 = Timestamp.seconds(1_800_000_000)
    let config = LeaseKeeper.Configuration(leaseDuration: .seconds(15), renewWhenRemaining: .seconds(10), safetyMargin: .seconds(2))

    @Test func acquiresAFreeDesiredRegionAndServesWithTheNewToken() {
        var k = LeaseKeeper(selfID: "a", configuration: config)
        let row = Lease.unowned("gangnam")
        #expect(k.evaluate(leases: [row], desired: ["gangnam"], now: t0) == [.acquire("gangnam", expected: .zero)])
        // No second acquire while the first is in flight.
        #expect(k.evaluate(leases: [row], desired: ["gangnam"], now: t0).isEmpty)
        let won = row.acquired(by: "a", expected: .zero, now: t0, duration: config.leaseDuration)!
        #expect(k.acquired(won, now: t0) == [.startServing("gangnam", token: FencingToken(1))])
        #expect(k.servingToken(for: "gangnam", now: t0) == FencingToken(1))
    }

    @Test func doesNotTryToTakeALeaseHeldByAnotherNode() {
        var k = LeaseKeeper(selfID: "a", configuration: config)
        let held = Lease(region: "r", owner: "b", token: FencingToken(3), expiresAt: t0 + .seconds(5))
        #expect(k.evaluate(leases: [held], desired: ["r"], now: t0).isEmpty)
        #expect(k.evaluate(leases: [held], desired: ["r"], now: t0 + .seconds(5)) == [.acquire("r", expected: FencingToken(3))])
    }

    @Test func renewsOnceWhenLittleTimeRemainsAndStopsServingBeforeExpiry() {
        var k = LeaseKeeper(selfID: "a", configuration: config)
        _ = k.evaluate(leases: [], desired: ["r"], now: t0)
        let lease = Lease.unowned("r").acquired(by: "a", expected: .zero, now: t0, duration: .seconds(15))!
        _ = k.acquired(lease, now: t0)
        #expect(k.evaluate(leases: [lease], desired: ["r"], now: t0 + .seconds(4)).isEmpty)
        #expect(k.evaluate(leases: [lease], desired: ["r"], now: t0 + .seconds(6)) == [.renew("r", token: lease.token)])
        #expect(k.evaluate(leases: [lease], desired: ["r"], now: t0 + .seconds(7)).isEmpty)
        // The renewal never comes back: serving ends at expiry minus the safety margin.
        #expect(k.servingToken(for: "r", now: t0 + .seconds(12)) == lease.token)
        #expect(k.servingToken(for: "r", now: t0 + .seconds(13)) == nil)
        #expect(k.tick(now: t0 + .seconds(13)) == [.stopServing("r", reason: "lease expires at \(t0 + .seconds(15)); no renewal in time")])
    }

    @Test func aSuccessfulRenewExtendsServing() {
        var k = LeaseKeeper(selfID: "a", configuration: config)
        _ = k.evaluate(leases: [], desired: ["r"], now: t0)
        let lease = Lease.unowned("r").acquired(by: "a", expected: .zero, now: t0, duration: .seconds(15))!
        _ = k.acquired(lease, now: t0)
        _ = k.evaluate(leases: [lease], desired: ["r"], now: t0 + .seconds(6))
        let renewed = lease.renewed(by: "a", token: lease.token, now: t0 + .seconds(6), duration: .seconds(15))!
        #expect(k.renewed(renewed).isEmpty)
        #expect(k.servingToken(for: "r", now: t0 + .seconds(18)) == lease.token)
    }

    @Test func aStaleTokenInTheRowStopsServingAtOnce() {
        var k = LeaseKeeper(selfID: "a", configuration: config)
        _ = k.evaluate(leases: [], desired: ["r"], now: t0)
        let mine = Lease.unowned("r").acquired(by: "a", expected: .zero, now: t0, duration: .seconds(15))!
        _ = k.acquired(mine, now: t0)
        let taken = Lease(region: "r", owner: "b", token: mine.token.next, expiresAt: t0 + .seconds(30))
        let d = k.evaluate(leases: [taken], desired: ["r"], now: t0 + .seconds(1))
        #expect(d.count == 1)
        guard case .stopServing("r", _) = d[0] else { Issue.record("\(d)"); return }
        #expect(k.servingToken(for: "r", now: t0 + .seconds(1)) == nil)
    }

    @Test func aRejectedRenewStopsServing() {
        var k = LeaseKeeper(selfID: "a", configuration: config)
        _ = k.evaluate(leases: [], desired: ["r"], now: t0)
        _ = k.acquired(Lease.unowned("r").acquired(by: "a", expected: .zero, now: t0, duration: .seconds(15))!, now: t0)
        #expect(k.failed("r") == [.stopServing("r", reason: "renewal rejected: the lease is no longer ours")])
    }

    @Test func handOverDrainsReleasesAndTheNewOwnerAcquiresWithTokenPlusOne() {
        var a = LeaseKeeper(selfID: "a", configuration: config)
        var b = LeaseKeeper(selfID: "b", configuration: config)
        var row = Lease.unowned("r")
        _ = a.evaluate(leases: [row], desired: ["r"], now: t0)
        row = row.acquired(by: "a", expected: .zero, now: t0, duration: .seconds(15))!
        _ = a.acquired(row, now: t0)

        let t1 = t0 + .seconds(1)
        // The plan moves r to b. b must wait: a still holds it.
        #expect(b.evaluate(leases: [row], desired: ["r"], now: t1).isEmpty)
        #expect(a.evaluate(leases: [row], desired: [], now: t1) == [.beginDrain("r", token: row.token)])
        #expect(a.servingToken(for: "r", now: t1) == row.token)   // still writes while draining
        #expect(a.drained("r") == [.stopServing("r", reason: "handed over"), .release("r", token: row.token)])
        #expect(a.servingToken(for: "r", now: t1) == nil)
        row = row.released(by: "a", token: row.token, now: t1)!
        a.released("r")
        #expect(a.phases.isEmpty)

        #expect(b.evaluate(leases: [row], desired: ["r"], now: t1) == [.acquire("r", expected: FencingToken(1))])
        row = row.acquired(by: "b", expected: FencingToken(1), now: t1, duration: .seconds(15))!
        #expect(b.acquired(row, now: t1) == [.startServing("r", token: FencingToken(2))])
        #expect(Fencing.check(token: FencingToken(1), against: row, now: t1) != .accepted)
    }

    @Test func aLeaseThatIsOursInTheTableButNotInMemoryIsReacquiredWithAFreshToken() {
        var k = LeaseKeeper(selfID: "a", configuration: config)
        // The acquire landed but its answer was lost (or a previous incarnation held it).
        let row = Lease(region: "r", owner: "a", token: FencingToken(4), expiresAt: t0 + .seconds(10))
        #expect(k.evaluate(leases: [row], desired: ["r"], now: t0) == [.acquire("r", expected: FencingToken(4))])
        let again = row.acquired(by: "a", expected: FencingToken(4), now: t0, duration: .seconds(15))!
        #expect(again.token == FencingToken(5))
        #expect(k.acquired(again, now: t0) == [.startServing("r", token: FencingToken(5))])
    }

    @Test func aLeaseThatIsOursInTheTableButNotWantedIsReleased() {
        var k = LeaseKeeper(selfID: "a", configuration: config)
        let row = Lease(region: "r", owner: "a", token: FencingToken(4), expiresAt: t0 + .seconds(10))
        #expect(k.evaluate(leases: [row], desired: [], now: t0) == [.release("r", token: FencingToken(4))])
        #expect(k.servingToken(for: "r", now: t0) == nil)
        k.released("r")
        #expect(k.phases.isEmpty)
    }

    @Test func aLongDrainKeepsRenewingTheLease() {
        var k = LeaseKeeper(selfID: "a", configuration: config)
        _ = k.evaluate(leases: [], desired: ["r"], now: t0)
        var row = Lease.unowned("r").acquired(by: "a", expected: .zero, now: t0, duration: .seconds(15))!
        _ = k.acquired(row, now: t0)
        #expect(k.evaluate(leases: [row], desired: [], now: t0 + .seconds(1)) == [.beginDrain("r", token: row.token)])
        #expect(k.evaluate(leases: [row], desired: [], now: t0 + .seconds(6)) == [.renew("r", token: row.token)])
        row = row.renewed(by: "a", token: row.token, now: t0 + .seconds(6), duration: .seconds(15))!
        _ = k.renewed(row)
        #expect(k.servingToken(for: "r", now: t0 + .seconds(18)) == row.token)
        #expect(k.drained("r") == [.stopServing("r", reason: "handed over"), .release("r", token: row.token)])
    }

    @Test func stopAllDropsEveryServedRegion() {
        var k = LeaseKeeper(selfID: "a", configuration: config)
        _ = k.evaluate(leases: [], desired: ["x", "y"], now: t0)
        _ = k.acquired(Lease.unowned("x").acquired(by: "a", expected: .zero, now: t0, duration: .seconds(15))!, now: t0)
        #expect(k.stopAll(reason: "down") == [.stopServing("x", reason: "down")])
        #expect(k.phases.isEmpty)
    }

    /// Three nodes, a shared lease table with the SQL's semantics, a shared clock, random plan
    /// changes, lost acknowledgements and slow drains (seeded). At every step: at most one node
    /// may serve a region, whoever may serve holds a token the journal accepts, and tokens only grow.
    @Test func randomScheduleNeverHasTwoServersAndTokensOnlyGrow() {
        for seed in UInt64(1)...20 {
            var rng = SplitMix64(seed: seed)
            let nodes: [NodeID] = ["a", "b", "c"]
            let regions: [RegionKey] = ["r0", "r1", "r2", "r3", "r4"]
            var keepers = Dictionary(uniqueKeysWithValues: nodes.map { ($0, LeaseKeeper(selfID: $0, configuration: config)) })
            var table = Dictionary(uniqueKeysWithValues: regions.map { ($0, Lease.unowned($0)) })
            var draining: [(NodeID, RegionKey)] = []
            var live = Set(nodes)
            var now = t0
            var lastToken = Dictionary(uniqueKeysWithValues: regions.map { ($0, FencingToken.zero) })

            func run(_ node: NodeID, _ directives: [LeaseDirective]) {
                var queue = directives
                while !queue.isEmpty {
                    let d = queue.removeFirst()
                    let ackLost = Int.random(in: 0..<10, using: &rng) == 0
                    switch d {
                    case let .acquire(r, expected):
                        if let won = table[r]!.acquired(by: node, expected: expected, now: now, duration: config.leaseDuration) {
                            table[r] = won
                            queue += ackLost ? keepers[node]!.failed(r) : keepers[node]!.acquired(won, now: now)
                        } else { queue += keepers[node]!.failed(r) }
                    case let .renew(r, token):
                        if let ok = table[r]!.renewed(by: node, token: token, now: now, duration: config.leaseDuration) {
                            table[r] = ok
                            queue += ackLost ? keepers[node]!.failed(r) : keepers[node]!.renewed(ok)
                        } else { queue += keepers[node]!.failed(r) }
                    case let .beginDrain(r, _): draining.append((node, r))
                    case let .release(r, token):
                        if let freed = table[r]!.released(by: node, token: token, now: now) { table[r] = freed }
                        keepers[node]!.released(r)
                    case .startServing, .stopServing: break
                    }
                }
            }

            for _ in 0..<400 {
                switch Int.random(in: 0..<10, using: &rng) {
                case 0:   // a node crashes or comes back (as far as the plan is concerned)
                    let n = nodes.randomElement(using: &rng)!
                    if live.contains(n), live.count > 1 { live.remove(n) } else { live.insert(n) }
                case 1, 2:
                    now = now + .milliseconds(Int64.random(in: 0...4000, using: &rng))
                case 3:
                    if !draining.isEmpty {
                        let (n, r) = draining.remove(at: Int.random(in: 0..<draining.count, using: &rng))
                        run(n, keepers[n]!.drained(r))
                    }
                default:
                    let n = nodes.randomElement(using: &rng)!
                    let current = table.compactMapValues { $0.isHeld(at: now) ? $0.owner : nil }
                    let plan = RegionPlanner.plan(regions: regions, live: Array(live), current: current)
                    // A node that is out of the live set (crashed, partitioned) doesn't evaluate; it only ticks.
                    if live.contains(n) {
                        let desired = Set(plan.filter { $0.value == n }.keys)
                        run(n, keepers[n]!.evaluate(leases: Array(table.values), desired: desired, now: now))
                    } else {
                        run(n, keepers[n]!.tick(now: now))
                    }
                }
                for r in regions {
                    let servers = nodes.filter { keepers[$0]!.servingToken(for: r, now: now) != nil }
                    #expect(servers.count <= 1, "seed \(seed): \(r) served by \(servers)")
                    for s in servers {
                        #expect(Fencing.check(token: keepers[s]!.servingToken(for: r, now: now)!, against: table[r]!, now: now) == .accepted)
                    }
                    #expect(table[r]!.token >= lastToken[r]!)
                    lastToken[r] = table[r]!.token
                }
            }
            // The schedule really moved leases around (not a vacuous pass).
            #expect(lastToken.values.map(\.value).reduce(0, +) >= UInt64(regions.count * 2), "seed \(seed)")
        }
    }
}
