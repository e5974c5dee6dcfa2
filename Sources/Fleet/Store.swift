import Geo

/// A micro-fulfillment (dark) store: quick orders by riders, BOPIS at its counter.
public struct Store: Sendable, Hashable, Codable {
    public var id: SiteID
    public var name: String
    public var location: Coordinate
    public var hours: OpeningHours
    /// Order lines staff can pick per hour; the dispatcher throttles quick promises with it.
    public var pickLinesPerHour: Int
    public init(id: SiteID, name: String, location: Coordinate, hours: OpeningHours, pickLinesPerHour: Int) {
        self.id = id; self.name = name; self.location = location; self.hours = hours; self.pickLinesPerHour = pickLinesPerHour
    }
}

extension Store {
    /// When staff would finish picking `lines` more if `queuedLines` are already waiting, at the
    /// store's `pickLinesPerHour` (ceiling to the second). The dispatcher refuses a quick order
    /// whose pick end plus the ride exceeds its promise. O(1).
    public func pickFinish(queuedLines: Int, newLines: Int, at now: Instant) -> Instant {
        precondition(pickLinesPerHour > 0 && queuedLines >= 0 && newLines >= 0)
        let lines = Int64(queuedLines + newLines)
        return now + (lines * 3600 + Int64(pickLinesPerHour) - 1) / Int64(pickLinesPerHour)
    }
}

/// The nearest store to `point` within `maxMetres` crow-fly, for quick orders. O(stores).
public func nearestStore(to point: Coordinate, among stores: [Store], maxMetres: Double) -> Store? {
    var best: Store?, bestD = Double.infinity
    for s in stores {
        let d = GreatCircle.distanceMetres(point, s.location)
        if d <= maxMetres && (d < bestD || (d == bestD && s.id < best!.id)) { best = s; bestD = d }
    }
    return best
}

/// A BOPIS order waiting at the counter.
public struct PickupHold: Sendable, Hashable, Codable {
    public var order: OrderID
    public var lines: [OrderLine]
    public var code: String
    public var readyAt: Instant
    public var holdUntil: Instant
    public var attemptsLeft: Int
}

/// What the counter decided; the store actor carries it out (journal, inventory, notify).
public enum CounterDirective: Sendable, Hashable {
    case pickedUp(OrderID)
    /// Not collected by `holdUntil`: mark no-show and put `lines` back on the shelf.
    case noShow(OrderID, lines: [OrderLine])
}

public struct PickupError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        case unknownOrder
        case alreadyHeld
        case wrongCode(attemptsLeft: Int)
        /// Too many wrong codes: staff must verify the customer another way.
        case locked
        case expired(holdUntil: Instant)
        case notReadyYet(readyAt: Instant)
    }
    public var store: SiteID
    public var order: OrderID
    public var problem: Problem
    public var description: String { "store \(store) order \(order): \(problem)" }
}

/// The BOPIS counter of one store: pickup codes, handovers, no-shows. Pure value; codes come
/// from a generator passed in (seeded in tests and simulations).
public struct PickupCounter: Sendable, Hashable, Codable {
    public let store: SiteID
    public let codeDigits: Int
    public let maxAttempts: Int
    public private(set) var holds: [OrderID: PickupHold] = [:]

    public init(store: SiteID, codeDigits: Int = 6, maxAttempts: Int = 3) {
        precondition((4...9).contains(codeDigits) && maxAttempts >= 1)
        self.store = store; self.codeDigits = codeDigits; self.maxAttempts = maxAttempts
    }

    /// Puts a packed order on the shelf and returns its pickup code, unique among current holds.
    public mutating func hold<G: RandomNumberGenerator>(_ order: OrderID, lines: [OrderLine], readyAt: Instant, holdUntil: Instant,
                                                        using rng: inout G) throws(PickupError) -> String {
        guard holds[order] == nil else { throw PickupError(store: store, order: order, problem: .alreadyHeld) }
        var bound = 1
        for _ in 0..<codeDigits { bound *= 10 }
        let inUse = Set(holds.values.map(\.code))
        var code: String
        repeat {
            let n = Int.random(in: 0..<bound, using: &rng)
            let s = String(n)
            code = String(repeating: "0", count: codeDigits - s.count) + s
        } while inUse.contains(code)
        holds[order] = PickupHold(order: order, lines: lines, code: code, readyAt: readyAt, holdUntil: holdUntil, attemptsLeft: maxAttempts)
        return code
    }

    /// The customer shows `code` for `order` at `now`. The right code hands over; a wrong one
    /// costs an attempt (state changes even though it throws, so retries are counted).
    public mutating func handOver(_ order: OrderID, code: String, at now: Instant) throws(PickupError) -> CounterDirective {
        guard var h = holds[order] else { throw PickupError(store: store, order: order, problem: .unknownOrder) }
        guard now >= h.readyAt else { throw PickupError(store: store, order: order, problem: .notReadyYet(readyAt: h.readyAt)) }
        guard now < h.holdUntil else { throw PickupError(store: store, order: order, problem: .expired(holdUntil: h.holdUntil)) }
        guard h.attemptsLeft > 0 else { throw PickupError(store: store, order: order, problem: .locked) }
        guard h.code == code else {
            h.attemptsLeft -= 1
            holds[order] = h
            throw PickupError(store: store, order: order, problem: h.attemptsLeft == 0 ? .locked : .wrongCode(attemptsLeft: h.attemptsLeft))
        }
        holds[order] = nil
        return .pickedUp(order)
    }

    /// Staff verified the customer by ID after a lockout.
    public mutating func unlock(_ order: OrderID) throws(PickupError) {
        guard holds[order] != nil else { throw PickupError(store: store, order: order, problem: .unknownOrder) }
        holds[order]!.attemptsLeft = maxAttempts
    }

    /// Holds past their time at `now` become no-shows (sorted by order ID for determinism).
    public mutating func expire(at now: Instant) -> [CounterDirective] {
        let due = holds.values.filter { now >= $0.holdUntil }.sorted { $0.order < $1.order }
        for h in due { holds[h.order] = nil }
        return due.map { .noShow($0.order, lines: $0.lines) }
    }

    /// Removes a hold without handover (the order was cancelled).
    public mutating func withdraw(_ order: OrderID) throws(PickupError) -> PickupHold {
        guard let h = holds.removeValue(forKey: order) else { throw PickupError(store: store, order: order, problem: .unknownOrder) }
        return h
    }
}
