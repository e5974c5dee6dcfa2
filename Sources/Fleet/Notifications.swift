import Geo

/// An estimated arrival window shown to the customer.
public struct ETAWindow: Sendable, Hashable, Codable {
    public var earliest: Instant
    public var latest: Instant
    public init(earliest: Instant, latest: Instant) { self.earliest = earliest; self.latest = latest }
}

/// What happened to an order that a customer might hear about.
public enum TrackingUpdate: Sendable, Hashable {
    /// A courier has the order; `window` is the first estimate.
    case assigned(ETAWindow)
    /// The routing engine re-estimated.
    case estimate(ETAWindow)
    /// The courier has `stops` stops left before this one.
    case stopsAway(Int)
    case delivered
    case failed(FailureReason)
}

public enum NotificationKind: String, Sendable, Hashable, Codable, CaseIterable {
    case assigned, windowChanged, approaching, delivered, failed
    /// BOPIS: packed and held at the store's counter; carries the pickup code.
    case readyForPickup
}

/// A message to send. Carries the order and window only: the gateway maps the order to a
/// tracking token, never personal data.
public struct CustomerNotification: Sendable, Hashable, Codable {
    public var order: OrderID
    public var kind: NotificationKind
    public var window: ETAWindow?
    public var failure: FailureReason?
    public var at: Instant
    /// BOPIS `readyForPickup` only: the code to show at the counter.
    public var code: String?
    public init(order: OrderID, kind: NotificationKind, window: ETAWindow? = nil, failure: FailureReason? = nil, at: Instant, code: String? = nil) {
        self.order = order; self.kind = kind; self.window = window; self.failure = failure; self.at = at; self.code = code
    }
}

/// Tunables of the ETA notification policy.
public struct NotificationPolicy: Sendable, Hashable, Codable {
    /// Re-notify when either end of the window moved by more than this since the last window sent.
    public var windowMoveThresholdSeconds: Int64
    /// "Your courier is N stops away" fires once when the courier is this many stops away or closer.
    public var approachingStops: Int
    public init(windowMoveThresholdSeconds: Int64 = 15 * 60, approachingStops: Int = 2) {
        self.windowMoveThresholdSeconds = windowMoveThresholdSeconds; self.approachingStops = approachingStops
    }
}

/// Per-order memory of what was sent, so nothing goes out twice. A delivery attempt (each new
/// assignment after a failure) starts a fresh "approaching".
public struct NotificationState: Sendable, Hashable, Codable {
    struct Key: Sendable, Hashable, Codable { var kind: NotificationKind; var window: ETAWindow?; var attempt: Int }
    public internal(set) var lastWindowSent: ETAWindow?
    public internal(set) var attempt = 0
    var failedThisAttempt = false
    var sent: Set<Key> = []
    var finished = false
    public init() {}
}

extension NotificationPolicy {
    /// Decides what to send for `update`. Pure: returns the notifications and updates `state`.
    ///
    /// Rules: assignment notifies (once per attempt and window); a new estimate notifies only
    /// when it moved more than the threshold from the last window sent (small jitter is
    /// silent, and the silent estimate does not become the new reference, so slow drift
    /// still triggers once it adds up); approaching notifies once per attempt; delivered and
    /// failed notify once; nothing is sent after delivery.
    public func decide(_ update: TrackingUpdate, order: OrderID, at: Instant, state: inout NotificationState) -> [CustomerNotification] {
        guard !state.finished else { return [] }
        func emit(_ kind: NotificationKind, _ window: ETAWindow? = nil, _ failure: FailureReason? = nil) -> [CustomerNotification] {
            let key = NotificationState.Key(kind: kind, window: window, attempt: state.attempt)
            guard state.sent.insert(key).inserted else { return [] }
            if let window { state.lastWindowSent = window }
            return [CustomerNotification(order: order, kind: kind, window: window, failure: failure, at: at)]
        }
        switch update {
        case .assigned(let w):
            // A re-assignment after a failure is a new attempt: a new story for the customer.
            if state.failedThisAttempt { state.attempt += 1; state.failedThisAttempt = false }
            return emit(.assigned, w)
        case .estimate(let w):
            guard let last = state.lastWindowSent else { return emit(.windowChanged, w) }
            let moved = max(abs(w.earliest - last.earliest), abs(w.latest - last.latest))
            return moved > windowMoveThresholdSeconds ? emit(.windowChanged, w) : []
        case .stopsAway(let n):
            guard n >= 0, n <= approachingStops else { return [] }
            return emit(.approaching)
        case .delivered:
            state.finished = true
            return emit(.delivered)
        case .failed(let r):
            state.failedThisAttempt = true
            return emit(.failed, nil, r)
        }
    }
}
