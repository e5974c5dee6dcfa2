import Base
import DaybreakCLI
import Cluster
import Foundation
import Storage

// `daybreak bench journal`: fenced journal appends (`Journal.append`) from many distinct actors at
// once, group commit on beside off, same run.
let benchJournalCommand = Command(
    name: "journal",
    summary: "Journal appends/s and p50/p99 latency at several concurrencies (distinct actors), group commit on vs off.",
    usage: "[--database CONNINFO] [--concurrency LIST] [--events N] [--rounds N] [--pool N]",
    options: [
        .value("database", "CONNINFO", "libpq conninfo or URI; default: the PG* environment"),
        .value("concurrency", "LIST", "comma-separated numbers of concurrent actors (default 1,16,256,1000)"),
        .value("events", "N", "appends per measurement, at least 3 per actor (default 2000)"),
        .value("rounds", "N", "rounds per measurement; medians are reported (default 3)"),
        .value("pool", "N", "connections in the journal's pool, as a node's (default 4)"),
    ]
) { args in
    var list: [Int] = []   // distinct, in order (each measurement's actors are named after it)
    for c in args.string("concurrency", default: "1,16,256,1000").split(separator: ",").compactMap({ Int($0) }) where !list.contains(c) {
        list.append(c)
    }
    guard !list.isEmpty, list.allSatisfy({ $0 >= 1 && $0 <= 100_000 }) else {
        printErr("bench journal: --concurrency takes numbers between 1 and 100000, e.g. 1,16,256")
        return ExitStatus.usage
    }
    let options = JournalBench.Options(
        conninfo: args.string("database", default: ""), concurrency: list,
        events: try args.int("events", default: 2000, range: 1 ... 10_000_000),
        rounds: try args.int("rounds", default: 3, range: 1 ... 100),
        pool: try args.int("pool", default: 4, range: 1 ... 100))
    do {
        print(try await JournalBench(options).run())
        return ExitStatus.ok
    } catch let e as PostgresError {
        printErr("bench journal: \(e)")
        return e.code == .connectFailed ? ExitStatus.unavailable : ExitStatus.failure
    }
}

struct JournalBench {
    struct Options {
        var conninfo: String
        var concurrency: [Int]
        var events: Int
        var rounds: Int
        var pool: Int
    }

    /// One measurement: appends/s, latency percentiles (ms), events per round trip.
    struct Sample {
        var rate: Double
        var p50: Double
        var p99: Double
        var perRoundTrip: Double
    }

    let options: Options
    let payload: [UInt8] = (0 ..< 160).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }

    init(_ options: Options) { self.options = options }

    func run() async throws -> String {
        let logger = Logger(label: "bench.journal", level: .warning)
        let schema = "bench_journal_\(ProcessInfo.processInfo.processIdentifier)"
        let base = PostgresConfiguration(options.conninfo)
        let conn = try await PostgresConnection.connect(base, logger: logger)
        let migrations = ClusterSchema.migrations.map { Migration(Int64($0.version), $0.name, sql: $0.sql) }
        _ = try await Migrator(migrations, schema: schema, logger: logger).migrate(conn)
        try await conn.executeScript("SET search_path TO \(schema)", purpose: "use schema")
        try await conn.execute(ClusterSchema.ensureRegion, ["bench"], purpose: "seed region")
        let lease = try await conn.query(ClusterSchema.acquireLease, ["bench", "bench", Int64(0), Int64(3_600_000)], purpose: "lease")
        let token = FencingToken(UInt64(try lease[0].decode("token", as: Int64.self)))
        let pool = PostgresPool(base.withSearchPath(schema), size: options.pool, acquireTimeout: .seconds(60), logger: logger)
        do {
            let table = try await measure(pool, token: token)
            await pool.close()
            try await conn.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE", purpose: "drop bench schema")
            await conn.close()
            return table
        } catch {
            await pool.close()
            _ = try? await conn.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE", purpose: "drop bench schema")
            await conn.close()
            throw error
        }
    }

    private func measure(_ pool: PostgresPool, token: FencingToken) async throws -> String {
        var lines = [
            "bench journal: fenced appends of \(payload.count) B events, ≥\(options.events) per measurement, pool of \(options.pool), median of \(options.rounds) rounds",
            "actors   on (appends/s)  off (appends/s)  on/off   on p50 ms  on p99 ms  off p50 ms  off p99 ms  on events/commit",
        ]
        for c in options.concurrency {
            var on: [Sample] = [], off: [Sample] = []
            for round in 0 ..< options.rounds {
                // Alternate which side goes first.
                for groupCommit in (round % 2 == 0 ? [true, false] : [false, true]) {
                    let s = try await sample(pool, token: token, actors: c, groupCommit: groupCommit, tag: "r\(round)\(groupCommit ? "on" : "off")")
                    if groupCommit { on.append(s) } else { off.append(s) }
                }
            }
            let mOn = Sample(rate: median(on.map(\.rate)), p50: median(on.map(\.p50)), p99: median(on.map(\.p99)), perRoundTrip: median(on.map(\.perRoundTrip)))
            let mOff = Sample(rate: median(off.map(\.rate)), p50: median(off.map(\.p50)), p99: median(off.map(\.p99)), perRoundTrip: 1)
            lines.append(String(format: "%6d  %15.0f  %15.0f  %6.2f  %10.2f %10.2f  %10.2f  %10.2f  %16.1f", c, mOn.rate, mOff.rate,
                                mOff.rate > 0 ? mOn.rate / mOff.rate : 0, mOn.p50, mOn.p99, mOff.p50, mOff.p99, mOn.perRoundTrip))
        }
        return lines.joined(separator: "\n")
    }

    /// `actors` tasks, each one actor appending its events one after another (as a journaled actor
    /// does), all at once; a fresh journal so the counters are this measurement's.
    private func sample(_ pool: PostgresPool, token: FencingToken, actors: Int, groupCommit: Bool, tag: String) async throws -> Sample {
        let journal = Journal(pool: pool, node: "bench", timeout: .seconds(60), groupCommit: groupCommit)
        let perActor = max(3, (options.events + actors - 1) / actors)
        let payload = self.payload
        let clock = ContinuousClock()
        let start = clock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for a in 0 ..< actors {
                group.addTask {
                    let id = ActorIdentity(kind: "courier", key: "\(tag)-c\(actors)-\(a)", region: "bench")
                    var ms: [Double] = []
                    ms.reserveCapacity(perActor)
                    for n in 1 ... perActor {
                        let t0 = clock.now
                        let r = try await journal.append(id, seq: Int64(n), type: "Reported", payload: payload,
                                                         idempotencyKey: "t:\(id.key)-\(n)", token: token)
                        guard r == .appended(seq: Int64(n)) else { throw BenchJournalFailure(what: "\(id) #\(n): \(r)") }
                        ms.append(seconds(clock.now - t0) * 1000)
                    }
                    return ms
                }
            }
            var all: [Double] = []
            for try await ms in group { all += ms }
            return all.sorted()
        }
        let elapsed = seconds(clock.now - start)
        let stats = journal.stats
        func pct(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        return Sample(rate: Double(latencies.count) / elapsed, p50: pct(0.5), p99: pct(0.99),
                      perRoundTrip: Double(stats.appends) / Double(max(stats.roundTrips, 1)))
    }
}

struct BenchJournalFailure: Error, CustomStringConvertible {
    var what: String
    var description: String { "unexpected append outcome: \(what)" }
}

private func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

private func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return 0 }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
