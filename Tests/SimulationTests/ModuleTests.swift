import Testing
@testable import Simulation
import DispatchPlanning

@Suite struct SimulationModuleTests {
    @Test func policiesAreNamedStably() {
        #expect(DispatchPolicy.allCases.map(\.rawValue) == ["optimised", "baseline"])
    }
}
