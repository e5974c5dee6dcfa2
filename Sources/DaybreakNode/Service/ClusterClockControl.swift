import Base
import Cluster
import DispatchPlanning
import Geo
import Storage

/// Driving a deployment's clock from outside (`daybreak ctl clock advance`, tests): move the
/// driven clock, then have every region's owner do what is due, and return when all have.
public enum ClusterClockControl {
    /// What one region did for an advance.
    public struct RegionAdvance: Sendable {
        public var region: String
        /// The open days after the advance, or why the region could not be reached in time.
        public var outcome: Result<[LocalDay], ClusterGatewayError>
    }

    static let retriable: Set<ClusterCallError.Code> = [.timeout, .nodeDown, .notOwner, .fenced, .overloaded, .unknownActor]

    /// Advances the driven clock to `to` (journaled with `principal`; `ClockError` when the clock is
    /// wall or `to` is earlier), then calls `dispatcher.advance(to:)` on every region's owner
    /// concurrently, retrying a region whose owner is down or moving until `timeout`.
    public static func advance(to: Instant, principal: String, pool: PostgresPool, client: ClusterClient, regions: [String],
                               timeout: Duration = .seconds(300)) async throws -> [RegionAdvance] {
        try await DeploymentClock.advance(to: to, principal: principal, pool: pool)
        try await RegionDispatcher.registerTargets(on: client.system)
        let deadline = ContinuousClock.now + timeout
        return await withTaskGroup(of: RegionAdvance.self) { group in
            for region in regions {
                group.addTask {
                    var last: String = "no attempt"
                    var backoff = Duration.milliseconds(50)
                    while ContinuousClock.now < deadline {
                        do {
                            let d = try RegionDispatcher.resolve(id: RegionDispatcher.identity(region: region), using: client.system)
                            let days = try await ClusterCall.$timeout.withValue(min(.seconds(120), deadline - .now)) { try await d.advance(to: to) }
                            return RegionAdvance(region: region, outcome: .success(days))
                        } catch let e as ClusterCallError where retriable.contains(e.code) {
                            last = "\(e)"
                        } catch {
                            return RegionAdvance(region: region, outcome: .failure(ClusterGatewayError("advance \(region): \(error)")))
                        }
                        try? await Task.sleep(for: min(backoff, max(.zero, deadline - .now)))
                        backoff = min(backoff * 2, .seconds(1))
                        try? await client.ownership.refresh()
                    }
                    return RegionAdvance(region: region, outcome: .failure(ClusterGatewayError("advance \(region): no answer within \(timeout) (last: \(last))")))
                }
            }
            var out: [RegionAdvance] = []
            for await r in group { out.append(r) }
            return out.sorted { $0.region < $1.region }
        }
    }
}
