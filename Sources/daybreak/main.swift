import DaybreakBench
import DaybreakCLI
import Foundation

/// The `daybreak` executable: a thin shell that parses the command line and calls into the modules.
/// The commands live in DaybreakCLI (one file each, a `Command` value), the benchmarks in DaybreakBench.
let status = await runDaybreak(bench: benchCommand, arguments: Array(CommandLine.arguments.dropFirst()))
exit(status)
