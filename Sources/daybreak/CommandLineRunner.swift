import Base
import Foundation

/// Finds the subcommand named on the command line, parses its options and runs it.
/// `--help` anywhere prints help to stdout and exits 0; a usage error prints the message
/// and usage to stderr and exits 64.
enum CommandLineRunner {
    static func run(_ root: Command, arguments: [String]) async -> Int32 {
        var command = root
        var path = ""
        var rest = arguments
        while !command.subcommands.isEmpty {
            path += (path.isEmpty ? "" : " ") + command.name
            guard let first = rest.first, !first.hasPrefix("-") else {
                if rest.contains("--help") || rest.contains("-h") {
                    print(command.help(path: String(path.dropLast(command.name.count)).trimmingCharacters(in: .whitespaces)), terminator: "")
                    return ExitStatus.ok
                }
                let what = rest.first.map { "unknown option '\($0)'" } ?? "missing command"
                return usageFailure(what, command: command, path: path)
            }
            guard let sub = command.subcommands.first(where: { $0.name == first }) else {
                if first == "help" {
                    print(command.help(path: String(path.dropLast(command.name.count)).trimmingCharacters(in: .whitespaces)), terminator: "")
                    return ExitStatus.ok
                }
                return usageFailure("unknown command '\(first)'", command: command, path: path)
            }
            command = sub
            rest.removeFirst()
        }
        if rest.contains("--help") || rest.contains("-h") {
            print(command.help(path: path), terminator: "")
            return ExitStatus.ok
        }
        do {
            let parsed = try ParsedArguments(rest, options: command.options, maxPositionals: command.maxPositionals)
            return try await command.run(parsed)
        } catch let e as UsageError {
            return usageFailure(e.message, command: command, path: path)
        } catch {
            FileHandle.standardError.write(Data("daybreak \(command.name): error: \(error)\n".utf8))
            return ExitStatus.failure
        }
    }

    static func usageFailure(_ message: String, command: Command, path: String) -> Int32 {
        let prefix = path.isEmpty ? command.name : path
        FileHandle.standardError.write(Data("\(prefix): \(message)\n\n\(command.help(path: prefixPath(path, command)))".utf8))
        return ExitStatus.usage
    }

    private static func prefixPath(_ path: String, _ command: Command) -> String {
        // `path` already ends with the command's own name when it has subcommands.
        if path.hasSuffix(command.name) { return String(path.dropLast(command.name.count)).trimmingCharacters(in: .whitespaces) }
        return path
    }
}

/// Writes a line to standard error (progress, diagnostics); stdout stays for results.
func printErr(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}
