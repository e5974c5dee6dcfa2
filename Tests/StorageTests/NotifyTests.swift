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
}
