import Testing
@testable import Routing

@Suite struct FeasibilityCheckerTests {
    /// The optimal C101 solution (10 routes), as published with the SINTEF / CVRPLIB best known.
    static let c101Optimal: [[Int]] = [
        [5, 3, 7, 8, 10, 11, 9, 6, 4, 2, 1, 75],
        [13, 17, 18, 19, 15, 16, 14, 12],
        [20, 24, 25, 27, 29, 30, 28, 26, 23, 22, 21],
        [32, 33, 31, 35, 37, 38, 39, 36, 34],
        [43, 42, 41, 40, 44, 46, 45, 48, 51, 50, 52, 49, 47],
        [57, 55, 54, 53, 56, 58, 60, 59],
        [67, 65, 63, 62, 74, 72, 61, 64, 68, 66, 69],
        [81, 78, 76, 71, 70, 73, 77, 79, 80],
        [90, 87, 86, 83, 82, 84, 85, 88, 89, 91],
        [98, 96, 95, 94, 92, 93, 97, 100, 99],
    ]

    @Test func theKnownOptimumOfC101IsFeasibleAndHasItsPublishedLength() throws {
        let c = try Fixture.instance("C101.txt")
        let dimacs = FeasibilityChecker(c, convention: .dimacs).check(Self.c101Optimal)
        #expect(dimacs.violations == [])
        #expect(abs(dimacs.distance - 827.3) < 1e-9)
        #expect(dimacs.vehicles == 10)
        let exact = FeasibilityChecker(c, convention: .exact).check(Self.c101Optimal)
        #expect(exact.feasible)
        #expect(abs(exact.distance - 828.94) < 0.005)
    }

    @Test func aMissingOrRepeatedCustomerIsReported() throws {
        let c = try Fixture.instance("C101.txt")
        var routes = Self.c101Optimal
        routes[0].removeLast()        // 75 not visited
        routes[1].append(5)           // 5 twice
        let r = FeasibilityChecker(c, convention: .dimacs).check(routes)
        #expect(r.violations.contains(.notVisited(node: 75)))
        #expect(r.violations.contains(.visitedTwice(node: 5)))
    }

    @Test func aReversedTightRouteIsLate() throws {
        let c = try Fixture.instance("C101.txt")
        var routes = Self.c101Optimal
        routes[1].reverse()
        let r = FeasibilityChecker(c, convention: .dimacs).check(routes)
        #expect(r.violations.contains { if case .late(route: 1, _, _, _) = $0 { true } else { false } })
        #expect(!r.feasible)
    }

    @Test func overloadingARouteIsReported() throws {
        let c = try Fixture.instance("C101.txt")
        // Two C101 routes merged: 180 + 200 > 200 and the second half is far too late anyway.
        var routes = Self.c101Optimal
        routes[0] += routes[1]
        routes.remove(at: 1)
        let r = FeasibilityChecker(c, convention: .exact).check(routes)
        #expect(r.violations.contains { if case .overCapacity(route: 0, _) = $0 { true } else { false } })
    }

    @Test func waitingIsAllowedButTheDepotMustBeReachedByItsDue() throws {
        // Depot due 1236 in C101; customer 1 has window [912, 967] and service 90: a route 0→1→0 waits, then returns
        // at about 912 + 90 + 18.7 < 1236, so it is fine on its own.
        let c = try Fixture.instance("C101.txt")
        let single = FeasibilityChecker(c, convention: .exact).check([[1]], fleetLimit: .some(nil))
        #expect(!single.violations.contains { if case .late = $0 { true } else if case .lateReturn = $0 { true } else { false } })
        // Shrink the depot's due so the same route cannot return in time.
        var tight = c
        tight.nodes[0].due = 1000
        let late = FeasibilityChecker(tight, convention: .exact).check([[1]], fleetLimit: .some(nil))
        #expect(late.violations.contains { if case .lateReturn(route: 0, _, 1000) = $0 { true } else { false } })
    }

    @Test func dimacsTruncatesEachArcToATenth() throws {
        let c = try Fixture.instance("C101.txt")
        // Depot (40,50) → 1 (45,68): euclid √349 = 18.681…; DIMACS 18.6 each way.
        let d = FeasibilityChecker(c, convention: .dimacs)
        #expect(d.arc(0, 1) == 186)
        #expect(abs(d.check([[1]], fleetLimit: .some(nil)).distance - 37.2) < 1e-9)
        let e = FeasibilityChecker(c, convention: .exact)
        #expect(abs(e.check([[1]], fleetLimit: .some(nil)).distance - 2 * 349.0.squareRoot()) < 1e-9)
    }

    @Test func moreRoutesThanTheFleetAreReportedForSolomonButNotForVRPLIB() throws {
        let c = try Fixture.instance("C101.txt")
        let routes = (1...100).map { [$0] }
        let r = FeasibilityChecker(c, convention: .exact).check(routes)
        #expect(r.violations.contains(.tooManyVehicles(used: 100, limit: 25)))
        let v = try Fixture.instance("tiny-euc.vrp")
        #expect(FeasibilityChecker(v, convention: .exact).check([[1], [2], [3]]).feasible)
    }

    @Test func depotOrUnknownNodesInsideARouteAreReported() throws {
        let v = try Fixture.instance("tiny-euc.vrp")
        let r = FeasibilityChecker(v, convention: .exact).check([[1, 0, 2], [3, 9], []])
        #expect(r.violations.contains(.depotInRoute(route: 0)))
        #expect(r.violations.contains(.unknownNode(route: 1, node: 9)))
        #expect(r.violations.contains(.emptyRoute(route: 2)))
    }

    @Test func explicitMatrixIsUsedAsGivenInItsDirection() throws {
        let v = try Fixture.instance("tiny-explicit.vrp")
        // 0→1 (10) at 10, serve 5; 1→2 (15) at 30 ≥ ready 20, serve 5; 2→0 (22): 47 in total.
        let r = FeasibilityChecker(v, convention: .dimacs).check([[1, 2], [3, 4]])
        #expect(r.violations == [])
        // Second route: 0→3 (30) at 30, serve 5 → 35; 3→4 (13) at 48 < ready 60 → wait to 60, serve → 65; 4→0 (41) = 106 total time, distance 84.
        #expect(r.distance == 47 + 84)
        // Reversed, 2→1 then 1→0: 20 + 14 + 12.
        #expect(FeasibilityChecker(v, convention: .exact).check([[2, 1], [3, 4]]).distance == 46 + 84)
        // Node 2 (index 1) is due at 50: visiting it after index 4 is late.
        let late = FeasibilityChecker(v, convention: .dimacs).check([[4, 1], [2, 3]])
        #expect(late.violations.contains { if case .late(route: 0, node: 1, _, _) = $0 { true } else { false } })
        #expect(FeasibilityChecker(v, convention: .dimacs).check([[1, 2, 3, 4]]).violations.contains(.overCapacity(route: 0, load: 14)))
    }

    @Test func pickupsMustPrecedeTheirDeliveriesOnTheSameRoute() throws {
        let l = try Fixture.instance("lc101.txt")
        // Pair (pickup 11 → delivery 1). All other customers on two routes in pair order.
        let others = Array(2...10) + Array(12...106)
        let pairs = others.filter { l.nodes[$0].deliveryIndex != nil }
        let rest = pairs.flatMap { [$0, l.nodes[$0].deliveryIndex!] }
        let good = FeasibilityChecker(l, convention: .exact).check([[11, 1], rest], fleetLimit: .some(nil))
        #expect(!good.violations.contains { if case .deliveryBeforePickup = $0 { true } else if case .pairOnDifferentRoutes = $0 { true } else { false } })
        #expect(!good.violations.contains { if case .negativeLoad = $0 { true } else { false } })
        let reversed = FeasibilityChecker(l, convention: .exact).check([[1, 11], rest], fleetLimit: .some(nil))
        #expect(reversed.violations.contains(.deliveryBeforePickup(pickup: 11, delivery: 1)))
        #expect(reversed.violations.contains(.negativeLoad(route: 0, node: 1)))
        let split = FeasibilityChecker(l, convention: .exact).check([[11], [1], rest], fleetLimit: .some(nil))
        #expect(split.violations.contains(.pairOnDifferentRoutes(pickup: 11, delivery: 1)))
    }
}
