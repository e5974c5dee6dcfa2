import Synchronization

/// A value delivered once, awaited once: a waiter that may be fulfilled before or after its
/// owner starts waiting (the `ActivationTable` stores it while an actor loads).
/// Invariant: the continuation is resumed exactly once, after removal under the lock.
final class OneShot<Value: Sendable>: Sendable {
    private enum State { case empty, waiting(CheckedContinuation<Value, Never>), done(Value), consumed }
    private let state = Mutex(State.empty)

    init() {}

    /// Delivers `value`; later calls are ignored.
    func fulfill(_ value: Value) {
        let k = state.withLock { s -> CheckedContinuation<Value, Never>? in
            switch s {
            case .empty: s = .done(value); return nil
            case .waiting(let k): s = .consumed; return k
            case .done, .consumed: return nil
            }
        }
        k?.resume(returning: value)
    }

    /// The value (awaited at most once).
    func value() async -> Value {
        await withCheckedContinuation { (k: CheckedContinuation<Value, Never>) in
            let now = state.withLock { s -> Value? in
                switch s {
                case .done(let v): s = .consumed; return v
                case .empty: s = .waiting(k); return nil
                case .waiting, .consumed: preconditionFailure("OneShot awaited twice")
                }
            }
            if let now { k.resume(returning: now) }
        }
    }
}
