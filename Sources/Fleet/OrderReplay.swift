import Geo

/// Why a journal could not be replayed onto an order: the stream is not a legal history.
public struct OrderReplayError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        case wrongOrder(OrderID)
        case unknownType(String)
        case fromMismatch(expected: OrderState, found: OrderState?)
        case notInTable(type: String, from: OrderState, to: OrderState)
    }
    public var order: OrderID
    /// Index of the offending event in the replayed sequence.
    public var index: Int
    public var problem: Problem
    public var description: String { "order \(order): event \(index): \(problem)" }
}

extension Order {
    /// Recovery: applies journalled events (after a snapshot, or after `created`) and checks each
    /// is a legal step from the current state. Updates the same fields as `apply(_:at:)`. O(events).
    public mutating func replay<S: Sequence>(_ events: S) throws(OrderReplayError) where S.Element == OrderEvent {
        for (i, e) in events.enumerated() {
            func fail(_ p: OrderReplayError.Problem) -> OrderReplayError { OrderReplayError(order: id, index: i, problem: p) }
            guard e.order == id else { throw fail(.wrongOrder(e.order)) }
            guard let kind = OrderCommand.Kind.allCases.first(where: { OrderEvent.typeName($0) == e.type }) else { throw fail(.unknownType(e.type)) }
            guard e.from == state else { throw fail(.fromMismatch(expected: state, found: e.from)) }
            guard OrderTransitions.target(from: state, kind) == e.to else { throw fail(.notInTable(type: e.type, from: state, to: e.to)) }
            switch kind {
            case .allocate: site = e.site
            case .assign: courier = e.courier
            case .unassign: courier = nil
            case .dispatch: attempts += 1
            case .fail, .cancel: if let f = e.failure { failure = f }
            default: break
            }
            state = e.to
            version += 1
        }
    }
}
