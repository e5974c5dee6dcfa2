import Base
import Foundation

/// The `daybreak` executable: a thin shell that parses the command line and calls into the modules.
/// Each subcommand lives in its own file as a `Command` value.

let topLevel = Command(
    name: "daybreak",
    summary: "Daybreak: actor-based, distributed fleet and last-mile dispatch.",
    usage: "COMMAND [OPTIONS]",
    subcommands: [versionCommand, upCommand, downCommand, statusCommand, keysCommand, demoCommand, solveCommand, nodeCommand, gatewayCommand, ctlCommand, benchCommand, simulateCommand]
)

let status = await CommandLineRunner.run(topLevel, arguments: Array(CommandLine.arguments.dropFirst()))
exit(status)
