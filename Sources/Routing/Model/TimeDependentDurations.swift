/// Time-dependent travel times: one node-indexed duration matrix per slot of the day.
///
/// Evaluated with the Ichoua–Gendreau–Potvin model: a trip progresses through the slots at
/// the speed each slot's matrix implies, so leaving later never means arriving earlier (FIFO).
/// The solver checks feasibility against `upperBound` (the slot-wise maximum), which keeps
/// every check O(1) and is safe: with waiting allowed and FIFO travel, arriving no later than
/// planned never breaks a window. ETAs (`LivePlan.etas`) use the exact slot-wise travel.
public struct TimeDependentDurations: Sendable, Equatable {
    public let nodeCount: Int
    /// Length of one slot in internal time units; slot k covers [k·slotLength, (k+1)·slotLength).
    /// Times before 0 use slot 0, times after the last slot use the last one.
    public let slotLength: Ticks
    public let matrices: [[Ticks]]
    /// When set, slot k's durations are `matrices[0]` × `factors[k]` (a city-wide speed profile,
    /// one matrix in memory instead of one per slot).
    public let factors: [Double]?
    /// Element-wise maximum over the slots.
    public let upperBound: [Ticks]

    /// Slots given as factors of one base matrix (e.g. 1.4 in the morning peak). O(n²).
    public init(nodeCount: Int, slotLength: Ticks, base: [Ticks], factors: [Double]) throws(Problem.InvalidProblem) {
        guard slotLength > 0 else { throw Problem.InvalidProblem("time-dependent durations: slot length must be positive") }
        guard base.count == nodeCount * nodeCount else { throw Problem.InvalidProblem("time-dependent durations: base matrix is not \(nodeCount)×\(nodeCount)") }
        guard !factors.isEmpty, factors.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw Problem.InvalidProblem("time-dependent durations: factors must be positive") }
        self.nodeCount = nodeCount; self.slotLength = slotLength; self.matrices = [base]; self.factors = factors
        let top = factors.max()!
        upperBound = base.map { Ticks((Double($0) * top).rounded(.up)) }
    }

    @inline(__always) func slotDuration(_ slot: Int, _ idx: Int) -> Double {
        if let f = factors { return Double(matrices[0][idx]) * f[slot] }
        return Double(matrices[slot][idx])
    }

    var slotCount: Int { factors?.count ?? matrices.count }

    public init(nodeCount: Int, slotLength: Ticks, matrices: [[Ticks]]) throws(Problem.InvalidProblem) {
        guard slotLength > 0 else { throw Problem.InvalidProblem("time-dependent durations: slot length must be positive") }
        guard !matrices.isEmpty, matrices.allSatisfy({ $0.count == nodeCount * nodeCount }) else {
            throw Problem.InvalidProblem("time-dependent durations: every slot needs a \(nodeCount)×\(nodeCount) matrix")
        }
        for m in matrices { for x in m where x < 0 { throw Problem.InvalidProblem("time-dependent durations: negative duration \(x)") } }
        self.nodeCount = nodeCount; self.slotLength = slotLength; self.matrices = matrices; self.factors = nil
        var ub = matrices[0]
        for m in matrices.dropFirst() { for i in ub.indices where m[i] > ub[i] { ub[i] = m[i] } }
        upperBound = ub
    }

    /// Travel time from a to b leaving at `departure`. O(slots crossed).
    public func travel(from a: Int, to b: Int, departingAt departure: Ticks) -> Ticks {
        let idx = a * nodeCount + b
        var slot = departure < 0 ? 0 : Int(departure / slotLength)
        if slot >= slotCount { slot = slotCount - 1 }
        if slotDuration(slot, idx) == 0 { return 0 }
        // Fraction of the trip left, progressing at 1/D_k per time unit in slot k.
        var left = 1.0
        var time = Double(departure)
        while true {
            let d = slotDuration(slot, idx)
            let isLast = slot == slotCount - 1
            let slotEnd = Double(Ticks(slot + 1) * slotLength)
            if d == 0 { break }
            let need = left * d
            if isLast || time + need <= slotEnd { time += need; break }
            left -= (slotEnd - time) / d
            time = slotEnd
            slot += 1
        }
        // Rounding the arrival up keeps arrival times monotone in the departure (FIFO).
        return Ticks((time - 1e-9).rounded(.up)) - departure
    }
}

extension Problem {
    /// This problem with time-dependent travel: feasibility uses the slot-wise maximum, ETAs the slots.
    public func withTimeDependentDurations(_ td: TimeDependentDurations) throws(InvalidProblem) -> Problem {
        guard td.nodeCount == nodeCount else { throw InvalidProblem("time-dependent durations are for \(td.nodeCount) nodes, the problem has \(nodeCount)") }
        var p = self
        p.durations = td.upperBound
        p.timeDependent = td
        return p
    }
}
