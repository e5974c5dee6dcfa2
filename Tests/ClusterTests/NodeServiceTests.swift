import Base
import Foundation
import Storage
import Testing
@testable import Cluster

/// `NodeService` in process against a real PostgreSQL: cancellation of `run()` is a graceful leave.
@Suite struct NodeServiceTests {
    @Test func cancellingRunDrainsReleasesAndMarksTheNodeDown() async throws {
        let schema = "t_service_\(UInt32.random(in: 0 ... .max))_\(ProcessInfo.processInfo.processIdentifier)"
        let c: PostgresConnection
        do { c = try await PostgresConnection.connect(PostgresConfiguration(""), logger: ClusterTestDatabase.logger) } catch {
            if ClusterTestDatabase.required { Issue.record("PostgreSQL required but unreachable: \(error)") }
            return
        }
        var cfg = NodeConfiguration(id: "solo", listen: "tcp://127.0.0.1:*", regions: ["a", "b"], schema: schema,
                                    heartbeatInterval: .milliseconds(100), ttl: .seconds(1))
        cfg.statementTimeout = .seconds(5)
        let service = NodeService(cfg, logger: ClusterTestDatabase.logger)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                let until = ContinuousClock.now + .seconds(10)
                while service.servingRegions().count < 2 {
                    guard ContinuousClock.now < until else { throw HarnessError("the node did not take both regions") }
                    try await Task.sleep(for: .milliseconds(20))
                }
                let cancelledAt = ContinuousClock.now
                group.cancelAll()
                try await group.waitForAll()
                #expect(ContinuousClock.now - cancelledAt < .seconds(5))
            }
            #expect(service.servingRegions().isEmpty)
            try await c.executeScript("SET search_path TO \(schema)", purpose: "use schema")
            let leases = try await c.query("SELECT count(*) FROM region_leases WHERE owner IS NULL AND token = 1", purpose: "released")
            #expect(try leases[0].decode(0, as: Int64.self) == 2, "both leases released, tokens kept")
            let node = try await c.query("SELECT status FROM cluster_nodes WHERE id = 'solo'", purpose: "status")
            #expect(try node[0].decode(0, as: String.self) == "down")
        } catch {
            _ = try? await c.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE", purpose: "drop")
            await c.close()
            throw error
        }
        _ = try? await c.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE", purpose: "drop")
        await c.close()
    }

    @Test func ownershipVersionMovesOnlyWhenOwnersChangeOrForced() {
        var s = NodeState(coordinator: NodeCoordinator(selfID: "a", regions: ["r"]))
        let a = NodeAddress(id: "a", endpoint: "tcp://x:1")
        _ = s.setOwners(["r": a])
        #expect(s.ownershipVersion == 1)
        _ = s.setOwners(["r": a])
        #expect(s.ownershipVersion == 1)
        _ = s.setOwners(["r": a], force: true)
        #expect(s.ownershipVersion == 2)
        _ = s.setOwners([:])
        #expect(s.ownershipVersion == 3 && s.owners.isEmpty)
        #expect(s.writeToken(for: "r") == nil, "nothing is served before a lease is acquired")
    }
}
