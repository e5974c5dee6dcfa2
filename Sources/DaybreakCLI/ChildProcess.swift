import Base
import Foundation

/// Child processes of `up` and `down` (nodes, PostgreSQL's tools), through posix_spawn and waitpid.
///
/// Why not Foundation's `Process`: it learns that a child ended when a socket the child inherits
/// reaches end-of-file, and a daemon the child leaves behind (the postmaster `pg_ctl start` forks)
/// inherits that socket too, so the end is never seen. Here the child gets exactly stdin from
/// /dev/null, stdout and stderr to `output`, and no other descriptor of ours; an empty signal mask
/// and default dispositions (spawned from a pool thread it would otherwise inherit that thread's
/// blocked SIGTERM); and, when asked, a process group of its own, so a Ctrl-C at the terminal reaches
/// only the supervisor, which then stops the nodes in order.
enum ChildProcess {
    /// Starts `argv` (argv[0] an absolute path). Throws a message naming the program when it cannot.
    static func spawn(_ argv: [String], output: String?, ownProcessGroup: Bool = false) throws(CommandFailure) -> pid_t {
        let out = output.map { open($0, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644) } ?? open("/dev/null", O_WRONLY | O_CLOEXEC)
        guard out >= 0 else {
            throw CommandFailure(message: "cannot open \(output ?? "/dev/null"): \(String(cString: strerror(errno)))", status: ExitStatus.software)
        }
        defer { close(out) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out, 1)
        posix_spawn_file_actions_adddup2(&actions, out, 2)
        // Every other descriptor open now (glibc ignores one closed meanwhile).
        for fd in openDescriptors() where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        for s: Int32 in 1 ..< 32 where s != SIGKILL && s != SIGSTOP { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if ownProcessGroup {
            flags |= POSIX_SPAWN_SETPGROUP
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let env = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        var cArgs = argv.map { strdup($0) } + [nil]
        var cEnv = env.map { strdup($0) } + [nil]
        defer { for p in cArgs + cEnv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, &cArgs, &cEnv)
        guard rc == 0 else {
            throw CommandFailure(message: "cannot run \(argv[0]): \(String(cString: strerror(rc)))", status: ExitStatus.software)
        }
        return pid
    }

    /// How `pid` ended, reaping it, or nil while it runs. Never blocks.
    static func ended(_ pid: pid_t) -> NodeExit? {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == 0 || (r < 0 && errno == EINTR) { return nil }
        return r == pid ? decode(status) : .status(-1)
    }

    /// Waits for `pid` to end on a thread of its own (waitpid blocks) and reaps it.
    static func wait(_ pid: pid_t) async -> NodeExit {
        await onDedicatedThread(name: "daybreak-wait") { () -> NodeExit in
            var status: Int32 = 0
            while true {
                let r = waitpid(pid, &status, 0)
                if r == pid { return decode(status) }
                if r < 0 && errno != EINTR { return .status(-1) }
            }
        }
    }

    /// Runs `argv` to its end and returns its exit status (128 + N for signal N).
    static func run(_ argv: [String], output: String? = nil) async -> Int32 {
        guard let pid = try? spawn(argv, output: output) else { return 127 }
        switch await wait(pid) {
        case .status(let s): return s
        case .signal(let s): return 128 + s
        }
    }

    private static func decode(_ status: Int32) -> NodeExit {
        let low = status & 0x7f
        return low == 0 ? .status((status >> 8) & 0xff) : .signal(low)
    }

    private static func openDescriptors() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { Int32($0) }
    }
}
