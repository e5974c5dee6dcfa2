import Testing
@testable import Cluster
import Storage

@Suite struct NodeConfigurationTests {
    @Test func defaultTimingsBoundFailoverWellUnderTenSeconds() throws {
        let c = NodeConfiguration(id: "n1", listen: "tcp://127.0.0.1:*", regions: ["a"])
        try c.validate()
        #expect(c.heartbeatInterval == .milliseconds(500) && c.ttl == .seconds(3) && c.leaseDuration == .seconds(4))
        // A crashed owner's lease runs out at most `lease` after its last renewal; the next
        // observation round (one heartbeat) takes it over. Membership declares it down within ttl + a round.
        #expect(c.leaseDuration + c.heartbeatInterval * 2 <= .seconds(10))
        #expect(c.ttl + c.heartbeatInterval * 2 <= .seconds(10))
        // A renewal is attempted well before the node stops serving at expiry − margin.
        #expect(c.renewWhenRemaining > c.safetyMargin + c.heartbeatInterval * 2)
    }

    @Test func unsafeTimingsAreRejected() {
        var c = NodeConfiguration(id: "n1", listen: "tcp://127.0.0.1:*", regions: ["a"], heartbeatInterval: .seconds(2), ttl: .seconds(3))
        #expect(throws: NodeConfigurationError.self) { try c.validate() }
        c = NodeConfiguration(id: "n1", listen: "tcp://127.0.0.1:*", regions: [])
        #expect(throws: NodeConfigurationError.self) { try c.validate() }
    }

    @Test func nodeIDsTheDatabaseOrTheWireWouldRefuseAreRejected() throws {
        for bad in ["", String(repeating: "n", count: NodeID.maxBytes + 1), "n\u{1B}1", "n\n1"] {
            #expect(throws: NodeConfigurationError.self) { try NodeConfiguration(id: NodeID(bad), listen: "tcp://127.0.0.1:*", regions: ["a"]).validate() }
        }
        try NodeConfiguration(id: NodeID(String(repeating: "n", count: NodeID.maxBytes)), listen: "tcp://127.0.0.1:*", regions: ["a"]).validate()
        // The same limit as the CHECK on cluster_nodes.id.
        #expect(ClusterSchema.migrations.contains { $0.sql.contains("octet_length(id) <= \(NodeID.maxBytes)") })
    }

    @Test func searchPathIsPinnedForBothConninfoForms() {
        #expect(PostgresConfiguration("").withSearchPath("s1").conninfo == "options='-csearch_path=s1'")
        #expect(PostgresConfiguration("host=/tmp").withSearchPath("s1").conninfo == "host=/tmp options='-csearch_path=s1'")
        #expect(PostgresConfiguration("postgresql://h/db").withSearchPath("s1").conninfo == "postgresql://h/db?options=-csearch_path%3Ds1")
        #expect(isPlainIdentifier("t_node_1") && !isPlainIdentifier("1abc") && !isPlainIdentifier("a;drop") && !isPlainIdentifier(""))
    }
}
