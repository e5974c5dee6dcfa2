import Testing
@testable import Dispatch

@Suite struct DispatchLayerTests {
    @Test func layerIsNamed() { #expect(DispatchLayer.name == "dispatch") }
}
