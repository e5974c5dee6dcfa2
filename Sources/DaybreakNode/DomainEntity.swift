import Cluster
import Storage

/// A journaled domain state: `EventSourced` plus the outbox rows an event produces. Both pure.
public protocol DomainState: EventSourced {
    /// The outbox rows `event` produces in this state (before it is applied): written in the same
    /// transaction as the event, or not at all. Default: none.
    func outbox(for event: Event) -> [OutboxRow]
}

extension DomainState {
    public func outbox(for event: Event) -> [OutboxRow] { [] }

    /// `EventSourced`'s transactional hook, for every domain state: the event's outbox rows, inserted
    /// in the append's transaction (so a notification exists iff its event does). No rows: nil, and
    /// the append stays one statement.
    public func alsoInTransaction(with event: Event, of actor: ActorIdentity) -> Journal.AlsoInTransaction? {
        let rows = outbox(for: event)
        if rows.isEmpty { return nil }
        return { tx, seq in try await DomainSchema.insert(rows, region: actor.region, seq: seq, in: tx) }
    }
}

/// One activation of a domain actor: `JournaledEntity` (one command at a time, load on first use,
/// decide purely, fenced idempotent append, apply, acknowledge), whose append writes the event and
/// its outbox rows in ONE transaction through `DomainState.alsoInTransaction(with:of:)`.
public typealias DomainEntity<State: DomainState> = JournaledEntity<State>
