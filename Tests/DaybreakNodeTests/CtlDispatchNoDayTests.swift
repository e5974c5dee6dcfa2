import DaybreakNode
import DispatchPlanning
import Fleet
import Testing

extension CtlDispatchTests {
    /// `ctl dispatch REGION orders` asks the dispatcher whether a day is open before printing an
    /// empty table: with none open it says so (65), with one open and empty it prints "0 orders".
    @Test func ordersOfARegionWithNoOpenServiceDaySaySoInsteadOfZeroOrders() async throws {
        guard CtlChild.binary != nil else { Issue.record("the daybreak binary is not built next to the tests"); return }
        try await DomainTestDatabase.withSoloNode(region: F.region.rawValue, prefix: "ctlnoday") { client, _, schema in
            let region = F.region.rawValue
            let orders = ["ctl", "dispatch", region, "orders", "--schema", schema, "--timeout-ms", "20000"]
            let none = try await CtlChild.run(orders)
            #expect(none.status == 65, "\(none.stderr)")
            #expect(none.stderr.contains("\(region): region \(region) has no open service day"), "\(none.stderr)")
            #expect(none.stdout.isEmpty, "\(none.stdout)")
            let json = try await CtlChild.run(orders + ["--json"])
            #expect(json.status == 65 && json.stdout.isEmpty, "\(json.stderr)")

            try await client.connectToNodes()
            let gateway = try await ClusterGateway(client: client, configs: [try Self.config()])
            try await gateway.openRegions()
            let open = try await CtlChild.run(orders)
            #expect(open.status == 0, "\(open.stderr)")
            #expect(open.stdout.hasSuffix("0 orders in \(region)\n"), "\(open.stdout)")
        }
    }
}
