import Base
import DaybreakCLI
import CLibPQ
import Foundation
import Storage
import Synchronization

// `daybreak bench storage`: journal-shaped appends through Storage beside raw libpq, same run.
let benchStorageCommand = Command(
    name: "storage",
    summary: "Batched event appends (COPY) and single-row commits through Storage, beside raw libpq; pipelined INSERTs for scale.",
    usage: "[--database CONNINFO] [--rows N] [--batch N] [--commits N] [--rounds N] [--json]",
    options: [
        .value("database", "CONNINFO", "libpq conninfo or URI; default: the PG* environment"),
        .value("rows", "N", "rows appended per round in the batched test (default 100000)"),
        .value("batch", "N", "rows per COPY (default 10000)"),
        .value("commits", "N", "single-row autocommit INSERTs per round (default 300)"),
        .value("rounds", "N", "rounds per measurement; medians are reported (default 5)"),
        .flag("json", "print one JSON line instead of the table"),
    ]
) { args in
    let options = StorageBench.Options(
        conninfo: args.string("database", default: ""),
        rows: try args.int("rows", default: 100_000, range: 1 ... 100_000_000),
        batch: try args.int("batch", default: 10_000, range: 1 ... 10_000_000),
        commits: try args.int("commits", default: 300, range: 1 ... 1_000_000),
        rounds: try args.int("rounds", default: 5, range: 1 ... 100))
    do {
        let r = try await StorageBench(options).run()
        if args.flag("json") { print(r.json.rendered()) } else { print(r.table) }
        return ExitStatus.ok
    } catch let e as PostgresError {
        printErr("bench storage: \(e)")
        return e.code == .connectFailed ? ExitStatus.unavailable : ExitStatus.failure
    }
}

struct StorageBench {
    struct Options {
        var conninfo: String
        var rows: Int
        var batch: Int
        var commits: Int
        var rounds: Int
    }

    struct Result {
        var options: Options
        var batchedStorage: Double
        var batchedRaw: Double
        var commitsStorage: Double
        var commitsRaw: Double
        var pipelined: Double

        var table: String {
            func fmt(_ v: Double) -> String { String(format: "%12.0f", v) }
            func ratio(_ a: Double, _ b: Double) -> String { String(format: "%6.2f", b > 0 ? a / b : 0) }
            return """
                bench storage: \(options.rows) rows in COPY batches of \(options.batch), \(options.commits) single-row commits, median of \(options.rounds) rounds
                measurement                       Storage     raw libpq  Storage/raw
                batched appends (rows/s)     \(fmt(batchedStorage))  \(fmt(batchedRaw))       \(ratio(batchedStorage, batchedRaw))
                single-row commits (/s)      \(fmt(commitsStorage))  \(fmt(commitsRaw))       \(ratio(commitsStorage, commitsRaw))
                pipelined INSERTs (rows/s)   \(fmt(pipelined))           n/a          n/a
                """
        }

        var json: JSONValue {
            .object([
                ("bench", "storage"), ("rows", .int(options.rows)), ("batch", .int(options.batch)),
                ("commits", .int(options.commits)), ("rounds", .int(options.rounds)),
                ("batched_rows_per_s", .double(batchedStorage.rounded())), ("batched_raw_rows_per_s", .double(batchedRaw.rounded())),
                ("batched_ratio", .double((batchedStorage / max(batchedRaw, 1) * 1000).rounded() / 1000)),
                ("commits_per_s", .double(commitsStorage.rounded())), ("commits_raw_per_s", .double(commitsRaw.rounded())),
                ("commits_ratio", .double((commitsStorage / max(commitsRaw, 1) * 1000).rounded() / 1000)),
                ("pipelined_rows_per_s", .double(pipelined.rounded())),
            ])
        }
    }

    let options: Options
    let table: String
    let payload: [UInt8]
    let at = Date(timeIntervalSince1970: 1_764_379_384.25)

    init(_ options: Options) {
        self.options = options
        self.table = "bench_events_\(ProcessInfo.processInfo.processIdentifier)"
        // ~160 bytes, like an encoded order event.
        self.payload = (0 ..< 160).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    }

    func run() async throws -> Result {
        let logger = Logger(label: "bench.storage", level: .warning)
        let conn = try await PostgresConnection.connect(PostgresConfiguration(options.conninfo), logger: logger)
        // The table name is generated from the pid, not from input.
        try await conn.executeScript("""
            DROP TABLE IF EXISTS \(table);
            CREATE TABLE \(table) (region text NOT NULL, stream_id text NOT NULL, seq bigint NOT NULL,
                                   type text NOT NULL, payload bytea NOT NULL, at timestamptz NOT NULL)
            """, purpose: "create bench table")
        do {
            let result = try await measure(conn)
            try await conn.executeScript("DROP TABLE IF EXISTS \(table)", purpose: "drop bench table")
            await conn.close()
            return result
        } catch {
            _ = try? await conn.executeScript("DROP TABLE IF EXISTS \(table)", purpose: "drop bench table")
            await conn.close()
            throw error
        }
    }

    private func measure(_ conn: PostgresConnection) async throws -> Result {
        let raw = try await RawLibpq.open(options.conninfo)
        var bs: [Double] = [], br: [Double] = [], cs: [Double] = [], cr: [Double] = [], ps: [Double] = []
        let copySQL = "COPY \(table) (region, stream_id, seq, type, payload, at) FROM STDIN"
        let insertSQL = "INSERT INTO \(table) (region, stream_id, seq, type, payload, at) VALUES ($1, $2, $3, $4, $5, $6)"
        for round in 0 ..< options.rounds {
            // Alternate the order so neither side always runs on a warmer server.
            for side in (round % 2 == 0 ? [0, 1] : [1, 0]) {
                try await conn.executeScript("TRUNCATE \(table)", purpose: "truncate bench table")
                if side == 0 {
                    let t0 = ContinuousClock.now
                    var appended = 0
                    while appended < options.rows {
                        let n = min(options.batch, options.rows - appended)
                        var rows = PostgresCopyRows(columns: 6, reservingBytes: n * 420)
                        for i in appended ..< appended + n {
                            try rows.appendField("seoul-gangnam")
                            try rows.appendField("order-\(i / 8)")
                            try rows.appendField(Int64(i % 8))
                            try rows.appendField("OrderPlaced")
                            try rows.appendField(payload)
                            try rows.appendField(at)
                            rows.endRow()
                        }
                        appended += try await conn.copyIn(copySQL, rows: rows, purpose: "append order events")
                    }
                    bs.append(Double(appended) / seconds(ContinuousClock.now - t0))
                } else {
                    let (rows, elapsed) = try await raw.copyRows(copySQL, rows: options.rows, batch: options.batch, payload: payload)
                    br.append(Double(rows) / elapsed)
                }
            }
            // Pipeline mode: one INSERT per row, batches of `batch` per sync (one implicit transaction each).
            try await conn.executeScript("TRUNCATE \(table)", purpose: "truncate bench table")
            let p0 = ContinuousClock.now
            var piped = 0
            while piped < options.rows {
                let n = min(options.batch, options.rows - piped)
                let statements = (piped ..< piped + n).map { i in
                    PostgresStatement(insertSQL, ["seoul-gangnam", "order-\(i / 8)", Int64(i % 8), "OrderPlaced", payload, at])
                }
                piped += try await conn.pipeline(statements, purpose: "append order events (pipelined)").count
            }
            ps.append(Double(piped) / seconds(ContinuousClock.now - p0))
            for side in (round % 2 == 0 ? [0, 1] : [1, 0]) {
                if side == 0 {
                    let t0 = ContinuousClock.now
                    for i in 0 ..< options.commits {
                        try await conn.execute(insertSQL, ["seoul-gangnam", "order-\(i)", Int64(i), "OrderPlaced", payload, at],
                                               purpose: "append one order event")
                    }
                    cs.append(Double(options.commits) / seconds(ContinuousClock.now - t0))
                } else {
                    let elapsed = try await raw.insertRows(insertSQL, count: options.commits, payload: payload)
                    cr.append(Double(options.commits) / elapsed)
                }
            }
        }
        await raw.close()
        return Result(options: options, batchedStorage: median(bs), batchedRaw: median(br),
                      commitsStorage: median(cs), commitsRaw: median(cr), pipelined: median(ps))
    }
}

private func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

private func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return 0 }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// The reference: plain blocking libpq with no Storage layer, run on a thread of its own (one
/// per call) so the blocking calls stay off the cooperative pool.
///
/// `@unchecked Sendable` invariant: `conn` is used by one call at a time (every call awaits its
/// thread before the next starts; `exclusive` traps on overlap), and `close` runs last.
final class RawLibpq: @unchecked Sendable {
    private let _conn: OpaquePointer
    private let busy = Atomic<Bool>(false)

    /// Runs `body` with the connection, trapping if another call is using it.
    private func exclusive<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T {
        precondition(busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged,
                     "RawLibpq used concurrently")
        defer { busy.store(false, ordering: .releasing) }
        return try body(_conn)
    }

    private init(conn: OpaquePointer) { self._conn = conn }

    static func open(_ conninfo: String) async throws -> RawLibpq {
        try await onThread {
            guard let c = PQconnectdb(conninfo), PQstatus(c) == CONNECTION_OK else {
                throw PostgresError(.connectFailed, purpose: "raw reference connect", message: "PQconnectdb failed")
            }
            PQsetNoticeReceiver(c, { _, _ in }, nil)
            PQclear(PQexec(c, "SET TimeZone TO 'UTC'"))
            return RawLibpq(conn: c)
        }
    }

    func close() async {
        _ = try? await onThread { self.exclusive { PQfinish($0) } }
    }

    /// Text COPY of journal rows; the encoding is part of the timed work, as on the Storage side.
    func copyRows(_ sql: String, rows total: Int, batch: Int, payload: [UInt8]) async throws -> (Int, Double) {
        return try await onThread { try self.exclusive { c in
            let hex = Array("0123456789abcdef".utf8)
            var payloadHex: [UInt8] = [0x5C, 0x5C, 0x78]
            let start = ContinuousClock.now
            var copied = 0
            var buf: [UInt8] = []
            while copied < total {
                let n = min(batch, total - copied)
                buf.removeAll(keepingCapacity: true)
                for i in copied ..< copied + n {
                    buf.append(contentsOf: "seoul-gangnam\torder-\(i / 8)\t\(i % 8)\tOrderPlaced\t".utf8)
                    payloadHex.removeSubrange(3...)
                    for b in payload { payloadHex.append(hex[Int(b >> 4)]); payloadHex.append(hex[Int(b & 15)]) }
                    buf.append(contentsOf: payloadHex)
                    buf.append(contentsOf: "\t2025-11-29 01:23:04.25+00\n".utf8)
                }
                guard let r = PQexec(c, sql), PQresultStatus(r) == PGRES_COPY_IN else {
                    throw PostgresError(.copyFailed, purpose: "raw COPY", message: String(cString: PQerrorMessage(c)))
                }
                PQclear(r)
                let ok = buf.withUnsafeBytes { p in
                    PQputCopyData(c, p.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(p.count)) == 1
                }
                guard ok, PQputCopyEnd(c, nil) == 1 else {
                    throw PostgresError(.copyFailed, purpose: "raw COPY", message: String(cString: PQerrorMessage(c)))
                }
                while let r = PQgetResult(c) {
                    defer { PQclear(r) }
                    guard PQresultStatus(r) == PGRES_COMMAND_OK else {
                        throw PostgresError(.copyFailed, purpose: "raw COPY", message: String(cString: PQresultErrorMessage(r)))
                    }
                    copied += Int(String(cString: PQcmdTuples(r))) ?? 0
                }
            }
            return (copied, seconds(ContinuousClock.now - start))
        } }
    }

    /// Autocommit single-row INSERTs with PQexecParams (text parameters, bytea binary).
    func insertRows(_ sql: String, count: Int, payload: [UInt8]) async throws -> Double {
        return try await onThread { try self.exclusive { c in
            let start = ContinuousClock.now
            for i in 0 ..< count {
                let texts = ["seoul-gangnam", "order-\(i)", String(i), "OrderPlaced", "", "2025-11-29 01:23:04.25+00"]
                var cstrings = texts.map { strdup($0) }
                defer { cstrings.forEach { free($0) } }
                let ok: Bool = payload.withUnsafeBytes { p in
                    cstrings[4] = UnsafeMutablePointer(mutating: p.baseAddress!.assumingMemoryBound(to: CChar.self))
                    defer { cstrings[4] = nil }
                    let values: [UnsafePointer<CChar>?] = cstrings.map { UnsafePointer($0) }
                    let lengths: [Int32] = [0, 0, 0, 0, Int32(payload.count), 0]
                    let formats: [Int32] = [0, 0, 0, 0, 1, 0]
                    let r = PQexecParams(c, sql, 6, nil, values, lengths, formats, 0)
                    defer { PQclear(r) }
                    return PQresultStatus(r) == PGRES_COMMAND_OK
                }
                guard ok else { throw PostgresError(.server, purpose: "raw insert", message: String(cString: PQerrorMessage(c))) }
            }
            return seconds(ContinuousClock.now - start)
        } }
    }
}

/// Runs `body` on a new thread (a blocking libpq call) and resumes with its result.
private func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await onDedicatedThread(name: "bench-storage", stackSize: 1 << 20, body)
}
