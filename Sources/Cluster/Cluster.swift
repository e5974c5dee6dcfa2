/// `Cluster`: Daybreak's distributed actor system over ZeroMQ, node membership, region
/// ownership through fenced leases in PostgreSQL, and actor activation and failover.
/// See Docs/ARCHITECTURE.md and Docs/PROTOCOL.md.
public enum ClusterProtocol {
    /// The wire protocol version carried in every envelope.
    public static let version: UInt16 = 1
}
