@testable import Routing

/// Seeded random instances and a plain re-simulation of routes, independent of the solver's
/// segment algebra, used as the oracle in property tests.
enum Generated {
    struct Spec {
        var customers = 8
        var vehicles = 3
        var capacity: Int64 = 40
        var horizon: Int64 = 1000
        var windowWidth: ClosedRange<Int64> = 60...400
        var pairs = 0
        var maxDuration: Int64 = .max / 4
    }

    static func problem(seed: UInt64, _ spec: Spec = Spec()) -> Problem {
        var rng = SeededGenerator(seed: seed)
        let n = 1 + spec.customers + 2 * spec.pairs
        var xs: [Int64] = [50], ys: [Int64] = [50]
        for _ in 1..<n { xs.append(Int64(rng.below(101))); ys.append(Int64(rng.below(101))) }
        var dist = [Int64](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n where i != j {
            let dx = Double(xs[i] - xs[j]), dy = Double(ys[i] - ys[j])
            dist[i * n + j] = Int64((dx * dx + dy * dy).squareRoot() * 10) / 10 * 10 / 10
        } }
        var nodes = [Problem.Node(kind: .depot, ready: 0, due: spec.horizon)]
        func window(_ i: Int) -> (Int64, Int64) {
            let earliest = dist[i]   // from the depot
            let latestStart = spec.horizon - 10 - dist[i * n]
            let w = spec.windowWidth.lowerBound + Int64(rng.below(Int(spec.windowWidth.upperBound - spec.windowWidth.lowerBound + 1)))
            let a = earliest + Int64(rng.below(Int(max(1, latestStart - earliest - w / 2))))
            return (a, max(a, min(latestStart, a + w)))
        }
        for i in 1...max(1, spec.customers) where spec.customers > 0 {
            let (a, b) = window(i)
            nodes.append(Problem.Node(kind: .delivery, ready: a, due: b, service: 10, demand: Load(Int64(1 + rng.below(15)), 0, 0, 0)))
        }
        for k in 0..<spec.pairs {
            let p = 1 + spec.customers + 2 * k, d = p + 1
            let (a, b) = window(p)
            let q = Load(Int64(1 + rng.below(15)), 0, 0, 0)
            nodes.append(Problem.Node(kind: .pairedPickup(delivery: d), ready: a, due: b, service: 10, demand: q))
            nodes.append(Problem.Node(kind: .pairedDelivery(pickup: p), ready: a, due: spec.horizon - 10 - dist[d * n], service: 10, demand: q))
        }
        let v = Problem.Vehicle(start: 0, end: 0, capacity: Load(spec.capacity, 0, 0, 0), shiftStart: 0, shiftEnd: spec.horizon,
                                maxDuration: spec.maxDuration)
        return try! Problem(nodes: nodes, vehicles: Array(repeating: v, count: spec.vehicles), distances: dist, durations: dist)
    }

    struct Simulated {
        var feasible: Bool; var distance: Int64; var duration: Int64; var timeWarp: Int64
        /// Capacity and maximum duration met (time windows aside).
        var loadAndDurationOK = true
    }

    /// Simulates one route of vehicle `v` (node indices, depots excluded) stop by stop, with the
    /// departure delayed as late as possible (found by trying every candidate departure).
    static func simulate(_ p: Problem, vehicle v: Int, route: [Int], exactDuration: Bool = false) -> Simulated {
        let veh = p.vehicles[v]
        let stops = [veh.start] + route + [veh.end]
        var distance: Int64 = 0
        for k in 1..<stops.count { distance += p.distance(stops[k - 1], stops[k]) }
        // Loads trip by trip: a reload stop ends a trip; each trip starts with its deliveries on board.
        var capOK = true
        var onBoard = Set<Int>()
        var trips: [[Int]] = [[]]
        for c in route { if case .reload = p.nodes[c].kind { trips.append([]) } else { trips[trips.count - 1].append(c) } }
        for trip in trips {
            var load = Load.zero
            for c in trip { if case .delivery = p.nodes[c].kind { load &+= p.nodes[c].demand } }
            if any(load .> veh.capacity) { capOK = false }
            for c in trip {
                switch p.nodes[c].kind {
                case .delivery: load &-= p.nodes[c].demand
                case .pickup: load &+= p.nodes[c].demand
                case .pairedPickup: load &+= p.nodes[c].demand; onBoard.insert(c)
                case .pairedDelivery(let pk):
                    load &-= p.nodes[c].demand
                    if !onBoard.contains(pk) { capOK = false }
                case .depot, .reload: capOK = false
                }
                if any(load .> veh.capacity) { capOK = false }
            }
        }
        // Run from a given departure; return (arrival at end, lateness) with waiting.
        func run(_ dep: Int64) -> (end: Int64, warp: Int64) {
            var time = dep, warp: Int64 = 0
            for k in 1..<stops.count {
                let node = p.nodes[stops[k]]
                time += p.duration(stops[k - 1], stops[k])
                let due = k == stops.count - 1 ? min(node.due, veh.shiftEnd) : node.due
                let ready = k == stops.count - 1 ? max(node.ready, veh.shiftStart) : node.ready
                if time < ready { time = ready }
                if time > due { warp += time - due; time = due }
                if k < stops.count - 1 { time += node.service }
            }
            return (time, warp)
        }
        let s = p.nodes[veh.start]
        let lo = max(s.ready, veh.shiftStart), hi = min(s.due, veh.shiftEnd)
        var bestWarp = Int64.max, bestDur = Int64.max
        // Every integer departure in the start window (instances here have short horizons).
        let cands = exactDuration || veh.maxDuration < .max / 4 ? Array(lo...min(hi, lo + 5000)) : [lo]
        for dep in cands {
            let (end, warp) = run(dep)
            let dur = end - dep
            if warp < bestWarp || (warp == bestWarp && dur < bestDur) { bestWarp = warp; bestDur = dur }
        }
        let ok = capOK && bestWarp == 0 && bestDur <= veh.maxDuration
        return Simulated(feasible: ok, distance: distance, duration: bestDur, timeWarp: bestWarp,
                         loadAndDurationOK: capOK && bestDur <= veh.maxDuration)
    }

    /// Brute-force optimal distance for a small unpaired instance with identical vehicles
    /// (subset DP over single-route optima found by permutation). O(2ⁿ·n!).
    static func optimum(_ p: Problem) -> Int64? {
        let jobs = p.jobs
        let m = jobs.count
        var single = [Int64?](repeating: nil, count: 1 << m)
        single[0] = 0
        for mask in 1..<(1 << m) {
            let members = (0..<m).filter { mask & (1 << $0) != 0 }.map { jobs[$0] }
            var best: Int64? = nil
            permute(members) { route in
                let s = simulate(p, vehicle: 0, route: route)
                if s.feasible, best == nil || s.distance < best! { best = s.distance }
            }
            single[mask] = best
        }
        // dp[k][mask]: best with k routes.
        var dp = [Int64?](repeating: nil, count: 1 << m)
        dp[0] = 0
        for _ in 0..<p.vehicles.count {
            var next = dp
            for mask in 0..<(1 << m) {
                guard let base = dp[mask] else { continue }
                let rest = ((1 << m) - 1) & ~mask
                var sub = rest
                while sub > 0 {
                    if let c = single[sub] {
                        let all = mask | sub
                        if next[all] == nil || base + c < next[all]! { next[all] = base + c }
                    }
                    sub = (sub - 1) & rest
                }
            }
            dp = next
        }
        return dp[(1 << m) - 1]
    }

    static func permute(_ a: [Int], _ body: ([Int]) -> Void) {
        var a = a
        func rec(_ k: Int) {
            if k == a.count { body(a); return }
            for i in k..<a.count { a.swapAt(k, i); rec(k + 1); a.swapAt(k, i) }
        }
        rec(0)
    }
}
