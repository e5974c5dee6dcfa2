import Base

/// The `daybreak` command tree: every command of this module, with `bench` (module DaybreakBench)
/// given by the executable.
package func daybreakCommand(bench: Command) -> Command {
    Command(
        name: "daybreak",
        summary: "Daybreak: actor-based, distributed fleet and last-mile dispatch.",
        usage: "COMMAND [OPTIONS]",
        subcommands: [versionCommand, upCommand, downCommand, statusCommand, keysCommand, demoCommand, solveCommand, nodeCommand, gatewayCommand,
                      ctlCommand, bench, simulateCommand]
    )
}

/// Parses `arguments` against the command tree and runs the command; returns the exit status.
package func runDaybreak(bench: Command, arguments: [String]) async -> Int32 {
    await CommandLineRunner.run(daybreakCommand(bench: bench), arguments: arguments)
}
