import Geo

/// `Fleet`: the pure dispatch domain — orders and their lifecycle, delivery products and promises,
/// vehicles, riders and stores. No I/O, no clocks: time comes in as values.
public enum FleetDomain {
    public static let schemaVersion = 1
}
