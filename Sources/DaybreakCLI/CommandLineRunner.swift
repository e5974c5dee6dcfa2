import Base
import Foundation

/// Finds the subcommand named on the command line, parses its options and runs it.
/// `--help` prints help to stdout and exits 0; a usage error prints the message and the
/// command's usage to stderr and exits 64 (EX_USAGE).
package enum CommandLineRunner {
    package static func run(_ root: Command, arguments: [String]) async -> Int32 {
        var command = root
        var parents: [String] = []   // names of the commands above `command`
        var rest = arguments
        while !command.subcommands.isEmpty {
            let path = parents.joined(separator: " ")
            guard let first = rest.first else {
                return usageFailure("missing command", command: command, path: path)
            }
            if first == "--help" || first == "-h" || first == "help" {
                print(command.help(path: path), terminator: "")
                return ExitStatus.ok
            }
            guard let sub = command.subcommands.first(where: { $0.name == first }) else {
                let what = first.hasPrefix("-") ? "unknown option '\(first)'" : "unknown command '\(first)'"
                return usageFailure(what, command: command, path: path)
            }
            parents.append(command.name)
            command = sub
            rest.removeFirst()
        }
        let path = parents.joined(separator: " ")
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
            printErr("\(path) \(command.name): error: \(error)")
            return ExitStatus.failure
        }
    }

    package static func usageFailure(_ message: String, command: Command, path: String) -> Int32 {
        let who = path.isEmpty ? command.name : path + " " + command.name
        printErr("\(who): \(message)\n\n" + command.help(path: path), terminator: "")
        return ExitStatus.usage
    }
}

/// Writes to standard error (progress, diagnostics); stdout stays for results.
package func printErr(_ s: String, terminator: String = "\n") {
    FileHandle.standardError.write(Data((s + terminator).utf8))
}

/// Why a command could not do its work, with the exit status that says so (sysexits: 65 malformed
/// input, 66 missing input, 69 a service unavailable, 70 internal). The message names the item.
package struct CommandFailure: Error, CustomStringConvertible {
    package var message: String
    package var status: Int32
    package init(message: String, status: Int32) { self.message = message; self.status = status }
    /// The message is what a person reads, also where a runner prints the error itself.
    package var description: String { message }
}

/// Runs a command's work; a `CommandFailure` is printed as "daybreak NAME: message" on stderr and
/// its status returned (other errors propagate to the runner, which maps them).
package func reportingFailures(_ name: String, _ work: () async throws -> Int32) async throws -> Int32 {
    do { return try await work() } catch let f as CommandFailure {
        printErr("daybreak \(name): \(f.message)")
        return f.status
    }
}
