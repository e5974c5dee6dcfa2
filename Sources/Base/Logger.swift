import Foundation
import Synchronization

/// A small structured logger in the spirit of swift-log.
///
/// Libraries take a `Logger` as a parameter; only executables and tests make one.
/// A logger is a value: `with(_:_:)` returns a copy carrying more metadata.
/// Messages and fields are `@autoclosure`s, so a record below the level costs a comparison.
public struct Logger: Sendable {
    /// Severity, lowest first.
    public enum Level: Int, Comparable, Sendable, CaseIterable, CustomStringConvertible {
        case trace, debug, info, notice, warning, error, critical

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        public var description: String {
            switch self {
            case .trace: "trace"
            case .debug: "debug"
            case .info: "info"
            case .notice: "notice"
            case .warning: "warning"
            case .error: "error"
            case .critical: "critical"
            }
        }
        /// Parses `trace`…`critical` (case-insensitive); nil for anything else.
        public init?(name: String) {
            guard let l = Level.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
            self = l
        }
    }

    /// The component that logs, e.g. `messaging` or `storage.pool`.
    public var label: String
    /// Records below this level are dropped before their message is built.
    public var level: Level
    /// Key-values attached to every record of this logger.
    public private(set) var metadata: [(String, String)]
    private let sink: any LogSink

    public init(label: String, level: Level = .info, sink: any LogSink = StderrLogSink.shared) {
        self.label = label
        self.level = level
        self.metadata = []
        self.sink = sink
    }

    /// A logger that drops everything (for callers that do not care).
    public static var disabled: Logger { Logger(label: "disabled", level: .critical, sink: NullLogSink()) }

    /// A copy of this logger with one more key-value on every record.
    public func with(_ key: String, _ value: some CustomStringConvertible) -> Logger {
        var copy = self
        copy.metadata.append((key, value.description))
        return copy
    }

    /// A copy with another label (same sink, level and metadata).
    public func child(_ label: String) -> Logger {
        var copy = self
        copy.label = self.label + "." + label
        return copy
    }

    public func isEnabled(_ level: Level) -> Bool { level >= self.level }

    public func log(_ level: Level, _ message: @autoclosure () -> String,
                    _ fields: @autoclosure () -> KeyValuePairs<String, any CustomStringConvertible> = [:]) {
        guard level >= self.level else { return }
        var all = metadata
        for (k, v) in fields() { all.append((k, v.description)) }
        sink.write(LogRecord(level: level, label: label, message: message(), fields: all))
    }

    public func trace(_ m: @autoclosure () -> String, _ f: @autoclosure () -> KeyValuePairs<String, any CustomStringConvertible> = [:]) { log(.trace, m(), f()) }
    public func debug(_ m: @autoclosure () -> String, _ f: @autoclosure () -> KeyValuePairs<String, any CustomStringConvertible> = [:]) { log(.debug, m(), f()) }
    public func info(_ m: @autoclosure () -> String, _ f: @autoclosure () -> KeyValuePairs<String, any CustomStringConvertible> = [:]) { log(.info, m(), f()) }
    public func notice(_ m: @autoclosure () -> String, _ f: @autoclosure () -> KeyValuePairs<String, any CustomStringConvertible> = [:]) { log(.notice, m(), f()) }
    public func warning(_ m: @autoclosure () -> String, _ f: @autoclosure () -> KeyValuePairs<String, any CustomStringConvertible> = [:]) { log(.warning, m(), f()) }
    public func error(_ m: @autoclosure () -> String, _ f: @autoclosure () -> KeyValuePairs<String, any CustomStringConvertible> = [:]) { log(.error, m(), f()) }
    public func critical(_ m: @autoclosure () -> String, _ f: @autoclosure () -> KeyValuePairs<String, any CustomStringConvertible> = [:]) { log(.critical, m(), f()) }
}

/// One log record as handed to a sink.
public struct LogRecord: Sendable {
    public var level: Logger.Level
    public var label: String
    public var message: String
    public var fields: [(String, String)]
}

/// Where records go. Sinks must be cheap and must not throw.
public protocol LogSink: Sendable {
    func write(_ record: LogRecord)
}

/// Drops every record.
public struct NullLogSink: LogSink {
    public init() {}
    public func write(_ record: LogRecord) {}
}

/// Writes logfmt lines (`ts=… level=… label=… msg="…" key=value`) to standard error.
/// Lines are written whole under a lock, so concurrent records never interleave.
public final class StderrLogSink: LogSink {
    public static let shared = StderrLogSink()
    private let lock = Mutex(())
    public init() {}

    public func write(_ record: LogRecord) {
        let line = LogFormat.logfmt(record, timestamp: Date()) + "\n"
        lock.withLock { _ in
            FileHandle.standardError.write(Data(line.utf8))
        }
    }
}

/// Keeps records in memory; for tests that assert what was logged.
public final class CapturingLogSink: LogSink {
    private let records = Mutex<[LogRecord]>([])
    public init() {}
    public func write(_ record: LogRecord) { records.withLock { $0.append(record) } }
    public var captured: [LogRecord] { records.withLock { $0 } }
}

/// Formatting helpers for log lines.
public enum LogFormat {
    /// Renders a record as one logfmt line (no trailing newline).
    public static func logfmt(_ r: LogRecord, timestamp: Date) -> String {
        var out = "ts=\(iso8601(timestamp)) level=\(r.level) label=\(quoteIfNeeded(r.label)) msg=\(quote(r.message))"
        for (k, v) in r.fields { out += " \(k)=\(quoteIfNeeded(v))" }
        return out
    }

    static func iso8601(_ d: Date) -> String {
        let f = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        return d.formatted(f)
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out + "\""
    }

    static func quoteIfNeeded(_ s: String) -> String {
        if s.isEmpty { return "\"\"" }
        if s.unicodeScalars.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.value < 0x20 }) {
            return quote(s)
        }
        return s
    }
}
