import Base

// Owned by the Routing work: `daybreak solve PATH …`.
let solveCommand = Command(
    name: "solve",
    summary: "Solve a VRP instance file (not built yet).",
    usage: "PATH",
    maxPositionals: 1,
    run: { _ in printErr("solve: not built yet"); return ExitStatus.unavailable })
