import Distributed
import Messaging
import Synchronization
import Testing
@testable import Cluster

func expectCallError(_ code: ClusterCallError.Code, _ body: () async throws -> Void,
                     sourceLocation: SourceLocation = #_sourceLocation) async -> ClusterCallError? {
    do {
        try await body()
        Issue.record("expected \(code), the call succeeded", sourceLocation: sourceLocation)
    } catch let e as ClusterCallError {
        #expect(e.code == code, "\(e)", sourceLocation: sourceLocation)
        return e
    } catch {
        Issue.record("expected ClusterCallError \(code), got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

@Suite(.serialized) struct ActorSystemTests {
    @Test func aCallToARemoteActorReturnsAndActivatesItOnTheOwner() async throws {
        try await TestCluster.with(nodes: 2, owners: ["r1": 1]) { c in
            let proxy = try c.counter("c1", region: "r1", from: 0)
            #expect(try await proxy.add(2) == 2)
            #expect(try await proxy.add(3) == 5)
            #expect(try await proxy.node() == "n1")
            #expect(try await proxy.echo(Hello(from: "n0", n: 7)) == Hello(from: "n0", n: 7))
            #expect(c[1].system.activeActorCount == 1)
            #expect(c[0].system.stats.callsSent == 4)
            #expect(c[1].system.stats.callsServed == 4)
        }
    }

    @Test func aCallToAnActorHostedHereSkipsTheWire() async throws {
        try await TestCluster.with(nodes: 1) { c in
            let s = c[0].system
            let local = TestCounter(actorSystem: s)
            #expect(local.id.region == ClusterActorSystem.nodeRegion("n0"))
            let ref = try TestCounter.resolve(id: local.id, using: s)
            #expect(try await ref.add(1) == 1)
            #expect(s.stats.callsSent == 0 && s.stats.callsServed == 0)
        }
    }

    @Test func nodeLocalActorsAreReachableFromPeers() async throws {
        try await TestCluster.with(nodes: 2) { c in
            let local = TestCounter(actorSystem: c[1].system)
            let ref = try TestCounter.resolve(id: local.id, using: c[0].system)
            #expect(try await ref.node() == "n1")
        }
    }

    @Test func remoteErrorsComeBackTyped() async throws {
        try await TestCluster.with(nodes: 2, owners: ["r1": 1]) { c in
            let proxy = try c.counter("c1", region: "r1", from: 0)
            // What the handler threw stays on the callee (its log); the caller gets the code and a safe text.
            let e = await expectCallError(.remote) { try await proxy.fail("SELECT secret FROM vehicles; vehicle is offline") }
            #expect(e?.message == RemoteErrorCode.safeText(.handlerFailed))
            #expect(e?.message.contains("SELECT") == false)
            #expect(e?.remoteCode == .handlerFailed)
            _ = await expectCallError(.unknownTarget) { _ = try await proxy.unregistered() }
            let ghost = try TestCounter.resolve(id: ActorIdentity(kind: "ghost", key: "g", region: "r1"), using: c[0].system)
            _ = await expectCallError(.unknownActor) { _ = try await ghost.node() }
            let nowhere = try c.counter("c2", region: "unassigned", from: 0)
            let start = ContinuousClock.now
            await ClusterCall.$timeout.withValue(.milliseconds(100)) {
                _ = await expectCallError(.nodeDown) { _ = try await nowhere.node() }
            }
            #expect(ContinuousClock.now - start >= .milliseconds(100))
        }
    }

    @Test(arguments: [TestCluster.Transport.tcp, .inproc])
    func aCallToAKilledNodeFailsAtItsDeadline(_ transport: TestCluster.Transport) async throws {
        try await TestCluster.with(nodes: 2, owners: ["r1": 1], transport: transport) { c in
            let proxy = try c.counter("c1", region: "r1", from: 0)
            #expect(try await proxy.add(1) == 1)
            await c.kill(1)
            let start = ContinuousClock.now
            await ClusterCall.$timeout.withValue(.milliseconds(300)) {
                _ = await expectCallError(.timeout) { _ = try await proxy.add(1) }
            }
            let elapsed = ContinuousClock.now - start
            #expect(elapsed >= .milliseconds(300) && elapsed < .milliseconds(1500), "\(elapsed)")
        }
    }

    @Test func droppedMessagesTimeOutAndAPausedNodeRecovers() async throws {
        try await TestCluster.with(nodes: 2, owners: ["r1": 1]) { c in
            let proxy = try c.counter("c1", region: "r1", from: 0)
            c[0].faults.set { $0.outboundAction = .drop; $0.limit = 1 }
            await ClusterCall.$timeout.withValue(.milliseconds(150)) {
                _ = await expectCallError(.timeout) { _ = try await proxy.node() }
            }
            #expect(c[0].faults.appliedCount == 1)
            #expect(try await proxy.node() == "n1")
            c.pause(1)
            await ClusterCall.$timeout.withValue(.milliseconds(150)) {
                _ = await expectCallError(.timeout) { _ = try await proxy.node() }
            }
            c.resume(1)
            #expect(try await proxy.node() == "n1")
            c[0].faults.set { $0.outboundAction = .delay(.milliseconds(20)); $0.limit = nil }
            #expect(try await proxy.node() == "n1")
        }
    }

    @Test func notOwnerIsRetriedAtTheOwnerItNamesAndAppliedOnce() async throws {
        try await TestCluster.with(nodes: 3, owners: ["move": 1]) { c in
            let proxy = try c.counter("m1", region: "move", from: 0)
            #expect(try await proxy.node() == "n1")
            // The region moves to n2; n0's view is stale, n1 knows the new owner.
            c.assign("move", to: 2, views: [1, 2])
            let key = IdempotencyKey.text("order-7:assign:1")
            let value = try await ClusterCall.$idempotencyKey.withValue(key) { try await proxy.add(5) }
            #expect(value == 5)
            #expect(c[0].system.stats.callsRetried == 1)
            let applied = appliedLog.withLock { $0.filter { $0.key == "m1" } }
            #expect(applied.count == 1 && applied.first?.node == "n2" && applied.first?.idem == "\(key)")
            // A repeat of the same key (a retry after a lost reply) is answered from the reply cache.
            let again = try await ClusterCall.$idempotencyKey.withValue(key) { try await proxy.add(5) }
            #expect(again == 5)
            #expect(appliedLog.withLock { $0.filter { $0.key == "m1" }.count } == 1)
        }
    }

    @Test func aLostConnectionIsRetriedAtTheNewOwnerOnlyWithAnIdempotencyKey() async throws {
        try await TestCluster.with(nodes: 3, owners: ["lost": 1]) { c in
            let proxy = try c.counter("l1", region: "lost", from: 0)
            #expect(try await proxy.node() == "n1")
            c.pause(1)                                   // n1 hangs: the next calls sit in flight
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let key = IdempotencyKey.text("lost:1")
                    let v = try await ClusterCall.$idempotencyKey.withValue(key) { try await proxy.add(7) }
                    #expect(v == 7)
                }
                group.addTask {
                    _ = await expectCallError(.nodeDown) { _ = try await proxy.add(100) }   // no key: not retried
                }
                try await eventually("both calls sent") { c[0].system.stats.callsSent >= 3 }
                c.assign("lost", to: 2)                  // the plan moves the region, then membership drops n1
                await c[0].system.disconnect(nodeID: "n1")
                try await group.waitForAll()
            }
            let applied = appliedLog.withLock { $0.filter { $0.key == "l1" } }
            #expect(applied.count == 1 && applied.first?.node == "n2")
        }
    }

    @Test func notOwnerWithoutAHintWaitsForTheOwnershipToChange() async throws {
        try await TestCluster.with(nodes: 3, owners: ["drain": 1]) { c in
            let proxy = try c.counter("d1", region: "drain", from: 0)
            #expect(try await proxy.node() == "n1")
            c.assign("drain", to: nil, views: [1])      // n1 hands over; the new owner is not known yet
            c.assign("drain", to: 2, views: [2])
            try await withThrowingTaskGroup(of: String.self) { group in
                group.addTask { try await proxy.node() }
                try await eventually("the caller got notOwner") { c[0].system.stats.callsRetried >= 1 }
                c.assign("drain", to: 2, views: [0])    // n0 learns the new plan
                #expect(try await group.next() == "n2")
            }
        }
    }

    @Test(arguments: [TestCluster.Transport.tcp, .inproc])
    func aThousandConcurrentCallsAcrossThreeNodes(_ transport: TestCluster.Transport) async throws {
        let owners = ["a": 0, "b": 1, "c": 2]
        try await TestCluster.with(nodes: 3, owners: owners, transport: transport) { c in
            let regions = ["a", "b", "c"]
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<1000 {
                    let from = i % 3
                    let region = regions[(i / 3) % 3]
                    let proxy = try c.counter("k\(i % 50)", region: region, from: from)
                    group.addTask {
                        let h = Hello(from: "n\(from)", n: i)
                        let echoed = try await proxy.echo(h)
                        let node = try await proxy.node()
                        return echoed == h && node == "n\(owners[region]!)"
                    }
                }
                var ok = 0
                for try await r in group where r { ok += 1 }
                #expect(ok == 1000)
            }
        }
    }

    @Test(arguments: [TestCluster.Transport.tcp, .inproc])
    func eventsReachSubscribersOnOtherNodes(_ transport: TestCluster.Transport) async throws {
        try await TestCluster.with(nodes: 3, transport: transport) { c in
            let s1 = try await c[1].system.subscribe(topic: "region:gangnam", as: Hello.self)
            let s2 = try await c[2].system.subscribe(topic: "region:gangnam", as: Hello.self)
            let other = try await c[1].system.subscribe(topic: "region:gangnam-2", as: Hello.self)
            try await c[0].system.waitForSubscribers(2, topic: "region:gangnam", timeout: .seconds(5))
            let events = (0..<1000).map { Hello(from: "n0", n: $0) }
            try c[0].system.publish(topic: "region:gangnam", events: Array(events[..<500]))
            for e in events[500...] { try c[0].system.publish(topic: "region:gangnam", event: e) }
            try c[0].system.publish(topic: "region:gangnam-2", event: Hello(from: "n0", n: -1))
            for s in [s1, s2] {
                var got: [Hello] = []
                for await e in s {
                    got.append(e)
                    if got.count == 1000 { break }
                }
                #expect(got == events)
            }
            var it = other.makeAsyncIterator()
            #expect(await it.next() == Hello(from: "n0", n: -1))   // exact topics: no gangnam events here
        }
    }

    @Test func nestedCallsInheritWhatIsLeftOfTheCallersDeadline() async throws {
        try await TestCluster.with(nodes: 2, owners: ["r1": 1], configure: { $0.defaultTimeout = .seconds(2) }) { c in
            let proxy = try c.counter("budget", region: "r1", from: 0)
            let left = try await ClusterCall.$timeout.withValue(.milliseconds(800)) { try await proxy.budgetMillis() }
            #expect(left > 0 && left <= 800, "\(left)")
            let defaultLeft = try await proxy.budgetMillis()
            #expect(defaultLeft > 800 && defaultLeft <= 2000, "\(defaultLeft)")   // the system default, 2 s
        }
    }

    @Test func idempotencyCacheReplaysWaitsAndForgetsTheOldest() {
        var cache = IdempotencyCache<Int>(capacity: 2)
        let a = IdempotencyCache<Int>.Key(actor: ActorIdentity(kind: "k", key: "1", region: "r"), key: .text("a"))
        let b = IdempotencyCache<Int>.Key(actor: a.actor, key: .text("b"))
        let d = IdempotencyCache<Int>.Key(actor: a.actor, key: .text("d"))
        guard case .run = cache.admit(a, 1) else { Issue.record("first admit runs"); return }
        guard case .wait = cache.admit(a, 2) else { Issue.record("second waits"); return }
        #expect(cache.complete(a, reply: .reply(correlation: 1, payload: [1])) == [2])
        guard case .replay(.reply(1, [1])) = cache.admit(a, 3) else { Issue.record("replayed"); return }
        _ = cache.admit(b, 0); _ = cache.complete(b, reply: .reply(correlation: 2, payload: []))
        _ = cache.admit(d, 0); _ = cache.complete(d, reply: nil)      // refused: not cached
        guard case .run = cache.admit(d, 0) else { Issue.record("refusal not cached"); return }
        _ = cache.complete(d, reply: .reply(correlation: 3, payload: []))
        guard case .run = cache.admit(a, 0) else { Issue.record("oldest forgotten"); return }
    }

    @Test func notOwnerHintsRoundTrip() {
        let n = NodeAddress(id: "n2", endpoint: "tcp://127.0.0.1:5555")
        #expect(NotOwnerHint.parse(NotOwnerHint.text(region: "r", owner: n)) == n)
        #expect(NotOwnerHint.parse(NotOwnerHint.text(region: "r", owner: nil)) == nil)
        #expect(NotOwnerHint.parse("free text from an older node") == nil)
    }
}
