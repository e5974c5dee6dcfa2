import Base
import Testing
@testable import Cluster

@Suite struct LeaseTests {
    let t0 = Timestamp.seconds(1_800_000_000)
    let d = Duration.seconds(15)

    @Test func acquireIsCompareAndSetAndBumpsTheToken() {
        let row = Lease.unowned("gangnam")
        let a = row.acquired(by: "a", expected: .zero, now: t0, duration: d)
        #expect(a == Lease(region: "gangnam", owner: "a", token: FencingToken(1), expiresAt: t0 + d))
        // b read the same row (token 0) and races: the row now has token 1, so b loses.
        #expect(a!.acquired(by: "b", expected: .zero, now: t0, duration: d) == nil)
        // The owner itself may re-acquire early, for a fresh token.
        #expect(a!.acquired(by: "a", expected: FencingToken(1), now: t0, duration: d)?.token == FencingToken(2))
        // Even with the right token, a held lease cannot be taken before it expires…
        #expect(a!.acquired(by: "b", expected: FencingToken(1), now: t0 + .seconds(14), duration: d) == nil)
        // …and can after.
        let b = a!.acquired(by: "b", expected: FencingToken(1), now: t0 + d, duration: d)
        #expect(b?.owner == "b" && b?.token == FencingToken(2))
    }

    @Test func renewKeepsTheTokenAndOnlyTheOwnerBeforeExpiryMayRenew() {
        let a = Lease.unowned("r").acquired(by: "a", expected: .zero, now: t0, duration: d)!
        let renewed = a.renewed(by: "a", token: a.token, now: t0 + .seconds(5), duration: d)
        #expect(renewed == Lease(region: "r", owner: "a", token: a.token, expiresAt: t0 + .seconds(20)))
        #expect(a.renewed(by: "b", token: a.token, now: t0, duration: d) == nil)
        #expect(a.renewed(by: "a", token: FencingToken(9), now: t0, duration: d) == nil)
        #expect(a.renewed(by: "a", token: a.token, now: t0 + d, duration: d) == nil)
    }

    @Test func releaseFreesAtOnceAndTheNextOwnerGetsTokenPlusOne() {
        let a = Lease.unowned("r").acquired(by: "a", expected: .zero, now: t0, duration: d)!
        let free = a.released(by: "a", token: a.token, now: t0 + .seconds(1))!
        #expect(free.owner == nil && free.token == a.token)
        let b = free.acquired(by: "b", expected: free.token, now: t0 + .seconds(1), duration: d)!
        #expect(b.token == a.token.next)
        #expect(b.released(by: "a", token: a.token, now: t0) == nil)
    }

    @Test func fencingAcceptsOnlyTheCurrentTokenOfAHeldLease() {
        let lease = Lease(region: "r", owner: "b", token: FencingToken(5), expiresAt: t0 + d)
        #expect(Fencing.check(token: FencingToken(5), against: lease, now: t0) == .accepted)
        #expect(Fencing.check(token: FencingToken(4), against: lease, now: t0) == .staleToken(writer: FencingToken(4), current: FencingToken(5)))
        #expect(Fencing.check(token: FencingToken(6), against: lease, now: t0) == .staleToken(writer: FencingToken(6), current: FencingToken(5)))
        #expect(Fencing.check(token: FencingToken(5), against: lease, now: t0 + d) == .leaseExpired(at: t0 + d))
        var released = lease; released.owner = nil
        #expect(Fencing.check(token: FencingToken(5), against: released, now: t0) == .noOwner)
    }
}

@Suite struct RegionPlannerTests {
    static func randomCase(_ rng: inout SplitMix64) -> (regions: [RegionKey], live: [NodeID], current: [RegionKey: NodeID]) {
        let regions = (0..<Int.random(in: 0...30, using: &rng)).map { RegionKey("r\($0)") }
        let all = (0..<Int.random(in: 1...8, using: &rng)).map { NodeID("n\($0)") }
        let live = all.filter { _ in Int.random(in: 0..<5, using: &rng) > 0 }
        var current: [RegionKey: NodeID] = [:]
        for r in regions where Bool.random(using: &rng) { current[r] = all.randomElement(using: &rng)! }
        return (regions, live.isEmpty ? [all[0]] : live, current)
    }

    /// The fewest moves any balanced plan can make: choose which nodes get ⌈R/N⌉ to keep the most.
    static func minimumMoves(regions: [RegionKey], live: [NodeID], current: [RegionKey: NodeID]) -> Int {
        let n = live.count, base = regions.count / n, extra = regions.count % n
        let held = live.map { node in regions.filter { current[$0] == node }.count }
        var best = 0
        for mask in 0..<(1 << n) where mask.nonzeroBitCount == extra {
            let kept = (0..<n).reduce(0) { $0 + min(held[$1], base + ((mask >> $1) & 1)) }
            best = max(best, kept)
        }
        return regions.count - best
    }

    @Test func everyRegionHasExactlyOneLiveOwnerAndLoadsDifferByAtMostOne() {
        var rng = SplitMix64(seed: 4)
        for _ in 0..<500 {
            let c = Self.randomCase(&rng)
            let plan = RegionPlanner.plan(regions: c.regions, live: c.live, current: c.current)
            #expect(Set(plan.keys) == Set(c.regions))
            #expect(plan.values.allSatisfy { c.live.contains($0) })
            let loads = c.live.map { n in plan.values.filter { $0 == n }.count }
            #expect(loads.max()! - loads.min()! <= 1)
        }
    }

    @Test func movesAreMinimalAgainstBruteForce() {
        var rng = SplitMix64(seed: 5)
        for _ in 0..<500 {
            let c = Self.randomCase(&rng)
            let plan = RegionPlanner.plan(regions: c.regions, live: c.live, current: c.current)
            let moves = RegionPlanner.moves(from: c.current, to: plan)
            #expect(moves.count == Self.minimumMoves(regions: c.regions, live: c.live, current: c.current))
        }
    }

    @Test func planIsDeterministicWhateverTheInputOrder() {
        var rng = SplitMix64(seed: 6)
        for _ in 0..<200 {
            let c = Self.randomCase(&rng)
            let a = RegionPlanner.plan(regions: c.regions, live: c.live, current: c.current)
            let b = RegionPlanner.plan(regions: c.regions.shuffled(using: &rng), live: c.live.shuffled(using: &rng) + c.live,
                                       current: c.current)
            #expect(a == b)
        }
    }

    @Test func aJoiningNodeTakesOnlyItsShareAndNothingElseMoves() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<200 {
            let regions = (0..<Int.random(in: 1...40, using: &rng)).map { RegionKey("r\($0)") }
            let live = (0..<Int.random(in: 1...6, using: &rng)).map { NodeID("n\($0)") }
            let balanced = RegionPlanner.plan(regions: regions, live: live, current: [:])
            let joined = RegionPlanner.plan(regions: regions, live: live + ["new"], current: balanced)
            let moves = RegionPlanner.moves(from: balanced, to: joined)
            #expect(moves.allSatisfy { $0.to == "new" })
            let share = regions.count / (live.count + 1)
            #expect(moves.count == share || moves.count == share + 1)
        }
    }

    @Test func aLeavingNodesRegionsAreTheOnlyOnesThatMove() {
        var rng = SplitMix64(seed: 8)
        for _ in 0..<200 {
            let regions = (0..<Int.random(in: 1...40, using: &rng)).map { RegionKey("r\($0)") }
            let live = (0..<Int.random(in: 2...7, using: &rng)).map { NodeID("n\($0)") }
            let balanced = RegionPlanner.plan(regions: regions, live: live, current: [:])
            let leaver = live.randomElement(using: &rng)!
            let after = RegionPlanner.plan(regions: regions, live: live.filter { $0 != leaver }, current: balanced)
            let moves = RegionPlanner.moves(from: balanced, to: after)
            #expect(Set(moves.map(\.region)) == Set(regions.filter { balanced[$0] == leaver }))
        }
    }

    @Test func noLiveNodesMeansNoPlan() {
        #expect(RegionPlanner.plan(regions: ["a"], live: [], current: ["a": "x"]).isEmpty)
    }
}
