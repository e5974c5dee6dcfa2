import Cluster
import Fleet
import Geo

/// A command to a store actor (`store/<site id>@<region>`).
public enum StoreCommand: Sendable, Hashable, Codable {
    /// Opens the store with its stock and counter settings (once).
    case open(site: SiteID, onHand: [SKU: Int], holdSeconds: Int64, codeDigits: Int, maxAttempts: Int)
    /// Told of an order: reserve its lines (all or nothing).
    case reserve(OrderID, lines: [OrderLine])
    /// The reserved goods are picked: they leave stock.
    case pick(OrderID)
    /// A picked BOPIS order goes on the counter shelf with a pickup code: `code` when given (the
    /// region dispatcher's, so the customer's notification and the shelf agree), else one generated
    /// here; held until `holdUntil` (default `at` + the store's hold time). The code is journaled
    /// and replay takes the journaled one.
    case markReady(OrderID, at: Instant, code: String? = nil, holdUntil: Instant? = nil)
    /// The order is off (cancelled before collection or dispatch): its reservation goes back; a
    /// picked or held order's goods go back to stock.
    case release(OrderID)
    /// The region dispatcher checked the customer's code: hand the held order over.
    case handOverVerified(OrderID, at: Instant)
    /// The region dispatcher declared the held order a no-show: its goods go back to stock.
    case noShow(OrderID, at: Instant)
    /// The customer shows `code`. A wrong code costs an attempt (journaled) and is rejected.
    case handOver(OrderID, code: String, at: Instant)
    /// Holds past their time at `at` become no-shows and their goods go back to stock.
    case expireHolds(at: Instant)
    /// Staff corrected the count or booked a delivery (the region dispatcher's `StockChange`):
    /// on-hand of `sku` changes by `delta` (not to below zero or what is reserved). `reason` is
    /// `StockChange.Reason`'s raw value.
    case adjustStock(SKU, delta: Int, reason: String, note: String, at: Instant)
    /// Staff checked the customer's ID after too many wrong codes: the hold's attempts are reset.
    case unlockHold(OrderID, at: Instant)
}

/// Why a store actor refused a command (nothing journaled, except a wrong pickup code: the
/// attempt it cost is journaled, and the reply is still this rejection).
public struct StoreRejection: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Problem: Sendable, Hashable, Codable {
        case notOpen
        case alreadyOpen
        case invalid(String)
        /// Fleet's `InventoryError` (insufficient stock, no reservation, …), described.
        case inventory(String)
        case unknownOrder
        case alreadyKnown
        /// `markReady` before `pick`.
        case notPicked
        case wrongCode(attemptsLeft: Int)
        /// Too many wrong codes: staff must verify the customer another way.
        case locked
        case expired(holdUntil: Instant)
        case notReadyYet(readyAt: Instant)
        /// `expireHolds` with no hold due.
        case nothingDue
    }
    public var store: String
    public var order: String?
    public var problem: Problem
    public init(store: String, order: String?, problem: Problem) { self.store = store; self.order = order; self.problem = problem }
    public var description: String { "store \(store)\(order.map { " order \($0)" } ?? ""): \(problem)" }
}

/// One journal event of a store actor; stored type strings are `store.*` (see `eventType`).
public enum StoreEvent: Sendable, Hashable, Codable {
    case opened(site: SiteID, onHand: [SKU: Int], holdSeconds: Int64, codeDigits: Int, maxAttempts: Int)
    case reserved(OrderID, lines: [OrderLine])
    case picked(OrderID)
    case readyForPickup(OrderID, code: String, readyAt: Instant, holdUntil: Instant)
    case handedOver(OrderID, at: Instant)
    case codeRejected(OrderID, code: String, at: Instant)
    case noShows([OrderID], at: Instant)
    case released(OrderID)
    case stockAdjusted(SKU, delta: Int, reason: String, note: String, at: Instant)
    case holdUnlocked(OrderID, at: Instant)
}

/// The state of a store: Fleet's `Inventory` (reservations) and `PickupCounter` (BOPIS), plus
/// the orders it was told of. `decide` runs Fleet's operations on copies; `apply` runs them for real.
public struct StoreModel: DomainState, Hashable {
    public static let kind = "store"
    public typealias Command = StoreCommand
    public typealias Event = StoreEvent

    public enum OrderStage: String, Sendable, Hashable, Codable { case reserved, picked, ready, pickedUp, noShow, released }
    public struct StoreOrder: Sendable, Hashable, Codable {
        public var lines: [OrderLine]
        public var stage: OrderStage
    }

    public var inventory: Inventory?
    public var counter: PickupCounter?
    public var holdSeconds: Int64 = 0
    public var orders: [OrderID: StoreOrder] = [:]
    /// Events applied (= the journal seq): seeds the pickup-code generator.
    public var applied: Int64 = 0
    /// The orders the latest `noShows` event returned to stock.
    public var lastNoShows: [OrderID] = []

    public init() {}

    public func decide(_ command: StoreCommand) throws -> StoreEvent {
        let site = inventory?.site.rawValue ?? "?"
        func reject(_ order: OrderID?, _ p: StoreRejection.Problem) -> StoreRejection {
            StoreRejection(store: site, order: order?.rawValue, problem: p)
        }
        if case .open(let s, let onHand, let hold, let digits, let attempts) = command {
            guard inventory == nil else { throw reject(nil, .alreadyOpen) }
            guard (4...9).contains(digits), attempts >= 1, hold > 0 else {
                throw StoreRejection(store: s.rawValue, order: nil, problem: .invalid("codeDigits 4…9, maxAttempts ≥ 1, holdSeconds > 0"))
            }
            do { _ = try Inventory(site: s, onHand: onHand) } catch {
                throw StoreRejection(store: s.rawValue, order: nil, problem: .inventory(error.description))
            }
            return .opened(site: s, onHand: onHand, holdSeconds: hold, codeDigits: digits, maxAttempts: attempts)
        }
        guard var inv = inventory, var counter else { throw reject(nil, .notOpen) }
        switch command {
        case .open:
            preconditionFailure("handled above")
        case .reserve(let o, let lines):
            guard orders[o] == nil else { throw reject(o, .alreadyKnown) }
            do { try inv.reserve(o, lines) } catch { throw reject(o, .inventory(error.description)) }
            return .reserved(o, lines: lines)
        case .pick(let o):
            guard orders[o]?.stage == .reserved else { throw reject(o, orders[o] == nil ? .unknownOrder : .invalid("not reserved")) }
            do { try inv.commit(o) } catch { throw reject(o, .inventory(error.description)) }
            return .picked(o)
        case .markReady(let o, let at, let given, let until):
            guard let so = orders[o] else { throw reject(o, .unknownOrder) }
            guard so.stage == .picked else { throw reject(o, .notPicked) }
            let holdUntil = until ?? at + holdSeconds
            guard holdUntil > at else { throw reject(o, .invalid("holdUntil \(holdUntil) is not after \(at)")) }
            let code: String
            if let given {
                guard given.count == counter.codeDigits, given.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                    throw reject(o, .invalid("pickup code must be \(counter.codeDigits) digits"))
                }
                guard !counter.holds.values.contains(where: { $0.code == given }) else { throw reject(o, .invalid("pickup code in use")) }
                code = given
            } else {
                // From the system's cryptographic source: the event records the code, replay takes it.
                var rng = SystemRandomNumberGenerator()
                var draw = counter
                do { code = try draw.hold(o, lines: so.lines, readyAt: at, holdUntil: holdUntil, using: &rng) } catch {
                    throw reject(o, Self.problem(error.problem))
                }
            }
            // The hold must take exactly this code (checked here, so apply cannot diverge).
            var trial = counter
            guard (try? Self.hold(o, lines: so.lines, code: code, readyAt: at, holdUntil: holdUntil, in: &trial)) == code else {
                throw reject(o, .invalid("pickup code \(code) cannot be held"))
            }
            return .readyForPickup(o, code: code, readyAt: at, holdUntil: holdUntil)
        case .release(let o):
            guard let so = orders[o] else { throw reject(o, .unknownOrder) }
            switch so.stage {
            case .reserved: do { try inv.release(o) } catch { throw reject(o, .inventory(error.description)) }
            case .picked: do { try inv.restock(so.lines, order: o) } catch { throw reject(o, .inventory(error.description)) }
            case .ready: do { _ = try counter.withdraw(o); try inv.restock(so.lines, order: o) } catch { throw reject(o, .invalid("\(error)")) }
            case .pickedUp, .noShow, .released: throw reject(o, .invalid("order is \(so.stage.rawValue)"))
            }
            return .released(o)
        case .handOverVerified(let o, let at):
            guard orders[o]?.stage == .ready, counter.holds[o] != nil else { throw reject(o, orders[o] == nil ? .unknownOrder : .invalid("not on the shelf")) }
            return .handedOver(o, at: at)
        case .noShow(let o, let at):
            guard orders[o]?.stage == .ready, counter.holds[o] != nil else { throw reject(o, orders[o] == nil ? .unknownOrder : .invalid("not on the shelf")) }
            return .noShows([o], at: at)
        case .handOver(let o, let code, let at):
            let before = counter.holds[o]?.attemptsLeft
            do {
                _ = try counter.handOver(o, code: code, at: at)
                return .handedOver(o, at: at)
            } catch {
                // A wrong code that cost an attempt is a fact to journal; anything else changed nothing.
                if let b = before, b > 0, counter.holds[o]?.attemptsLeft == b - 1 { return .codeRejected(o, code: code, at: at) }
                throw reject(o, Self.problem(error.problem))
            }
        case .expireHolds(let at):
            let due = counter.expire(at: at)
            guard !due.isEmpty else { throw reject(nil, .nothingDue) }
            return .noShows(due.compactMap { if case .noShow(let o, _) = $0 { o } else { nil } }, at: at)
        case .adjustStock(let sku, let delta, let reason, let note, let at):
            guard delta != 0 else { throw reject(nil, .invalid("a stock change of 0 for \(sku)")) }
            let count = (inv.onHand[sku] ?? 0) + delta
            guard count >= 0 else { throw reject(nil, .inventory("\(sku): \(count) on hand after a change of \(delta)")) }
            do { try inv.setCount(sku, count) } catch { throw reject(nil, .inventory(error.description)) }
            return .stockAdjusted(sku, delta: delta, reason: reason, note: note, at: at)
        case .unlockHold(let o, let at):
            guard orders[o]?.stage == .ready, counter.holds[o] != nil else { throw reject(o, orders[o] == nil ? .unknownOrder : .invalid("not on the shelf")) }
            return .holdUnlocked(o, at: at)
        }
    }

    public mutating func apply(_ event: StoreEvent) {
        applied += 1
        switch event {
        case .opened(let s, let onHand, let hold, let digits, let attempts):
            inventory = try? Inventory(site: s, onHand: onHand)
            counter = PickupCounter(store: s, codeDigits: digits, maxAttempts: attempts)
            holdSeconds = hold
        case .reserved(let o, let lines):
            try? inventory?.reserve(o, lines)
            orders[o] = StoreOrder(lines: lines, stage: .reserved)
        case .picked(let o):
            try? inventory?.commit(o)
            orders[o]?.stage = .picked
        case .readyForPickup(let o, let code, let readyAt, let holdUntil):
            // Replay takes the journaled code (decide checked that the hold takes it).
            if counter != nil {
                let held = try? Self.hold(o, lines: orders[o]?.lines ?? [], code: code, readyAt: readyAt, holdUntil: holdUntil, in: &counter!)
                assert(held == code, "pickup code of \(o) replays as \(held ?? "nil"), journaled \(code)")
            }
            orders[o]?.stage = .ready
        case .handedOver(let o, _):
            _ = try? counter?.withdraw(o)
            orders[o]?.stage = .pickedUp
        case .codeRejected(let o, let code, let at):
            _ = try? counter?.handOver(o, code: code, at: at)
        case .noShows(let list, let at):
            _ = counter?.expire(at: at)
            lastNoShows = list
            for o in list {
                _ = try? counter?.withdraw(o)   // a no-show declared by the dispatcher before the hold's end
                if let lines = orders[o]?.lines { try? inventory?.restock(lines, order: o) }
                orders[o]?.stage = .noShow
            }
        case .released(let o):
            guard let so = orders[o] else { return }
            switch so.stage {
            case .reserved: try? inventory?.release(o)
            case .picked: try? inventory?.restock(so.lines, order: o)
            case .ready: _ = try? counter?.withdraw(o); try? inventory?.restock(so.lines, order: o)
            default: break
            }
            orders[o]?.stage = .released
        case .stockAdjusted(let sku, let delta, _, _, _):
            if let inv = inventory { try? inventory?.setCount(sku, (inv.onHand[sku] ?? 0) + delta) }
        case .holdUnlocked(let o, _):
            try? counter?.unlock(o)
        }
    }

    public static func eventType(of event: StoreEvent) -> String {
        switch event {
        case .opened: "store.opened"
        case .reserved: "store.order_reserved"
        case .picked: "store.order_picked"
        case .readyForPickup: "store.ready_for_pickup"
        case .handedOver: "store.handed_over"
        case .codeRejected: "store.code_rejected"
        case .noShows: "store.no_show"
        case .released: "store.order_released"
        case .stockAdjusted: "store.stock_adjusted"
        case .holdUnlocked: "store.hold_unlocked"
        }
    }

    /// Puts `order` on the counter's shelf with exactly `code`: `PickupCounter.hold` draws its code
    /// from a generator, so it is given one that yields `code` (`FixedCodeGenerator`). Returns the
    /// code the counter took; callers check it is `code` (a Fleet entry point to restore a hold
    /// would make this direct).
    static func hold(_ order: OrderID, lines: [OrderLine], code: String, readyAt: Instant, holdUntil: Instant,
                     in counter: inout PickupCounter) throws -> String {
        guard let n = UInt64(code), code.count == counter.codeDigits,
              !counter.holds.values.contains(where: { $0.code == code }) else {
            throw StoreRejection(store: counter.store.rawValue, order: order.rawValue, problem: .invalid("pickup code \(code)"))
        }
        var bound: UInt64 = 1
        for _ in 0..<counter.codeDigits { bound *= 10 }
        var rng = FixedCodeGenerator(value: n, bound: bound)
        return try counter.hold(order, lines: lines, readyAt: readyAt, holdUntil: holdUntil, using: &rng)
    }

    static func problem(_ p: PickupError.Problem) -> StoreRejection.Problem {
        switch p {
        case .unknownOrder: .unknownOrder
        case .alreadyHeld: .alreadyKnown
        case .wrongCode(let n): .wrongCode(attemptsLeft: n)
        case .locked: .locked
        case .expired(let t): .expired(holdUntil: t)
        case .notReadyYet(let t): .notReadyYet(readyAt: t)
        }
    }
}

/// A generator whose draw in `0..<bound` is `value` under the standard library's bounded draw
/// (`next(upperBound:)`: the high word of `random × bound`, re-drawn only when the low word is
/// below `bound`): it returns ⌊value·2⁶⁴/bound⌋ + 2, whose product's high word is `value` and low word
/// is at least `bound`. Every use checks the code the counter took (`StoreModel.hold`), so a
/// different draw algorithm would be caught, not silently diverge; the caller also makes sure the
/// code is not in use (the counter re-draws on a collision, which would repeat forever).
struct FixedCodeGenerator: RandomNumberGenerator {
    let word: UInt64
    init(value: UInt64, bound: UInt64) {
        precondition(value < bound && bound > 1 && bound < (1 << 62))
        word = bound.dividingFullWidth((high: value, low: 0)).quotient + 2
    }
    mutating func next() -> UInt64 { word }
}

