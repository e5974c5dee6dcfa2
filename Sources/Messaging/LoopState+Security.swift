import CZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// The ZAP handler, socket monitors, peer identities, rate-limited warnings and slow subscribers:
/// I/O thread only, like everything in `LoopState`.
extension LoopState {
    // MARK: - Warnings

    /// Logs a warning at most once per 10 s per `key` (a peer), with the number suppressed since.
    func warn(_ key: String, _ message: @autoclosure () -> String,
              _ fields: @autoclosure () -> KeyValuePairs<String, any CustomStringConvertible> = [:]) {
        guard logger.isEnabled(.warning) else { return }
        guard let suppressed = warnings.admit(key, now: monotonicNanos()) else { return }
        let text = suppressed > 0 ? "\(message()) (\(suppressed) more like it suppressed)" : message()
        logger.warning(text, fields())
    }

    // MARK: - ZAP (RFC 27)

    /// The ZAP domain set on a CURVE server socket: its id, then the caller's domain.
    func zapDomain(socket id: Int, _ domain: String) -> String { "\(id)|\(domain)" }

    /// (socket id, caller's domain) from a ZAP request's domain; nil id for foreign domains.
    func splitZAPDomain(_ raw: String) -> (Int?, String) {
        guard let bar = raw.firstIndex(of: "|"), let id = Int(raw[..<bar]) else { return (nil, raw) }
        return (id, String(raw[raw.index(after: bar)...]))
    }

    /// Binds the context's ZAP handler if it is not bound yet. Runs before the first CURVE server
    /// binds (RFC 27: the handler must exist when a handshake asks for it).
    func openZAPHandler() -> MessagingError? {
        if zap != nil { return nil }
        guard let z = zmq_socket(ctx, ZMQ_ROUTER) else {
            return .fromErrno(.socketError, "zmq_socket(ZAP handler)", daybreak_errno())
        }
        var zero: Int32 = 0
        zmq_setsockopt(z, ZMQ_LINGER, &zero, 4)
        if zmq_bind(z, "inproc://zeromq.zap.01") != 0 {
            let e = daybreak_errno()
            zmq_close(z)
            return .fromErrno(.bindFailed, "bind the ZAP handler 'inproc://zeromq.zap.01' (another handler in this context?)", e)
        }
        zap = z
        logger.debug("ZAP handler bound")
        return nil
    }

    /// Answers the ZAP requests waiting (each: one authority call and one reply, never blocking).
    func serveZAP() {
        guard let z = zap else { return }
        var handled = 0
        while handled < 1_024, receiveFrame(z) {
            handled += 1
            var parts = [frameBytes()]
            while frameMore {
                guard receiveFrame(z) else { break }
                if parts.count < 16 { parts.append(frameBytes()) }
            }
            answerZAP(z, parts)
        }
    }

    /// Request (as a ROUTER sees it): routing id, empty delimiter, "1.0", request id, domain,
    /// address, identity, mechanism, credentials. Reply: routing id, empty, "1.0", request id,
    /// status code, status text, user id, metadata.
    private func answerZAP(_ z: UnsafeMutableRawPointer, _ parts: [[UInt8]]) {
        guard parts.count >= 8, parts[1].isEmpty else {
            logger.warning("malformed ZAP request dropped", ["frames": parts.count])
            return
        }
        func reply(_ status: String, _ text: String, _ user: String, _ metadata: [UInt8]) {
            let frames: [[UInt8]] = [parts[0], [], Array("1.0".utf8), parts[3], Array(status.utf8), Array(text.utf8),
                                     Array(user.utf8), metadata]
            for (i, f) in frames.enumerated() {
                let flags = ZMQ_DONTWAIT | (i < frames.count - 1 ? ZMQ_SNDMORE : 0)
                if f.withUnsafeBytes({ zmq_send(z, $0.baseAddress, $0.count, flags) }) < 0 {
                    // The handshake then times out (ZMQ_HANDSHAKE_IVL): closed, never open.
                    logger.warning("ZAP reply not sent", ["errno": daybreak_errno(), "status": status])
                    return
                }
            }
        }
        guard parts[2] == Array("1.0".utf8) else {
            reply("500", "ZAP version not supported", "", [])
            return
        }
        let (sid, domain) = splitZAPDomain(String(decoding: parts[4], as: UTF8.self))
        let address = String(decoding: parts[5], as: UTF8.self)
        let mechanism = String(decoding: parts[7], as: UTF8.self)
        let s = sid.flatMap { sockets[$0] }
        guard mechanism == "CURVE", parts.count == 9, parts[8].count == 32 else {
            s?.shared.curveRefused.wrappingAdd(1, ordering: .relaxed)
            warn("zap|\(address)", "refused a connection: only CURVE is accepted",
                 ["address": address, "mechanism": mechanism, "endpoint": s?.endpoint ?? "?"])
            reply("400", "CURVE only", "", [])
            return
        }
        let key = parts[8].withUnsafeBytes { Z85.encodeKey($0) }
        guard let identity = authority?.authenticate(publicKey: key, domain: domain, address: address) else {
            s?.shared.curveRefused.wrappingAdd(1, ordering: .relaxed)
            warn("zap|\(address)", "refused a CURVE client: its key is not accepted",
                 ["address": address, "key": key, "domain": domain, "endpoint": s?.endpoint ?? "?",
                  "authority": authority == nil ? "none" : "refused"])
            reply("400", "key not accepted", "", [])
            return
        }
        // Always both properties (the role even when empty): ZAP metadata takes precedence over a
        // property of the same name that a client might put in its own handshake metadata.
        var meta: [UInt8] = []
        appendProperty(&meta, "X-Daybreak-Key", Array(key.utf8))
        appendProperty(&meta, "X-Daybreak-Role", Array((identity.role ?? "").utf8))
        reply("200", "OK", identity.userID, meta)
    }

    /// ZMTP property: name length (1 byte), name, value length (4 bytes, big-endian), value.
    private func appendProperty(_ out: inout [UInt8], _ name: String, _ value: [UInt8]) {
        out.append(UInt8(name.utf8.count))
        out.append(contentsOf: name.utf8)
        let n = UInt32(value.count)
        out.append(contentsOf: [UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)])
        out.append(contentsOf: value)
    }

    // MARK: - Identities of received messages

    /// The authenticated peer of the message whose frame is in `msg` (ZAP metadata: User-Id,
    /// X-Daybreak-Key, X-Daybreak-Role, Peer-Address), cached per routing id; nil if the message
    /// carries no identity from this context's ZAP handler.
    func currentPeer(_ s: SocketState, routingID rid: [UInt8]) -> PeerIdentity? {
        guard let user = zmq_msg_gets(msg, "User-Id"), let key = zmq_msg_gets(msg, "X-Daybreak-Key") else { return nil }
        let role = zmq_msg_gets(msg, "X-Daybreak-Role")
        let address = zmq_msg_gets(msg, "Peer-Address")
        if let c = s.peerCache[rid], same(c.userID, user), same(c.publicKey, key),
           same(c.role ?? "", role), same(c.address, address) {
            return c
        }
        let roleText = role.map { String(cString: $0) } ?? ""
        let p = PeerIdentity(userID: String(cString: user), role: roleText.isEmpty ? nil : roleText,
                             publicKey: String(cString: key), address: address.map { String(cString: $0) } ?? "")
        if s.peerCache.count >= 4_096 { s.peerCache.removeAll(keepingCapacity: true) }
        s.peerCache[rid] = p
        return p
    }

    @inline(__always)
    private func same(_ a: String, _ b: UnsafePointer<CChar>?) -> Bool {
        guard let b else { return a.isEmpty }
        var a = a
        return a.withUTF8 { u in
            let n = u.count
            guard n > 0, let base = u.baseAddress else { return b[0] == 0 }
            return strncmp(b, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), n) == 0 && b[n] == 0
        }
    }

    /// Whether the authority still accepts `p`'s key as the same user (revocation check).
    func stillAccepted(_ p: PeerIdentity, domain: String) -> Bool {
        authority?.authenticate(publicKey: p.publicKey, domain: domain, address: p.address)?.userID == p.userID
    }

    /// The current message's Peer-Address (any mechanism), or "?".
    func currentAddress() -> String {
        zmq_msg_gets(msg, "Peer-Address").map { String(cString: $0) } ?? "?"
    }

    // MARK: - Monitors

    /// Starts libzmq's monitor of `h` and connects a PAIR to it (before `h` binds).
    func openMonitor(_ h: UnsafeMutableRawPointer, socket id: Int) -> Result<UnsafeMutableRawPointer, MessagingError> {
        let endpoint = "inproc://daybreak.monitor.\(id)"
        let events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
            | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
        if zmq_socket_monitor(h, endpoint, events) != 0 {
            return .failure(.fromErrno(.socketError, "zmq_socket_monitor", daybreak_errno()))
        }
        guard let m = zmq_socket(ctx, ZMQ_PAIR) else {
            return .failure(.fromErrno(.socketError, "zmq_socket(monitor)", daybreak_errno()))
        }
        var zero: Int32 = 0
        zmq_setsockopt(m, ZMQ_LINGER, &zero, 4)
        if zmq_connect(m, endpoint) != 0 {
            let e = daybreak_errno()
            zmq_close(m)
            return .failure(.fromErrno(.socketError, "connect monitor", e))
        }
        return .success(m)
    }

    /// Puts the monitor drain in the timer heap while any socket has a monitor.
    func scheduleMonitorDrain(_ now: UInt64) {
        guard !monitorDrainScheduled, order.contains(where: { $0.monitor != nil }) else { return }
        monitorDrainScheduled = true
        timers.push(.init(deadline: now &+ LoopState.monitorDrainInterval, socket: LoopState.monitorDrainSocket, id: 0))
    }

    /// Monitor events: [event: UInt16, value: Int32] (host order), then the endpoint.
    func readMonitor(_ s: SocketState) {
        guard let m = s.monitor else { return }
        var n = 0
        while n < 1_024, receiveFrame(m) {
            n += 1
            guard zmq_msg_size(msg) == 6, frameMore else { skipRest(m); continue }
            let data = UnsafeRawPointer(zmq_msg_data(msg)!)
            let event = data.loadUnaligned(as: UInt16.self)
            let value = data.loadUnaligned(fromByteOffset: 2, as: Int32.self)
            skipRest(m)
            monitorEvent(s, event: event, value: value)
        }
    }

    private func monitorEvent(_ s: SocketState, event: UInt16, value: Int32) {
        switch Int32(event) {
        case ZMQ_EVENT_ACCEPTED:
            var buf = [CChar](repeating: 0, count: 96)
            // A connection that failed at once may be closed before this event is read.
            let address = daybreak_peer_name(value, &buf, buf.count) == 0
                ? buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } : "unknown"
            // A descriptor is reused after close: the new connection replaces the old entry.
            s.connections[value] = PeerConnection(address: address)
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            // libzmq reports the failure, then DISCONNECTED with the descriptor (same engine, in
            // that order): the address comes with the next DISCONNECTED.
            if Int32(event) != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH {
                // AUTH failures are the ZAP handler's refusals, counted and logged there.
                s.shared.handshakeFailures.wrappingAdd(1, ordering: .relaxed)
            }
            s.pendingHandshakeFailure = (event, value)
        case ZMQ_EVENT_DISCONNECTED:
            let c = s.connections.removeValue(forKey: value)
            if let f = s.pendingHandshakeFailure {
                s.pendingHandshakeFailure = nil
                if Int32(f.event) != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH {
                    let address = c?.address ?? "unknown"
                    let host = address.split(separator: ":").first.map(String.init) ?? address
                    let why = Int32(f.event) == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                        ? "protocol error 0x\(String(UInt32(bitPattern: f.value), radix: 16))"
                        : String(cString: zmq_strerror(f.value))
                    warn("handshake|\(host)", "handshake failed (a client without CURVE, a wrong server key or another protocol)",
                         ["address": address, "reason": why, "endpoint": s.endpoint])
                }
            }
            if let c, c.behindSince != nil {
                reportBehind(s, c, ended: "disconnected")
                s.behindCount = s.connections.values.filter { $0.behindSince != nil }.count
            }
        default:
            break
        }
    }

    // MARK: - Slow subscribers

    /// A subscriber queue stayed full for the grace period and the publisher sent past it: find
    /// which connections are behind (their kernel send queue is full) and start counting for them.
    func fellBehind(_ s: SocketState, blockedFor: UInt64, now: UInt64) {
        s.shared.slowSubscriberEpisodes.wrappingAdd(1, ordering: .relaxed)
        readMonitor(s)  // the connections as of now
        var found = 0
        for (fd, var c) in s.connections {
            let queued = daybreak_send_queue(fd), buffer = daybreak_send_buffer(fd)
            guard queued > 0, buffer > 0, queued * 4 >= buffer else { continue }
            found += 1
            if c.behindSince == nil {
                c.behindSince = now
                c.dropped = 0
                c.lastReport = now
                s.behindCount += 1
                let host = c.address.split(separator: ":").first.map(String.init) ?? c.address
                warn("slow|\(host)", "subscriber at \(c.address) fell behind: its queue stayed full for \(blockedFor / 1_000_000) ms; dropping events for it until it catches up",
                     ["peer": c.address, "endpoint": s.endpoint, "queued_bytes": queued])
            }
            c.dropped += 1
            s.connections[fd] = c
        }
        s.shared.eventsDroppedForSlow.wrappingAdd(max(found, 1), ordering: .relaxed)
        if found == 0 {
            warn("slow|?", "a subscriber fell behind (address unknown): events are dropped for it",
                 ["endpoint": s.endpoint])
        }
        scheduleProbe(s, now)
    }

    /// Counts `sent` messages published while subscribers are behind as dropped for each of them.
    func countDroppedForBehind(_ s: SocketState, sent: Int) {
        guard sent > 0, s.behindCount > 0 else { return }
        for (fd, var c) in s.connections where c.behindSince != nil {
            c.dropped += sent
            s.connections[fd] = c
        }
        s.shared.eventsDroppedForSlow.wrappingAdd(sent * s.behindCount, ordering: .relaxed)
    }

    private func scheduleProbe(_ s: SocketState, _ now: UInt64) {
        guard s.behindCount > 0, !s.probeScheduled else { return }
        s.probeScheduled = true
        timers.push(.init(deadline: now &+ 250_000_000, socket: s.shared.id, id: SocketState.probeTimer))
    }

    /// Every 250 ms while subscribers are behind: who has caught up (send queue drained), and a
    /// line every 10 s for who has not.
    func probeBehind(_ s: SocketState, _ now: UInt64) {
        for (fd, var c) in s.connections where c.behindSince != nil {
            let queued = daybreak_send_queue(fd), buffer = daybreak_send_buffer(fd)
            if queued >= 0, buffer > 0, queued * 8 < buffer {
                reportBehind(s, c, ended: "caught up")
                c.behindSince = nil
                c.dropped = 0
                s.connections[fd] = c
            } else if now &- c.lastReport >= 10_000_000_000 {
                logger.warning("subscriber at \(c.address) fell behind: \(c.dropped) events dropped",
                               ["peer": c.address, "endpoint": s.endpoint, "dropped": c.dropped, "state": "still behind"])
                c.lastReport = now
                s.connections[fd] = c
            }
        }
        s.behindCount = s.connections.values.filter { $0.behindSince != nil }.count
        scheduleProbe(s, now)
    }

    /// The last line of an episode (caught up, disconnected, closed).
    func reportBehind(_ s: SocketState, _ c: PeerConnection, ended: String) {
        let host = c.address.split(separator: ":").first.map(String.init) ?? c.address
        warn("slow-end|\(host)", "subscriber at \(c.address) fell behind: \(c.dropped) events dropped",
             ["peer": c.address, "endpoint": s.endpoint, "dropped": c.dropped, "state": ended])
    }
}
