import Distributed

/// `RegionOwnership` from the node's own lease view: `owner(ofRegion:)` is the node holding the
/// region's lease as of the last read of `region_leases` (adjusted at once for this node's own
/// acquisitions and step-downs); `isServing` is `LeaseKeeper.servingToken(for:now:) != nil` and
/// not draining. Cheap: one `Mutex` section, never a database call.
final class NodeRegionOwnership: RegionOwnership {
    // The service outlives the actor system it hosts (it clears `state.system` when it stops).
    let service: NodeService

    init(_ service: NodeService) { self.service = service }

    func owner(ofRegion region: String) -> NodeAddress? { service.state.withLock { $0.owners[region] } }

    func isServing(region: String) -> Bool {
        let r = RegionKey(region)
        if service.configuration.chaosSkipLocalFence { return service.state.withLock { $0.lastToken[r] != nil } }
        return service.state.withLock { s in s.writeToken(for: r) != nil && !s.draining.contains(r) }
    }

    var version: UInt64 { service.state.withLock { $0.ownershipVersion } }

    func waitForChange(after version: UInt64, timeout: Duration) async -> UInt64 {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.changed(after: version) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        return self.version
    }

    private func changed(after version: UInt64) async {
        let id = service.state.withLock { s -> UInt64 in s.nextWaiter += 1; return s.nextWaiter }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (k: CheckedContinuation<Void, Never>) in
                let now = service.state.withLock { s -> Bool in
                    if s.ownershipVersion > version || Task.isCancelled { return true }
                    s.ownershipWaiters[id] = k
                    return false
                }
                if now { k.resume() }
            }
        } onCancel: {
            let k = service.state.withLock { $0.ownershipWaiters.removeValue(forKey: id) }
            k?.resume()
        }
    }
}

/// `ActorActivator` for journaled actors: an activation is made under the region's current token
/// and restores itself from the journal (snapshot + replay) on its first call, inside that call's
/// deadline, so a slow database fails the call with a typed, retriable code rather than the activation.
struct JournalActivator: ActorActivator {
    let service: NodeService
    let journal: Journal

    func activate(_ id: ActorIdentity, in system: ClusterActorSystem) async throws -> any DistributedActor {
        let hosted = service.extensions.kinds.first { $0.kind == id.kind }
        guard (id.kind == CounterState.kind && service.configuration.hostsDemoCounter) || hosted != nil else {
            throw ClusterCallError(.unknownActor, "no journaled actor kind '\(id.kind)' on \(service.configuration.id)")
        }
        let region = RegionKey(id.region)
        let chaos = service.configuration.chaosSkipLocalFence
        guard let token = service.state.withLock({ s in chaos ? s.lastToken[region] : s.writeToken(for: region) }) else {
            throw ClusterCallError(.notOwner, "\(service.configuration.id) no longer serves \(region)")
        }
        let mayWrite: @Sendable () -> Bool = { [weak service] in
            chaos || (service?.state.withLock { $0.writeToken(for: region) == token } ?? false)
        }
        let onFenced: @Sendable () async -> Void = { [weak service] in await service?.fenced(region, token: token) }
        if let hosted {
            let made = try hosted.activate(ActivationGrant(identity: id, token: token, journal: journal, mayWrite: mayWrite, onFenced: onFenced), system)
            service.state.withLock { $0.activations[id] = made.activation }
            return made.actor
        }
        let entity = JournaledEntity<CounterState>(identity: id, token: token, journal: journal, mayWrite: mayWrite, onFenced: onFenced)
        service.state.withLock { $0.activations[id] = entity }
        return system.withIdentity(id) { CounterActor(actorSystem: system, entity: entity) }
    }

    func passivate(_ actor: any DistributedActor, id: ActorIdentity, in system: ClusterActorSystem) async {
        guard let a = service.state.withLock({ $0.activations.removeValue(forKey: id) }) else { return }
        try? await withDeadline(journal.timeout, "snapshot on passivation") { try await a.snapshot() }
    }
}
