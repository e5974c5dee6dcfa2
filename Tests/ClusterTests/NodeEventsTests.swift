import Base
import Foundation
import Synchronization
import Testing
@testable import Cluster

/// Events across processes: node processes with `--events` publish `CounterChanged` after each
/// accepted command (journal first); a client connected to every node's publisher receives them.
extension NodeProcessSuites {
    @Suite struct NodeEventsTests {
        @Test func aClientReceivesCounterEventsPublishedByTheOwningNode() async throws {
            try await NodeCluster.with(["n1", "n2"], extra: ["--events", "tcp://127.0.0.1:*"]) { cluster in
                try await cluster.waitForBalance(over: ["n1", "n2"])
                let endpoints = try await cluster.connection.query("SELECT count(event_endpoint) FROM cluster_nodes WHERE status = 'alive'",
                                                                   purpose: "event endpoints")
                #expect(try endpoints[0].decode(0, as: Int64.self) == 2)
                try await cluster.client.connectToNodes()
                let stream = try await cluster.client.system.subscribe(topic: CounterActor.changedTopic(region: "gangnam"), as: CounterChanged.self)
                let seen = Collected<CounterChanged>()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    let client = cluster.client
                    group.addTask { await client.run() }
                    group.addTask {
                        for try await e in stream { seen.append(e) }
                    }
                    // The subscription reaches the publisher asynchronously: command until the first event shows.
                    var i = 0
                    var first: Int64 = 0   // the last warm-up command's seq: later events are the ones checked
                    try await cluster.waitUntil("a first event", within: .seconds(10)) {
                        i += 1
                        first = try await cluster.client.addToCounter("ev", region: "gangnam", amount: 1, commandKey: "ev-\(i)").0.seq
                        return !seen.read { $0.isEmpty }
                    }
                    var acked: [Int64] = []
                    for j in 1 ... 5 {
                        acked.append(try await cluster.client.addToCounter("ev", region: "gangnam", amount: 10, commandKey: "ev-more-\(j)").0.seq)
                    }
                    // A duplicate publishes nothing.
                    _ = try await cluster.client.addToCounter("ev", region: "gangnam", amount: 10, commandKey: "ev-more-1")
                    try await cluster.waitUntil("the next five events", within: .seconds(5)) {
                        seen.read { $0.filter { $0.seq > first }.count } >= 5
                    }
                    let later = seen.read { $0.filter { $0.seq > first } }
                    #expect(later.map(\.seq) == acked)
                    #expect(later.last?.total == Int64(i) + 50)
                    await client.close()   // ends run() and the stream
                    try await group.waitForAll()
                }
            }
        }
    }
}

/// Values appended by one task and read by another.
final class Collected<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])
    func append(_ v: Value) { values.withLock { $0.append(v) } }
    func read<R>(_ body: ([Value]) -> R) -> R { values.withLock { body($0) } }
}
