/// Integer internal units of the routing engine. Callers convert from their own units
/// (metres, seconds, or scaled benchmark units) before building a model.

/// A distance in the caller's integer unit.
public typealias Distance = Int64
/// A duration or an instant in the caller's integer time unit (not `Swift.Duration`, which it no longer shadows).
public typealias Ticks = Int64
/// A cost in the objective's integer unit.
public typealias Cost = Int64
