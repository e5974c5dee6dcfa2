import Base
import DaybreakCLI

/// `daybreak bench …`: release-build benchmarks that print a table (and one JSON line with --json).
/// Each benchmark compares against a reference measured in the same run.
package let benchCommand = Command(
    name: "bench",
    summary: "Run a benchmark and print a table of results.",
    usage: "BENCHMARK [OPTIONS]",
    subcommands: [benchMessagingCommand, benchStorageCommand, benchJournalCommand, benchRoutingCommand, benchLivePlanCommand, benchClusterCommand, benchFailoverCommand, benchDawnWaveCommand, benchGatewayCommand, benchSorterCommand, benchMAPFCommand, benchLifelongCommand]
)
