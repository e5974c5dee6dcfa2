import Distributed
import Synchronization
import Testing
@testable import Cluster

/// An in-process actor system that sends every call through the real wire path
/// (invocation encoder → WireCodec frame → decode → executeDistributedTarget → reply frame),
/// with no network: proof that the pure pieces fit the Distributed runtime. The real
/// `ClusterActorSystem` replaces the loopback with Messaging (Docs/CLUSTER.md).
final class LoopbackActorSystem: DistributedActorSystem, Sendable {
    typealias ActorID = ActorIdentity
    typealias SerializationRequirement = any Codable
    typealias InvocationEncoder = ClusterInvocationEncoder
    typealias InvocationDecoder = ClusterInvocationDecoder
    typealias ResultHandler = ClusterResultHandler

    struct State {
        var hosted: [ActorIdentity: any DistributedActor] = [:]
        var registry = CallTargetRegistry()
        var nextKey = 0
        var nextCorrelation: UInt64 = 0
        var frames: [[UInt8]] = []
    }
    let state = Mutex(State())
    let codec = WireCodec()

    /// While set, `remoteCall` reports the target's mangled identifier instead of calling
    /// (how a node builds its `CallTargetRegistry` from its own binary).
    @TaskLocal static var recording: Bool = false
    struct Recorded: Error { var identifier: String }

    func register<Act: DistributedActor>(_ name: String, on proxy: Act,
                                         _ call: (Act) async throws -> Void) async throws where Act.ID == ActorIdentity {
        do {
            try await Self.$recording.withValue(true) { try await call(proxy) }
            Issue.record("recording call did not reach remoteCall")
        } catch let r as Recorded {
            try state.withLock { try $0.registry.register(name, mangled: r.identifier) }
        }
    }

    func resolve<Act>(id: ActorID, as actorType: Act.Type) throws -> Act? where Act: DistributedActor, Act.ID == ActorID {
        nil   // always a proxy, so every call goes over the wire path
    }

    func assignID<Act>(_ actorType: Act.Type) -> ActorID where Act: DistributedActor, Act.ID == ActorID {
        state.withLock { s in
            s.nextKey += 1
            return ActorIdentity(kind: "test", key: "k\(s.nextKey)", region: "gangnam")
        }
    }

    func actorReady<Act>(_ actor: Act) where Act: DistributedActor, Act.ID == ActorID {
        state.withLock { $0.hosted[actor.id] = actor }
    }

    func resignID(_ id: ActorID) {
        _ = state.withLock { $0.hosted.removeValue(forKey: id) }
    }

    func makeInvocationEncoder() -> InvocationEncoder { ClusterInvocationEncoder() }

    /// Caller side: frame the call, "send" it, and read the reply frame.
    private func roundTrip(_ actorID: ActorIdentity, _ target: RemoteCallTarget, _ invocation: ClusterInvocationEncoder) async throws -> [UInt8] {
        if Self.recording { throw Recorded(identifier: target.identifier) }
        let (name, correlation) = state.withLock { s -> (String?, UInt64) in
            s.nextCorrelation += 1
            return (s.registry.name(forMangled: target.identifier), s.nextCorrelation)
        }
        guard let name else { throw RemoteCallError(code: .unknownTarget, message: target.identifier) }
        let call = WireMessage.call(CallMessage(correlation: correlation, deadlineMillis: 1000, actor: actorID,
                                                target: name, payload: invocation.payload))
        let replyFrame = await receive(try codec.encode(call))
        switch try codec.decode(replyFrame) {
        case let .reply(c, payload) where c == correlation: return payload
        case let .errorReply(c, code, message) where c == correlation: throw RemoteCallError(code: code, message: message)
        case let other: throw RemoteCallError(code: .handlerFailed, message: "unexpected \(other)")
        }
    }

    /// Callee side: what a node does with an inbound frame.
    func receive(_ frame: [UInt8]) async -> [UInt8] {
        state.withLock { $0.frames.append(frame) }
        let reply: WireMessage
        do {
            guard case .call(let call) = try codec.decode(frame) else { return [] }
            let (actor, mangled) = state.withLock { ($0.hosted[call.actor], $0.registry.mangled(forName: call.target)) }
            if let actor, let mangled {
                var decoder = try ClusterInvocationDecoder(payload: call.payload)
                let handler = ClusterResultHandler(correlation: call.correlation)
                do {
                    try await executeDistributedTarget(on: actor, target: RemoteCallTarget(mangled),
                                                       invocationDecoder: &decoder, handler: handler)
                    reply = handler.reply
                } catch {
                    reply = .errorReply(correlation: call.correlation, code: .badArguments, message: "\(error)")
                }
            } else {
                reply = .errorReply(correlation: call.correlation, code: actor == nil ? .notOwner : .unknownTarget,
                                    message: "\(call.actor) \(call.target)")
            }
        } catch {
            return []
        }
        return (try? codec.encode(reply)) ?? []
    }

    func remoteCall<Act, Err, Res>(on actor: Act, target: RemoteCallTarget, invocation: inout InvocationEncoder,
                                   throwing: Err.Type, returning: Res.Type) async throws -> Res
        where Act: DistributedActor, Act.ID == ActorID, Err: Error, Res: Codable {
        let payload = try await roundTrip(actor.id, target, invocation)
        return try BinaryDecoder().decode(Res.self, from: payload)
    }

    func remoteCallVoid<Act, Err>(on actor: Act, target: RemoteCallTarget, invocation: inout InvocationEncoder,
                                  throwing: Err.Type) async throws
        where Act: DistributedActor, Act.ID == ActorID, Err: Error {
        _ = try await roundTrip(actor.id, target, invocation)
    }
}

struct VehiclePosition: Codable, Equatable, Sendable { var lat: Double; var lon: Double }
struct Refused: Error, CustomStringConvertible { var description: String { "vehicle is offline" } }

distributed actor TestVehicle {
    typealias ActorSystem = LoopbackActorSystem
    var positions: [VehiclePosition] = []

    distributed func report(_ p: VehiclePosition, at time: Int64) -> Int {
        positions.append(p)
        return positions.count
    }
    distributed func last() -> VehiclePosition? { positions.last }
    distributed func reset() { positions = [] }
    distributed func fail() throws { throw Refused() }
}

@Suite struct LoopbackActorSystemTests {
    func setUp() async throws -> (LoopbackActorSystem, TestVehicle, TestVehicle) {
        let system = LoopbackActorSystem()
        let real = TestVehicle(actorSystem: system)
        let proxy = try TestVehicle.resolve(id: real.id, using: system)
        try await system.register("TestVehicle.report", on: proxy) { _ = try await $0.report(VehiclePosition(lat: 0, lon: 0), at: 0) }
        try await system.register("TestVehicle.last", on: proxy) { _ = try await $0.last() }
        try await system.register("TestVehicle.reset", on: proxy) { try await $0.reset() }
        return (system, real, proxy)
    }

    @Test func callsGoOverTheWireAndReturnValues() async throws {
        let (system, real, proxy) = try await setUp()
        #expect(try await proxy.report(VehiclePosition(lat: 37.5, lon: 127.0), at: 1) == 1)
        #expect(try await proxy.report(VehiclePosition(lat: 37.6, lon: 127.1), at: 2) == 2)
        #expect(try await proxy.last() == VehiclePosition(lat: 37.6, lon: 127.1))
        try await proxy.reset()
        #expect(try await proxy.last() == nil)
        // Every call was a frame with the stable name, never the mangled one.
        let frames = system.state.withLock { $0.frames }
        #expect(frames.count == 5)
        for frame in frames {
            guard case .call(let call) = try WireCodec().decode(frame) else { Issue.record("not a call"); continue }
            #expect(call.target.hasPrefix("TestVehicle.") && call.actor == real.id)
        }
    }

    @Test func registryHasStableNamesForMangledTargets() async throws {
        let (system, _, _) = try await setUp()
        let registry = system.state.withLock { $0.registry }
        #expect(registry.count == 3)
        #expect(registry.mangled(forName: "TestVehicle.report")?.contains("report") == true)
    }

    @Test func unregisteredTargetFailsAtTheCaller() async throws {
        let (_, _, proxy) = try await setUp()
        await #expect(throws: RemoteCallError.self) { try await proxy.fail() }
    }

    @Test func thrownErrorsComeBackAsErrorReplies() async throws {
        let (system, _, proxy) = try await setUp()
        try await system.register("TestVehicle.fail", on: proxy) { try await $0.fail() }
        // The caller gets the code and the safe text, never the thrown error's own text (it goes to the log).
        await #expect(throws: RemoteCallError(code: .handlerFailed, message: RemoteErrorCode.safeText(.handlerFailed))) { try await proxy.fail() }
    }

    @Test func aCallToAnActorNotHostedHereIsNotOwner() async throws {
        let (system, _, proxy) = try await setUp()
        let ghost = ActorIdentity(kind: "test", key: "nobody", region: "south")
        let frame = try WireCodec().encode(.call(CallMessage(correlation: 9, deadlineMillis: 10, actor: ghost,
                                                             target: "TestVehicle.last", payload: [])))
        let reply = try WireCodec().decode(await system.receive(frame))
        guard case .errorReply(9, .notOwner, _) = reply else { Issue.record("\(reply)"); return }
        _ = proxy
    }

    @Test func badArgumentsAreATypedErrorReply() async throws {
        let (system, real, _) = try await setUp()
        let payload = BinaryValue.array([.string("not a position"), .int(1)]).serialized()
        let frame = try WireCodec().encode(.call(CallMessage(correlation: 3, deadlineMillis: 10, actor: real.id,
                                                             target: "TestVehicle.report", payload: payload)))
        let reply = try WireCodec().decode(await system.receive(frame))
        guard case .errorReply(3, .badArguments, let message) = reply else { Issue.record("\(reply)"); return }
        #expect(message == RemoteErrorCode.safeText(.badArguments))
        #expect(!message.contains("not a position"), "the caller's own bytes are not echoed back")
    }
}

@Suite struct WireDeadlineTests {
    @Test func deadlinesAreRelativeMillisecondsClampedAndConsumedByQueueing() {
        #expect(WireDeadline.millis(remaining: .milliseconds(1500)) == 1500)
        #expect(WireDeadline.millis(remaining: .microseconds(999)) == 0)
        #expect(WireDeadline.millis(remaining: .seconds(-1)) == 0)
        #expect(WireDeadline.millis(remaining: .seconds(10_000_000)) == UInt32.max)
        #expect(WireDeadline.remaining(millis: 200, queued: .milliseconds(50)) == .milliseconds(150))
        #expect(WireDeadline.remaining(millis: 200, queued: .milliseconds(200)) == nil)
        #expect(RemoteCallError(code: .notOwner, message: "").isRetriable)
        #expect(!RemoteCallError(code: .handlerFailed, message: "").isRetriable)
    }
}
