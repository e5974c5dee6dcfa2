import Synchronization

/// Counts the work a region dispatcher does (courier schedules simulated) for whoever sets one
/// for a task: tests that a request's cost is proportional to what it changes, not to the region.
/// Unset (production), a simulation pays one task-local read.
public final class WorkProbe: Sendable {
    /// Courier schedules simulated (`RegionDispatchState.schedule`).
    public let schedules = Atomic<Int>(0)
    public init() {}
    @TaskLocal public static var current: WorkProbe?
}
