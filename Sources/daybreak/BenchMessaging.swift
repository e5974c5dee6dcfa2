import Base

// Owned by the Messaging work: `daybreak bench messaging`.
let benchMessagingCommand = Command(
    name: "messaging",
    summary: "Async request-reply and fan-out over ZeroMQ beside raw libzmq (not built yet).",
    run: { _ in printErr("bench messaging: not built yet"); return ExitStatus.unavailable })
