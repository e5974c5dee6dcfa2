/// Dock doors for the night's vans (Docs/SITES.md): each van loads at a door for a fixed time and
/// must be done by its departure; a door holds one van at a time. Pure.
public struct DockSlot: Sendable, Equatable {
    public var door: Int
    /// Loading runs from `start` to `end` (≤ the van's departure).
    public var start: Double
    public var end: Double
}

public enum DockSchedule {
    /// Latest-possible slots, scheduled backwards from the departures: vans in decreasing departure
    /// order (ties: higher index first) each take the door that stays free latest before their
    /// departure (ties: lowest door), loading `loadingSeconds` up to min(departure, that door's next
    /// van's start). Loading as late as possible keeps chutes filling as long as possible, so the
    /// doors are shared without any van being loaded after its departure. O(vans × doors).
    public static func latest(departures: [Double], doors: Int, loadingSeconds: Double) -> [DockSlot] {
        precondition(doors > 0 && loadingSeconds >= 0)
        var freeUntil = [Double](repeating: .infinity, count: doors)
        var out = [DockSlot](repeating: DockSlot(door: 0, start: 0, end: 0), count: departures.count)
        let order = departures.indices.sorted { departures[$0] != departures[$1] ? departures[$0] > departures[$1] : $0 > $1 }
        for v in order {
            var best = 0
            for d in 1..<doors where min(freeUntil[d], departures[v]) > min(freeUntil[best], departures[v]) { best = d }
            let end = min(freeUntil[best], departures[v])
            out[v] = DockSlot(door: best, start: end - loadingSeconds, end: end)
            freeUntil[best] = end - loadingSeconds
        }
        return out
    }
}
