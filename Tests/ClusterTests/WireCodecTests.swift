import Base
import Testing
@testable import Cluster

@Suite struct WireCodecTests {
    let codec = WireCodec()
    let vehicle = ActorIdentity(kind: "vehicle", key: "V-1042", region: "gangnam")

    var samples: [WireMessage] {
        [
            .call(CallMessage(correlation: 1, deadlineMillis: 250, actor: vehicle, target: "VehicleActor.reportPosition",
                              payload: [1, 2, 3])),
            .call(CallMessage(correlation: .max, deadlineMillis: .max, actor: vehicle, target: "VehicleActor.assign",
                              idempotencyKey: .bytes(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210), payload: [])),
            .call(CallMessage(correlation: 7, deadlineMillis: 0, actor: ActorIdentity(kind: "order", key: "주문-7781", region: "songpa"),
                              target: "OrderActor.cancel", idempotencyKey: .text("order-7781:cancel:1"), payload: [0xFF])),
            .reply(correlation: 42, payload: [9, 9, 9]),
            .reply(correlation: 43, payload: []),
            .errorReply(correlation: 44, code: .notOwner, message: "gangnam is owned by node-b (tcp://10.0.0.2:7000)"),
            .errorReply(correlation: 45, code: RemoteErrorCode(rawValue: 999), message: ""),
            .event(EventMessage(correlation: 0, deadlineMillis: 1000, actor: vehicle, target: "VehicleActor.heartbeat",
                                payload: Array(repeating: 7, count: 300))),
            .event(EventMessage(correlation: 5, deadlineMillis: 1000, actor: vehicle, target: "VehicleActor.heartbeat",
                                idempotencyKey: .text("k"), payload: [])),
            .ping(correlation: 100, node: "node-a"),
            .pong(correlation: 100, node: "node-b"),
        ]
    }

    @Test func everyMessageTypeRoundTrips() throws {
        var seenTypes = Set<UInt8>()
        for m in samples {
            let bytes = try codec.encode(m)
            #expect(try codec.decode(bytes) == m)
            seenTypes.insert(m.type.rawValue)
        }
        #expect(seenTypes == Set(MessageType.allCases.map(\.rawValue)))
    }

    @Test func headerLayoutIsAsDocumented() throws {
        let bytes = try codec.encode(.ping(correlation: 0x0102_0304_0506_0708, node: "n"))
        #expect(bytes == [0xDB, 0xC1, 0x00, 0x01, 5, 0, 1, 2, 3, 4, 5, 6, 7, 8, 1, UInt8(ascii: "n")])
    }

    private func expectError(_ bytes: [UInt8], codec: WireCodec? = nil, _ expected: WireError,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: expected, sourceLocation: sourceLocation) { try (codec ?? self.codec).decode(bytes) }
    }

    @Test func emptyInputIsTruncatedAtMagic() {
        expectError([], .truncated(field: "magic", offset: 0, needed: 2, available: 0))
    }

    @Test func badMagicIsRejected() throws {
        var bytes = try codec.encode(.ping(correlation: 1, node: "n"))
        bytes[0] = 0x7B
        expectError(bytes, .badMagic(found: 0x7BC1))
    }

    @Test func otherVersionIsRejected() throws {
        var bytes = try codec.encode(.ping(correlation: 1, node: "n"))
        bytes[3] = 9
        expectError(bytes, .unsupportedVersion(found: 9, supported: ClusterProtocol.version))
    }

    @Test func unknownTypeIsRejected() throws {
        var bytes = try codec.encode(.ping(correlation: 1, node: "n"))
        bytes[4] = 0
        expectError(bytes, .unknownMessageType(0))
        bytes[4] = 200
        expectError(bytes, .unknownMessageType(200))
    }

    @Test func reservedFlagsAreRejected() throws {
        var ping = try codec.encode(.ping(correlation: 1, node: "n"))
        ping[5] = 0x01   // the idempotency flag means nothing on a ping
        expectError(ping, .reservedFlags(0x01))
        var call = try codec.encode(samples[0])
        call[5] = 0x80
        expectError(call, .reservedFlags(0x80))
    }

    @Test func everyPrefixOfEveryMessageIsTruncatedNotACrash() throws {
        for m in samples {
            let bytes = try codec.encode(m)
            for n in 0..<bytes.count {
                do {
                    _ = try codec.decode(Array(bytes[0..<n]))
                    Issue.record("prefix \(n) of \(m.type) decoded")
                } catch {
                    guard case .truncated(_, let offset, let needed, let available) = error else {
                        Issue.record("prefix \(n) of \(m.type): \(error)"); continue
                    }
                    #expect(offset <= n && available < needed)
                }
            }
        }
    }

    @Test func trailingBytesAreRejected() throws {
        let bytes = try codec.encode(.reply(correlation: 1, payload: [1]))
        expectError(bytes + [0, 0], .trailingBytes(count: 2, offset: bytes.count))
    }

    @Test func invalidUTF8IsRejectedWithItsField() throws {
        var bytes = try codec.encode(.ping(correlation: 1, node: "ab"))
        bytes[15] = 0xC3; bytes[16] = 0x28   // a lead byte followed by a non-continuation byte
        expectError(bytes, .invalidUTF8(field: "node id", offset: 15))
    }

    @Test func emptyIdentifiersAreRejectedBothWays() throws {
        let empty = ActorIdentity(kind: "", key: "k", region: "r")
        #expect(throws: WireError.emptyField("actor kind")) {
            try codec.encode(.call(CallMessage(correlation: 1, deadlineMillis: 1, actor: empty, target: "t", payload: [])))
        }
        var bytes = try codec.encode(.ping(correlation: 1, node: "n"))
        bytes.removeLast(); bytes[14] = 0
        expectError(bytes, .emptyField("node id"))
    }

    @Test func oversizedFieldsNameTheLimit() throws {
        let small = WireCodec(limits: WireLimits(maxIdentifierBytes: 8))
        let long = ActorIdentity(kind: "vehicle", key: "V-1042-EXTRA", region: "gangnam")
        #expect(throws: WireError.oversized(field: "actor key", size: 12, limit: 8)) {
            try small.encode(.call(CallMessage(correlation: 1, deadlineMillis: 1, actor: long, target: "t", payload: [])))
        }
        let bytes = try codec.encode(.call(CallMessage(correlation: 1, deadlineMillis: 1, actor: long, target: "t", payload: [])))
        expectError(bytes, codec: small, .oversized(field: "actor key", size: 12, limit: 8))
        #expect(throws: WireError.oversized(field: "node id", size: 256, limit: 255)) {
            try codec.encode(.ping(correlation: 1, node: String(repeating: "x", count: 256)))
        }
        let errorCodec = WireCodec(limits: WireLimits(maxErrorMessageBytes: 4))
        #expect(throws: WireError.oversized(field: "error message", size: 5, limit: 4)) {
            try errorCodec.encode(.errorReply(correlation: 1, code: .handlerFailed, message: "boom!"))
        }
    }

    @Test func messageSizeLimitHoldsBothWays() throws {
        let small = WireCodec(limits: WireLimits(maxMessageBytes: 64))
        let big = WireMessage.reply(correlation: 1, payload: Array(repeating: 0, count: 100))
        #expect(throws: WireError.messageTooLarge(size: 118, limit: 64)) { try small.encode(big) }
        expectError(try codec.encode(big), codec: small, .messageTooLarge(size: 118, limit: 64))
    }

    @Test func payloadLengthBeyondTheFrameIsTruncated() throws {
        var bytes = try codec.encode(.reply(correlation: 1, payload: [1, 2]))
        bytes[17] = 0xFF   // payload length 0x000000FF, two bytes present
        expectError(bytes, .truncated(field: "payload", offset: 18, needed: 255, available: 2))
    }

    @Test func unknownIdempotencyFormIsRejected() throws {
        let m = WireMessage.call(CallMessage(correlation: 1, deadlineMillis: 1, actor: vehicle, target: "t",
                                             idempotencyKey: .text("k"), payload: []))
        var bytes = try codec.encode(m)
        let formOffset = 14 + 4 + (1 + 7) + (1 + 6) + (1 + 7) + (1 + 1)
        #expect(bytes[formOffset] == 2)
        bytes[formOffset] = 3
        expectError(bytes, .unknownIdempotencyKeyForm(3, offset: formOffset))
    }

    /// Thousands of random and mutated frames (seeded): decoding always ends in a message or a
    /// `WireError`, and whatever decodes re-encodes to a frame that decodes to the same message.
    @Test func fuzzedFramesNeverCrashAndDecodedOnesRoundTrip() throws {
        var rng = SplitMix64(seed: 0xDA7B_2026)
        let valid = try samples.map { try codec.encode($0) }
        var decoded = 0, rejected = 0
        for i in 0..<20_000 {
            var frame: [UInt8]
            switch i % 4 {
            case 0:   // pure noise, sometimes with a valid header so the body parser is reached
                frame = (0..<Int.random(in: 0..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if frame.count >= 6 && Bool.random(using: &rng) {
                    frame[0] = 0xDB; frame[1] = 0xC1; frame[2] = 0; frame[3] = 1
                    frame[4] = UInt8.random(in: 1...6, using: &rng); frame[5] = UInt8.random(in: 0...1, using: &rng)
                }
            case 1:   // flip a few bytes of a valid frame
                frame = valid.randomElement(using: &rng)!
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    frame[Int.random(in: 0..<frame.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            case 2:   // cut or extend
                frame = valid.randomElement(using: &rng)!
                if Bool.random(using: &rng) { frame.removeLast(Int.random(in: 0...frame.count, using: &rng)) }
                else { frame += (0..<Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) } }
            default:  // splice two frames
                let a = valid.randomElement(using: &rng)!, b = valid.randomElement(using: &rng)!
                frame = Array(a.prefix(Int.random(in: 0...a.count, using: &rng)) + b.suffix(Int.random(in: 0...b.count, using: &rng)))
            }
            do {
                let m = try codec.decode(frame)
                #expect(try codec.decode(codec.encode(m)) == m)
                decoded += 1
            } catch {
                _ = error.description   // typed WireError, printable
                rejected += 1
            }
        }
        #expect(decoded + rejected == 20_000)
        #expect(decoded > 0 && rejected > 0)
    }
}
