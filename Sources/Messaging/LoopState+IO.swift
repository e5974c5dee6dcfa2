import CZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// Sending and receiving frames: I/O thread only. Every call is non-blocking (ZMQ_DONTWAIT).
extension LoopState {
    enum SendOutcome { case sent, wouldBlock, failed(Int32) }

    // MARK: - Sending

    /// Sends one frame; 0 or the errno.
    @inline(__always)
    private func sendFrame(_ h: UnsafeMutableRawPointer, _ bytes: [UInt8], more: Bool) -> Int32 {
        let flags = ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)
        while true {
            let rc = bytes.withUnsafeBytes { zmq_send(h, $0.baseAddress, $0.count, flags) }
            if rc >= 0 { return 0 }
            let e = daybreak_errno()
            if e != EINTR { return e }
        }
    }

    @inline(__always)
    private func sendHeader(_ h: UnsafeMutableRawPointer, _ id: UInt64) -> Int32 {
        var le = id.littleEndian
        while true {
            let rc = withUnsafeBytes(of: &le) { zmq_send(h, $0.baseAddress, 8, ZMQ_DONTWAIT | ZMQ_SNDMORE) }
            if rc >= 0 { return 0 }
            let e = daybreak_errno()
            if e != EINTR { return e }
        }
    }

    /// Sends the frames of `m`; the first may be refused (EAGAIN), later ones follow atomically.
    @inline(__always)
    private func sendBody(_ h: UnsafeMutableRawPointer, _ m: Message) -> Int32 {
        var r = sendFrame(h, m.first, more: !m.rest.isEmpty)
        if r != 0 { return r }
        let last = m.rest.count - 1
        for (i, f) in m.rest.enumerated() {
            r = sendFrame(h, f, more: i != last)
            if r != 0 { return r }
        }
        return 0
    }

    func trySend(_ s: SocketState, _ item: Outgoing) -> SendOutcome {
        let h = s.handle
        switch item {
        case .plain(let m):
            let r = sendBody(h, m)
            return r == 0 ? .sent : (r == EAGAIN ? .wouldBlock : .failed(r))
        case .request(let id, let m):
            let r = sendHeader(h, id)
            if r == EAGAIN { return .wouldBlock }
            if r != 0 { return .failed(r) }
            let r2 = sendBody(h, m)
            return r2 == 0 ? .sent : .failed(r2)
        case .reply(let a, let m):
            let r = sendFrame(h, a.routingID, more: true)
            if r == EAGAIN { return .wouldBlock }
            if r != 0 { return .failed(r) }
            let r2 = sendHeader(h, a.correlationID)
            if r2 != 0 { return .failed(r2) }
            let r3 = sendBody(h, m)
            return r3 == 0 ? .sent : .failed(r3)
        }
    }

    /// Hands the outbox to libzmq until it is empty or libzmq would block.
    func flush(_ s: SocketState) {
        var done = 0
        var published = 0
        s.retryBlocked = false
        if s.parkedCount > 0 { done += flushParked(s) }
        while s.outboxHead < s.outbox.count {
            let item = s.outbox[s.outboxHead]
            if case .request(let id, _) = item, s.pending[id] == nil {
                // Timed out or cancelled while waiting in the outbox: nobody wants the reply.
                s.outboxHead += 1
                done += 1
                continue
            }
            if s.parkedCount > 0, case .reply(let a, _) = item, s.parked[a.routingID] != nil {
                // Keep per-peer order: behind that peer's parked replies.
                s.parked[a.routingID]!.append(item)
                s.parkedCount += 1
                s.outboxHead += 1
                continue
            }
            var outcome = trySend(s, item)
            if case .wouldBlock = outcome, let grace = s.dropGrace {
                // `.drop` publisher: a subscriber queue is full. Wait (retrying every 1 ms) for at
                // most the grace period, which absorbs bursts; then send past it.
                let now = monotonicNanos()
                let since = s.blockedSince ?? now
                if now &- since >= grace {
                    outcome = withDropping(s) { trySend(s, item) }
                    s.blockedSince = nil
                    fellBehind(s, blockedFor: now &- since, now: now)
                    published -= 1  // counted by fellBehind
                } else {
                    s.blockedSince = since
                }
            }
            if case .wouldBlock = outcome, case .reply(let a, _) = item {
                // ROUTER_MANDATORY: this one peer is at its high-water mark. Park its reply and
                // go on with the others; parked replies are retried on the 1 ms timer.
                s.parked[a.routingID] = [item]
                s.parkedCount += 1
                s.outboxHead += 1
                s.retryBlocked = true
                continue
            }
            if case .wouldBlock = outcome {
                // DEALER reports POLLOUT truthfully; ROUTER and XPUB report it always, so
                // polling for it would spin: retry those on a 1 ms timer instead.
                if s.shared.kind != .client { s.retryBlocked = true }
                break
            }
            s.outboxHead += 1
            done += 1
            published += 1
            s.blockedSince = nil
            if case .failed(let e) = outcome { sendFailed(s, item, e) }
        }
        if s.behindCount > 0 { countDroppedForBehind(s, sent: published) }
        s.shared.releaseOutbox(done)
        if s.outboxHead == s.outbox.count {
            s.outbox.removeAll(keepingCapacity: s.outbox.count <= 4_096)
            s.outboxHead = 0
        } else if s.outboxHead > 4_096 && s.outboxHead * 2 > s.outbox.count {
            s.outbox.removeFirst(s.outboxHead)
            s.outboxHead = 0
        }
    }

    /// Runs `body` (a send on an XPUB) with ZMQ_XPUB_NODROP off: libzmq then drops the message for
    /// subscribers whose queue is full (and deactivates them until they drain half of it) instead
    /// of refusing it for everyone. In-memory option changes, no system calls.
    private func withDropping(_ s: SocketState, _ body: () -> SendOutcome) -> SendOutcome {
        var off: Int32 = 0, on: Int32 = 1
        zmq_setsockopt(s.handle, ZMQ_XPUB_NODROP, &off, 4)
        let r = body()
        zmq_setsockopt(s.handle, ZMQ_XPUB_NODROP, &on, 4)
        return r
    }

    /// Retries parked replies, each peer in order until it blocks again. Returns how many left.
    private func flushParked(_ s: SocketState) -> Int {
        var done = 0
        for (rid, queue) in s.parked {
            var sent = 0
            for item in queue {
                let outcome = trySend(s, item)
                if case .wouldBlock = outcome { break }
                sent += 1
                if case .failed(let e) = outcome { sendFailed(s, item, e) }
            }
            if sent == queue.count {
                s.parked[rid] = nil
            } else if sent > 0 {
                s.parked[rid]!.removeFirst(sent)
            }
            done += sent
        }
        s.parkedCount -= done
        if s.parkedCount > 0 { s.retryBlocked = true }
        return done
    }

    private func sendFailed(_ s: SocketState, _ item: Outgoing, _ e: Int32) {
        switch item {
        case .request(let id, _):
            s.pending.removeValue(forKey: id)?.resume(
                returning: .failure(.fromErrno(.socketError, "send request", e)))
        case .reply:
            // EHOSTUNREACH: the requester disconnected; its own deadline covers it.
            s.shared.undeliverable.wrappingAdd(1, ordering: .relaxed)
            logger.debug("reply undeliverable", ["errno": e])
        case .plain:
            logger.warning("send failed", ["errno": e])
        }
    }

    // MARK: - Receiving

    /// Receives the next frame into `msg`; false when nothing is ready.
    @inline(__always)
    func receiveFrame(_ h: UnsafeMutableRawPointer) -> Bool {
        while true {
            if zmq_msg_recv(msg, h, ZMQ_DONTWAIT) >= 0 { return true }
            let e = daybreak_errno()
            if e == EINTR { continue }
            if e != EAGAIN { logger.warning("zmq_msg_recv failed", ["errno": e]) }
            return false
        }
    }

    @inline(__always)
    var frameMore: Bool { zmq_msg_more(msg) != 0 }

    @inline(__always)
    func frameBytes() -> [UInt8] {
        let n = zmq_msg_size(msg)
        if n == 0 { return [] }
        let src = zmq_msg_data(msg)!
        return [UInt8](unsafeUninitializedCapacity: n) { buf, count in
            memcpy(buf.baseAddress!, src, n)
            count = n
        }
    }

    /// The correlation id if the current frame is a well-formed header.
    @inline(__always)
    private func frameHeader() -> UInt64? {
        guard zmq_msg_size(msg) == 8 else { return nil }
        return UInt64(littleEndian: zmq_msg_data(msg)!.loadUnaligned(as: UInt64.self))
    }

    /// Reads the frames after the current one (which had MORE set) into a Message.
    @inline(__always)
    private func receiveBody(_ h: UnsafeMutableRawPointer) -> Message? {
        guard receiveFrame(h) else { return nil }
        let first = frameBytes()
        var rest: [[UInt8]] = []
        while frameMore {
            guard receiveFrame(h) else { return nil }
            rest.append(frameBytes())
        }
        return Message(first: first, rest: rest)
    }

    /// Discards the remaining frames of a message.
    func skipRest(_ h: UnsafeMutableRawPointer) {
        while frameMore { if !receiveFrame(h) { return } }
    }

    /// Counts a malformed message and logs it at warning (at most one line per peer per 10 s),
    /// naming the peer's identity (CURVE) and address. Reads metadata from the current frame.
    private func malformed(_ s: SocketState, _ why: @autoclosure () -> String, peer: PeerIdentity? = nil) {
        s.shared.malformed.wrappingAdd(1, ordering: .relaxed)
        guard logger.isEnabled(.warning) else { return }
        let address = peer?.address ?? currentAddress()
        let user = peer?.userID ?? "-"
        warn("malformed|\(s.shared.id)|\(user)@\(address)", "dropped a malformed message",
             ["why": why(), "peer": user, "address": address, "endpoint": s.endpoint])
    }

    /// Reads what the socket has (up to maxBatch messages) and delivers it.
    func readable(_ s: SocketState) {
        let h = s.handle
        let limit = s.shared.options.maxBatch
        switch s.shared.kind {
        case .client:
            var n = 0
            var pushes: [Message] = []
            var pushBytes = 0
            while n < limit, receiveFrame(h) {
                n += 1
                guard let id = frameHeader(), frameMore else {
                    skipRest(h)
                    malformed(s, "reply without an 8-byte header and a body")
                    continue
                }
                guard let body = receiveBody(h) else { continue }
                if let k = s.pending.removeValue(forKey: id) {
                    k.resume(returning: .success(body))
                } else if id == 0, s.messages != nil {
                    pushBytes += body.first.count
                    pushes.append(body)
                } else {
                    s.shared.unmatchedReplies.wrappingAdd(1, ordering: .relaxed)
                }
            }
            if let ch = s.messages, !pushes.isEmpty, ch.push(pushes, bytes: pushBytes) { s.readPaused = true }
        case .server:
            var batch: [IncomingRequest] = []
            var bytes = 0
            var now: UInt64 = 0
            let curve = s.curve
            let byteCap = s.receiveByteCap
            while batch.count < limit, bytes < byteCap, receiveFrame(h) {
                let rid = frameBytes()
                guard frameMore, receiveFrame(h) else { malformed(s, "request without a header"); continue }
                // Metadata is read from this frame, not the routing id before it: libzmq 4.3.4's
                // ROUTER builds the routing-id frame without the message's metadata when zmq_poll
                // prefetched the message (ZMQ_EVENTS), which is the first message of every wake.
                var peer: PeerIdentity? = nil
                if let curve {
                    // Every message on a CURVE server carries its connection's ZAP metadata; one
                    // without it did not pass this context's handler (cannot happen; fail closed).
                    guard let p = currentPeer(s, routingID: rid) else {
                        skipRest(h)
                        malformed(s, "no authenticated identity on a CURVE server")
                        continue
                    }
                    if curve.recheckEachMessage && !stillAccepted(p, domain: curve.domain) {
                        skipRest(h)
                        s.shared.revokedDropped.wrappingAdd(1, ordering: .relaxed)
                        warn("revoked|\(s.shared.id)|\(p.userID)@\(p.address)",
                             "dropped a message from a key the authority no longer accepts (revoked after it connected)",
                             ["peer": p.userID, "address": p.address, "key": p.publicKey, "endpoint": s.endpoint])
                        continue
                    }
                    peer = p
                }
                if s.buckets != nil {
                    if now == 0 { now = monotonicNanos() }
                    if !s.buckets!.take(rid, now: now) {
                        skipRest(h)
                        s.shared.rateLimited.wrappingAdd(1, ordering: .relaxed)
                        let address = peer?.address ?? currentAddress()
                        warn("rate|\(s.shared.id)|\(peer?.userID ?? "-")@\(address)", "dropped requests over the peer's rate limit",
                             ["peer": peer?.userID ?? "-", "address": address, "endpoint": s.endpoint])
                        continue
                    }
                }
                guard let id = frameHeader(), frameMore else {
                    skipRest(h)
                    malformed(s, "request without an 8-byte header and a body", peer: peer)
                    continue
                }
                guard let body = receiveBody(h) else { continue }
                bytes &+= body.byteCount
                batch.append(IncomingRequest(replyAddress: ReplyAddress(routingID: rid, correlationID: id),
                                             message: body, peer: peer))
            }
            if let ch = s.requests, ch.push(batch, bytes: bytes) { s.readPaused = true }
        case .subscriber:
            var batch: [Message] = []
            var bytes = 0
            let byteCap = s.receiveByteCap
            while batch.count < limit, bytes < byteCap, receiveFrame(h) {
                let first = frameBytes()
                bytes &+= first.count
                var rest: [[UInt8]] = []
                var complete = true
                while frameMore {
                    guard receiveFrame(h) else { complete = false; break }
                    let f = frameBytes()
                    bytes &+= f.count
                    rest.append(f)
                }
                if complete { batch.append(Message(first: first, rest: rest)) }
            }
            if let ch = s.messages, ch.push(batch, bytes: bytes) { s.readPaused = true }
        case .publisher:
            var n = 0
            while n < limit, receiveFrame(h) {
                n += 1
                let frame = frameBytes()
                skipRest(h)
                guard let kind = frame.first, kind <= 1 else { continue }  // user message on XPUB: ignore
                let topic = Array(frame.dropFirst())
                if kind == 1 {
                    s.subscriptions[topic, default: 0] += 1
                    s.activeSubscriptions += 1
                } else if let c = s.subscriptions[topic], c > 0 {
                    s.subscriptions[topic] = c - 1
                    s.activeSubscriptions -= 1
                }
            }
            if !s.subscriberWaiters.isEmpty {
                for (id, w) in s.subscriberWaiters where subscribersSatisfied(s, count: w.count, topic: w.topic) {
                    s.subscriberWaiters[id] = nil
                    w.c.resume(returning: .success(()))
                }
            }
        }
    }

    func subscriptionCount(_ s: SocketState, topic: [UInt8]?) -> Int {
        if let t = topic { return s.subscriptions[t] ?? 0 }
        return s.activeSubscriptions
    }

    func subscribersSatisfied(_ s: SocketState, count: Int, topic: [UInt8]?) -> Bool {
        subscriptionCount(s, topic: topic) >= count
    }
}
