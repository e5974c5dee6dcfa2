import Testing
@testable import Cluster

/// Event envelopes packed into one frame (one CURVE box per message instead of per event).
@Suite struct EventPackingTests {
    @Test func packedEnvelopesComeBackAsTheyWentAndUnpackedFramesPassThrough() throws {
        let envelopes: [[UInt8]] = [[0xDB, 0xC1, 1, 2, 3], [], Array(repeating: 7, count: 300), [0xDB, 0xC1]]
        let packed = ClusterActorSystem.pack(envelopes)
        #expect(Array(packed.prefix(4)) == Array("DBPK".utf8))
        let back = try #require(ClusterActorSystem.unpack(packed))
        #expect(back.map { Array($0) } == envelopes)
        // A frame of the earlier format (one envelope, starting with the wire's magic) is itself.
        #expect(ClusterActorSystem.unpack([0xDB, 0xC1, 0, 1])?.map { Array($0) } == [[0xDB, 0xC1, 0, 1]])
    }

    @Test func aPackWhoseLengthsRunPastItsEndIsRefused() {
        var packed = ClusterActorSystem.pack([[1, 2, 3, 4, 5]])
        packed.removeLast()
        #expect(ClusterActorSystem.unpack(packed) == nil)
        #expect(ClusterActorSystem.unpack(Array("DBPK".utf8) + [9, 0, 0]) == nil)
        #expect(ClusterActorSystem.unpack(Array("DBPK".utf8) + [0xFF, 0xFF, 0xFF, 0xFF, 1]) == nil)
    }
}
