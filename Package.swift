// swift-tools-version:6.0
// Daybreak: actor-based, distributed fleet and last-mile dispatch.
// No Swift package dependencies: the toolchain plus libzmq and libpq (system libraries).
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Daybreak",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "daybreak", targets: ["daybreak"]),
        .library(name: "Routing", targets: ["Routing"]),
        .library(name: "Messaging", targets: ["Messaging"]),
        .library(name: "Storage", targets: ["Storage"]),
    ],
    targets: [
        // C libraries through system-library targets (see Docs/ARCHITECTURE.md).
        .systemLibrary(name: "CZeroMQ", path: "Sources/CZeroMQ"),
        .systemLibrary(name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),

        // Pure core.
        .target(name: "Base", swiftSettings: strict),
        .target(name: "Routing", dependencies: ["Base"], swiftSettings: strict),
        .target(name: "Geo", swiftSettings: strict),
        .target(name: "Fleet", dependencies: ["Geo"], swiftSettings: strict),
        // The warehouse floor: layouts, multi-robot motion planning, task allocation, sorters (Docs/WAREHOUSE.md).
        .target(name: "Warehouse", dependencies: ["Base"], swiftSettings: strict),

        // I/O runtime.
        .target(name: "Messaging", dependencies: ["CZeroMQ", "Base"], swiftSettings: strict),
        .target(name: "Storage", dependencies: ["CLibPQ", "Base"], swiftSettings: strict),
        .target(name: "Cluster", dependencies: ["Messaging", "Storage", "Base"], swiftSettings: strict),
        // The warehouse floor's robots over ZeroMQ: VDA 5050 link at fleet control, simulated robots (Docs/VDA5050.md).
        .target(name: "Floor", dependencies: ["Warehouse", "Messaging", "Base"], swiftSettings: strict),
        // The hub's controller on the cluster (issue 12): Warehouse's HubState journaled, robots through Floor.
        .target(name: "Hub", dependencies: ["Cluster", "Floor", "Warehouse", "DispatchPlanning", "Fleet", "Geo", "Messaging", "Storage", "Base"], swiftSettings: strict),

        // App layer: dispatch planning that joins the domain and the routing engine.
        // (Not named `Dispatch`: that would shadow libdispatch's module, which Foundation imports.)
        .target(name: "DispatchPlanning", dependencies: ["Fleet", "Geo", "Routing", "Base"], swiftSettings: strict),
        // The domain as journaled distributed actors hosted by the cluster's nodes (Docs/ACTORS.md).
        .target(name: "DaybreakNode", dependencies: ["Cluster", "DispatchPlanning", "Fleet", "Geo", "Messaging", "Storage", "Base"], swiftSettings: strict),
        // The edge protocol (Docs/EDGE.md): wire types, JSON codec, roles and access. Pure.
        .target(name: "Edge", dependencies: ["DispatchPlanning", "Fleet", "Geo", "Base"], swiftSettings: strict),
        // The edge gateway process's server and the edge client (handheld SDK, ctl, simulate).
        .target(name: "Gateway", dependencies: ["Edge", "DaybreakNode", "Cluster", "DispatchPlanning", "Fleet", "Geo", "Messaging", "Storage", "Base"],
                swiftSettings: strict),
        // The simulated day: a client of the operations contract (DispatchGateway), never a shortcut into the system.
        .target(name: "Simulation", dependencies: ["DispatchPlanning", "Fleet", "Geo", "Routing", "Warehouse", "Base"], swiftSettings: strict),

        // The thin executable.
        // The commands (demo, simulate, up, node, gateway, ctl, solve, …) and, apart, the benchmarks
        // (`daybreak bench …`, which alone reach the C libraries directly for their raw references).
        .target(name: "DaybreakCLI",
                dependencies: ["Base", "Messaging", "Storage", "Cluster", "Routing", "DispatchPlanning", "DaybreakNode", "Simulation", "Edge", "Gateway", "Fleet", "Geo", "Warehouse"],
                swiftSettings: strict),
        .target(name: "DaybreakBench",
                dependencies: ["DaybreakCLI", "Base", "Messaging", "Storage", "Cluster", "Routing", "DispatchPlanning", "DaybreakNode", "Simulation", "Edge", "Gateway", "Fleet", "Geo", "Warehouse", "CZeroMQ", "CLibPQ"],
                swiftSettings: strict),
        // The thin executable: main.swift joins the two.
        .executableTarget(name: "daybreak", dependencies: ["DaybreakCLI", "DaybreakBench", "Base"], swiftSettings: strict),

        .testTarget(name: "BaseTests", dependencies: ["Base"], swiftSettings: strict),
        .testTarget(name: "MessagingTests", dependencies: ["Messaging", "CZeroMQ", "Base"], swiftSettings: strict),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "CLibPQ", "Base"], swiftSettings: strict),
        .testTarget(name: "GeoTests", dependencies: ["Geo"], swiftSettings: strict),
        .testTarget(name: "FleetTests", dependencies: ["Fleet", "Geo"], swiftSettings: strict),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster", "Messaging", "Storage", "Base"], swiftSettings: strict),
        .testTarget(name: "DispatchPlanningTests", dependencies: ["DispatchPlanning", "Fleet", "Geo", "Routing", "Base"], swiftSettings: strict),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "DispatchPlanning", "Fleet", "Geo", "Base"], swiftSettings: strict),
        .testTarget(name: "DaybreakNodeTests", dependencies: ["DaybreakNode", "DispatchPlanning", "Cluster", "Fleet", "Geo", "Storage", "Messaging", "Base"],
                    swiftSettings: strict),
        .testTarget(name: "EdgeTests", dependencies: ["Edge", "DispatchPlanning", "Fleet", "Geo", "Base"], swiftSettings: strict),
        .testTarget(name: "GatewayTests", dependencies: ["Gateway", "Edge", "DaybreakNode", "DispatchPlanning", "Cluster", "Fleet", "Geo", "Storage", "Messaging", "Base"],
                    swiftSettings: strict),
        .testTarget(name: "DaybreakCLITests", dependencies: ["daybreak", "DaybreakCLI", "Base"], swiftSettings: strict),
        .testTarget(name: "WarehouseTests", dependencies: ["Warehouse", "Base"],
                    resources: [.copy("Fixtures")], swiftSettings: strict),
        .testTarget(name: "FloorTests", dependencies: ["Floor", "Warehouse", "Messaging", "Base"],
                    resources: [.copy("Fixtures")], swiftSettings: strict),
        .testTarget(name: "HubTests", dependencies: ["Hub", "Floor", "Warehouse", "Cluster", "Fleet", "Geo", "Messaging", "Storage", "Base"],
                    swiftSettings: strict),
        .testTarget(name: "RoutingTests", dependencies: ["Routing"],
                    resources: [.copy("Fixtures")], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
