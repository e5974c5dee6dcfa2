/// The bounds every instance reader enforces (Docs/ROUTING.md, "Reader limits"), so that no
/// number of a file can overflow the solver's 64-bit integer units and no file can make the
/// solver allocate more memory than a machine has. A value outside them is an `InstanceError`
/// naming the file, the line and the field, never a trap.
///
/// Why these numbers: the exact convention scales file units by 1000, so the longest arc between
/// two coordinates within ±1e6 is under 2.9e9 internal units, and a route of 16384 stops with
/// times and services up to 1e9 each stays below 1e17 — far from `Int64.max / 4` (2.3e18), which
/// the solver uses as "no limit". The benchmark libraries use coordinates below 1e5, times below
/// 1e6 and demands below 1e4.
public enum InstanceLimits {
    /// Largest instance file the command line reads (64 MiB; the largest benchmark files are a
    /// few MB). Checked on the file's size before it is read whole.
    public static let maxFileBytes = 64 << 20
    /// Largest |X| or |Y|.
    public static let maxCoordinate = 1_000_000.0
    /// Largest READY, DUE or SERVICE (all must also be >= 0).
    public static let maxTime = 1_000_000_000.0
    /// Largest |DEMAND|, CAPACITY and vehicle count.
    public static let maxQuantity = 1_000_000_000
    /// Largest weight of an explicit (EDGE_WEIGHT_SECTION) matrix.
    public static let maxEdgeWeight = 1_000_000_000
    /// Largest matrix the solver may allocate: the node-indexed n×n matrix of 8-byte entries
    /// (`Problem.distances`; the benchmark durations share its storage). 2 GiB, i.e. at most
    /// 16384 nodes (the depot included).
    public static let maxMatrixBytes = 2 << 30
    /// The most nodes (depot included) whose matrix fits in `maxMatrixBytes`.
    public static let maxNodes = 16_384

    /// Bytes of the n×n matrix of 8-byte entries for `n` nodes (saturating, never overflowing).
    public static func matrixBytes(nodes n: Int) -> Int {
        let (square, o1) = n.multipliedReportingOverflow(by: n)
        let (bytes, o2) = square.multipliedReportingOverflow(by: MemoryLayout<Int64>.size)
        return o1 || o2 ? Int.max : bytes
    }

    /// `bytes` for people: "7.2 GB", "512.0 MB" (decimal units, one decimal).
    public static func describe(bytes: Int) -> String {
        let b = Double(bytes)
        if b >= 1e9 { return "\((b / 1e8).rounded() / 10) GB" }
        if b >= 1e6 { return "\((b / 1e5).rounded() / 10) MB" }
        return "\(bytes) bytes"
    }

    /// Nil when `n` nodes fit; otherwise what they would need, for an error message.
    static func matrixProblem(nodes n: Int) -> String? {
        guard n > maxNodes else { return nil }
        return "\(n) nodes need a \(n)×\(n) matrix of 8-byte entries (\(describe(bytes: matrixBytes(nodes: n)))), "
            + "more than the solver's limit of \(describe(bytes: maxMatrixBytes)) (at most \(maxNodes) nodes, the depot included)"
    }
}
