import Base
import Distributed
import Messaging
import Synchronization
import Testing
@testable import Cluster

let actorTestLogger = Logger(label: "test", level: .error)

/// Several actor systems (nodes) in one process, each with its own MessagingContext (so
/// killing one closes its sockets like a dead process would), its own ownership view and a
/// fault injector. Scoped: `TestCluster.with(nodes: 3) { cluster in … }` shuts everything down.
final class TestCluster: Sendable {
    struct Node: Sendable {
        let system: ClusterActorSystem
        let context: MessagingContext
        let ownership: StaticRegionOwnership
        let faults: ScriptedFaults
        var id: String { system.nodeID }
        var address: NodeAddress { system.address }
    }

    let nodes: [Node]
    let sharedContext: Bool
    init(nodes: [Node], sharedContext: Bool) { self.nodes = nodes; self.sharedContext = sharedContext }

    subscript(i: Int) -> Node { nodes[i] }

    /// Runs `body` with `count` connected nodes serving; regions are assigned by `owners`
    /// (region → node index) in every node's view.
    enum Transport { case tcp, inproc }
    static let inprocRun = Atomic<Int>(0)

    /// `.tcp`: one MessagingContext per node (kill closes it like a dead process). `.inproc`: one
    /// shared context (inproc needs it), so kill only shuts the node's system down.
    static func with(nodes count: Int, owners: [String: Int] = [:], transport: Transport = .tcp,
                     configure: (inout ClusterActorSystem.Configuration) -> Void = { _ in },
                     activator: (any ActorActivator)? = TestActors.activator,
                     _ body: @Sendable (TestCluster) async throws -> Void) async throws {
        var nodes: [Node] = []
        let shared = transport == .inproc ? try MessagingContext(logger: actorTestLogger) : nil
        let run = inprocRun.wrappingAdd(1, ordering: .relaxed).newValue
        for i in 0..<count {
            let ctx = try shared ?? MessagingContext(logger: actorTestLogger)
            let faults = ScriptedFaults()
            var config = ClusterActorSystem.Configuration(nodeID: "n\(i)")
            config.faults = faults
            // Generous by default: CI runs the whole suite in parallel on 2 cores, and a call that
            // merely waits for a busy core must not fail. Tests of deadlines set their own.
            config.defaultTimeout = .seconds(10)
            if transport == .inproc {
                config.endpoint = "inproc://calls-\(run)-\(i)"
                config.eventEndpoint = "inproc://events-\(run)-\(i)"
            }
            configure(&config)
            let ownership = StaticRegionOwnership(localNodeID: "n\(i)")
            let system = try await ClusterActorSystem(context: ctx, configuration: config, ownership: ownership,
                                                      activator: activator, logger: actorTestLogger)
            try await TestActors.register(on: system)
            nodes.append(Node(system: system, context: ctx, ownership: ownership, faults: faults))
        }
        let cluster = TestCluster(nodes: nodes, sharedContext: shared != nil)
        for (region, i) in owners { cluster.assign(region, to: i) }
        for a in nodes { for b in nodes where a.id != b.id { try await a.system.connect(to: b.address) } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in nodes { group.addTask { await n.system.run() } }
            do {
                try await body(cluster)
            } catch {
                await cluster.shutdownAll()
                throw error
            }
            await cluster.shutdownAll()
            try await group.waitForAll()
        }
    }

    func shutdownAll() async {
        for n in nodes { await n.system.shutdown() }
        for n in nodes { await n.context.shutdown() }   // idempotent, so a shared context is fine
    }

    /// Assigns `region` to node `owner` (nil: nobody) in the views of `views` (default: every node).
    func assign(_ region: String, to owner: Int?, views: [Int]? = nil) {
        let address = owner.map { nodes[$0].address }
        for i in views ?? Array(nodes.indices) { nodes[i].ownership.assign(region, to: address) }
    }

    /// Kills node `i`: its sockets and context close (peers' calls to it then time out).
    func kill(_ i: Int) async {
        await nodes[i].system.shutdown()
        if !sharedContext { await nodes[i].context.shutdown() }
    }

    /// Pauses node `i`: it drops every inbound request (a hung process), until `resume`.
    func pause(_ i: Int) { nodes[i].faults.set { $0.inboundAction = .drop } }
    func resume(_ i: Int) { nodes[i].faults.set { $0.inboundAction = .pass } }

    /// A proxy for `id` as seen from node `i`.
    func counter(_ key: String, region: String, from i: Int) throws -> TestCounter {
        try TestCounter.resolve(id: ActorIdentity(kind: "counter", key: key, region: region), using: nodes[i].system)
    }
}

/// Waits for `condition` with a deadline (polling a condition, not sleeping for a guess).
func eventually(within timeout: Duration = .seconds(5), _ what: String = "condition",
                _ condition: @Sendable () async -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !(await condition()) {
        guard ContinuousClock.now < deadline else {
            Issue.record("\(what) not reached within \(timeout)")
            throw ClusterCallError(.timeout, what)
        }
        try await Task.sleep(for: .milliseconds(1))
    }
}

struct Hello: Codable, Sendable, Equatable { var from: String; var n: Int }
struct Boom: Error, CustomStringConvertible { var description: String }

/// Global record of what counters applied, across nodes: (node, actor key, idempotency key).
let appliedLog = Mutex<[(node: String, key: String, idem: String?)]>([])

distributed actor TestCounter {
    typealias ActorSystem = ClusterActorSystem
    var value = 0

    distributed func add(_ n: Int) -> Int {
        value += n
        let idem = ClusterCall.inbound?.idempotencyKey.map { "\($0)" }
        let node = actorSystem.nodeID
        let key = id.key
        appliedLog.withLock { $0.append((node, key, idem)) }
        return value
    }
    distributed func node() -> String { actorSystem.nodeID }
    /// The deadline nested calls made here would get, in milliseconds (-1: none set).
    distributed func budgetMillis() -> Int64 {
        guard let t = ClusterCall.timeout else { return -1 }
        return t.components.seconds * 1000 + t.components.attoseconds / 1_000_000_000_000_000
    }
    distributed func echo(_ h: Hello) -> Hello { h }
    distributed func fail(_ text: String) throws { throw Boom(description: text) }
    /// Waits until the test opens the gate named `gate` (a call that stays in flight without sleeping).
    distributed func hold(_ gate: String) async -> Int { await TestGate.named(gate).wait(); return value }
    /// Not registered on purpose (unknownTarget at the caller).
    distributed func unregistered() -> Int { 0 }
}

enum TestActors {
    static let activator = FactoryActivator([
        "counter": { id, system in system.withIdentity(id) { TestCounter(actorSystem: system) } },
    ])

    static func register(on system: ClusterActorSystem) async throws {
        let p = try TestCounter.resolve(id: ActorIdentity(kind: "manifest", key: "-", region: "-"), using: system)
        try await system.register("TestCounter.add", on: p) { _ = try await $0.add(0) }
        try await system.register("TestCounter.node", on: p) { _ = try await $0.node() }
        try await system.register("TestCounter.budgetMillis", on: p) { _ = try await $0.budgetMillis() }
        try await system.register("TestCounter.echo", on: p) { _ = try await $0.echo(Hello(from: "", n: 0)) }
        try await system.register("TestCounter.fail", on: p) { try await $0.fail("") }
        try await system.register("TestCounter.hold", on: p) { _ = try await $0.hold("") }
    }
}

/// A gate calls wait at until the test opens it.
final class TestGate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    var waiting: Int { state.withLock { $0.waiters.count } }
    func wait() async {
        await withCheckedContinuation { (k: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.open { return true }
                s.waiters.append(k); return false
            }
            if now { k.resume() }
        }
    }
    func open() {
        let ws = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.open = true; defer { s.waiters = [] }; return s.waiters
        }
        for w in ws { w.resume() }
    }
    func close() { state.withLock { $0.open = false } }
}
extension TestGate {
    private static let all = Mutex<[String: TestGate]>([:])
    /// One gate per name, so tests in parallel suites never share one.
    static func named(_ name: String) -> TestGate {
        all.withLock { gates in
            if let g = gates[name] { return g }
            let g = TestGate(); gates[name] = g; return g
        }
    }
}

/// Counts activations and passivations; keys starting with "broken" fail to load.
final class CountingActivator: ActorActivator {
    let counts = Mutex<(activated: [String: Int], passivated: [String: Int])>(([:], [:]))
    func activate(_ id: ActorIdentity, in system: ClusterActorSystem) async throws -> any DistributedActor {
        counts.withLock { $0.activated[id.key, default: 0] += 1 }
        if id.key.hasPrefix("broken") { throw Boom(description: "journal unreadable for \(id.key)") }
        return system.withIdentity(id) { TestCounter(actorSystem: system) }
    }
    func passivate(_ actor: any DistributedActor, id: ActorIdentity, in system: ClusterActorSystem) async {
        counts.withLock { $0.passivated[id.key, default: 0] += 1 }
    }
    func activated(_ key: String) -> Int { counts.withLock { $0.activated[key, default: 0] } }
    func passivated(_ key: String) -> Int { counts.withLock { $0.passivated[key, default: 0] } }
}
