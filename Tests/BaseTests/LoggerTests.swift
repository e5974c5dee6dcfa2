import Foundation
import Testing
@testable import Base

@Suite struct LoggerTests {
    @Test func recordsBelowLevelAreNotBuilt() {
        let sink = CapturingLogSink()
        let log = Logger(label: "t", level: .warning, sink: sink)
        var built = false
        func expensive() -> String { built = true; return "x" }
        log.info(expensive())
        #expect(!built)
        #expect(sink.captured.isEmpty)
        log.error("boom", ["code": 7])
        #expect(sink.captured.count == 1)
        #expect(sink.captured[0].fields.map { "\($0.0)=\($0.1)" } == ["code=7"])
    }

    @Test func metadataIsCarriedAndLogfmtQuotes() {
        let sink = CapturingLogSink()
        let log = Logger(label: "storage", sink: sink).with("region", "gangnam").child("pool")
        log.info("a \"quoted\" msg", ["k": "two words"])
        let r = sink.captured[0]
        #expect(r.label == "storage.pool")
        let line = LogFormat.logfmt(r, timestamp: Date(timeIntervalSince1970: 0))
        #expect(line == #"ts=1970-01-01T00:00:00.000Z level=info label=storage.pool msg="a \"quoted\" msg" region=gangnam k="two words""#)
    }

    @Test func levelNamesParse() {
        #expect(Logger.Level(name: "DEBUG") == .debug)
        #expect(Logger.Level(name: "loud") == nil)
    }
}
