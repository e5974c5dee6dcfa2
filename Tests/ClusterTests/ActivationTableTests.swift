import Testing
@testable import Cluster

/// Directives rendered as strings so tests compare them simply (Waiter = Int call number).
private func render(_ ds: [ActivationDirective<Int>]) -> [String] {
    ds.map {
        switch $0 {
        case .load(let id): "load \(id.key)"
        case let .deliver(w, id): "deliver \(w) to \(id.key)"
        case let .reject(w, code, _): "reject \(w) \(code)"
        case .passivate(let id): "passivate \(id.key)"
        case .drop(let id): "drop \(id.key)"
        }
    }
}

@Suite struct ActivationTableTests {
    let t0 = Timestamp.seconds(1_800_000_000)
    func v(_ key: String, _ region: String = "gangnam") -> ActorIdentity { ActorIdentity(kind: "vehicle", key: key, region: region) }

    @Test func firstCallLoadsAndLaterCallsWaitThenAllAreDeliveredInOrder() {
        var t = ActivationTable<Int>()
        #expect(render(t.call(v("V1"), 1, serving: true, now: t0)) == ["load V1"])
        #expect(render(t.call(v("V1"), 2, serving: true, now: t0)).isEmpty)
        #expect(render(t.loaded(v("V1"), now: t0)) == ["deliver 1 to V1", "deliver 2 to V1"])
        #expect(render(t.call(v("V1"), 3, serving: true, now: t0)) == ["deliver 3 to V1"])
    }

    @Test func aRegionNotServedHereIsNotOwner() {
        var t = ActivationTable<Int>()
        #expect(render(t.call(v("V1"), 1, serving: false, now: t0)) == ["reject 1 notOwner"])
        #expect(t.count == 0)
    }

    @Test func theWaitingQueueIsBounded() {
        var t = ActivationTable<Int>(configuration: .init(maxWaitingPerActor: 2))
        _ = t.call(v("V1"), 1, serving: true, now: t0)
        _ = t.call(v("V1"), 2, serving: true, now: t0)
        #expect(render(t.call(v("V1"), 3, serving: true, now: t0)) == ["reject 3 overloaded"])
    }

    @Test func whenFullTheLeastRecentlyUsedIdleActorMakesRoomAndBusyOnesDoNot() {
        var t = ActivationTable<Int>(configuration: .init(maxActive: 2))
        _ = t.call(v("A"), 1, serving: true, now: t0); _ = t.loaded(v("A"), now: t0); t.finished(v("A"), now: t0)
        _ = t.call(v("B"), 2, serving: true, now: t0 + .seconds(1)); _ = t.loaded(v("B"), now: t0 + .seconds(1))
        t.finished(v("B"), now: t0 + .seconds(1))
        #expect(render(t.call(v("C"), 3, serving: true, now: t0 + .seconds(2))) == ["passivate A", "load C"])
        // B is busy now; C is loading; nothing is idle: the next new actor is refused.
        _ = t.call(v("B"), 4, serving: true, now: t0 + .seconds(3))
        _ = t.passivated(v("A"))
        _ = t.loaded(v("C"), now: t0 + .seconds(3))
        #expect(render(t.call(v("D"), 5, serving: true, now: t0 + .seconds(4))) == ["reject 5 overloaded"])
    }

    @Test func idleActorsArePassivatedOldestFirstAndCallsDuringPassivationReload() {
        var t = ActivationTable<Int>(configuration: .init(idleAfter: .seconds(60)))
        for (i, key) in ["A", "B"].enumerated() {
            _ = t.call(v(key), i, serving: true, now: t0 + .seconds(Int64(i)))
            _ = t.loaded(v(key), now: t0 + .seconds(Int64(i)))
            t.finished(v(key), now: t0 + .seconds(Int64(i)))
        }
        #expect(render(t.tick(now: t0 + .seconds(59))).isEmpty)
        #expect(render(t.tick(now: t0 + .seconds(61))) == ["passivate A", "passivate B"])
        #expect(render(t.call(v("A"), 9, serving: true, now: t0 + .seconds(62))).isEmpty)
        #expect(render(t.passivated(v("A"))) == ["load A"])
        #expect(render(t.passivated(v("B"))).isEmpty)
        #expect(render(t.loaded(v("A"), now: t0 + .seconds(63))) == ["deliver 9 to A"])
        #expect(t.count == 1)
    }

    @Test func anActorWithACallInFlightIsNeverIdle() {
        var t = ActivationTable<Int>(configuration: .init(idleAfter: .seconds(60)))
        _ = t.call(v("A"), 1, serving: true, now: t0)
        _ = t.loaded(v("A"), now: t0)
        #expect(render(t.tick(now: t0 + .seconds(600))).isEmpty)
    }

    @Test func losingARegionDropsItsActorsAndRejectsTheirWaiters() {
        var t = ActivationTable<Int>()
        _ = t.call(v("A"), 1, serving: true, now: t0); _ = t.loaded(v("A"), now: t0)
        _ = t.call(v("B"), 2, serving: true, now: t0)
        _ = t.call(v("S", "south"), 3, serving: true, now: t0)
        #expect(render(t.dropRegion("gangnam")) == ["drop A", "reject 2 fenced", "drop B"])
        // B's load completes after the drop: the instance is discarded.
        #expect(render(t.loaded(v("B"), now: t0)) == ["drop B"])
        #expect(t.count == 1)
    }

    @Test func aFailedLoadRejectsWaitersAndTheNextCallRetries() {
        var t = ActivationTable<Int>()
        _ = t.call(v("A"), 1, serving: true, now: t0)
        _ = t.call(v("A"), 2, serving: true, now: t0)
        #expect(render(t.loadFailed(v("A"), reason: "journal unreachable")) == ["reject 1 handlerFailed", "reject 2 handlerFailed"])
        #expect(render(t.call(v("A"), 3, serving: true, now: t0)) == ["load A"])
    }
}
