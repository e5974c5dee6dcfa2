import Distributed
import Messaging

extension ClusterActorSystem {
    /// One remote call from the caller's side, retried within its deadline:
    /// - `notOwner` always (the callee refused before running it): at the owner it named, else
    ///   after the ownership changes;
    /// - no live owner: waits for the ownership to name one (nothing was sent);
    /// - a lost connection or `fenced` only with an idempotency key (the call may have run).
    /// A timeout is final: the deadline is spent.
    func call(_ id: ActorIdentity, _ target: RemoteCallTarget, _ payload: [UInt8]) async throws -> [UInt8] {
        let deadline = ContinuousClock.now + (ClusterCall.timeout ?? configuration.defaultTimeout)
        let key = ClusterCall.idempotencyKey
        let (name, closed) = state.withLock { ($0.registry.name(forMangled: target.identifier), $0.closed) }
        if closed { throw ClusterCallError(.shutdown, "actor system of \(nodeID) is shut down") }
        guard let name else {
            throw ClusterCallError(.unknownTarget, "\(target.identifier) is not registered (CallTargetRegistry)")
        }
        let correlation = counters.correlation.wrappingAdd(1, ordering: .relaxed).newValue
        var hint: NodeAddress?
        var retries = 0
        var lastError: ClusterCallError?

        func retry(after version: UInt64, _ remaining: Duration, _ error: ClusterCallError) async throws {
            lastError = error
            retries += 1
            counters.callsRetried.wrappingAdd(1, ordering: .relaxed)
            if let h = error.owner { hint = h; return }
            _ = await ownership.waitForChange(after: version, timeout: remaining)
            try Task.checkCancellation()
        }

        while true {
            let version = ownership.version
            let remaining = deadline - .now
            guard remaining > .zero else {
                throw lastError ?? ClusterCallError(.timeout, "\(name) on \(id): deadline passed before sending")
            }
            let node = hint ?? owner(of: id.region)
            hint = nil
            guard let node else {
                lastError = ClusterCallError(.nodeDown, "no live node owns region \(id.region)")
                _ = await ownership.waitForChange(after: version, timeout: remaining)
                try Task.checkCancellation()
                if deadline - .now <= .zero { throw lastError! }
                continue
            }
            let message = CallMessage(correlation: correlation, deadlineMillis: WireDeadline.millis(remaining: remaining),
                                      actor: id, target: name, idempotencyKey: key, payload: payload)
            let reply: WireMessage
            do {
                reply = try await send(message, to: node, deadline: deadline)
            } catch let e as ClusterCallError where e.code == .nodeDown && key != nil && retries < configuration.maxRetries {
                try await retry(after: version, deadline - .now, ClusterCallError(e.code, e.message))
                continue
            }
            switch reply {
            case let .reply(c, payload) where c == correlation:
                return payload
            case let .errorReply(_, code, text):
                let error = ClusterCallError(reply: code, message: text)
                let retriable = code == .notOwner || (key != nil && code == .fenced)
                if retriable && retries < configuration.maxRetries {
                    var e = error
                    if e.owner?.endpoint == node.endpoint { e.owner = nil }   // it named itself: wait for news instead
                    try await retry(after: version, deadline - .now, e)
                    continue
                }
                throw error
            default:
                throw ClusterCallError(.malformed, "unexpected answer from \(node) to \(name): \(reply.type)")
            }
        }
    }

    /// The node that hosts `region`: `node:<id>` regions live on that node, others follow the ownership.
    func owner(of region: String) -> NodeAddress? {
        if region.hasPrefix("node:") {
            let id = String(region.dropFirst(5))
            if id == nodeID { return address }
            return state.withLock { $0.peers[id] }
        }
        return ownership.owner(ofRegion: region)
    }

    /// Sends one call to `node` (or serves it here without sockets) and returns the decoded answer.
    func send(_ message: CallMessage, to node: NodeAddress, deadline: ContinuousClock.Instant) async throws -> WireMessage {
        if node.id == nodeID {
            return await serve(message, arrived: .now)
        }
        if let faults = configuration.faults {
            switch faults.outbound(message, to: node) {
            case .pass: break
            case .drop:
                counters.faultsApplied.wrappingAdd(1, ordering: .relaxed)
                try await Task.sleep(until: deadline, clock: .continuous)
                throw ClusterCallError(.timeout, "\(message.target) on \(message.actor): dropped by fault injection; no reply within the deadline")
            case .delay(let d):
                counters.faultsApplied.wrappingAdd(1, ordering: .relaxed)
                try await Task.sleep(for: d)
            }
        }
        let frame: [UInt8]
        do { frame = try codec.encode(.call(message)) } catch {
            throw ClusterCallError(.badArguments, "call \(message.target) does not encode: \(error)")
        }
        let client = try await client(for: node)
        counters.callsSent.wrappingAdd(1, ordering: .relaxed)
        let answer: Message
        do {
            answer = try await client.request(Message(frame), timeout: max(.zero, deadline - .now))
        } catch {
            throw mapped(error, node: node, target: message.target)
        }
        guard answer.count == 1 else {
            throw ClusterCallError(.malformed, "reply from \(node) has \(answer.count) frames")
        }
        do {
            return try codec.decode(answer.first)
        } catch let WireError.unsupportedVersion(found, supported) {
            throw ClusterCallError(.versionMismatch, "\(node) speaks protocol \(found), this node \(supported)")
        } catch {
            throw ClusterCallError(.malformed, "reply from \(node) does not decode: \(error)")
        }
    }

    private func mapped(_ error: MessagingError, node: NodeAddress, target: String) -> any Error {
        switch error.code {
        case .timeout: return ClusterCallError(.timeout, "\(target): no reply from \(node) within the deadline")
        case .outboxFull: return ClusterCallError(.outboxFull, "\(target) to \(node) not sent: \(error.message)")
        case .cancelled: return CancellationError()
        case .shutdown where isShutdown: return ClusterCallError(.shutdown, "actor system of \(nodeID) is shut down")
        default: return ClusterCallError(.nodeDown, "connection to \(node) closed: \(error)")
        }
    }

    /// The DEALER for `node`, connected on first use and kept (one per peer endpoint).
    func client(for node: NodeAddress) async throws -> RequestClient {
        if let c = state.withLock({ $0.clients[node.clientKey] }) { return c }
        let fresh: RequestClient
        let options = try curveOptions(configuration.clientOptions, for: node)
        do { fresh = try await context.connectClient(node.endpoint, options: options) } catch {
            throw ClusterCallError(.nodeDown, "cannot connect to \(node): \(error)")
        }
        let (winner, closed) = state.withLock { s -> (RequestClient?, Bool) in
            if s.closed { return (nil, true) }
            if let existing = s.clients[node.clientKey] { return (existing, false) }
            s.clients[node.clientKey] = fresh
            return (fresh, false)
        }
        if winner !== fresh { await fresh.close() }
        guard let winner, !closed else { throw ClusterCallError(.shutdown, "actor system of \(nodeID) is shut down") }
        return winner
    }

    /// `options` with CURVE towards `node` when this system holds a key: the node's published key is
    /// the server key. A node that publishes no key is not called (it would be plaintext).
    func curveOptions(_ options: SocketOptions, for node: NodeAddress) throws -> SocketOptions {
        var options = options
        options.maxMessageSize = min(options.maxMessageSize, configuration.limits.maxMessageBytes)
        guard let keys = configuration.curve else { return options }
        guard let server = node.publicKey else {
            throw ClusterCallError(.nodeDown, "\(node) serves without a CURVE key; this process only talks to authenticated nodes")
        }
        var o = options
        do { o.curveClient = try CurveClient(serverPublicKey: server, keyPair: keys) } catch {
            throw ClusterCallError(.nodeDown, "\(node) publishes an invalid CURVE key: \(error)")
        }
        return o
    }

    // MARK: - Peers

    /// Connects to a peer node (on membership `joined`): its call client, and its event publisher
    /// with every topic subscribed here. Idempotent per node id and endpoints.
    public func connect(to node: NodeAddress) async throws {
        guard node.id != nodeID else { return }
        let (known, topics, stale) = state.withLock { s -> (Bool, [[UInt8]], RequestClient?) in
            let previous = s.peers.updateValue(node, forKey: node.id)
            let known = previous == node && s.peerSubscribers[node.id] != nil
            // A restart under the same id on another endpoint: the old DEALER would only time out.
            // (or with another key, e.g. after a key rotation: the old session's server key is wrong).
            let stale = previous.flatMap { $0.clientKey != node.clientKey ? s.clients.removeValue(forKey: $0.clientKey) : nil }
            return (known, Set(s.subscriptions.values.map(\.topicFrame)).sorted { $0.lexicographicallyPrecedes($1) }, stale)
        }
        await stale?.close()
        _ = try await client(for: node)
        guard !known, let events = node.eventEndpoint else { return }
        let sub = try await context.connectSubscriber(events, topics: topics, options: try curveOptions(configuration.subscriberOptions, for: node))
        let replaced = state.withLock { s -> (Subscriber?, Bool) in
            if s.closed { return (nil, true) }
            let old = s.peerSubscribers[node.id]
            s.peerSubscribers[node.id] = sub
            return (old, false)
        }
        if replaced.1 { await sub.close(); return }
        if let old = replaced.0 { await old.close() }
        // Topics subscribed between the snapshot and the insert reach this socket here.
        let now = state.withLock { s in Set(s.subscriptions.values.map(\.topicFrame)) }
        for t in now.subtracting(topics) { try? await sub.subscribe(t) }
        pumpContinuation.yield((node.id, sub))
    }

    /// Forgets a peer (on membership `removed`/down): closes its client, so calls in flight to it
    /// fail at once with `nodeDown` (retried elsewhere if they carry an idempotency key).
    public func disconnect(nodeID id: String) async {
        let (client, sub) = state.withLock { s -> (RequestClient?, Subscriber?) in
            guard let node = s.peers.removeValue(forKey: id) else { return (nil, nil) }
            return (s.clients.removeValue(forKey: node.clientKey), s.peerSubscribers.removeValue(forKey: id))
        }
        await client?.close()
        await sub?.close()
    }
}
