/// Pure limiters used by the I/O thread: a rate limit on warning lines and per-peer token buckets.
/// Time comes in as monotonic nanoseconds, so tests drive them without clocks.

/// At most one line per key per `window`; a line that is let through carries how many were
/// suppressed since the previous one. Memory is bounded by `capacity` keys.
struct LogLimiter {
    struct Entry {
        var lastLine: UInt64
        var suppressed: Int
    }
    let window: UInt64
    let capacity: Int
    private(set) var entries: [String: Entry] = [:]

    init(window: UInt64 = 10_000_000_000, capacity: Int = 4_096) {
        self.window = window
        self.capacity = capacity
    }

    /// nil: suppress this line (counted). Otherwise log it, mentioning the returned number of
    /// lines suppressed for this key since the previous one.
    mutating func admit(_ key: String, now: UInt64) -> Int? {
        if var e = entries[key] {
            if now &- e.lastLine < window {
                e.suppressed += 1
                entries[key] = e
                return nil
            }
            let s = e.suppressed
            entries[key] = Entry(lastLine: now, suppressed: 0)
            return s
        }
        if entries.count >= capacity {
            // Forget keys whose window has passed (their suppressed count is lost with them:
            // a bounded table matters more under hostile traffic than an exact count).
            entries = entries.filter { now &- $0.value.lastLine < window }
            if entries.count >= capacity {
                // Still full: everything new shares one key.
                return admitOverflow(now: now)
            }
        }
        entries[key] = Entry(lastLine: now, suppressed: 0)
        return 0
    }

    private mutating func admitOverflow(now: UInt64) -> Int? {
        let key = "\u{0}overflow"
        if var e = entries[key], now &- e.lastLine < window {
            e.suppressed += 1
            entries[key] = e
            return nil
        }
        let s = entries[key]?.suppressed ?? 0
        entries[key] = Entry(lastLine: now, suppressed: 0)
        return s
    }
}

/// A token bucket per key (a ROUTER's routing ids): `rate` tokens per second up to `burst`;
/// a request takes one. A key absent from the table has a full bucket, so entries that have
/// refilled are dropped without changing any answer; that keeps the table bounded by the peers
/// active within `burst / rate` seconds.
struct TokenBuckets<Key: Hashable> {
    struct Bucket {
        var tokens: Double
        var updated: UInt64
    }
    let rate: Double
    let burst: Double
    private(set) var buckets: [Key: Bucket] = [:]
    private var lastPrune: UInt64 = 0

    init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = Double(burst)
    }

    /// Takes a token for `key`; false when its bucket is empty (the request is over the limit).
    mutating func take(_ key: Key, now: UInt64) -> Bool {
        var b = buckets[key] ?? Bucket(tokens: burst, updated: now)
        let elapsed = Double(now &- b.updated) / 1e9
        b.tokens = min(burst, b.tokens + elapsed * rate)
        b.updated = now
        let ok = b.tokens >= 1
        if ok { b.tokens -= 1 }
        buckets[key] = b
        if buckets.count > 1_024 && now &- lastPrune > 1_000_000_000 { prune(now) }
        return ok
    }

    /// Removes buckets that would be full by now (equivalent to absent).
    mutating func prune(_ now: UInt64) {
        lastPrune = now
        let fullAfter = (burst / rate) * 1e9
        buckets = buckets.filter { Double(now &- $0.value.updated) < fullAfter }
    }
}
