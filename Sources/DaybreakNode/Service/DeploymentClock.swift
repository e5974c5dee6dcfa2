import Base
import Cluster
import Foundation
import DispatchPlanning
import Geo
import Storage

/// How a deployment's time moves.
public enum ClockMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// The real clock (the city's time zone comes from the operations file).
    case wall
    /// Time moves only when a principal allowed to drive the clock advances it (the simulated day,
    /// tests, replays); it never runs backwards and every advance is journaled.
    case driven
}

/// The deployment's clock as stored in `cluster_clock`.
public struct ClockSetting: Sendable, Hashable, Codable {
    public var mode: ClockMode
    /// The driven clock's time (nil for wall).
    public var driven: Instant?
    /// The city's offset from UTC (for showing times; the operations file's `utcOffset`).
    public var offset: UTCOffset
    public init(mode: ClockMode, driven: Instant?, offset: UTCOffset = .utc) { self.mode = mode; self.driven = driven; self.offset = offset }

    /// Now under this setting (`wall`: the real clock).
    public func now(wall: @Sendable () -> Instant = DeploymentClock.wallNow) -> Instant { driven ?? wall() }
}

/// Why the clock refused.
public struct ClockError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable, Codable {
        /// A node's mode differs from the deployment's.
        case modeMismatch
        /// An advance of a wall clock.
        case notDriven
        /// An advance to an earlier time.
        case backwards
        /// No clock row yet (no node has started on this database).
        case notConfigured
    }
    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
    public var description: String { message }
}

/// The deployment's clock in PostgreSQL. Every node reads the same row, so they agree on the mode
/// and (driven) the time; an advance is one transaction: the new time and its journal row.
public enum DeploymentClock {
    public static let wallNow: @Sendable () -> Instant = { Instant(epochSeconds: Int64(Date().timeIntervalSince1970.rounded(.down))) }

    static func setting(_ rows: PostgresRows) throws -> ClockSetting? {
        guard let r = rows.first else { return nil }
        let mode = try r.decode(0, as: String.self)
        guard let m = ClockMode(rawValue: mode) else { throw ClockError(.notConfigured, "cluster_clock.mode is '\(mode)'") }
        return ClockSetting(mode: m, driven: try r.decode(1, as: Int64?.self).map { Instant(epochSeconds: $0 / 1_000_000) },
                            offset: UTCOffset(seconds: Int64(try r.decode(2, as: Int64.self))))
    }

    static let readSQL = "SELECT mode, now_us, utc_offset_seconds::bigint FROM cluster_clock"

    /// The stored setting, or nil before any node started.
    public static func read(_ pool: PostgresPool, timeout: Duration = .seconds(2)) async throws -> ClockSetting? {
        try await withDeadline(timeout, "read clock") { try setting(try await pool.query(readSQL, purpose: "read clock")) }
    }

    public static func read(_ conn: PostgresConnection, timeout: Duration = .seconds(2)) async throws -> ClockSetting? {
        try await withDeadline(timeout, "read clock") { try setting(try await conn.query(readSQL, purpose: "read clock")) }
    }

    /// The deployment's clock, created with `mode` (and, driven, starting at `start`) when absent.
    /// Throws `modeMismatch`, naming both modes, when it exists with the other mode.
    public static func ensure(mode: ClockMode, start: Instant, offset: UTCOffset, on conn: PostgresConnection, who: String) async throws -> ClockSetting {
        let driven: Int64? = mode == .driven ? start.epochSeconds * 1_000_000 : nil
        _ = try await withDeadline(.seconds(5), "create clock") {
            try await conn.execute("INSERT INTO cluster_clock (mode, now_us, utc_offset_seconds) VALUES ($1, $2, $3) ON CONFLICT (singleton) DO NOTHING",
                                   [mode.rawValue, driven, offset.seconds], purpose: "create clock")
        }
        guard let s = try await read(conn) else { throw ClockError(.notConfigured, "the clock row vanished") }
        guard s.mode == mode else {
            throw ClockError(.modeMismatch, "\(who) was started with --clock \(mode.rawValue), but this deployment's clock is \(s.mode.rawValue) "
                             + "(set when it was first started); start it with --clock \(s.mode.rawValue), or use a new database or schema")
        }
        return s
    }

    /// Advances the driven clock to `to` (no change when it is already there) and journals it.
    /// Throws `notDriven` for a wall clock and `backwards` for an earlier time, naming both.
    @discardableResult
    public static func advance(to: Instant, principal: String, pool: PostgresPool) async throws -> (from: Instant, to: Instant) {
        try await withDeadline(.seconds(5), "advance clock") {
            try await pool.withTransaction(purpose: "advance clock") { tx in
                let rows = try await tx.query(readSQL + " FOR UPDATE", purpose: "lock clock")
                guard let s = try setting(rows) else { throw ClockError(.notConfigured, "no clock: no node has started on this database") }
                guard s.mode == .driven, let from = s.driven else {
                    throw ClockError(.notDriven, "this deployment's clock is wall (real time); only a driven clock can be advanced")
                }
                guard to >= from else {
                    throw ClockError(.backwards, "the clock never runs backwards: it is \(iso(from, s.offset)), asked for \(iso(to, s.offset))")
                }
                guard to > from else { return (from, to) }
                _ = try await tx.execute("UPDATE cluster_clock SET now_us = $1, updated_at = now()", [to.epochSeconds * 1_000_000], purpose: "advance clock")
                _ = try await tx.execute("INSERT INTO clock_advances (from_us, to_us, principal) VALUES ($1, $2, $3)",
                                         [from.epochSeconds * 1_000_000, to.epochSeconds * 1_000_000, principal], purpose: "journal clock advance")
                return (from, to)
            }
        }
    }

    /// `2026-12-02T23:05:00+09:00` (`Instant.iso8601`).
    public static func iso(_ t: Instant, _ offset: UTCOffset) -> String { t.iso8601(offset) }

    /// Parses `YYYY-MM-DDTHH:MM[:SS[.fff]](Z|±HH:MM)` (`Instant(iso8601:)`); nil when malformed.
    public static func parseISO(_ text: String) -> Instant? { Instant(iso8601: text) }

    /// Parses a duration like `15m`, `2h`, `90s`, `1d`, `1h30m`; nil when malformed or not positive.
    public static func parseDuration(_ text: String) -> Int64? {
        var total: Int64 = 0, digits = ""
        for ch in text {
            if ch.isASCII && ch.isNumber { digits.append(ch); continue }
            guard let n = Int64(digits), digits.count <= 7 else { return nil }
            switch ch {
            case "d": total += n * 86_400
            case "h": total += n * 3_600
            case "m": total += n * 60
            case "s": total += n
            default: return nil
            }
            digits = ""
        }
        guard digits.isEmpty, total > 0 else { return nil }
        return total
    }
}
