import Messaging
import Storage

/// Inbound calls: admission (lease, drain, capacity) in one synchronous section, activation on
/// first call (the activation restores itself from the journal), the call under the caller's
/// deadline, and a typed error reply for every failure.
extension NodeService {
    enum Admission {
        case run(any HostedActor)
        case refuse(RemoteErrorCode, String)
    }

    func serve(_ server: RequestServer, journal: Journal) async {
        await withDiscardingTaskGroup { group in
            for await batch in server.requests {
                for request in batch {
                    group.addTask { await self.handle(request, server: server, journal: journal) }
                }
            }
        }
    }

    private func handle(_ request: IncomingRequest, server: RequestServer, journal: Journal) async {
        let arrived = ContinuousClock.now
        guard case .call(let call)? = try? codec.decode(request.message.first) else {
            logger.debug("dropped a frame that is not a call")
            return
        }
        func reply(_ m: WireMessage) {
            do { try server.reply(to: request.replyAddress, Message(try codec.encode(m))) } catch {
                logger.warning("reply to \(call.actor) failed: \(error)")
            }
        }
        func fail(_ code: RemoteErrorCode, _ message: String) { reply(.errorReply(correlation: call.correlation, code: code, message: message)) }

        let region = RegionKey(call.actor.region)
        switch admit(call, region: region, journal: journal) {
        case let .refuse(code, message):
            fail(code, message)
            return
        case let .run(actor):
            defer {
                state.withLock { s in
                    s.inFlight[region, default: 1] -= 1
                    s.totalInFlight -= 1
                }
            }
            guard let remaining = WireDeadline.remaining(millis: call.deadlineMillis, queued: .now - arrived) else {
                fail(.deadlineExceeded, "due before it started")
                return
            }
            let target = call.target, payload = call.payload, key = call.idempotencyKey?.storageText
            do {
                let result = try await withDeadline(remaining, "call \(target)") {
                    try await actor.call(target: target, payload: payload, idempotencyKey: key)
                }
                reply(.reply(correlation: call.correlation, payload: result))
            } catch let e as JournalError {
                switch e.code {
                case .fenced:
                    // The database says the lease is gone: step down at once.
                    logger.warning("journal fenced a write: \(e.message); stepping down from \(region)")
                    let directives = state.withLock { s in
                        s.serving[region] == actor.token ? s.coordinator.leaseFailed(region) : []
                    }
                    stopServingNow(region, reason: "fenced by the journal")
                    if !directives.isEmpty { logger.debug("after fencing: \(directives)") }
                    fail(.fenced, e.message)
                case .notServing:
                    fail(.notOwner, "\(configuration.id) no longer serves \(region)")
                case .sequenceConflict:
                    dropActivation(actor)
                    fail(.fenced, "activation behind the journal; reloaded: \(e.message)")
                default:
                    fail(.handlerFailed, e.description)
                }
            } catch is DeadlineExceeded {
                fail(.deadlineExceeded, "\(target) on \(call.actor) did not finish in time")
            } catch is UnknownTarget {
                fail(.unknownTarget, "no target \(target) for kind \(call.actor.kind)")
            } catch let e as PostgresError {
                dropActivation(actor)
                fail(.overloaded, "journal unavailable: \(e.message)")
            } catch {
                fail(.handlerFailed, "\(error)")
            }
        }
    }

    /// The lease check, the drain check, the capacity check and the activation lookup as one
    /// synchronous section (no `await` between the check and the activation it justifies).
    private func admit(_ call: CallMessage, region: RegionKey, journal: Journal) -> Admission {
        guard let kind = kinds[call.actor.kind] else {
            return .refuse(.unknownTarget, "no actor kind '\(call.actor.kind)' on \(configuration.id)")
        }
        let chaos = configuration.chaosSkipLocalFence
        let mayWrite: @Sendable (FencingToken) -> Bool = { [weak self] token in
            chaos || (self?.state.withLock { $0.writeToken(for: region) == token } ?? false)
        }
        let limit = configuration.maxInFlight, me = configuration.id
        return state.withLock { (s: inout NodeState) -> Admission in
            s.admit(call.actor, region: region, chaos: chaos, limit: limit, me: me) { token in
                kind.make(call.actor, token, journal, { mayWrite(token) })
            }
        }
    }

    /// Forgets an activation (the next call restores a fresh one from the journal).
    func dropActivation(_ actor: any HostedActor) {
        state.withLock { s in
            if let a = s.actors[actor.identity], a === actor { s.actors[actor.identity] = nil }
        }
    }
}

extension NodeState {
    /// See `NodeService.admit`: runs under the state lock.
    mutating func admit(_ id: ActorIdentity, region: RegionKey, chaos: Bool, limit: Int, me: NodeID,
                        make: (FencingToken) -> any HostedActor) -> NodeService.Admission {
        let candidate = chaos ? lastToken[region] : writeToken(for: region)
        guard let token = candidate, chaos || !draining.contains(region) else {
            return .refuse(.notOwner, "\(me) does not serve \(region)")
        }
        guard totalInFlight < limit else {
            return .refuse(.overloaded, "\(totalInFlight) calls in flight on \(me)")
        }
        let actor: any HostedActor
        if let existing = actors[id], existing.token == token {
            actor = existing
        } else {
            actor = make(token)
            actors[id] = actor
        }
        inFlight[region, default: 0] += 1
        totalInFlight += 1
        return .run(actor)
    }
}
