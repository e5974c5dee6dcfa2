import Testing
@testable import Messaging

@Suite struct UnitTests {
    @Test func deadlineHeapPopsInDeadlineOrder() {
        var h = DeadlineHeap()
        var g = SystemRandomNumberGenerator()
        let ds = (0..<500).map { _ in UInt64.random(in: 0..<10_000, using: &g) }
        for (i, d) in ds.enumerated() { h.push(.init(deadline: d, socket: 0, id: UInt64(i))) }
        #expect(h.popDue(0).map { $0.deadline == 0 } ?? true)
        var out: [UInt64] = []
        while let e = h.popDue(.max) { out.append(e.deadline) }
        #expect(out == out.sorted())
        #expect(out.count + (ds.contains(0) ? 1 : 0) >= 500)
    }

    @Test func aMessageKeepsFrameOrderAndHasAtLeastOneFrame() {
        let m = Message(frames: [[1], [], [2, 3]])
        #expect(m.count == 3)
        #expect(m[2] == [2, 3])
        #expect(m.frames == [[1], [], [2, 3]])
        #expect(m.byteCount == 3)
        #expect(Message(frames: []).count == 1)
    }

    @Test func errorsCompareByCodeAndDescribeThemselves() {
        let e = MessagingError.fromErrno(.bindFailed, "bind 'tcp://x'", 98)
        #expect(e.code == .bindFailed)
        #expect(e.description.contains("bindFailed"))
        #expect(e.description.contains("errno 98"))
    }
}

@Suite struct EnvelopeParsingTests {
    @Test func missingOrMisSizedFramesAreMalformedWithAMessageSayingWhat() {
        let m = Message(frames: [[1, 2, 3], Message(uint64: 42).first])
        #expect((try? m.uint64(1, "version")) == 42)
        do {
            _ = try m.frame(2, "payload")
            Issue.record("read a frame that is not there")
        } catch {
            #expect(error.code == .malformedFrame)
            #expect(error.message.contains("payload"))
        }
        do {
            _ = try m.uint64(0, "version")
            Issue.record("read 3 bytes as a UInt64")
        } catch {
            #expect(error.code == .malformedFrame)
            #expect(error.message.contains("got 3"))
        }
    }
}
