import Distributed
import Synchronization
import Testing
@testable import Cluster

@Suite(.serialized) struct ActorSystemActivationTests {
    @Test func concurrentFirstCallsShareOneActivation() async throws {
        let activator = CountingActivator()
        try await TestCluster.with(nodes: 2, owners: ["r1": 1], activator: activator) { c in
            let proxy = try c.counter("shared", region: "r1", from: 0)
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<50 { group.addTask { try await proxy.add(1) } }
                var results: [Int] = []
                for try await r in group { results.append(r) }
                #expect(results.sorted() == Array(1...50))
            }
            #expect(activator.activated("shared") == 1)
        }
    }

    @Test func aFailedActivationIsATypedErrorAndTheNextCallTriesAgain() async throws {
        let activator = CountingActivator()
        try await TestCluster.with(nodes: 2, owners: ["r1": 1], activator: activator) { c in
            let proxy = try c.counter("broken-1", region: "r1", from: 0)
            let e = await expectCallError(.remote) { _ = try await proxy.add(1) }
            #expect(e?.message.contains("journal unreadable") == true)
            _ = await expectCallError(.remote) { _ = try await proxy.add(1) }
            #expect(activator.activated("broken-1") == 2)
        }
    }

    @Test func idleActorsArePassivatedAndComeBackOnTheNextCall() async throws {
        let activator = CountingActivator()
        try await TestCluster.with(nodes: 2, owners: ["r1": 1], configure: { $0.activation.idleAfter = .milliseconds(10) },
                                   activator: activator) { c in
            let proxy = try c.counter("idle", region: "r1", from: 0)
            #expect(try await proxy.add(4) == 4)
            try await eventually("passivated") { activator.passivated("idle") == 1 && c[1].system.activeActorCount == 0 }
            #expect(try await proxy.add(1) == 1)     // a fresh instance (the test activator restores nothing)
            #expect(activator.activated("idle") == 2)
        }
    }

    @Test func aLostRegionDropsItsActorsWithoutPassivating() async throws {
        let activator = CountingActivator()
        try await TestCluster.with(nodes: 2, owners: ["r1": 1, "r2": 1], activator: activator) { c in
            _ = try await c.counter("a", region: "r1", from: 0).add(1)
            _ = try await c.counter("b", region: "r2", from: 0).add(1)
            #expect(c[1].system.activeActorCount == 2)
            await c[1].system.regionLost("r1")
            #expect(c[1].system.activeActorCount == 1)
            #expect(activator.passivated("a") == 0)
            #expect(try c[1].system.resolve(id: ActorIdentity(kind: "counter", key: "a", region: "r1"), as: TestCounter.self) == nil)
        }
    }

    @Test func callsBeyondTheInboundLimitAreOverloadedNotQueued() async throws {
        TestGate.named("callsBeyondTheInboundLimitAreOverloadedNotQueued").close()
        try await TestCluster.with(nodes: 2, owners: ["r1": 1], configure: { $0.maxInboundInFlight = 2 }) { c in
            let proxy = try c.counter("busy", region: "r1", from: 0)
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<2 { group.addTask { try await proxy.hold("callsBeyondTheInboundLimitAreOverloadedNotQueued") } }
                try await eventually("two calls held") { TestGate.named("callsBeyondTheInboundLimitAreOverloadedNotQueued").waiting == 2 }
                _ = await expectCallError(.overloaded) { _ = try await proxy.node() }
                TestGate.named("callsBeyondTheInboundLimitAreOverloadedNotQueued").open()
                for try await v in group { #expect(v == 0) }
            }
            #expect(try await proxy.node() == "n1")
        }
        TestGate.named("callsBeyondTheInboundLimitAreOverloadedNotQueued").close()
    }

    @Test func disconnectingAPeerFailsItsInFlightCallsAtOnce() async throws {
        TestGate.named("disconnectingAPeerFailsItsInFlightCallsAtOnce").close()
        try await TestCluster.with(nodes: 2, owners: ["r1": 1]) { c in
            let proxy = try c.counter("gone", region: "r1", from: 0)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let start = ContinuousClock.now
                    await ClusterCall.$timeout.withValue(.seconds(10)) {
                        _ = await expectCallError(.nodeDown) { _ = try await proxy.hold("disconnectingAPeerFailsItsInFlightCallsAtOnce") }
                    }
                    #expect(ContinuousClock.now - start < .seconds(5))
                }
                try await eventually("the call is held") { TestGate.named("disconnectingAPeerFailsItsInFlightCallsAtOnce").waiting == 1 }
                await c[0].system.disconnect(nodeID: "n1")
                try await group.waitForAll()
            }
            TestGate.named("disconnectingAPeerFailsItsInFlightCallsAtOnce").open()
        }
        TestGate.named("disconnectingAPeerFailsItsInFlightCallsAtOnce").close()
    }

    @Test func aSubscriberThatFallsBehindLosesNewBatchesCounted() async throws {
        try await TestCluster.with(nodes: 1, configure: { $0.subscriptionBufferBatches = 2 }) { c in
            let s = c[0].system
            let stream = try await s.subscribe(topic: "t", as: Hello.self)
            for i in 0..<5 { try s.publish(topic: "t", events: [Hello(from: "n0", n: i)]) }
            #expect(s.stats.eventsDropped == 3)
            var it = stream.makeAsyncIterator()
            #expect(await it.next()?.n == 0)
            #expect(await it.next()?.n == 1)
        }
    }
}

@Suite(.serialized) struct ActorSystemShutdownTests {
    @Test func aDrainingShutdownFinishesCallsInFlightAndRefusesNewOnesAsNotOwner() async throws {
        TestGate.named("aDrainingShutdownFinishesCallsInFlightAndRefusesNewOnesAsNotOwner").close()
        try await TestCluster.with(nodes: 3, owners: ["r1": 1]) { c in
            let proxy = try c.counter("drain", region: "r1", from: 0)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { let v = try await proxy.hold("aDrainingShutdownFinishesCallsInFlightAndRefusesNewOnesAsNotOwner"); #expect(v == 0) }     // in flight on n1
                try await eventually("the call is held") { TestGate.named("aDrainingShutdownFinishesCallsInFlightAndRefusesNewOnesAsNotOwner").waiting == 1 }
                group.addTask { await c[1].system.shutdown(drainFor: .seconds(10)) }
                try await eventually("draining") { c[1].system.counters.draining.load(ordering: .relaxed) }
                // A new call is refused before running and retried once the ownership moves.
                group.addTask { let node = try await proxy.node(); #expect(node == "n2") }
                try await eventually("refused as notOwner") { c[0].system.stats.callsRetried >= 1 }
                c.assign("r1", to: 2)
                TestGate.named("aDrainingShutdownFinishesCallsInFlightAndRefusesNewOnesAsNotOwner").open()
                try await group.waitForAll()
            }
            #expect(c[1].system.isShutdown)
        }
        TestGate.named("aDrainingShutdownFinishesCallsInFlightAndRefusesNewOnesAsNotOwner").close()
    }
}
