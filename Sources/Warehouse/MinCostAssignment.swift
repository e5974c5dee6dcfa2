/// Optimal assignment (minimum total cost, Hungarian method with potentials; Kuhn 1955, Munkres
/// 1957), rectangular: every row gets a distinct column when rows ≤ columns. O(rows² × columns).
/// Pure. Used to give idle robots pick tasks by total travel (Docs/SITES.md).
public enum MinCostAssignment {
    /// `cost[i][j]` for row i, column j (all rows the same length). Returns, per row, its column,
    /// minimising the sum; with more rows than columns, the extra rows get nil.
    public static func minimumCost(_ cost: [[Int64]]) -> [Int?] {
        let n = cost.count
        guard n > 0, let m = cost.first?.count, m > 0 else { return Array(repeating: nil, count: n) }
        precondition(cost.allSatisfy { $0.count == m }, "cost rows of unequal length")
        if n > m {
            // Transpose: columns choose rows.
            let t = (0..<m).map { j in (0..<n).map { i in cost[i][j] } }
            let colToRow = minimumCost(t)
            var out = [Int?](repeating: nil, count: n)
            for (j, i) in colToRow.enumerated() { if let i { out[i] = j } }
            return out
        }
        // 1-based potentials u (rows), v (columns); p[j] = row matched to column j (0: none).
        let inf = Int64.max / 4
        var u = [Int64](repeating: 0, count: n + 1), v = [Int64](repeating: 0, count: m + 1)
        var p = [Int](repeating: 0, count: m + 1), way = [Int](repeating: 0, count: m + 1)
        for i in 1...n {
            p[0] = i
            var j0 = 0
            var minv = [Int64](repeating: inf, count: m + 1)
            var used = [Bool](repeating: false, count: m + 1)
            repeat {
                used[j0] = true
                let i0 = p[j0]
                var delta = inf, j1 = 0
                for j in 1...m where !used[j] {
                    let cur = cost[i0 - 1][j - 1] - u[i0] - v[j]
                    if cur < minv[j] { minv[j] = cur; way[j] = j0 }
                    if minv[j] < delta { delta = minv[j]; j1 = j }
                }
                for j in 0...m {
                    if used[j] { u[p[j]] += delta; v[j] -= delta } else { minv[j] -= delta }
                }
                j0 = j1
            } while p[j0] != 0
            repeat {
                let j1 = way[j0]
                p[j0] = p[j1]
                j0 = j1
            } while j0 != 0
        }
        var out = [Int?](repeating: nil, count: n)
        for j in 1...m where p[j] != 0 { out[p[j] - 1] = j - 1 }
        return out
    }
}
