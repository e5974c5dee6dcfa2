import Testing
import Base
@testable import Messaging

@Suite struct ExecutorTests {
    @Test func requestsFromATaskOnTheIOExecutorRoundTrip() async throws {
        try await withMessagingContext(logger: testLogger) { ctx in
            let server = try await ctx.bindServer("inproc://on-loop")
            let client = try await ctx.connectClient(server.endpoint)
            try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask(executorPreference: ctx.taskExecutor) {
                    try await server.serve { $0.message }
                    return 0
                }
                group.addTask(executorPreference: ctx.taskExecutor) {
                    var ok = 0
                    for i in 0..<500 {
                        if try await client.request(Message("r\(i)"), timeout: .seconds(5)) == Message("r\(i)") { ok += 1 }
                    }
                    await server.close()
                    return ok
                }
                var total = 0
                for try await n in group { total += n }
                #expect(total == 500)
            }
        }
    }

    @Test func aTaskOnTheIOExecutorIsNotStrandedByShutdown() async throws {
        let ctx = try MessagingContext(logger: testLogger)
        let server = try await ctx.bindServer("inproc://strand")  // never replies
        let client = try await ctx.connectClient(server.endpoint)
        let task = Task(executorPreference: ctx.taskExecutor) {
            let code = await errorCode { try await client.request(Message("x"), timeout: .seconds(60)) }
            // Still runs after the loop is gone (on the global executor).
            await Task.yield()
            return code
        }
        #expect(await eventually { client.shared.pendingRequests.load(ordering: .relaxed) == 1 })
        await ctx.shutdown()
        #expect(await task.value == .shutdown)
    }
}
