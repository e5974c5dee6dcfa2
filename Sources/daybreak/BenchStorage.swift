import Base

// Owned by the Storage work: `daybreak bench storage`.
let benchStorageCommand = Command(
    name: "storage",
    summary: "Batched appends and single-row commits on PostgreSQL (not built yet).",
    run: { _ in printErr("bench storage: not built yet"); return ExitStatus.unavailable })
