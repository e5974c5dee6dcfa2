#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic nanoseconds (CLOCK_MONOTONIC): the one time base of deadlines inside Messaging.
/// Callers give durations; the I/O thread compares against this clock only.
@inline(__always)
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

extension Duration {
    /// Whole nanoseconds, clamped to 0 below and to ~292 years above.
    var clampedNanoseconds: UInt64 {
        let (s, a) = components
        if s < 0 { return 0 }
        if s >= 9_000_000_000 { return 9_000_000_000 * 1_000_000_000 }
        return UInt64(s) * 1_000_000_000 + UInt64(a / 1_000_000_000)
    }
}

/// A binary min-heap of deadlines: the I/O thread's timer wheel.
/// Entries for work that finished early stay until they expire and are then ignored (cheaper than
/// an indexed heap; bounded by the number of requests started within one deadline window).
struct DeadlineHeap {
    struct Entry {
        var deadline: UInt64
        var socket: Int
        var id: UInt64
    }
    private var items: [Entry] = []

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var earliest: UInt64? { items.first?.deadline }

    mutating func push(_ e: Entry) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if items[p].deadline <= items[i].deadline { break }
            items.swapAt(p, i)
            i = p
        }
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    mutating func popDue(_ now: UInt64) -> Entry? {
        guard let top = items.first, top.deadline <= now else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n, items[l].deadline < items[m].deadline { m = l }
                if r < n, items[r].deadline < items[m].deadline { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }

    mutating func removeAll() { items.removeAll() }
}
