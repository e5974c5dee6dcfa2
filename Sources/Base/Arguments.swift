/// A small command-line layer: options declared as data, parsed into typed values,
/// and every mistake reported as a `UsageError` naming the argument and what was expected.
///
/// Conventions: `--name VALUE`, `--name=VALUE`, boolean `--flag`, `--` ends options.
/// Positionals are whatever is not an option.

/// A wrong command line. The executable prints it with the usage to stderr and exits 64 (EX_USAGE).
public struct UsageError: Error, Equatable, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One declared option.
public struct OptionSpec: Sendable {
    public enum Kind: Sendable { case flag, value(placeholder: String) }
    public var name: String
    public var kind: Kind
    public var help: String

    public static func flag(_ name: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, kind: .flag, help: help)
    }
    public static func value(_ name: String, _ placeholder: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, kind: .value(placeholder: placeholder), help: help)
    }
}

/// The parsed command line of one (sub)command.
public struct ParsedArguments: Sendable {
    public private(set) var positionals: [String] = []
    private var values: [String: String] = [:]
    private var flags: Set<String> = []

    /// Parses `argv` (without the program and subcommand names) against `options`.
    public init(_ argv: [String], options: [OptionSpec], maxPositionals: Int = 0) throws(UsageError) {
        var byName: [String: OptionSpec] = [:]
        for o in options { byName[o.name] = o }
        var i = 0
        var onlyPositionals = false
        while i < argv.count {
            let arg = argv[i]
            i += 1
            if onlyPositionals || !arg.hasPrefix("--") || arg == "-" {
                if arg.hasPrefix("-") && arg != "-" && !onlyPositionals {
                    throw UsageError("unknown option '\(arg)' (options are spelled --name)")
                }
                positionals.append(arg)
                continue
            }
            if arg == "--" { onlyPositionals = true; continue }
            var name = String(arg.dropFirst(2))
            var inline: String? = nil
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let spec = byName[name] else {
                throw UsageError("unknown option '--\(name)'")
            }
            switch spec.kind {
            case .flag:
                if inline != nil { throw UsageError("option '--\(name)' takes no value") }
                flags.insert(name)
            case .value(let placeholder):
                if let v = inline {
                    values[name] = v
                } else {
                    guard i < argv.count, !(argv[i].hasPrefix("--") && argv[i].count > 2) else {
                        throw UsageError("option '--\(name)' needs a value \(placeholder)")
                    }
                    values[name] = argv[i]
                    i += 1
                }
            }
        }
        if positionals.count > maxPositionals {
            let extra = positionals[maxPositionals]
            throw UsageError(maxPositionals == 0 ? "unexpected argument '\(extra)'"
                                                 : "unexpected extra argument '\(extra)'")
        }
    }

    public func flag(_ name: String) -> Bool { flags.contains(name) }
    public func string(_ name: String) -> String? { values[name] }

    public func string(_ name: String, default d: String) -> String { values[name] ?? d }

    public func int(_ name: String, default d: Int, range: ClosedRange<Int>? = nil) throws(UsageError) -> Int {
        guard let raw = values[name] else { return d }
        guard let v = Int(raw) else { throw UsageError("option '--\(name)' expects an integer, got '\(raw)'") }
        if let r = range, !r.contains(v) {
            throw UsageError("option '--\(name)' must be in \(r.lowerBound)...\(r.upperBound), got \(v)")
        }
        return v
    }

    public func uint64(_ name: String, default d: UInt64) throws(UsageError) -> UInt64 {
        guard let raw = values[name] else { return d }
        guard let v = UInt64(raw) else { throw UsageError("option '--\(name)' expects a non-negative integer, got '\(raw)'") }
        return v
    }

    public func double(_ name: String, default d: Double, range: ClosedRange<Double>? = nil) throws(UsageError) -> Double {
        guard let raw = values[name] else { return d }
        guard let v = Double(raw), v.isFinite else {
            throw UsageError("option '--\(name)' expects a number, got '\(raw)'")
        }
        if let r = range, !r.contains(v) {
            throw UsageError("option '--\(name)' must be in \(r.lowerBound)...\(r.upperBound), got \(raw)")
        }
        return v
    }

    /// A value that must be one of `choices`.
    public func choice(_ name: String, _ choices: [String], default d: String? = nil) throws(UsageError) -> String? {
        guard let raw = values[name] else { return d }
        guard choices.contains(raw) else {
            throw UsageError("option '--\(name)' must be one of \(choices.joined(separator: "|")), got '\(raw)'")
        }
        return raw
    }

    /// A positional that must be present.
    public func positional(_ index: Int, name: String) throws(UsageError) -> String {
        guard index < positionals.count else { throw UsageError("missing argument \(name)") }
        return positionals[index]
    }
}

/// Renders an options table for `--help`.
public func renderOptions(_ options: [OptionSpec]) -> String {
    let left = options.map { o -> String in
        switch o.kind {
        case .flag: "--\(o.name)"
        case .value(let p): "--\(o.name) \(p)"
        }
    }
    let width = (left.map(\.count).max() ?? 0) + 2
    var out = ""
    for (l, o) in zip(left, options) {
        out += "  " + l + String(repeating: " ", count: width - l.count) + o.help + "\n"
    }
    return out
}
