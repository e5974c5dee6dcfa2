import Base
import Foundation
import Testing

/// `daybreak bench sorter` end to end on its fast settings (seeded routes, a short picking run).
@Suite struct BenchSorterCLITests {
    @Test func generatedNightSortsEverythingOnTimeAndDrawsThePicture() throws {
        let svg = FileManager.default.temporaryDirectory.appendingPathComponent("sorter-\(UUID().uuidString).svg")
        defer { try? FileManager.default.removeItem(at: svg) }
        let r = try CLIProcess.run(["bench", "sorter", "--plan", "generated", "--vans", "200", "--robots", "10", "--picks", "300",
                                    "--pick-hours", "0.5", "--json", "--svg", svg.path])
        #expect(r.status == 0, "\(r.stderr)")
        let v = try JSONValue.parse(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(v["mis_sorts"]?.doubleValue == 0)
        #expect(v["vans_late"]?.doubleValue == 0)
        #expect(v["vans"]?.doubleValue == 120)
        #expect((v["parcels_per_h"]?.doubleValue ?? 0) > 10_000)
        #expect(v["picks_done"]?.doubleValue == 300)
        let picture = try String(contentsOf: svg, encoding: .utf8)
        #expect(picture.hasPrefix("<svg") && picture.contains("wave 0 departs 01:30"))
    }

    @Test func aBrokenLayoutIsRefusedNamingLineAndColumn() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sites-broken-\(UUID().uuidString).site")
        defer { try? FileManager.default.removeItem(at: file) }
        try "site hub-x\nkind hub\nwidth 3\nheight 1\nmap\nB?.\n".write(to: file, atomically: true, encoding: .utf8)
        let r = try CLIProcess.run(["bench", "sorter", "--plan", "generated", "--layout", file.path])
        #expect(r.status == 65)
        #expect(r.stderr.contains(":6:2: unknown character '?'"))
    }
}
