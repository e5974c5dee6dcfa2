/// Concatenable summaries of a route piece, after Vidal et al. (2013) and PyVRP: merging two
/// summaries is O(1), so a move's feasibility and cost are checked in O(1) from cached
/// prefix and suffix summaries.

/// Time summary of a sequence of visits.
///
/// `duration` is the minimal total time (travel, service, waiting) to run the sequence;
/// `timeWarp` the total lateness one would need to "travel back in time" to meet every window
/// (zero means feasible); `earliest`/`latest` bound the start of service at the first visit
/// such that duration and time warp stay minimal.
public struct TimeSegment: Sendable, Equatable {
    public var first: Int32
    public var last: Int32
    public var duration: Duration
    public var timeWarp: Duration
    public var earliest: Duration
    public var latest: Duration

    @inlinable public init(first: Int32, last: Int32, duration: Duration, timeWarp: Duration, earliest: Duration, latest: Duration) {
        self.first = first; self.last = last; self.duration = duration; self.timeWarp = timeWarp
        self.earliest = earliest; self.latest = latest
    }

    /// A single visit.
    @inlinable public init(node: Int, ready: Duration, due: Duration, service: Duration) {
        self.init(first: Int32(node), last: Int32(node), duration: service, timeWarp: 0, earliest: ready, latest: due)
    }

    /// `a` followed by `b`, with `travel` the time from `a.last` to `b.first`.
    @inlinable public static func merge(_ a: TimeSegment, _ b: TimeSegment, travel: Duration) -> TimeSegment {
        let delta = a.duration - a.timeWarp + travel
        let wait = max(b.earliest - delta - a.latest, 0)
        let warp = max(a.earliest + delta - b.latest, 0)
        return TimeSegment(first: a.first, last: b.last,
                           duration: a.duration + b.duration + travel + wait,
                           timeWarp: a.timeWarp + b.timeWarp + warp,
                           earliest: max(b.earliest - delta, a.earliest) - wait,
                           latest: min(b.latest - delta, a.latest) + warp)
    }
}

/// Load summary: what the sequence drops (loaded at the start depot), what it adds
/// (carried to the end; negative for a paired delivery), and the peak load inside it.
public struct LoadSegment: Sendable, Equatable {
    public var delivery: Load
    public var pickup: Load
    public var peak: Load

    @inlinable public init(delivery: Load, pickup: Load, peak: Load) {
        self.delivery = delivery; self.pickup = pickup; self.peak = peak
    }

    public static let empty = LoadSegment(delivery: .zero, pickup: .zero, peak: .zero)

    @inlinable public static func merge(_ a: LoadSegment, _ b: LoadSegment) -> LoadSegment {
        LoadSegment(delivery: a.delivery &+ b.delivery, pickup: a.pickup &+ b.pickup,
                    peak: pointwiseMax(a.peak &+ b.delivery, b.peak &+ a.pickup))
    }

    /// Whether the sequence run alone fits `capacity` (peak load and the load it starts with).
    @inlinable public func fits(_ capacity: Load) -> Bool {
        !any(peak .> capacity) && !any(delivery .> capacity)
    }
}
