/// The manifest between stable call-target names that go on the wire
/// ("VehicleActor.reportPosition") and the Swift runtime's mangled identifiers of the
/// distributed methods (`RemoteCallTarget.identifier`), which change when a module, type or
/// method is renamed. Each node builds it at start-up from its own binary (see Docs/CLUSTER.md,
/// "Call targets"), so two nodes of different builds agree on names even if the mangling differs.
///
/// A value type; build it once, then share it (it is Sendable). Lookups O(1).
public struct CallTargetRegistry: Sendable, Equatable {
    public private(set) var mangledByName: [String: String] = [:]
    public private(set) var nameByMangled: [String: String] = [:]
    /// Which authenticated roles may call each target (checked on CURVE ports; see `mayCall`).
    public private(set) var rolesByName: [String: Set<String>] = [:]
    /// The roles a target admits when its registration names none: the cluster's own processes.
    public static let defaultRoles: Set<String> = ["node", "gateway", "operator"]
    /// Targets only the cluster's own nodes call (an order's or a store's journal: delivery
    /// addresses, order lines, stock; changed only through the region's dispatcher).
    public static let nodeOnly: Set<String> = ["node"]
    /// Targets an operator may also call (`daybreak ctl`), never a gateway.
    public static let nodeAndOperator: Set<String> = ["node", "operator"]

    public init() {}

    /// Why a registration was refused.
    public enum RegistrationError: Error, Equatable, Sendable, CustomStringConvertible {
        case emptyName
        /// Longer than the wire's identifier limit (`WireLimits.maxIdentifierBytes`).
        case nameTooLong(String, limit: Int)
        /// The name is already bound to another method.
        case duplicateName(String, existing: String)
        /// The method is already registered under another name.
        case duplicateTarget(String, existingName: String)

        public var description: String {
            switch self {
            case .emptyName: "call target name is empty"
            case let .nameTooLong(n, limit): "call target name \"\(n)\" is longer than \(limit) bytes"
            case let .duplicateName(n, existing): "call target name \"\(n)\" is already bound to \(existing)"
            case let .duplicateTarget(m, existing): "method \(m) is already registered as \"\(existing)\""
            }
        }
    }

    /// Binds `name` to the method with mangled identifier `mangled`. Registering the same pair
    /// twice is allowed (idempotent start-up code); any other overlap is an error.
    public mutating func register(_ name: String, mangled: String, roles: Set<String> = defaultRoles) throws(RegistrationError) {
        guard !name.isEmpty else { throw .emptyName }
        rolesByName[name] = roles
        guard name.utf8.count <= 255 else { throw .nameTooLong(name, limit: 255) }
        if let m = mangledByName[name] {
            guard m == mangled else { throw .duplicateName(name, existing: m) }
            return
        }
        if let n = nameByMangled[mangled] { throw .duplicateTarget(mangled, existingName: n) }
        mangledByName[name] = mangled
        nameByMangled[mangled] = name
    }

    /// The wire name of an outbound call's target, or nil if the method was never registered
    /// (the caller fails the call with `unknownTarget` locally rather than send a name nobody knows).
    public func name(forMangled mangled: String) -> String? { nameByMangled[mangled] }

    /// The local method for an inbound call's target name, or nil (reply `unknownTarget`).
    public func mangled(forName name: String) -> String? { mangledByName[name] }

    public var count: Int { mangledByName.count }

    /// Whether a peer authenticated with `role` may call `name` (an unknown target: no).
    public func mayCall(_ name: String, role: String) -> Bool { rolesByName[name]?.contains(role) ?? false }
}
