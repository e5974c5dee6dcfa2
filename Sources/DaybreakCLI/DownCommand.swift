import Base
import Foundation

// `daybreak down`: stops what `daybreak up` runs in DIR, through its supervisor (which lets every node
// leave gracefully and stops PostgreSQL); forces only what is still running after the timeout.
let downCommand = Command(
    name: "down",
    summary: "Stop the local deployment `daybreak up` runs in DIR; cleans up after a supervisor that died. Idempotent.",
    usage: """
        [--data DIR] [--timeout-s N]

        Sends SIGTERM to the supervisor named by DIR/up.lock and waits until it has stopped every node and
        PostgreSQL and released the lock. After --timeout-s it kills the supervisor and the nodes (SIGKILL),
        stops PostgreSQL itself and says so on stderr. With no supervisor running it stops whatever the
        deployment left behind (nodes, PostgreSQL) and removes a stale deployment.json and lock.

        exit status:
          0   nothing of the deployment runs any more (also when nothing ran, or when it had to force)
          64  bad command line
        """,
    options: [
        .value("data", "DIR", "deployment directory given to `daybreak up` (default .daybreak)"),
        .value("timeout-s", "N", "how long to wait for the supervisor before forcing (default 60)"),
    ]
) { args in
    let timeout = try args.int("timeout-s", default: 60, range: 1 ... 3_600)
    if let d = args.string("data"), d.isEmpty { throw UsageError("option '--data' needs a directory, got ''") }
    let dir = Deployment.absolute(args.string("data", default: Deployment.defaultDataDir))
    return await Down(dataDir: dir, timeout: .seconds(timeout)).run()
}

struct Down {
    let dataDir: String
    let timeout: Duration

    func run() async -> Int32 {
        var deployment: Deployment?
        do { deployment = try Deployment.read(dataDir: dataDir) } catch {
            printErr("daybreak down: \(error.message); going on with what \(DeploymentLock.fileName) names")
        }
        guard let holder = DeploymentLock.holder(dataDir: dataDir) else {
            return await cleanUpAfterDeadSupervisor(deployment)
        }
        let pid = holder > 0 ? holder : deployment?.supervisorPID ?? 0
        if pid > 0, kill(pid, SIGTERM) == 0 {
            say("asked the supervisor (pid \(pid)) to stop; waiting up to \(timeout.components.seconds) s", command: "down")
            let until = ContinuousClock.now + timeout
            while DeploymentLock.holder(dataDir: dataDir) != nil, ContinuousClock.now < until {
                try? await Task.sleep(for: .milliseconds(100))
            }
            if DeploymentLock.holder(dataDir: dataDir) == nil {
                let exited = ContinuousClock.now + .seconds(5)
                while processIsAlive(pid), ContinuousClock.now < exited { try? await Task.sleep(for: .milliseconds(50)) }
                say("stopped the deployment in \(dataDir)", command: "down")
                return ExitStatus.ok
            }
        }
        // The supervisor did not finish in time (or could not be signalled): force what is left.
        var forced: [String] = []
        if pid > 0, processIsAlive(pid) {
            kill(pid, SIGKILL)
            forced.append("the supervisor (pid \(pid)) did not stop within \(timeout.components.seconds) s: killed (SIGKILL)")
        }
        for n in deployment?.nodes ?? [] where isDeploymentNode(pid: n.pid, id: n.id) {
            kill(n.pid, SIGKILL)
            forced.append("node \(n.id) (pid \(n.pid)) was still running: killed (SIGKILL)")
        }
        if let g = deployment?.gateway, isDeploymentGateway(pid: g.pid, name: g.name) {
            kill(g.pid, SIGKILL)
            forced.append("gateway \(g.name) (pid \(g.pid)) was still running: killed (SIGKILL)")
        }
        forced += await stopPostgresAndRemoveFiles()
        for line in forced { printErr("daybreak down: forced: \(line)") }
        say("stopped the deployment in \(dataDir)", command: "down")
        return ExitStatus.ok
    }

    /// No supervisor holds the lock: stop what a dead one left behind, or say that nothing runs.
    private func cleanUpAfterDeadSupervisor(_ deployment: Deployment?) async -> Int32 {
        var lines: [String] = []
        if let d = deployment {
            lines.append("the supervisor (pid \(d.supervisorPID)) is no longer running; cleaning up after it")
            lines += await stopLeftoverGateway(d.gateway, grace: .seconds(5))
            lines += await stopLeftoverNodes(d.nodes, grace: .seconds(20))
        }
        lines += await stopPostgresAndRemoveFiles()
        if lines.isEmpty {
            say("nothing runs in \(dataDir)", command: "down")
        } else {
            for line in lines { say(line, command: "down") }
        }
        return ExitStatus.ok
    }

    /// Stops DIR/pg's server when it runs and removes deployment.json and an unheld lock file.
    private func stopPostgresAndRemoveFiles() async -> [String] {
        var lines: [String] = []
        if let pg = try? await EmbeddedPostgres.locate(dataDir: dataDir, create: false), await pg.stop() {
            lines.append("PostgreSQL in \(pg.data) was still running: stopped")
        }
        if FileManager.default.fileExists(atPath: Deployment.path(in: dataDir)) {
            Deployment.remove(dataDir: dataDir)
            lines.append("removed the stale \(Deployment.path(in: dataDir))")
        }
        if FileManager.default.fileExists(atPath: dataDir + "/" + DeploymentLock.fileName) {
            DeploymentLock.removeStale(dataDir: dataDir)
            lines.append("removed the stale \(dataDir)/\(DeploymentLock.fileName)")
        }
        return lines
    }
}
