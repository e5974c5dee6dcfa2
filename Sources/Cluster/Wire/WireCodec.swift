/// Fixed constants of the frame layout (Docs/PROTOCOL.md).
public enum WireFormat {
    /// First two bytes of every frame: 0xDB 0xC1 ("DayBreak Cluster").
    public static let magic: UInt16 = 0xDBC1
    /// magic(2) version(2) type(1) flags(1) correlation(8).
    public static let headerSize = 14
    /// Flag bit 0: an idempotency key follows the call target (call and event only).
    static let flagIdempotencyKey: UInt8 = 0x01
    static let idempotencyFormBytes: UInt8 = 1
    static let idempotencyFormText: UInt8 = 2
}

/// Limits a node enforces on frames it encodes and accepts. Bounded everything: an
/// over-limit frame is a typed error, never an allocation of attacker-chosen size.
public struct WireLimits: Sendable, Equatable {
    /// Whole frame, header included.
    public var maxMessageBytes: Int
    /// Each of actor kind, key, region, call target, node id, text idempotency key (≤ 255: one-byte length).
    public var maxIdentifierBytes: Int
    /// Error reply message text (≤ 65535: two-byte length).
    public var maxErrorMessageBytes: Int

    public init(maxMessageBytes: Int = 4 << 20, maxIdentifierBytes: Int = 255, maxErrorMessageBytes: Int = 4096) {
        self.maxMessageBytes = maxMessageBytes
        self.maxIdentifierBytes = min(maxIdentifierBytes, 255)
        self.maxErrorMessageBytes = min(maxErrorMessageBytes, 65535)
    }

    public static let `default` = WireLimits()
}

/// Encodes and decodes `WireMessage` frames. A pure value: no I/O, O(frame size), allocates the output.
public struct WireCodec: Sendable {
    public var limits: WireLimits

    public init(limits: WireLimits = .default) { self.limits = limits }

    // MARK: Encode

    /// The frame for `message`; throws `.oversized` / `.messageTooLarge` / `.emptyField` when it would break the limits
    /// (a peer would reject it anyway, so fail at the sender where the bug is).
    public func encode(_ message: WireMessage) throws(WireError) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.u16(WireFormat.magic)
        w.u16(ClusterProtocol.version)
        w.u8(message.type.rawValue)
        switch message {
        case .call(let c):
            w.u8(c.idempotencyKey == nil ? 0 : WireFormat.flagIdempotencyKey)
            w.u64(c.correlation)
            try writeAddressed(&w, c.deadlineMillis, c.actor, c.target, c.idempotencyKey, c.payload)
        case .event(let e):
            w.u8(e.idempotencyKey == nil ? 0 : WireFormat.flagIdempotencyKey)
            w.u64(e.correlation)
            try writeAddressed(&w, e.deadlineMillis, e.actor, e.target, e.idempotencyKey, e.payload)
        case let .reply(correlation, payload):
            w.u8(0); w.u64(correlation)
            try writePayload(&w, payload)
        case let .errorReply(correlation, code, text):
            w.u8(0); w.u64(correlation)
            w.u16(code.rawValue)
            try w.str16(text, field: "error message", limit: limits.maxErrorMessageBytes)
        case let .ping(correlation, node), let .pong(correlation, node):
            w.u8(0); w.u64(correlation)
            try writeIdentifier(&w, node, "node id")
        }
        guard w.bytes.count <= limits.maxMessageBytes else {
            throw .messageTooLarge(size: w.bytes.count, limit: limits.maxMessageBytes)
        }
        return w.bytes
    }

    private func writeIdentifier(_ w: inout ByteWriter, _ s: String, _ field: String) throws(WireError) {
        guard !s.isEmpty else { throw .emptyField(field) }
        try w.str8(s, field: field, limit: limits.maxIdentifierBytes)
    }

    private func writePayload(_ w: inout ByteWriter, _ payload: [UInt8]) throws(WireError) {
        // Checked before copying so an oversized payload is never written (and never overflows the u32 length).
        let size = w.bytes.count + 4 + payload.count
        guard size <= limits.maxMessageBytes else { throw .messageTooLarge(size: size, limit: limits.maxMessageBytes) }
        w.u32(UInt32(payload.count)); w.raw(payload)
    }

    private func writeAddressed(_ w: inout ByteWriter, _ deadline: UInt32, _ actor: ActorIdentity, _ target: String,
                                _ key: IdempotencyKey?, _ payload: [UInt8]) throws(WireError) {
        w.u32(deadline)
        try writeIdentifier(&w, actor.kind, "actor kind")
        try writeIdentifier(&w, actor.key, "actor key")
        try writeIdentifier(&w, actor.region, "actor region")
        try writeIdentifier(&w, target, "call target")
        switch key {
        case nil: break
        case let .bytes(high, low):
            w.u8(WireFormat.idempotencyFormBytes); w.u64(high); w.u64(low)
        case let .text(s):
            w.u8(WireFormat.idempotencyFormText)
            try writeIdentifier(&w, s, "idempotency key")
        }
        try writePayload(&w, payload)
    }

    // MARK: Decode

    /// The message in `frame`, or the first reason it is not one. Total: never traps, O(frame size).
    public func decode(_ frame: [UInt8]) throws(WireError) -> WireMessage {
        guard frame.count <= limits.maxMessageBytes else {
            throw .messageTooLarge(size: frame.count, limit: limits.maxMessageBytes)
        }
        var r = ByteReader(frame)
        let magic = try r.u16("magic")
        guard magic == WireFormat.magic else { throw .badMagic(found: magic) }
        let version = try r.u16("version")
        guard version == ClusterProtocol.version else {
            throw .unsupportedVersion(found: version, supported: ClusterProtocol.version)
        }
        let rawType = try r.u8("message type")
        guard let type = MessageType(rawValue: rawType) else { throw .unknownMessageType(rawType) }
        let flags = try r.u8("flags")
        let allowed: UInt8 = (type == .call || type == .event) ? WireFormat.flagIdempotencyKey : 0
        guard flags & ~allowed == 0 else { throw .reservedFlags(flags & ~allowed) }
        let correlation = try r.u64("correlation id")

        let message: WireMessage
        switch type {
        case .call, .event:
            let deadline = try r.u32("deadline")
            let actor = ActorIdentity(kind: try readIdentifier(&r, "actor kind"),
                                      key: try readIdentifier(&r, "actor key"),
                                      region: try readIdentifier(&r, "actor region"))
            let target = try readIdentifier(&r, "call target")
            var key: IdempotencyKey?
            if flags & WireFormat.flagIdempotencyKey != 0 {
                let formOffset = r.offset
                switch try r.u8("idempotency key form") {
                case WireFormat.idempotencyFormBytes:
                    key = .bytes(high: try r.u64("idempotency key"), low: try r.u64("idempotency key"))
                case WireFormat.idempotencyFormText:
                    key = .text(try readIdentifier(&r, "idempotency key"))
                case let other:
                    throw .unknownIdempotencyKeyForm(other, offset: formOffset)
                }
            }
            let payload = try readPayload(&r)
            if type == .call {
                message = .call(CallMessage(correlation: correlation, deadlineMillis: deadline, actor: actor,
                                            target: target, idempotencyKey: key, payload: payload))
            } else {
                message = .event(EventMessage(correlation: correlation, deadlineMillis: deadline, actor: actor,
                                              target: target, idempotencyKey: key, payload: payload))
            }
        case .reply:
            message = .reply(correlation: correlation, payload: try readPayload(&r))
        case .errorReply:
            let code = RemoteErrorCode(rawValue: try r.u16("error code"))
            let text = try r.str16("error message", limit: limits.maxErrorMessageBytes)
            message = .errorReply(correlation: correlation, code: code, message: text)
        case .ping:
            message = .ping(correlation: correlation, node: try readIdentifier(&r, "node id"))
        case .pong:
            message = .pong(correlation: correlation, node: try readIdentifier(&r, "node id"))
        }
        guard r.remaining == 0 else { throw .trailingBytes(count: r.remaining, offset: r.offset) }
        return message
    }

    /// Convenience for any byte collection (e.g. `Data` from a socket); copies once.
    public func decode(_ frame: some Collection<UInt8>) throws(WireError) -> WireMessage {
        try decode(Array(frame))
    }

    private func readIdentifier(_ r: inout ByteReader, _ field: String) throws(WireError) -> String {
        let s = try r.str8(field, limit: limits.maxIdentifierBytes)
        guard !s.isEmpty else { throw .emptyField(field) }
        return s
    }

    private func readPayload(_ r: inout ByteReader) throws(WireError) -> [UInt8] {
        let n = Int(try r.u32("payload length"))
        // The frame-size check already bounds n; reading checks truncation before allocating.
        return Array(try r.raw(n, "payload"))
    }
}
