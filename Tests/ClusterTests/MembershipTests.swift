import Testing
@testable import Cluster

@Suite struct MembershipTests {
    let t0 = Timestamp.seconds(1_800_000_000)
    let config = Membership.Configuration(ttl: .seconds(10), heartbeatInterval: .seconds(2))

    func row(_ id: NodeID, beat: Timestamp, started: Timestamp? = nil, status: NodeStatus = .alive) -> NodeRecord {
        NodeRecord(id: id, endpoint: "tcp://\(id):7000", startedAt: started ?? t0, lastHeartbeat: beat, status: status)
    }

    @Test func freshNodesJoinAndTriggerOneRebalance() {
        var m = Membership(selfID: "a", configuration: config)
        let d = m.observe([row("b", beat: t0), row("a", beat: t0)], now: t0 + .seconds(1))
        #expect(d == [.joined("a", endpoint: "tcp://a:7000"), .joined("b", endpoint: "tcp://b:7000"),
                      .rebalanceNeeded(live: ["a", "b"])])
        // The same snapshot again changes nothing.
        #expect(m.observe([row("a", beat: t0), row("b", beat: t0)], now: t0 + .seconds(2)).isEmpty)
    }

    @Test func nodeSilentBeyondTTLIsDeclaredDownButNotAtTheTTL() {
        var m = Membership(selfID: "a", configuration: config)
        _ = m.observe([row("a", beat: t0), row("b", beat: t0)], now: t0)
        let atTTL = m.observe([row("a", beat: t0 + .seconds(10)), row("b", beat: t0)], now: t0 + .seconds(10))
        #expect(atTTL.isEmpty)
        let past = m.observe([row("a", beat: t0 + .seconds(10)), row("b", beat: t0)], now: t0 + .seconds(10) + .milliseconds(1))
        #expect(past == [.declareDown("b", lastHeartbeat: t0, silentFor: .seconds(10) + .milliseconds(1)),
                         .removed("b"), .rebalanceNeeded(live: ["a"])])
        #expect(m.liveNodes == ["a"])
    }

    @Test func aDownIncarnationNeverRejoinsButARestartDoes() {
        var m = Membership(selfID: "a", configuration: config)
        _ = m.observe([row("a", beat: t0), row("b", beat: t0)], now: t0)
        _ = m.observe([row("a", beat: t0), row("b", beat: t0, status: .down)], now: t0 + .seconds(1))
        // A stale read (a lagging replica) showing the same incarnation alive does not resurrect it.
        let stale = m.observe([row("a", beat: t0 + .seconds(2)), row("b", beat: t0 + .seconds(2))], now: t0 + .seconds(2))
        #expect(stale.isEmpty)
        let restarted = t0 + .seconds(3)
        let back = m.observe([row("a", beat: restarted), row("b", beat: restarted, started: restarted)], now: restarted)
        #expect(back == [.joined("b", endpoint: "tcp://b:7000"), .rebalanceNeeded(live: ["a", "b"])])
    }

    @Test func aNodeWhoseHeartbeatBeatTheDownMarkRejoins() {
        var m = Membership(selfID: "a", configuration: config)
        _ = m.observe([row("a", beat: t0), row("b", beat: t0)], now: t0)
        let t1 = t0 + .seconds(11)
        #expect(m.observe([row("a", beat: t1), row("b", beat: t0)], now: t1)
                == [.declareDown("b", lastHeartbeat: t0, silentFor: .seconds(11)), .removed("b"), .rebalanceNeeded(live: ["a"])])
        // markNodeDown is conditional on that heartbeat; b's heartbeat landed first, so b is still alive.
        let t2 = t1 + .seconds(1)
        #expect(m.observe([row("a", beat: t2), row("b", beat: t2)], now: t2)
                == [.joined("b", endpoint: "tcp://b:7000"), .rebalanceNeeded(live: ["a", "b"])])
    }

    @Test func declareDownIsEmittedOncePerSilence() {
        var m = Membership(selfID: "a", configuration: config)
        _ = m.observe([row("a", beat: t0), row("b", beat: t0)], now: t0)
        _ = m.observe([row("a", beat: t0 + .seconds(11)), row("b", beat: t0)], now: t0 + .seconds(11))
        #expect(m.observe([row("a", beat: t0 + .seconds(12)), row("b", beat: t0)], now: t0 + .seconds(12)).isEmpty)
        #expect(m.tick(now: t0 + .seconds(13)).isEmpty)
    }

    @Test func restartWhileLiveIsReportedAndRebalances() {
        var m = Membership(selfID: "a", configuration: config)
        _ = m.observe([row("a", beat: t0), row("b", beat: t0)], now: t0)
        let t1 = t0 + .seconds(3)
        let d = m.observe([row("a", beat: t1), row("b", beat: t1, started: t1)], now: t1)
        #expect(d == [.restarted("b", endpoint: "tcp://b:7000"), .rebalanceNeeded(live: ["a", "b"])])
    }

    @Test func leavingDownAndVanishedRowsRemoveNodes() {
        var m = Membership(selfID: "a", configuration: config)
        _ = m.observe([row("a", beat: t0), row("b", beat: t0), row("c", beat: t0), row("d", beat: t0)], now: t0)
        let d = m.observe([row("a", beat: t0), row("b", beat: t0, status: .leaving), row("c", beat: t0, status: .down)], now: t0)
        #expect(d == [.removed("b"), .removed("c"), .removed("d"), .rebalanceNeeded(live: ["a"])])
    }

    @Test func selfWithStaleHeartbeatStopsServingOnce() {
        var m = Membership(selfID: "a", configuration: config)
        _ = m.observe([row("a", beat: t0), row("b", beat: t0 + .seconds(20))], now: t0)
        let d = m.observe([row("a", beat: t0), row("b", beat: t0 + .seconds(20))], now: t0 + .seconds(20))
        #expect(d.first.map { if case .stopServing = $0 { true } else { false } } == true)
        #expect(!d.contains { if case .declareDown("a", _, _) = $0 { true } else { false } })
        let again = m.observe([row("a", beat: t0), row("b", beat: t0 + .seconds(21))], now: t0 + .seconds(21))
        #expect(!again.contains { if case .stopServing = $0 { true } else { false } })
    }

    @Test func selfDeclaredDownByAnotherNodeStopsServing() {
        var m = Membership(selfID: "a", configuration: config)
        _ = m.observe([row("a", beat: t0)], now: t0)
        let d = m.observe([row("a", beat: t0, status: .down)], now: t0 + .seconds(1))
        #expect(d == [.removed("a"), .stopServing(reason: "this node was declared down"), .rebalanceNeeded(live: [])])
    }

    @Test func tickDeclaresDownBetweenSnapshots() {
        var m = Membership(selfID: "a", configuration: config)
        _ = m.observe([row("a", beat: t0 + .seconds(30)), row("b", beat: t0)], now: t0)
        #expect(m.tick(now: t0 + .seconds(5)).isEmpty)
        let d = m.tick(now: t0 + .seconds(11))
        #expect(d == [.declareDown("b", lastHeartbeat: t0, silentFor: .seconds(11)), .removed("b"), .rebalanceNeeded(live: ["a"])])
    }
}
