import Testing
@testable import Storage

@Suite struct NotifyTests {
    @Test func notificationsReachAnAsyncConsumerInOrderWithPayloadsIntact() async throws {
        guard let sender = try await TestDatabase.connect() else { return }
        let channel = "orders_\(UInt32.random(in: 0 ... .max))"
        let listener = try await PostgresListener.connect(TestDatabase.configuration, channels: [channel],
                                                          logger: TestDatabase.logger)
        let payloads = (0 ..< 20).map { "order \($0): 배송 🚚 'quoted' \"x\"" }
        for p in payloads { try await sender.notify(channel, payload: p) }
        // Several in one transaction arrive together at commit.
        try await sender.withTransaction(purpose: "notify batch") { tx in
            for i in 0 ..< 5 { try await tx.connection.notify(channel, payload: "batch \(i)") }
        }
        var got: [PostgresNotification] = []
        for try await n in listener.notifications {
            got.append(n)
            if got.count == payloads.count + 5 { break }
        }
        #expect(got.map(\.payload) == payloads + (0 ..< 5).map { "batch \($0)" })
        #expect(got.allSatisfy { $0.channel == channel })
        await listener.close()
        await sender.close()
    }

    @Test func closingTheListenerFinishesTheStream() async throws {
        guard (try await TestDatabase.connect()) != nil else { return }
        let listener = try await PostgresListener.connect(TestDatabase.configuration, channels: ["quiet_channel"],
                                                          logger: TestDatabase.logger)
        await listener.close()
        var count = 0
        for try await _ in listener.notifications { count += 1 }
        #expect(count == 0)
    }

    @Test func aConsumerThatFallsBehindGetsNotificationOverflowInsteadOfSilentLoss() async throws {
        guard let sender = try await TestDatabase.connect() else { return }
        let channel = "burst_\(UInt32.random(in: 0 ... .max))"
        let listener = try await PostgresListener.connect(TestDatabase.configuration, channels: [channel],
                                                          bufferCapacity: 3, logger: .disabled)
        try await sender.withTransaction(purpose: "burst") { tx in
            for i in 0 ..< 10 { try await tx.connection.notify(channel, payload: "n\(i)") }
        }
        // Do not consume until the listener has given up on the stream (deterministic overflow).
        let overflowed = await eventually { await listener.connection.notificationContinuation == nil }
        #expect(overflowed)
        var got: [String] = []
        var failure: PostgresError?
        do {
            for try await n in listener.notifications { got.append(n.payload) }
        } catch {
            failure = error as? PostgresError
        }
        #expect(got == ["n0", "n1", "n2"])
        #expect(failure?.code == .notificationOverflow)
        await listener.close()
        await sender.close()
    }

    @Test func aListenerWhoseConnectionIsKilledFinishesWithConnectionLost() async throws {
        guard let admin = try await TestDatabase.connect() else { return }
        let channel = "killed_\(UInt32.random(in: 0 ... .max))"
        let listener = try await PostgresListener.connect(TestDatabase.configuration, channels: [channel], logger: .disabled)
        let pid = try await listener.connection.backendPID()
        _ = try await admin.query("SELECT pg_terminate_backend($1)", [pid], purpose: "kill listener")
        var failure: PostgresError?
        do {
            for try await _ in listener.notifications {}
        } catch {
            failure = error as? PostgresError
        }
        #expect(failure?.code == .connectionLost)
        await listener.close()
        await admin.close()
    }
}
