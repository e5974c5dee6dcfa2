import Testing
@testable import Routing

/// The Routing-side audit (used by `daybreak solve` and `bench routing`) and the test-side checker are
/// written separately; on random route sets they must agree on feasibility and distance.
@Suite struct FeasibilityCheckerAgreementTests {
    /// Random routes over all customers: shuffled, cut into `k` pieces, sometimes with a customer dropped or repeated.
    static func randomRoutes(_ inst: InstanceFile, rng: inout SeededGenerator) -> [[Int]] {
        var customers = Array(1..<inst.nodes.count)
        for i in stride(from: customers.count - 1, to: 0, by: -1) { customers.swapAt(i, rng.below(i + 1)) }
        if rng.below(4) == 0 { customers.removeLast() }
        if rng.below(4) == 0 { customers.append(customers[0]) }
        let k = 1 + rng.below(min(30, customers.count))
        var routes = [[Int]](repeating: [], count: k)
        for (j, c) in customers.enumerated() { routes[(j * k) / customers.count].append(c) }
        return routes
    }

    @Test(arguments: ["C101.txt", "R101.txt", "lc101.txt", "tiny-explicit.vrp", "tiny-euc.vrp"])
    func auditAndCheckerAgreeOnRandomRoutes(file: String) throws {
        let inst = try Fixture.instance(file)
        var rng = SeededGenerator(seed: 7)
        for trial in 0..<200 {
            let routes = Self.randomRoutes(inst, rng: &rng)
            for (rounding, convention) in [(Rounding.dimacs, FeasibilityChecker.Convention.dimacs), (.exact, .exact)] {
                let a = inst.audit(routes: routes, rounding: rounding)
                let c = FeasibilityChecker(inst, convention: convention).check(routes)
                #expect(a.feasible == c.feasible, "\(file) trial \(trial): audit \(a.problems) vs checker \(c.violations)")
                #expect(abs(a.distance - c.distance) < 1e-6, "\(file) trial \(trial)")
                #expect(a.vehicles == c.vehicles)
            }
        }
    }

    @Test func bothAcceptTheKnownC101Optimum() throws {
        let c = try Fixture.instance("C101.txt")
        let a = c.audit(routes: FeasibilityCheckerTests.c101Optimal, rounding: .dimacs)
        #expect(a.feasible && abs(a.distance - 827.3) < 1e-9, "\(a.problems)")
    }
}
