import Base
import Messaging
import Storage

let versionCommand = Command(
    name: "version",
    summary: "Print Daybreak's version and the versions of the C libraries it runs on.",
    options: [.flag("json", "print one JSON object")]
) { args in
    let zmq = ZeroMQ.version
    let pq = PostgresClient.libpqVersion
    if args.flag("json") {
        print(JSONValue.object([("daybreak", .string(DaybreakVersion.string)), ("libzmq", .string(zmq)), ("libpq", .string(pq))]).rendered())
    } else {
        print("daybreak \(DaybreakVersion.string) (libzmq \(zmq), libpq \(pq))")
    }
    return ExitStatus.ok
}
