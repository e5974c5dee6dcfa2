import Foundation
import Testing
@testable import Warehouse

@Suite struct SiteLayoutTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A tiny valid store, with the map starting on line 7.
    static let small = """
    # a test site
    site mfc-test
    kind store
    width 7
    height 4
    map
    @@@@@@@
    @B.P.S@
    @..D.S@
    @@@@@@@
    """

    func error(_ text: String, file: String = "t.site") -> SiteLayoutError? {
        do { _ = try SiteLayout.parse(text, file: file); return nil } catch { return error }
    }

    @Test func readsASmallStore() throws {
        let l = try SiteLayout.parse(Self.small, file: "t.site")
        #expect(l.site == "mfc-test" && l.kind == .store && l.name == "mfc-test")
        #expect(l.grid.width == 7 && l.grid.height == 4)
        #expect(l.features.map(\.name) == ["charger-1", "pick-1", "storage-1", "dock-1", "storage-2"])
        let rack = try #require(l.feature(named: "storage-1"))
        #expect(l.grid.cell(rack.cell) == GridCell(x: 5, y: 1))
        #expect(!l.grid.isFree(rack.cell) && l.grid.isFree(rack.access))
        #expect(l.grid.cell(rack.access) == GridCell(x: 4, y: 1))   // east is the wall, south is a rack: west
        #expect(l.grid.isFree(try #require(l.feature(named: "pick-1")).cell))
        #expect(l.chuteCapacity == nil)
    }

    @Test func renamesFeatures() throws {
        let l = try SiteLayout.parse(Self.small + "\nrename 3 2 door-A\n", file: "t.site")
        #expect(l.feature(named: "door-A")?.kind == .dock)
        #expect(l.feature(named: "dock-1") == nil)
    }

    @Test func everySeoulSiteHasALayout() throws {
        let city = try String(contentsOf: Self.root.appendingPathComponent("Regions/seoul.json"), encoding: .utf8)
        // Site ids as the regions file names them: "id": "hub-…" and "id": "mfc-…".
        let ids = city.split(separator: "\"").map(String.init).filter { $0.hasPrefix("hub-") || $0.hasPrefix("mfc-") }
        #expect(Set(ids).count >= 12)
        for id in Set(ids) {
            let path = "Regions/sites/\(id).site"
            let text = try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8)
            let l = try SiteLayout.parse(text, file: path)
            #expect(l.site == id, "\(path) names site \(l.site)")
            #expect(!l.features(.charger).isEmpty && !l.features(.pick).isEmpty && !l.features(.storage).isEmpty)
            #expect(l.kind == (id.hasPrefix("hub-") ? .hub : .store))
        }
    }

    @Test func theGimpoHubIsSizedForTheDawnWave() throws {
        let path = "Regions/sites/hub-dawn.site"
        let l = try SiteLayout.parse(try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8), file: path)
        #expect(l.features(.storage).count >= 500)
        #expect(l.features(.pick).count == 10)
        #expect(l.features(.chute).count >= 250)
        #expect(l.features(.induct).count >= 7)
        #expect(l.features(.dock).count >= 30)
        #expect(l.feature(named: "door-01")?.kind == .dock)
        let sorter = try #require(SorterConfig(layout: l))
        #expect(sorter.nominalParcelsPerHour >= 20_000)
        // Every feature is reachable from every charger's cell (one connected floor).
        let d = l.grid.distances(from: l.features(.charger)[0].access)
        #expect(l.features.allSatisfy { d[$0.access] != Grid.unreachable })
    }

    @Test func unknownCharacterNamesLineAndColumn() {
        let e = error(Self.small.replacingOccurrences(of: "@..D.S@", with: "@..D%S@"))
        #expect(e?.line == 9 && e?.column == 5)
        #expect(e?.message.contains("unknown character '%'") == true)
        #expect(e?.description.hasPrefix("t.site:9:5: ") == true)
    }

    @Test func raggedRow() {
        let e = error(Self.small.replacingOccurrences(of: "@B.P.S@", with: "@B.P.S.@"))
        #expect(e?.line == 8)
        #expect(e?.message.contains("ragged row: 8 characters, 'width' (line 4) says 7") == true)
    }

    @Test func tooFewAndTooManyRows() {
        let short = error(Self.small.replacingOccurrences(of: "height 4", with: "height 5"))
        #expect(short?.message.contains("the map has 4 rows; 'height' (line 5) says 5") == true)
        let long = error(Self.small + "\n@@@@@@@")
        #expect(long?.line == 11)
        #expect(long?.message.contains("a row after the map") == true)
    }

    @Test func chuteWithNoAccessCell() {
        let boxed = """
        site hub-x
        kind hub
        chute-capacity 10
        width 6
        height 4
        map
        @@@@@@
        @BI@C@
        @..@@@
        @@@@@@
        """
        let e = error(boxed)
        #expect(e?.line == 8 && e?.column == 5)
        #expect(e?.message.contains("chute at (4,1) has no access cell") == true)
    }

    @Test func noCharger() {
        let e = error(Self.small.replacingOccurrences(of: "@B.P.S@", with: "@..P.S@"))
        #expect(e?.message.contains("no charger") == true)
    }

    @Test func duplicateNames() {
        let e = error(Self.small + "\nrename 3 1 dock-1\n")
        #expect(e?.line == 11 && e?.message.contains("duplicate name 'dock-1'") == true)
        let twice = error(Self.small + "\nrename 3 1 a\nrename 3 1 b\n")
        #expect(twice?.line == 12 && twice?.message.contains("already renamed on line 11") == true)
    }

    @Test func badHeaderAndRenames() {
        #expect(error(Self.small.replacingOccurrences(of: "kind store", with: "kind depot"))?.message.contains("kind must be 'hub' or 'store'") == true)
        #expect(error(Self.small.replacingOccurrences(of: "kind store", with: "colour red"))?.message.contains("unknown header key 'colour'") == true)
        #expect(error(Self.small.replacingOccurrences(of: "width 7", with: "width seven"))?.line == 4)
        #expect(error(Self.small.replacingOccurrences(of: "site mfc-test\n", with: ""))?.message.contains("missing header key 'site'") == true)
        #expect(error(Self.small.components(separatedBy: "map\n")[0])?.message.contains("no 'map' line") == true)
        #expect(error(Self.small.replacingOccurrences(of: "map\n", with: ""))?.message.contains("unknown header key '@@@@@@@'") == true)
        #expect(error(Self.small + "\nrename 2 1 x\n")?.message.contains("not a feature") == true)
        #expect(error(Self.small + "\nrename 9 9 x\n")?.message.contains("not a cell") == true)
        // A sorter needs inducts, chutes and a chute capacity.
        let sorter = Self.small.replacingOccurrences(of: "@B.P.S@", with: "@B.PIS@")
        #expect(error(sorter)?.message.contains("inducts but no chute") == true)
        // A feature cut off from the chargers.
        let cut = Self.small.replacingOccurrences(of: "@B.P.S@\n@..D.S@", with: "@B@P.S@\n@.@D.S@")
        #expect(error(cut)?.message.contains("cannot be reached from charger") == true)
    }
}
