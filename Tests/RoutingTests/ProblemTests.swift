import Testing
@testable import Routing

@Suite struct ProblemTests {
    func file(_ format: InstanceFile.Format = .solomon, vehicles: Int? = 3) -> InstanceFile {
        var rng = SeededGenerator(seed: 5)
        var nodes = [InstanceFile.Node(fileID: 0, x: 35, y: 35, demand: 0, ready: 0, due: 230, service: 0)]
        for i in 1...8 {
            nodes.append(InstanceFile.Node(fileID: i, x: Double(rng.below(70)) + 0.5, y: Double(rng.below(70)),
                                           demand: 1 + rng.below(10), ready: Double(rng.below(50)), due: 200, service: 10))
        }
        return InstanceFile(name: "T", format: format, nodes: nodes, vehicleCount: vehicles, capacity: 30)
    }

    @Test func dimacsTruncatesTenthsAndScalesTimesByTen() throws {
        let f = file()
        let p = try Problem(instance: f, rounding: .dimacs)
        for i in 0..<f.nodes.count { for j in 0..<f.nodes.count where i != j {
            let dx = f.nodes[i].x - f.nodes[j].x, dy = f.nodes[i].y - f.nodes[j].y
            let e = (dx * dx + dy * dy).squareRoot()
            #expect(p.distance(i, j) == Int64((e * 10).rounded(.down)) || abs(Double(p.distance(i, j)) - e * 10) < 1e-6)
            #expect(Double(p.distance(i, j)) <= e * 10 + 1e-6 && Double(p.distance(i, j)) > e * 10 - 1)
            #expect(p.duration(i, j) == p.distance(i, j))
        } }
        #expect(p.nodes[1].ready == Int64(f.nodes[1].ready * 10) && p.nodes[1].service == 100)
        #expect(p.distanceScale == 10)
        #expect(p.vehicles.count == 3, "the file's fleet is a hard limit")
    }

    @Test func exactRoundsHalfUpInThousandths() throws {
        let f = file()
        let p = try Problem(instance: f, rounding: .exact)
        let dx = f.nodes[1].x - f.nodes[2].x, dy = f.nodes[1].y - f.nodes[2].y
        #expect(p.distance(1, 2) == Int64(((dx * dx + dy * dy).squareRoot() * 1000 + 0.5).rounded(.down)))
        #expect(p.distanceScale == 1000)
    }

    @Test func vrplibFleetIsUnboundedAndExplicitMatricesAreKept() throws {
        var f = file(.vrplib, vehicles: 2)
        let n = f.nodes.count
        f.explicitMatrix = (0..<n).map { i in (0..<n).map { j in i == j ? 0 : 7 + i + j } }
        let p = try Problem(instance: f, rounding: .exact)
        #expect(p.vehicles.count == n - 1)
        #expect(p.distance(2, 3) == 12 && p.duration(2, 3) == 12 && p.distanceScale == 1)
    }

    @Test func solutionDistanceIsReportedInTheInstanceUnit() throws {
        let f = file(vehicles: 8)
        for rounding in [Rounding.dimacs, .exact] {
            let p = try Problem(instance: f, rounding: rounding)
            let s = solve(p, options: SolveOptions(seed: 1, maxIterations: 200))
            var euclid = 0.0
            for r in s.routes {
                let stops = [0] + r + [0]
                for k in 1..<stops.count {
                    let a = f.nodes[stops[k - 1]], b = f.nodes[stops[k]]
                    euclid += ((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)).squareRoot()
                }
            }
            #expect(s.feasible)
            let arcs = Double(s.routes.reduce(0) { $0 + $1.count + 1 })
            let up = rounding == .dimacs ? 0 : arcs * 0.0005, down = arcs * (rounding == .dimacs ? 0.1 : 0.0005)
            #expect(s.distance <= euclid + up + 1e-6, "DIMACS truncates, exact rounds to the nearest thousandth")
            #expect(s.distance >= euclid - down - 1e-6)
        }
    }

    @Test func invalidProblemsAreRejectedWithAReason() {
        let nodes = [Problem.Node(kind: .depot, ready: 0, due: 10), Problem.Node(kind: .delivery, ready: 5, due: 1)]
        let v = Problem.Vehicle(start: 0, end: 0, capacity: Load(1, 0, 0, 0))
        #expect(throws: Problem.InvalidProblem.self) { try Problem(nodes: nodes, vehicles: [v], distances: [0, 1, 1, 0], durations: [0, 1, 1, 0]) }
        let ok = [Problem.Node(kind: .depot, ready: 0, due: 10), Problem.Node(kind: .delivery, ready: 0, due: 5)]
        #expect(throws: Problem.InvalidProblem.self) { try Problem(nodes: ok, vehicles: [v], distances: [0, 1, 1], durations: [0, 1, 1, 0]) }
        #expect(throws: Problem.InvalidProblem.self) { try Problem(nodes: ok, vehicles: [], distances: [0, 1, 1, 0], durations: [0, 1, 1, 0]) }
    }
}
