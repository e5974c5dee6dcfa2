import Base

// Owned by the Routing work: `daybreak bench routing`.
let benchRoutingCommand = Command(
    name: "routing",
    summary: "Solve benchmark sets and report gaps to best known (not built yet).",
    run: { _ in printErr("bench routing: not built yet"); return ExitStatus.unavailable })
