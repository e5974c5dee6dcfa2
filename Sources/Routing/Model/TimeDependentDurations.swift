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
    public let slotLength: Duration
    public let matrices: [[Duration]]
    /// Element-wise maximum over the slots.
    public let upperBound: [Duration]

    public init(nodeCount: Int, slotLength: Duration, matrices: [[Duration]]) throws(Problem.InvalidProblem) {
        guard slotLength > 0 else { throw Problem.InvalidProblem("time-dependent durations: slot length must be positive") }
        guard !matrices.isEmpty, matrices.allSatisfy({ $0.count == nodeCount * nodeCount }) else {
            throw Problem.InvalidProblem("time-dependent durations: every slot needs a \(nodeCount)×\(nodeCount) matrix")
        }
        for m in matrices { for x in m where x < 0 { throw Problem.InvalidProblem("time-dependent durations: negative duration \(x)") } }
        self.nodeCount = nodeCount; self.slotLength = slotLength; self.matrices = matrices
        var ub = matrices[0]
        for m in matrices.dropFirst() { for i in ub.indices where m[i] > ub[i] { ub[i] = m[i] } }
        upperBound = ub
    }

    /// Travel time from a to b leaving at `departure`. O(slots crossed).
    public func travel(from a: Int, to b: Int, departingAt departure: Duration) -> Duration {
        let idx = a * nodeCount + b
        var slot = departure < 0 ? 0 : Int(departure / slotLength)
        if slot >= matrices.count { slot = matrices.count - 1 }
        let here = matrices[slot][idx]
        if here == 0 { return 0 }
        // Fraction of the trip left, progressing at 1/D_k per time unit in slot k.
        var left = 1.0
        var time = Double(departure)
        while true {
            let d = Double(matrices[slot][idx])
            let isLast = slot == matrices.count - 1
            let slotEnd = Double(Duration(slot + 1) * slotLength)
            if d == 0 { break }
            let need = left * d
            if isLast || time + need <= slotEnd { time += need; break }
            left -= (slotEnd - time) / d
            time = slotEnd
            slot += 1
        }
        // Rounding the arrival up keeps arrival times monotone in the departure (FIFO).
        return Duration((time - 1e-9).rounded(.up)) - departure
    }
}

extension Problem {
    /// This problem with time-dependent travel: feasibility uses the slot-wise maximum, ETAs the slots.
    public func withTimeDependentDurations(_ td: TimeDependentDurations) throws(InvalidProblem) -> Problem {
        guard td.nodeCount == nodeCount else { throw InvalidProblem("time-dependent durations are for \(td.nodeCount) nodes, the problem has \(nodeCount)") }
        var p = try Problem(nodes: nodes, vehicles: vehicles, distances: distances, durations: td.upperBound,
                            distanceScale: distanceScale, timeScale: timeScale, externalIndex: externalIndex)
        p.timeDependent = td
        return p
    }
}
