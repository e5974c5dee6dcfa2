/// A subcommand of the `daybreak` executable: its name, help, options and body.
///
/// The body returns the process exit status. A `UsageError` thrown from it prints the
/// message and the command's usage to stderr and exits 64; any other error exits 1.
public struct Command: Sendable {
    public var name: String
    public var summary: String
    /// Usage line after `daybreak NAME`, e.g. `PATH [--time-limit SECONDS]`.
    public var usage: String
    public var options: [OptionSpec]
    public var maxPositionals: Int
    /// Subcommands (e.g. `bench messaging`); when present, the first positional selects one.
    public var subcommands: [Command]
    public var run: @Sendable (ParsedArguments) async throws -> Int32

    public init(name: String, summary: String, usage: String = "", options: [OptionSpec] = [],
                maxPositionals: Int = 0, subcommands: [Command] = [],
                run: @escaping @Sendable (ParsedArguments) async throws -> Int32 = { _ in 0 }) {
        self.name = name
        self.summary = summary
        self.usage = usage
        self.options = options
        self.maxPositionals = maxPositionals
        self.subcommands = subcommands
        self.run = run
    }

    /// The help text of this command, prefixed by `path` (e.g. `daybreak bench`).
    public func help(path: String) -> String {
        var out = "usage: " + (path.isEmpty ? "" : path + " ") + name + (usage.isEmpty ? "" : " " + usage) + "\n\n\(summary)\n"
        if !subcommands.isEmpty {
            out += "\nsubcommands:\n"
            let w = (subcommands.map(\.name.count).max() ?? 0) + 2
            for s in subcommands { out += "  " + s.name + String(repeating: " ", count: w - s.name.count) + s.summary + "\n" }
        }
        if !options.isEmpty { out += "\noptions:\n" + renderOptions(options) }
        return out
    }
}

/// Exit statuses following sysexits.h where one fits.
public enum ExitStatus {
    public static let ok: Int32 = 0
    public static let failure: Int32 = 1
    public static let usage: Int32 = 64
    public static let dataError: Int32 = 65
    public static let noInput: Int32 = 66
    public static let unavailable: Int32 = 69
    public static let software: Int32 = 70
}
