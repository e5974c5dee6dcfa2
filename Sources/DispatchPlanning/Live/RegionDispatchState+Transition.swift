import Fleet
import Geo

extension RegionDispatchState {
    /// The one transition both `decide` (on a copy) and `apply` run.
    mutating func transition(_ request: DispatchRequest, _ step: inout Step) -> DispatchResponse {
        .refused(DispatchCommandError(item: "region \(config.region)", problem: .invalidState, message: "not implemented yet"))
    }

    /// Jobs due at `at`: the dawn wave after cutoff, re-optimisation (optimised policy).
    public func pendingWork(at: Instant) -> [DispatchWork] { [] }

    /// What `courier`'s handheld shows at `at`; nil for a courier of another region.
    public func manifest(of courier: CourierRef, at: Instant) -> Manifest? { nil }
}
