import Base

// Owned by the Routing work: `daybreak bench live-plan`.
let benchLivePlanCommand = Command(
    name: "live-plan",
    summary: "Live-plan insertion and ETA latency (not built yet).",
    run: { _ in printErr("bench live-plan: not built yet"); return ExitStatus.unavailable })
