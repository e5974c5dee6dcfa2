@testable import DispatchPlanning
import Fleet
import Foundation
import Geo
import Testing

/// Pickup codes are secrets: drawn from the shell's entropy (the system's cryptographic source),
/// not from the order, the store or the config.
@Suite struct LiveSecretsTests {
    typealias L = Live

    /// The code a BOPIS order gets when packed, deciding with `entropy`.
    static func code(entropy: UInt64?) throws -> String {
        var h = Harness(L.config(couriers: L.riders))
        guard case .awaitingCollection(let site, _) = h.place(L.draft("b1", .bopis, 37.55, 127.031), at: L.at(10)) else {
            throw CodeError()
        }
        let d = h.state.decide(.site(.packed(site: site, order: "b1", at: L.at(11))), entropy: entropy)
        guard case .site(.readyForCollection(let code, _)) = d.response else { throw CodeError() }
        return code
    }
    struct CodeError: Error {}

    @Test func theSameOrderWithOtherEntropyGetsAnotherCode() throws {
        var random = SystemRandomNumberGenerator()
        let codes = try (0..<20).map { _ in try Self.code(entropy: random.next()) }
        #expect(codes.allSatisfy { $0.count == 6 && $0.allSatisfy(\.isNumber) })
        // 20 draws of a 6-digit code: all equal by chance has probability 1e-114; fewer than 15 distinct, ~1e-20.
        #expect(Set(codes).count >= 15, "\(codes)")
        // Without entropy (replay checks, tests) the code is a function of the config seed and the order.
        #expect(try Self.code(entropy: nil) == Self.code(entropy: nil))
    }

    @Test func twoRunsOfTheSameDayGiveDifferentCodes() async throws {
        func collectCode() async throws -> String {
            let gw = try LocalGateway(configs: [L.config(couriers: L.riders)])
            guard case .awaitingCollection(let site, _) = try await gw.placeOrder(L.draft("b1", .bopis, 37.55, 127.031), slot: nil, at: L.at(10)) else {
                throw CodeError()
            }
            guard case .success(.readyForCollection(let code, _)) = try await gw.siteReport(.packed(site: site, order: "b1", at: L.at(11))) else {
                throw CodeError()
            }
            return code
        }
        var codes: [String] = []
        for _ in 0..<4 { codes.append(try await collectCode()) }
        #expect(Set(codes).count > 1, "the same day, seed and order gave the same code four times: \(codes)")
    }

    @Test func aConfigWithFewerThanSixDigitsIsRefused() {
        var c = L.config()
        c.bopis.codeDigits = 4
        #expect(throws: RegionDispatchConfigError.self) { try c.validate() }
    }
}
