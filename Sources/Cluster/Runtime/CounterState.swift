/// A small journaled actor kind for failover tests and the benchmark: a counter that adds
/// amounts. Target names: "counter.apply" (argument `CounterState.Command`), "counter.state".
public struct CounterState: EventSourced, Hashable {
    public static let kind = "counter"

    public struct Command: Codable, Sendable, Hashable {
        public var amount: Int64
        public init(amount: Int64) { self.amount = amount }
    }
    public struct Event: Codable, Sendable, Hashable {
        public var amount: Int64
    }
    public struct Rejected: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Sum of all amounts.
    public var total: Int64 = 0
    /// Number of commands applied.
    public var applied: Int64 = 0

    public init() {}

    public func decide(_ command: Command) throws -> Event {
        guard command.amount != 0, abs(command.amount) <= 1_000_000_000 else {
            throw Rejected(description: "amount must be non-zero and at most 1e9 in size, got \(command.amount)")
        }
        let (sum, overflow) = total.addingReportingOverflow(command.amount)
        guard !overflow, abs(sum) <= Int64.max / 2 else { throw Rejected(description: "total would overflow") }
        return Event(amount: command.amount)
    }

    public mutating func apply(_ event: Event) {
        total &+= event.amount
        applied += 1
    }

    public static func eventType(of event: Event) -> String { "Added" }
}
