/// Computes which live node should own each region: balanced (every node owns ⌊R/N⌋ or ⌈R/N⌉),
/// with the fewest ownership changes from the current owners, and deterministic (same inputs,
/// same plan on every node, so nodes that read the same rows agree without talking).
///
/// Pure; O((R + N) log(R + N)).
public enum RegionPlanner {
    /// The target owner of every region. Empty if there are no live nodes.
    /// - Parameters:
    ///   - regions: all regions (duplicates ignored).
    ///   - live: live nodes (duplicates ignored).
    ///   - current: current owners; owners that are not live are ignored (their regions must move).
    public static func plan(regions: [RegionKey], live: [NodeID], current: [RegionKey: NodeID]) -> [RegionKey: NodeID] {
        let regions = Array(Set(regions)).sorted()
        let nodes = Array(Set(live)).sorted()
        guard !nodes.isEmpty else { return [:] }
        let base = regions.count / nodes.count
        let extra = regions.count % nodes.count

        // Current holdings of live nodes, regions sorted for a deterministic keep order.
        var held: [NodeID: [RegionKey]] = [:]
        let liveSet = Set(nodes)
        for r in regions { if let o = current[r], liveSet.contains(o) { held[o, default: []].append(r) } }

        // The `extra` nodes allowed ⌈R/N⌉ are those holding most now (ties by id): this keeps
        // the most regions in place, hence fewest moves.
        let byHoldings = nodes.sorted { (held[$0]?.count ?? 0, $1) > (held[$1]?.count ?? 0, $0) }
        var capacity: [NodeID: Int] = [:]
        for (i, n) in byHoldings.enumerated() { capacity[n] = base + (i < extra ? 1 : 0) }

        var plan: [RegionKey: NodeID] = [:]
        var load: [NodeID: Int] = [:]
        for n in nodes {
            for r in (held[n] ?? []).prefix(capacity[n]!) { plan[r] = n }
            load[n] = min(held[n]?.count ?? 0, capacity[n]!)
        }
        // Orphans (no live owner, or shed by an over-full node) go to the least-loaded node with room.
        for r in regions where plan[r] == nil {
            let target = nodes.filter { load[$0]! < capacity[$0]! }
                .min { (load[$0]!, $0) < (load[$1]!, $1) }!
            plan[r] = target
            load[target]! += 1
        }
        return plan
    }

    /// One region changing owner.
    public struct Move: Hashable, Sendable {
        public var region: RegionKey
        /// The current owner (nil: none, or not live).
        public var from: NodeID?
        public var to: NodeID
    }

    /// The regions whose owner changes from `current` to `plan`, sorted by region.
    public static func moves(from current: [RegionKey: NodeID], to plan: [RegionKey: NodeID]) -> [Move] {
        plan.keys.sorted().compactMap { r in
            current[r] == plan[r] ? nil : Move(region: r, from: current[r], to: plan[r]!)
        }
    }
}
