import Testing
import Foundation
import Base
@testable import Messaging

@Suite struct CurveKeyTests {
    @Test func generatedPairsAreZ85AndThePublicKeyDerivesFromTheSecret() throws {
        let a = try CurveKeyPair.generate()
        let b = try CurveKeyPair.generate()
        #expect(a.publicKey.utf8.count == 40 && a.secretKey.utf8.count == 40)
        #expect(a != b)
        #expect(try CurveKeyPair.publicKey(fromSecret: a.secretKey) == a.publicKey)
        #expect(try CurveKeyPair(secretKey: a.secretKey) == a)
        #expect(try CurveKeyPair(publicKey: a.publicKey, secretKey: a.secretKey) == a)
        try CurveKeyPair.validate(a.publicKey)
        // The secret never shows in descriptions.
        #expect(!"\(a)".contains(a.secretKey))
        #expect(!String(reflecting: a).contains(a.secretKey))
        var o = SocketOptions()
        o.curveServer = try CurveServer(keyPair: a)
        #expect(!"\(o)".contains(a.secretKey))
        o.curveServer = nil
        o.curveClient = try CurveClient(serverPublicKey: b.publicKey, keyPair: a)
        #expect(!"\(o)".contains(a.secretKey))
        #expect(!String(reflecting: o).contains(a.secretKey))
    }

    @Test func badKeysGetTypedErrorsNamingWhichKeyAndNeverItsCharacters() throws {
        let a = try CurveKeyPair.generate()
        let b = try CurveKeyPair.generate()
        func code(_ body: () throws -> Void) -> MessagingError? {
            do {
                try body()
                return nil
            } catch let e as MessagingError {
                return e
            } catch {
                Issue.record("unexpected error \(error)")
                return nil
            }
        }
        let short = code { try CurveKeyPair.validate("abc", named: "server public key") }
        #expect(short?.code == .invalidKey)
        #expect(short?.message.contains("server public key") == true)
        #expect(short?.message.contains("40 characters") == true)

        var chars = Array(a.secretKey)
        chars[12] = " "
        let spaced = String(chars)
        let bad = code { _ = try CurveKeyPair(secretKey: spaced) }
        #expect(bad?.code == .invalidKey)
        #expect(bad?.message.contains("offset 12") == true)
        #expect(bad?.message.contains(String(chars[0..<12])) == false)

        let mismatch = code { _ = try CurveKeyPair(publicKey: b.publicKey, secretKey: a.secretKey) }
        #expect(mismatch?.code == .invalidKey)
        #expect(mismatch?.message.contains("does not belong") == true)

        // "#" five times decodes past 2^32: valid characters, invalid value.
        let overflow = code { try CurveKeyPair.validate(String(repeating: "#", count: 40)) }
        #expect(overflow?.code == .invalidKey)

        #expect(code { _ = try CurveClient(serverPublicKey: "nope", keyPair: a) }?.code == .invalidKey)
        #expect(code { _ = try CurveIdentity(userID: "") }?.code == .invalidArgument)
        #expect(code { _ = try CurveIdentity(userID: "a\u{0}b") }?.code == .invalidArgument)
        #expect(code { _ = try CurveServer(keyPair: a, domain: String(repeating: "d", count: 201)) }?.code == .invalidArgument)
        #expect(code { _ = try CurveKeyTable(["not a key": CurveIdentity(userID: "x")]) }?.code == .invalidKey)
    }

    @Test func aSecretKeyFileIsOwnerOnlyAndReadsBack() throws {
        let dir = NSTemporaryDirectory() + "daybreak-keys-\(UInt64.random(in: 0..<UInt64.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pair = try CurveKeyPair.generate()
        let path = dir + "/node.key"
        try CurveKeyFile.writeSecret(pair, to: path)
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        #expect(try CurveKeyFile.readSecret(from: path) == pair)
        // No temporary files left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["node.key"])

        // Never replaced by accident; replaced on request.
        let other = try CurveKeyPair.generate()
        do throws(MessagingError) {
            try CurveKeyFile.writeSecret(other, to: path)
            Issue.record("overwrote an existing key file")
        } catch {
            #expect(error.code == .keyFile)
            #expect(error.message.contains("already exists"))
        }
        try CurveKeyFile.writeSecret(other, to: path, overwrite: true)
        #expect(try CurveKeyFile.readSecret(from: path) == other)

        // Readable by the group: refused, with the mode and the fix.
        chmod(path, 0o640)
        do throws(MessagingError) {
            _ = try CurveKeyFile.readSecret(from: path)
            Issue.record("read a group-readable secret key file")
        } catch {
            #expect(error.code == .insecureKeyFile)
            #expect(error.message.contains("0640"))
            #expect(error.message.contains("chmod 600"))
            #expect(error.message.contains(path))
            #expect(!error.message.contains(other.secretKey))
        }
        chmod(path, 0o604)
        #expect(throws: MessagingError.self) { try CurveKeyFile.readSecret(from: path) }

        // Missing and garbled files.
        do throws(MessagingError) {
            _ = try CurveKeyFile.readSecret(from: dir + "/missing.key")
            Issue.record("read a missing file")
        } catch {
            #expect(error.code == .keyFile)
            #expect(error.errno == ENOENT)
        }
        let garbled = dir + "/garbled.key"
        _ = FileManager.default.createFile(atPath: garbled, contents: Data("not a key\n".utf8), attributes: [.posixPermissions: 0o600])
        do throws(MessagingError) {
            _ = try CurveKeyFile.readSecret(from: garbled)
            Issue.record("read a garbled key")
        } catch {
            #expect(error.code == .invalidKey)
            #expect(error.message.contains(garbled))
        }

        // Public keys: world-readable file, any mode accepted.
        let pub = dir + "/node.pub"
        try CurveKeyFile.writePublic(pair.publicKey, to: pub)
        #expect(stat(pub, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o644)
        #expect(try CurveKeyFile.readPublic(from: pub) == pair.publicKey)
    }

    @Test func curveOptionsOnTheWrongSideAreRefusedByName() async throws {
        let f = try CurveFixture()
        try await withMessagingContext(logger: testLogger, curveAuthority: f.table) { ctx in
            let onClient = try f.serverOptions()
            #expect(await errorCode { try await ctx.connectClient("tcp://127.0.0.1:1", options: onClient) } == .invalidArgument)
            #expect(await errorCode { try await ctx.connectSubscriber("tcp://127.0.0.1:1", topics: [[]], options: onClient) } == .invalidArgument)
            let onServer = try f.clientOptions()
            do throws(MessagingError) {
                _ = try await ctx.bindServer("tcp://127.0.0.1:*", options: onServer)
                Issue.record("bound a server with a client's CURVE options")
            } catch {
                #expect(error.code == .invalidArgument)
                #expect(error.message.contains("curveClient"))
            }
            var limited = SocketOptions()
            limited.requestRateLimit = RequestRateLimit(perSecond: 1, burst: 1)
            #expect(await errorCode { try await ctx.connectClient("tcp://127.0.0.1:1", options: limited) } == .invalidArgument)
            var tiny = SocketOptions()
            tiny.maxMessageSize = 0
            #expect(await errorCode { try await ctx.bindServer("tcp://127.0.0.1:*", options: tiny) } == .invalidArgument)
            var policy = SocketOptions()
            policy.slowSubscribers = .backpressure
            #expect(await errorCode { try await ctx.bindServer("tcp://127.0.0.1:*", options: policy) } == .invalidArgument)
        }
    }

    @Test func budgetArithmetic() {
        var o = SocketOptions()
        o.receiveHighWaterMark = 64
        o.maxMessageSize = 1 << 20
        o.receiveBufferBytes = 16 << 20
        #expect(o.worstCaseReceiveBytes(peers: 10) == 10 * 64 * (1 << 20) + 2 * (16 << 20) + (1 << 20))
        // The edge preset: 16 MiB per peer, 32.25 MiB handed over.
        #expect(SocketOptions.edge.worstCaseReceiveBytes(peers: 1) == (16 << 20) + (32 << 20) + (256 << 10))
    }
}
