import Foundation

/// Settings resolved from three layers, highest first: the command line, the environment
/// (`DAYBREAK_<NAME>` with dashes as underscores, upper case), then the built-in default.
///
/// Pure: the environment is passed in as a dictionary, so tests and the executable decide
/// where it comes from. Every typed accessor names the layer a bad value came from.
public struct Configuration: Sendable {
    public let arguments: ParsedArguments
    public let environment: [String: String]

    public init(arguments: ParsedArguments, environment: [String: String]) {
        self.arguments = arguments
        self.environment = environment
    }

    /// `log-level` → `DAYBREAK_LOG_LEVEL`.
    public static func environmentName(_ option: String) -> String {
        "DAYBREAK_" + option.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// The raw value and where it came from, or nil when neither layer sets it.
    public func raw(_ option: String) -> (value: String, source: String)? {
        if let v = arguments.string(option) { return (v, "option '--\(option)'") }
        let env = Configuration.environmentName(option)
        if let v = environment[env] { return (v, "environment variable \(env)") }
        return nil
    }

    public func string(_ option: String, default d: String) -> String { raw(option)?.value ?? d }
    public func string(_ option: String) -> String? { raw(option)?.value }

    public func int(_ option: String, default d: Int, range: ClosedRange<Int>? = nil) throws(UsageError) -> Int {
        guard let (v, source) = raw(option) else { return d }
        guard let i = Int(v) else { throw UsageError("\(source) expects an integer, got '\(v)'") }
        if let r = range, !r.contains(i) {
            throw UsageError("\(source) must be in \(r.lowerBound)...\(r.upperBound), got \(i)")
        }
        return i
    }

    public func double(_ option: String, default d: Double, range: ClosedRange<Double>? = nil) throws(UsageError) -> Double {
        guard let (v, source) = raw(option) else { return d }
        guard let x = Double(v), x.isFinite else { throw UsageError("\(source) expects a number, got '\(v)'") }
        if let r = range, !r.contains(x) {
            throw UsageError("\(source) must be in \(r.lowerBound)...\(r.upperBound), got \(v)")
        }
        return x
    }

    /// The log level from `--log-level` / `DAYBREAK_LOG_LEVEL`, default `info`.
    public func logLevel() throws(UsageError) -> Logger.Level {
        guard let (v, source) = raw("log-level") else { return .info }
        guard let l = Logger.Level(name: v) else {
            throw UsageError("\(source) must be one of \(Logger.Level.allCases.map(\.description).joined(separator: "|")), got '\(v)'")
        }
        return l
    }

    /// The option spec every command that logs accepts.
    public static let logLevelOption = OptionSpec.value("log-level", "LEVEL",
        "trace|debug|info|notice|warning|error|critical (env DAYBREAK_LOG_LEVEL; default info)")
}
