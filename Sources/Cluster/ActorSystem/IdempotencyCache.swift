/// Replies of recently completed calls by (actor, idempotency key), so a retried call that already
/// ran gets its first reply instead of running again; a repeat that arrives while the first is still
/// running waits for it. A pure value (held under the system's lock); bounded: at most `capacity`
/// completed entries, the oldest forgotten first (the journal's UNIQUE key stays the durable
/// guard). O(1) amortized per operation.
struct IdempotencyCache<Waiter> {
    struct Key: Hashable { var actor: ActorIdentity; var key: IdempotencyKey }
    enum Entry { case running([Waiter]), done(WireMessage) }

    enum Admission { case run, wait, replay(WireMessage) }

    let capacity: Int
    private(set) var entries: [Key: Entry] = [:]
    private var order: [Key] = []
    private var head = 0

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// A call with `key` arrives: run it (first time), wait (same key running), or replay the reply.
    mutating func admit(_ key: Key, _ waiter: Waiter) -> Admission {
        switch entries[key] {
        case nil:
            entries[key] = .running([]); return .run
        case .running(var ws):
            ws.append(waiter); entries[key] = .running(ws); return .wait
        case .done(let reply):
            return .replay(reply)
        }
    }

    /// The call with `key` finished with `reply` (nil: it must not be cached, e.g. it was refused
    /// before running); returns the waiters to answer.
    mutating func complete(_ key: Key, reply: WireMessage?) -> [Waiter] {
        guard case .running(let ws) = entries[key] else { return [] }
        if let reply {
            entries[key] = .done(reply)
            order.append(key)
            while order.count - head > capacity {
                entries[order[head]] = nil
                head += 1
            }
            if head > 4096 && head * 2 > order.count { order.removeFirst(head); head = 0 }
        } else {
            entries[key] = nil
        }
        return ws
    }
}
