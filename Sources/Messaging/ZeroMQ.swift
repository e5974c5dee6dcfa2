import CZeroMQ

/// Facts about the linked libzmq.
public enum ZeroMQ {
    /// The linked libzmq version, e.g. `4.3.4`.
    public static var version: String {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }
}
