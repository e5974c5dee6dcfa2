import Cluster
import Geo
import Testing

/// Geo cannot see the wire, so it states the wire's limit for identity strings itself; this keeps
/// the two from drifting apart (a region id longer than the wire carries is refused at load).
@Suite struct RegionFileLimitTests {
    @Test func theRegionsFileIDLimitIsTheWiresIdentityLimit() {
        #expect(CityMap.maxIDBytes == WireLimits.default.maxIdentifierBytes)
        #expect(NodeID.maxBytes == WireLimits.default.maxIdentifierBytes)
    }
}
