import Testing
@testable import Cluster

@Suite struct ClusterSchemaTests {
    static let statements: [(String, String, Int)] = [
        ("registerNode", ClusterSchema.registerNode, 2),
        ("heartbeat", ClusterSchema.heartbeat, 2),
        ("readNodes", ClusterSchema.readNodes, 0),
        ("markNodeDown", ClusterSchema.markNodeDown, 2),
        ("markNodeLeaving", ClusterSchema.markNodeLeaving, 2),
        ("ensureRegion", ClusterSchema.ensureRegion, 1),
        ("readLeases", ClusterSchema.readLeases, 0),
        ("acquireLease", ClusterSchema.acquireLease, 4),
        ("renewLease", ClusterSchema.renewLease, 4),
        ("releaseLease", ClusterSchema.releaseLease, 3),
        ("appendEvent", ClusterSchema.appendEvent, 9),
        ("writeSnapshot", ClusterSchema.writeSnapshot, 7),
        ("loadSnapshot", ClusterSchema.loadSnapshot, 3),
        ("replayEvents", ClusterSchema.replayEvents, 5),
    ]

    /// The placeholders a statement uses, e.g. [1, 2, 3].
    static func placeholders(_ sql: String) -> [Int] {
        var found = Set<Int>()
        let chars = Array(sql)
        var i = 0
        while i < chars.count {
            if chars[i] == "$", i + 1 < chars.count, chars[i + 1].isNumber {
                var j = i + 1, n = 0
                while j < chars.count, let d = chars[j].wholeNumberValue { n = n * 10 + d; j += 1 }
                found.insert(n); i = j
            } else { i += 1 }
        }
        return found.sorted()
    }

    @Test func migrationVersionsStrictlyIncreaseAndNamesAreUnique() {
        let versions = ClusterSchema.migrations.map(\.version)
        #expect(versions == versions.sorted() && Set(versions).count == versions.count && versions.first == 1)
        #expect(Set(ClusterSchema.migrations.map(\.name)).count == versions.count)
    }

    @Test func migrationsCreateTheDocumentedTables() {
        let all = ClusterSchema.migrations.map(\.sql).joined()
        for table in ["cluster_nodes", "region_leases", "actor_events", "actor_snapshots"] {
            #expect(all.contains("CREATE TABLE \(table) ("), "\(table)")
        }
        #expect(all.contains("UNIQUE (region, actor_kind, actor_key, idempotency_key)"))
    }

    @Test func everyStatementUsesContiguousPlaceholders() {
        for (name, sql, count) in Self.statements {
            #expect(Self.placeholders(sql) == Array(stride(from: 1, through: count, by: 1)), "\(name)")
            #expect(!sql.contains("\\("), "\(name) must not interpolate values")
        }
    }

    @Test func journalWritesAreFencedOnOwnerTokenAndExpiry() {
        for sql in [ClusterSchema.appendEvent, ClusterSchema.writeSnapshot] {
            #expect(sql.contains("FROM region_leases"))
            #expect(sql.contains("expires_at > now()"))
            #expect(sql.contains("FOR SHARE"))
        }
        #expect(ClusterSchema.acquireLease.contains("token = token + 1"))
        #expect(!ClusterSchema.renewLease.contains("token = token + 1"))
    }

    @Test func appendOutcomeReadsTheRow() {
        #expect(ClusterSchema.appendOutcome(leaseOK: false, appendedSeq: nil, duplicateSeq: nil) == .fenced)
        #expect(ClusterSchema.appendOutcome(leaseOK: false, appendedSeq: nil, duplicateSeq: 3) == .fenced)
        #expect(ClusterSchema.appendOutcome(leaseOK: true, appendedSeq: 4, duplicateSeq: nil) == .appended(seq: 4))
        #expect(ClusterSchema.appendOutcome(leaseOK: true, appendedSeq: nil, duplicateSeq: 3) == .duplicate(seq: 3))
        #expect(ClusterSchema.appendOutcome(leaseOK: true, appendedSeq: nil, duplicateSeq: nil) == .sequenceConflict)
    }

    @Test func idempotencyKeyStorageFormsCannotCollide() {
        let bytes = IdempotencyKey.bytes(high: 0x0123_4567_89AB_CDEF, low: 1)
        #expect(bytes.storageText == "u:0123456789abcdef0000000000000001")
        #expect(IdempotencyKey.text(String(bytes.storageText.dropFirst(2))).storageText != bytes.storageText)
    }

    @Test func instantsConvertToDatabaseMicroseconds() {
        let i = Timestamp(microsecondsSinceEpoch: 1_795_916_061_415_829)
        #expect(i.microsecondsSinceEpoch == 1_795_916_061_415_829)
        #expect((i + .milliseconds(1500)).microsecondsSinceEpoch == 1_795_916_062_915_829)
        #expect(Duration.seconds(15).wholeMilliseconds == 15_000)
    }
}
