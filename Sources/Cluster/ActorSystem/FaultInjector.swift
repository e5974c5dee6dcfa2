import Synchronization

/// What a fault injector does to one message.
public enum FaultAction: Sendable, Equatable {
    case pass
    /// Lose the message (the caller then waits for its deadline).
    case drop
    /// Hold the message this long, then carry on.
    case delay(Duration)
}

/// A chaos hook in the actor system (after swift-distributed-actors' message-dropping injector):
/// consulted for every outbound call and every inbound frame. Off by default: a system without
/// one pays a single nil check per message.
public protocol FaultInjector: Sendable {
    /// Before a call goes to `node` (not consulted for calls served locally).
    func outbound(_ call: CallMessage, to node: NodeAddress) -> FaultAction
    /// Before an inbound request frame is looked at (drop = as if it never arrived).
    func inbound(_ frame: [UInt8]) -> FaultAction
}

/// A fault injector whose rules tests change while the system runs. Thread-safe (one `Mutex`).
public final class ScriptedFaults: FaultInjector {
    public struct Rules: Sendable, Equatable {
        /// Outbound calls to these node ids get `outboundAction`; empty = all nodes.
        public var outboundNodes: Set<String> = []
        public var outboundAction: FaultAction = .pass
        public var inboundAction: FaultAction = .pass
        /// Drop only the first N messages matched (nil: all). Counts down.
        public var limit: Int?
        public init() {}
    }
    private let rules = Mutex(Rules())
    private let applied = Atomic<Int>(0)

    public init() {}

    public func set(_ change: (inout Rules) -> Void) { rules.withLock { change(&$0) } }

    /// Messages the rules acted on (dropped or delayed).
    public var appliedCount: Int { applied.load(ordering: .relaxed) }

    public func outbound(_ call: CallMessage, to node: NodeAddress) -> FaultAction {
        take { r in (r.outboundNodes.isEmpty || r.outboundNodes.contains(node.id)) ? r.outboundAction : .pass }
    }

    public func inbound(_ frame: [UInt8]) -> FaultAction { take { $0.inboundAction } }

    private func take(_ pick: (Rules) -> FaultAction) -> FaultAction {
        let action = rules.withLock { r -> FaultAction in
            let a = pick(r)
            guard a != .pass else { return .pass }
            if let n = r.limit {
                if n <= 0 { return .pass }
                r.limit = n - 1
            }
            return a
        }
        if action != .pass { applied.wrappingAdd(1, ordering: .relaxed) }
        return action
    }
}
