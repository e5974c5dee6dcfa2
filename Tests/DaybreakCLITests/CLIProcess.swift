import Foundation

/// Runs the built `daybreak` executable as a child process and captures what it prints.
/// The binary sits next to the test bundle in the build products folder.
struct CLIProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: URL {
        if let explicit = ProcessInfo.processInfo.environment["DAYBREAK_BIN"] { return URL(fileURLWithPath: explicit) }
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = runner.deletingLastPathComponent()
        // On Linux the runner is `<products>/DaybreakPackageTests.xctest`; on macOS it is inside a bundle.
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("daybreak")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return runner.deletingLastPathComponent().appendingPathComponent("daybreak")
    }

    static func run(_ arguments: [String], environment: [String: String]? = nil) throws -> Result {
        let p = Process()
        p.executableURL = binary
        p.arguments = arguments
        if let environment { p.environment = environment }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes to the end before waiting, so a chatty child never blocks on a full pipe.
        // (A Thread, not DispatchQueue: the package's `Dispatch` app target shadows libdispatch's module.)
        let errData = LockedData()
        let reader = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData.get(), as: UTF8.self))
    }
}

/// A Data box written once by one thread; `get` waits for it.
/// Invariant: every access goes through `condition`.
final class LockedData: @unchecked Sendable {
    private let condition = NSCondition()
    private var data: Data?
    func set(_ d: Data) { condition.lock(); data = d; condition.signal(); condition.unlock() }
    func get() -> Data {
        condition.lock()
        defer { condition.unlock() }
        while data == nil { condition.wait() }
        return data!
    }
}
