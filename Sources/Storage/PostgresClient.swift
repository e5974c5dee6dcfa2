import CLibPQ

/// Facts about the linked libpq.
public enum PostgresClient {
    /// The linked libpq version, e.g. `15.18`.
    public static var libpqVersion: String {
        let v = Int(PQlibVersion())
        return "\(v / 10000).\(v % 10000)"
    }
}
