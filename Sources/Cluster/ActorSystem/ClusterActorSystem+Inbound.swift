import Distributed
import Messaging

/// A call waiting for its actor to load (`ActivationTable`'s waiter).
public struct ActivationWaiter: Sendable {
    enum Outcome: Sendable {
        case actor(any DistributedActor)
        case rejected(RemoteErrorCode, String)
    }
    let shot = OneShot<Outcome>()
}

extension ClusterActorSystem {
    enum Admission {
        case answer(WireMessage)
        case ignore
        case call(CallMessage, delay: Duration?)
    }

    /// The ROUTER loop: every request gets exactly one answer — a typed error reply at once when the
    /// frame is not a call this node can take, or the call's reply from its own child task.
    func serveCalls() async {
        let preference: (any TaskExecutor)? = configuration.serveOnIOThread ? context.taskExecutor : nil
        await withDiscardingTaskGroup { group in
            for await batch in server.requests {
                var immediate: [Reply] = []
                for request in batch {
                    switch admit(request.message, peer: request.peer) {
                    case .ignore:
                        break
                    case .answer(let m):
                        if let frame = encodeReply(m) { immediate.append(Reply(to: request.replyAddress, Message(frame))) }
                    case let .call(call, delay):
                        let address = request.replyAddress
                        let arrived = ContinuousClock.now
                        group.addTask(executorPreference: preference) {
                            if let delay { try? await Task.sleep(for: delay) }
                            let reply = await self.serve(call, arrived: arrived)
                            self.sendReply(reply, to: address)
                            self.finishedInbound()
                        }
                    }
                }
                if !immediate.isEmpty {
                    do { try server.reply(contentsOf: immediate) } catch {
                        counters.repliesUndeliverable.wrappingAdd(immediate.count, ordering: .relaxed)
                        logger.warning("error replies not sent", ["count": immediate.count, "error": "\(error)"])
                    }
                }
            }
        }
    }

    /// Decides what to do with one inbound request, synchronously (no await between the checks
    /// and the in-flight reservation they justify).
    func admit(_ message: Message, peer: PeerIdentity? = nil) -> Admission {
        if let faults = configuration.faults {
            switch faults.inbound(message.first) {
            case .pass: break
            case .drop:
                counters.faultsApplied.wrappingAdd(1, ordering: .relaxed)
                return .ignore
            case .delay(let d):
                counters.faultsApplied.wrappingAdd(1, ordering: .relaxed)
                return admitDecoded(message, peer: peer, delay: d)
            }
        }
        return admitDecoded(message, peer: peer, delay: nil)
    }

    /// On a CURVE port: whether the authenticated `peer` may call `target` (an unknown target is left
    /// to `serve`, which says so). A refusal is logged at warning, at most once per peer per 10 s.
    func forbidden(_ call: CallMessage, peer: PeerIdentity?) -> Bool {
        guard configuration.curve != nil else { return false }
        let role = peer?.role ?? ""
        let (allowed, log) = state.withLock { s -> (Bool, Bool) in
            guard let roles = s.registry.rolesByName[call.target], !roles.contains(role) else { return (true, false) }
            let who = peer?.userID ?? "?"
            let now = ContinuousClock.now
            if let last = s.forbiddenLogged[who], now - last < .seconds(10) { return (false, false) }
            s.forbiddenLogged[who] = now
            if s.forbiddenLogged.count > 10_000 { s.forbiddenLogged = [who: now] }
            return (false, true)
        }
        if !allowed {
            counters.inboundRejected.wrappingAdd(1, ordering: .relaxed)
            if log {
                logger.warning("call refused: the caller's role may not call this target",
                               ["peer": peer?.userID ?? "?", "role": role, "address": peer?.address ?? "?", "target": call.target, "actor": "\(call.actor)"])
            }
        }
        return !allowed
    }

    private func admitDecoded(_ message: Message, peer: PeerIdentity?, delay: Duration?) -> Admission {
        let frame = message.first
        let correlation = Self.headerCorrelation(frame)
        guard message.count == 1 else {
            return reject(correlation, .malformedFrame, "a request carries one cluster frame, got \(message.count)")
        }
        let decoded: WireMessage
        do {
            decoded = try codec.decode(frame)
        } catch let WireError.unsupportedVersion(found, supported) {
            return reject(correlation, .unsupportedVersion, "protocol version \(found) not supported (this node speaks \(supported))")
        } catch {
            return reject(correlation, .malformedFrame, "\(error)")
        }
        switch decoded {
        case .call(let call):
            if forbidden(call, peer: peer) {
                return .answer(.errorReply(correlation: call.correlation, code: .forbidden, message: "your role may not call \(call.target)"))
            }
            if call.deadlineMillis == 0 {
                return .answer(.errorReply(correlation: call.correlation, code: .deadlineExceeded, message: "arrived after its deadline"))
            }
            let limit = configuration.maxInboundInFlight
            // Reserve first, then look at `draining` (shutdown stores `draining`, then reads the
            // count; sequentially consistent, so at least one side sees the other).
            if counters.inboundInFlight.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue > limit {
                finishedInbound()
                return .answer(.errorReply(correlation: call.correlation, code: .overloaded, message: "\(limit) calls in flight on \(nodeID)"))
            }
            if counters.draining.load(ordering: .sequentiallyConsistent) {
                finishedInbound()
                return .answer(.errorReply(correlation: call.correlation, code: .notOwner,
                                           message: "\(nodeID) is shutting down; owner unknown"))
            }
            return .call(call, delay: delay)
        case let .ping(c, _):
            return .answer(.pong(correlation: c, node: nodeID))
        case .event, .reply, .errorReply, .pong:
            return reject(decoded.correlation, .malformedFrame, "a node does not take a \(decoded.type) as a request (events go over PUB/SUB)")
        }
    }

    /// One inbound call is done (its reply queued); the last one during a drain ends the drain.
    func finishedInbound() {
        let left = counters.inboundInFlight.wrappingSubtract(1, ordering: .sequentiallyConsistent).newValue
        if left == 0 && counters.draining.load(ordering: .sequentiallyConsistent) {
            state.withLock { $0.drained }?.fulfill(())
        }
    }

    private func reject(_ correlation: UInt64, _ code: RemoteErrorCode, _ text: String) -> Admission {
        counters.inboundRejected.wrappingAdd(1, ordering: .relaxed)
        logger.debug("inbound frame rejected", ["code": code, "reason": text])
        return .answer(.errorReply(correlation: correlation, code: code, message: String(decoding: text.utf8.prefix(1024), as: UTF8.self)))
    }

    /// The correlation id of a frame whose header is readable (magic matches), else 0.
    static func headerCorrelation(_ frame: [UInt8]) -> UInt64 {
        guard frame.count >= WireFormat.headerSize, frame[0] == 0xDB, frame[1] == 0xC1 else { return 0 }
        var v: UInt64 = 0
        for i in 6..<14 { v = v << 8 | UInt64(frame[i]) }
        return v
    }

    func encodeReply(_ reply: WireMessage) -> [UInt8]? {
        if let frame = try? codec.encode(reply) { return frame }
        let fallback = WireMessage.errorReply(correlation: reply.correlation, code: .handlerFailed,
                                              message: "reply does not fit the wire limits")
        return try? codec.encode(fallback)
    }

    func sendReply(_ reply: WireMessage, to address: ReplyAddress) {
        guard let frame = encodeReply(reply) else { return }
        do { try server.reply(to: address, Message(frame)) } catch {
            counters.repliesUndeliverable.wrappingAdd(1, ordering: .relaxed)
            logger.warning("reply not sent", ["correlation": reply.correlation, "error": "\(error)"])
        }
    }

    // MARK: - Serving one call

    /// Serves one call (from the wire, or from this node's own caller without sockets).
    func serve(_ call: CallMessage, arrived: ContinuousClock.Instant) async -> WireMessage {
        let region = call.actor.region
        let servedHere = region.hasPrefix("node:") ? region == Self.nodeRegion(nodeID) : ownership.isServing(region: region)
        guard servedHere else {
            return .errorReply(correlation: call.correlation, code: .notOwner,
                               message: NotOwnerHint.text(region: region, owner: owner(of: region)))
        }
        guard let mangled = state.withLock({ $0.registry.mangled(forName: call.target) }) else {
            return .errorReply(correlation: call.correlation, code: .unknownTarget, message: "no call target \(call.target) on \(nodeID)")
        }
        let deadline = arrived + .milliseconds(Int64(call.deadlineMillis))
        guard let key = call.idempotencyKey else {
            return await execute(call, mangled, deadline: deadline)
        }
        let cacheKey = IdempotencyCache<OneShot<WireMessage>>.Key(actor: call.actor, key: key)
        let waiter = OneShot<WireMessage>()
        switch state.withLock({ $0.idempotency.admit(cacheKey, waiter) }) {
        case .replay(let reply):
            return Self.restamp(reply, call.correlation)
        case .wait:
            return Self.restamp(await waiter.value(), call.correlation)
        case .run:
            let reply = await execute(call, mangled, deadline: deadline)
            // Cache only what ran: a refusal (not owner, overloaded, unknown) must run when retried.
            let ran: Bool = switch reply {
            case .reply: true
            case .errorReply(_, let code, _): code == .handlerFailed
            default: false
            }
            let waiters = state.withLock { $0.idempotency.complete(cacheKey, reply: ran ? reply : nil) }
            for w in waiters { w.fulfill(reply) }
            return reply
        }
    }

    static func restamp(_ reply: WireMessage, _ correlation: UInt64) -> WireMessage {
        switch reply {
        case .reply(_, let p): .reply(correlation: correlation, payload: p)
        case let .errorReply(_, code, text): .errorReply(correlation: correlation, code: code, message: text)
        default: reply
        }
    }

    private enum Route { case direct(any DistributedActor), table([ActivationDirective<ActivationWaiter>]), unknown }

    private func execute(_ call: CallMessage, _ mangled: String, deadline: ContinuousClock.Instant) async -> WireMessage {
        let id = call.actor
        let waiter = ActivationWaiter()
        let canActivate = activator != nil
        let route = state.withLock { s -> Route in
            if s.activations.entries[id] == nil, let a = s.hosted[id] { return .direct(a) }
            guard canActivate else { return .unknown }
            return .table(s.activations.call(id, waiter, serving: true, now: now()))
        }
        let actor: any DistributedActor
        var managed = false
        switch route {
        case .direct(let a):
            actor = a
        case .unknown:
            return .errorReply(correlation: call.correlation, code: .unknownActor, message: "\(id) is not hosted on \(nodeID)")
        case .table(let directives):
            await carryOut(directives)
            switch await waiter.shot.value() {
            case .actor(let a): actor = a; managed = true
            case let .rejected(code, text): return .errorReply(correlation: call.correlation, code: code, message: text)
            }
        }
        defer {
            if managed { state.withLock { $0.activations.finished(id, now: now()) } }
        }
        let remaining = deadline - .now
        guard remaining > .zero else {
            return .errorReply(correlation: call.correlation, code: .deadlineExceeded, message: "\(call.target) on \(id): deadline passed while queued")
        }
        var decoder: ClusterInvocationDecoder
        do { decoder = try ClusterInvocationDecoder(payload: call.payload) } catch {
            return .errorReply(correlation: call.correlation, code: .badArguments, message: "\(error)")
        }
        let logger = self.logger, target = call.target
        let handler = ClusterResultHandler(correlation: call.correlation, onInternalError: { code, text in
            logger.warning("call failed; the caller got the code and a safe message", ["actor": "\(id)", "target": target, "code": "\(code)", "error": text])
        })
        let inbound = InboundCall(actor: id, target: call.target, correlation: call.correlation,
                                  idempotencyKey: call.idempotencyKey, deadline: deadline)
        do {
            // Nested calls made by the handler inherit what is left of this call's deadline.
            try await ClusterCall.$inbound.withValue(inbound) {
                try await ClusterCall.$timeout.withValue(remaining) {
                    try await ClusterCall.$idempotencyKey.withValue(nil) {
                        try await executeDistributedTarget(on: actor, target: RemoteCallTarget(mangled),
                                                           invocationDecoder: &decoder, handler: handler)
                    }
                }
            }
        } catch {
            logger.warning("call arguments did not decode", ["actor": "\(id)", "target": call.target, "error": "\(error)"])
            return .errorReply(correlation: call.correlation, code: .badArguments, message: RemoteErrorCode.safeText(.badArguments))
        }
        counters.callsServed.wrappingAdd(1, ordering: .relaxed)
        return handler.reply
    }

    // MARK: - Activation

    /// Carries out the activation table's directives, feeding outcomes back until none are left.
    func carryOut(_ directives: [ActivationDirective<ActivationWaiter>]) async {
        var queue = directives[...]
        while let d = queue.popFirst() {
            switch d {
            case .load(let id):
                do {
                    guard let activator else { throw ClusterCallError(.unknownActor, "no activator") }
                    let a = try await activator.activate(id, in: self)
                    let (next, replaced) = state.withLock { s -> ([ActivationDirective<ActivationWaiter>], (any DistributedActor)?) in
                        (s.activations.loaded(id, now: now()), s.hosted.updateValue(a, forKey: id))
                    }
                    _ = replaced   // released after the lock
                    queue.append(contentsOf: next)
                } catch {
                    let code: RemoteErrorCode = (error as? ClusterCallError)?.code == .unknownActor ? .unknownActor : .handlerFailed
                    queue.append(contentsOf: state.withLock { $0.activations.loadFailed(id, code: code, reason: "\(error)") })
                }
            case let .deliver(w, id):
                if let a = state.withLock({ $0.hosted[id] }) {
                    w.shot.fulfill(.actor(a))
                } else {
                    state.withLock { $0.activations.finished(id, now: now()) }
                    w.shot.fulfill(.rejected(.unknownActor, "\(id) vanished while activating"))
                }
            case let .reject(w, code, text):
                w.shot.fulfill(.rejected(code, text))
            case .passivate(let id):
                if let a = state.withLock({ $0.hosted[id] }), let activator {
                    await activator.passivate(a, id: id, in: self)
                }
                // The instance leaves the lock with us: its last release runs deinit → resignID,
                // which takes the lock again.
                let (next, dropped) = state.withLock { s -> ([ActivationDirective<ActivationWaiter>], (any DistributedActor)?) in
                    let dropped = s.hosted.removeValue(forKey: id)
                    return (s.activations.passivated(id), dropped)
                }
                _ = dropped
                queue.append(contentsOf: next)
            case .drop(let id):
                remove(id)
            }
        }
    }

    /// The region was lost (`stopServing`): its virtual actors are dropped without writes and the
    /// calls waiting for them are answered `fenced` (callers with an idempotency key retry).
    public func regionLost(_ region: String) async {
        await carryOut(state.withLock { $0.activations.dropRegion(region) })
    }

    /// Passivates idle virtual actors once a second (`ActivationTable.tick`).
    func passivationLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            if Task.isCancelled { return }
            await carryOut(state.withLock { $0.activations.tick(now: now()) })
        }
    }

    /// Virtual actors in memory (or loading/passivating).
    public var activeActorCount: Int { state.withLock { $0.activations.count } }
}
