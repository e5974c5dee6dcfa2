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
    public var duration: Ticks
    public var timeWarp: Ticks
    public var earliest: Ticks
    public var latest: Ticks

    @inlinable public init(first: Int32, last: Int32, duration: Ticks, timeWarp: Ticks, earliest: Ticks, latest: Ticks) {
        self.first = first; self.last = last; self.duration = duration; self.timeWarp = timeWarp
        self.earliest = earliest; self.latest = latest
    }

    /// A single visit.
    @inlinable public init(node: Int, ready: Ticks, due: Ticks, service: Ticks) {
        self.init(first: Int32(node), last: Int32(node), duration: service, timeWarp: 0, earliest: ready, latest: due)
    }

    /// `a` followed by `b`, with `travel` the time from `a.last` to `b.first`.
    @inlinable @inline(__always) public static func merge(_ a: TimeSegment, _ b: TimeSegment, travel: Ticks) -> TimeSegment {
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
///
/// With multiple trips, a reload stop splits the sequence: `delivery`/`pickup`/`peak` then
/// describe the part before the first reload (the head), `tail*` the part after the last
/// reload, and `innerPeak` the largest load of any complete trip in between.
public struct LoadSegment: Sendable, Equatable {
    public var delivery: Load
    public var pickup: Load
    public var peak: Load
    public var hasReload: Bool = false
    public var tailDelivery: Load = .zero
    public var tailPickup: Load = .zero
    public var tailPeak: Load = .zero
    public var innerPeak: Load = .zero

    @inlinable public init(delivery: Load, pickup: Load, peak: Load) {
        self.delivery = delivery; self.pickup = pickup; self.peak = peak
    }

    public static let empty = LoadSegment(delivery: .zero, pickup: .zero, peak: .zero)

    /// A reload stop: the vehicle unloads what it picked up and loads the next trip's deliveries.
    public static let reload: LoadSegment = { var r = LoadSegment.empty; r.hasReload = true; return r }()

    @inlinable static func plain(_ d1: Load, _ p1: Load, _ k1: Load, _ d2: Load, _ p2: Load, _ k2: Load) -> (Load, Load, Load) {
        (d1 &+ d2, p1 &+ p2, pointwiseMax(k1 &+ d2, k2 &+ p1))
    }

    @inlinable @inline(__always) public static func merge(_ a: LoadSegment, _ b: LoadSegment) -> LoadSegment {
        if !a.hasReload && !b.hasReload {
            return LoadSegment(delivery: a.delivery &+ b.delivery, pickup: a.pickup &+ b.pickup,
                               peak: pointwiseMax(a.peak &+ b.delivery, b.peak &+ a.pickup))
        }
        return mergeTrips(a, b)
    }

    @usableFromInline static func mergeTrips(_ a: LoadSegment, _ b: LoadSegment) -> LoadSegment {
        var r = LoadSegment.empty
        r.hasReload = true
        if a.hasReload && !b.hasReload {
            r.delivery = a.delivery; r.pickup = a.pickup; r.peak = a.peak; r.innerPeak = a.innerPeak
            (r.tailDelivery, r.tailPickup, r.tailPeak) = plain(a.tailDelivery, a.tailPickup, a.tailPeak, b.delivery, b.pickup, b.peak)
        } else if !a.hasReload && b.hasReload {
            (r.delivery, r.pickup, r.peak) = plain(a.delivery, a.pickup, a.peak, b.delivery, b.pickup, b.peak)
            r.tailDelivery = b.tailDelivery; r.tailPickup = b.tailPickup; r.tailPeak = b.tailPeak; r.innerPeak = b.innerPeak
        } else {
            r.delivery = a.delivery; r.pickup = a.pickup; r.peak = a.peak
            r.tailDelivery = b.tailDelivery; r.tailPickup = b.tailPickup; r.tailPeak = b.tailPeak
            let (md, _, mk) = plain(a.tailDelivery, a.tailPickup, a.tailPeak, b.delivery, b.pickup, b.peak)
            r.innerPeak = pointwiseMax(pointwiseMax(a.innerPeak, b.innerPeak), pointwiseMax(mk, md))
        }
        return r
    }

    /// Whether the sequence run alone fits `capacity` (every trip's peak and starting load).
    @inlinable @inline(__always) public func fits(_ capacity: Load) -> Bool {
        if any(peak .> capacity) || any(delivery .> capacity) { return false }
        if !hasReload { return true }
        return !any(tailPeak .> capacity) && !any(tailDelivery .> capacity) && !any(innerPeak .> capacity)
    }
}
