import Base
import Cluster
import DaybreakNode
import DispatchPlanning
import Edge
import Fleet
import Messaging

/// Whom to push to: per connection (routing id), what it listens for. Bounded: the oldest
/// connections are forgotten first past `maxConnections` (a forgotten handheld polls or says
/// `ping`/`hello` again).
struct Sessions {
    static let maxConnections = 100_000
    static let maxSubscriptionsPerConnection = 100
    /// Courier → its connections (a courier's latest handheld; two are allowed during a swap).
    var couriers: [CourierRef: [[UInt8]]] = [:]
    /// Order → (connection, token reference) subscribed to its notifications.
    var subscriptions: [OrderID: [[UInt8]: String]] = [:]
    /// Connection → how many subscriptions it holds, and when it was last seen (for eviction).
    var connections: [[UInt8]: (subscriptions: Int, seen: UInt64)] = [:]
    var tick: UInt64 = 0

    mutating func touch(_ id: [UInt8]) {
        tick += 1
        connections[id, default: (0, 0)].seen = tick
        if connections.count > Self.maxConnections { evict() }
    }

    mutating func evict() {
        let cutoff = connections.values.map(\.seen).sorted()[connections.count / 10]
        let gone = Set(connections.filter { $0.value.seen <= cutoff }.map(\.key))
        for id in gone { connections.removeValue(forKey: id) }
        couriers = couriers.compactMapValues { ids in let kept = ids.filter { !gone.contains($0) }; return kept.isEmpty ? nil : kept }
        subscriptions = subscriptions.compactMapValues { subs in let kept = subs.filter { !gone.contains($0.key) }; return kept.isEmpty ? nil : kept }
    }
}

extension EdgeServer {
    func register(courier: CourierRef, routingID: [UInt8]) {
        sessions.withLock { s in
            s.touch(routingID)
            var ids = s.couriers[courier, default: []]
            if ids.last != routingID {
                ids.removeAll { $0 == routingID }
                ids.append(routingID)
                if ids.count > 2 { ids.removeFirst(ids.count - 2) }
                s.couriers[courier] = ids
            }
        }
    }

    func subscribe(order: OrderID, tokenRef: String, routingID: [UInt8]) -> Bool {
        sessions.withLock { s in
            s.touch(routingID)
            if s.subscriptions[order]?[routingID] != nil { return true }
            guard s.connections[routingID, default: (0, 0)].subscriptions < Sessions.maxSubscriptionsPerConnection else { return false }
            s.subscriptions[order, default: [:]][routingID] = tokenRef
            s.connections[routingID, default: (0, 0)].subscriptions += 1
            return true
        }
    }

    func unsubscribe(order: OrderID, routingID: [UInt8]) {
        sessions.withLock { s in
            if s.subscriptions[order]?.removeValue(forKey: routingID) != nil {
                s.connections[routingID, default: (1, 0)].subscriptions -= 1
                if s.subscriptions[order]?.isEmpty == true { s.subscriptions.removeValue(forKey: order) }
            }
        }
    }

    /// Sends `body` to `routingID` as a push (correlation id 0). Best effort: a connection gone
    /// is counted by the socket (`undeliverableReplies`).
    func push(_ routingID: [UInt8], _ body: [UInt8]) {
        counters.pushes.add(1, ordering: .relaxed)
        send(ReplyAddress(routingID: routingID, correlationID: 0), body)
    }

    /// A customer notification from the cluster → the connections subscribed to its order (called
    /// by the cluster gateway's event pump as each arrives).
    func notify(_ n: CustomerNotification) {
        let targets = sessions.withLock { $0.subscriptions[n.order] ?? [:] }
        for (id, ref) in targets {
            push(id, EdgeCodec.encode("push.notification", NotificationPushBody(n, tokenRef: ref, offset: configuration.offset)))
        }
    }

    /// Manifest changes (topic `manifest.<region>`) → the courier's connected handhelds get the new manifest.
    func pumpManifestChanges() async {
        await withTaskGroup(of: Void.self) { group in
            for config in cluster.configs {
                guard let stream = try? await cluster.client.system.subscribe(topic: ManifestChange.topic(region: config.region.rawValue),
                                                                              as: ManifestChange.self) else { continue }
                group.addTask {
                    for await change in stream { await self.manifestChanged(change.courier) }
                }
            }
        }
    }

    func manifestChanged(_ courier: CourierRef) async {
        let targets = sessions.withLock { $0.couriers[courier] ?? [] }
        guard !targets.isEmpty, let m = try? await manifest(courier) else { return }
        let body = EdgeCodec.encode("push.manifest", ManifestBody(manifest: m))
        for id in targets { push(id, body) }
    }
}
