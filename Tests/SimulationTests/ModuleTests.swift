import Testing
@testable import Simulation
import DispatchPlanning

@Suite struct SimulationModuleTests {
    @Test func policiesAreNamedStably() {
        #expect(DispatchPolicy.allCases.map(\.rawValue) == ["optimised", "baseline"])
    }
}

import Fleet

@Suite struct AcknowledgementTests {
    @Test func aCancellationOnTheRoadIsHonouredByFailedAndReturned() {
        #expect(OrderIDRegion.honours(acknowledged: .cancelled, states: [.created, .outForDelivery, .failed, .returned]))
        #expect(OrderIDRegion.honours(acknowledged: .cancelled, states: [.created, .cancelled]))
        #expect(!OrderIDRegion.honours(acknowledged: .cancelled, states: [.created, .outForDelivery, .delivered]))
    }

    @Test func otherStatesMustHaveBeenReached() {
        #expect(OrderIDRegion.honours(acknowledged: .delivered, states: [.outForDelivery, .arrived, .delivered]))
        #expect(!OrderIDRegion.honours(acknowledged: .delivered, states: [.outForDelivery, .failed, .returned]))
        #expect(!OrderIDRegion.honours(acknowledged: .pickedUp, states: [.readyForPickup, .noShow]))
        #expect(OrderIDRegion.honours(acknowledged: .assigned, states: [.assigned]))
    }
}
