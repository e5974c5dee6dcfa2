/// A small command-line layer: options declared as data, parsed into typed values,
/// and every mistake reported as a `UsageError` naming the argument and what was expected.
///
/// Conventions: `--name VALUE`, `--name=VALUE`, boolean `--flag`, `--` ends options.
/// Positionals are whatever is not an option. An option given twice is refused (which one was
/// meant is a guess), and values quoted in messages are escaped (`displayed`), never printed raw.

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
                    throw UsageError("unknown option '\(displayed(arg))' (options are spelled --name; put -- before a value that starts with '-')")
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
                throw UsageError("unknown option '--\(displayed(name))'")
            }
            guard values[name] == nil && !flags.contains(name) else {
                throw UsageError("option '--\(name)' is given more than once (give it once)")
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
            throw UsageError(maxPositionals == 0 ? "unexpected argument '\(displayed(extra))'"
                                                 : "unexpected extra argument '\(displayed(extra))'")
        }
    }

    public func flag(_ name: String) -> Bool { flags.contains(name) }
    public func string(_ name: String) -> String? { values[name] }

    public func string(_ name: String, default d: String) -> String { values[name] ?? d }

    public func int(_ name: String, default d: Int, range: ClosedRange<Int>? = nil) throws(UsageError) -> Int {
        guard let raw = values[name] else { return d }
        guard let v = Int(raw) else { throw UsageError("option '--\(name)' expects an integer, got '\(displayed(raw))'") }
        if let r = range, !r.contains(v) {
            throw UsageError("option '--\(name)' must be in \(r.lowerBound)...\(r.upperBound), got \(v)")
        }
        return v
    }

    public func uint64(_ name: String, default d: UInt64) throws(UsageError) -> UInt64 {
        guard let raw = values[name] else { return d }
        guard let v = UInt64(raw) else { throw UsageError("option '--\(name)' expects a non-negative integer, got '\(displayed(raw))'") }
        return v
    }

    public func double(_ name: String, default d: Double, range: ClosedRange<Double>? = nil) throws(UsageError) -> Double {
        guard let raw = values[name] else { return d }
        guard let v = Double(raw), v.isFinite else {
            throw UsageError("option '--\(name)' expects a number, got '\(displayed(raw))'")
        }
        if let r = range, !r.contains(v) {
            throw UsageError("option '--\(name)' must be in \(r.lowerBound)...\(r.upperBound), got \(displayed(raw))")
        }
        return v
    }

    /// A value that must be one of `choices`.
    public func choice(_ name: String, _ choices: [String], default d: String? = nil) throws(UsageError) -> String? {
        guard let raw = values[name] else { return d }
        guard choices.contains(raw) else {
            throw UsageError("option '--\(name)' must be one of \(choices.joined(separator: "|")), got '\(displayed(raw))'")
        }
        return raw
    }

    /// A positional that must be present.
    public func positional(_ index: Int, name: String) throws(UsageError) -> String {
        guard index < positionals.count else { throw UsageError("missing argument \(name)") }
        return positionals[index]
    }
}

/// An identifier given on the command line (a node, region, order or courier id): 1 to `maxBytes`
/// UTF-8 bytes, printable (`isPrintableIdentifier`). `what` names the option or argument in the
/// message (`--id`, `REGION`), which quotes the value escaped.
public func checkIdentifier(_ value: String, _ what: String, maxBytes: Int) throws(UsageError) -> String {
    guard !value.isEmpty else { throw UsageError("\(what) is empty") }
    guard value.utf8.count <= maxBytes else {
        throw UsageError("\(what) is \(value.utf8.count) bytes long; the limit is \(maxBytes) bytes (UTF-8): '\(displayed(value))'")
    }
    guard isPrintableIdentifier(value) else {
        throw UsageError("\(what) contains a control or other non-printable character: '\(displayed(value))'")
    }
    return value
}

/// Whether every character of `s` is printable: no control characters (C0, DEL, C1), format
/// characters (zero-width, bidirectional overrides), line or paragraph separators, private-use
/// or unassigned code points.
public func isPrintableIdentifier(_ s: String) -> Bool { s.unicodeScalars.allSatisfy(isPrintable) }

private func isPrintable(_ u: Unicode.Scalar) -> Bool {
    switch u.properties.generalCategory {
    case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate, .unassigned: false
    default: true
    }
}

/// `s` for a message: non-printable characters, backslashes and quotes escaped (`\n`, `\u{1B}`),
/// cut to `limit` characters with an ellipsis and the full length, so a hostile value can
/// neither drive the terminal nor flood it.
public func displayed(_ s: String, limit: Int = 64) -> String {
    var out = ""
    var shown = 0
    for u in s.unicodeScalars {
        if shown == limit { return out + "…(\(s.utf8.count) bytes)" }
        shown += 1
        switch u {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\\": out += "\\\\"
        case "'": out += "\\'"
        default:
            if isPrintable(u) { out.unicodeScalars.append(u) }
            else { out += "\\u{" + String(u.value, radix: 16, uppercase: true) + "}" }
        }
    }
    return out
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
