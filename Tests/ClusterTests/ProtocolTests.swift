import Testing
@testable import Cluster

@Suite struct ProtocolTests {
    @Test func protocolVersionIsPositive() { #expect(ClusterProtocol.version >= 1) }
}
