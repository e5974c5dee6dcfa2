import Base
import Foundation
import Testing
@testable import Storage

/// The PostgreSQL the tests talk to: the PG* environment (Tools/test starts a throwaway cluster).
///
/// When DAYBREAK_TEST_REQUIRE_POSTGRES=1 (CI, Tools/test) an unreachable server FAILS the test with
/// a clear message; otherwise the test records nothing and returns early (a developer without a server).
enum TestDatabase {
    static var required: Bool { ProcessInfo.processInfo.environment["DAYBREAK_TEST_REQUIRE_POSTGRES"] == "1" }
    static let configuration = PostgresConfiguration("", applicationName: "daybreak-tests")
    static let logger = Logger(label: "storage.test", level: .warning)

    /// A connection, or nil when PostgreSQL is unreachable and not required.
    static func connect(sourceLocation: SourceLocation = #_sourceLocation) async throws -> PostgresConnection? {
        do {
            return try await PostgresConnection.connect(configuration, logger: logger)
        } catch {
            if required {
                let message = "PostgreSQL is required (DAYBREAK_TEST_REQUIRE_POSTGRES=1) but unreachable via the PG* environment "
                    + "(PGHOST=\(env("PGHOST")) PGPORT=\(env("PGPORT"))): \(error)"
                Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
            } else {
                print("note: skipping a PostgreSQL test body, server unreachable: \(error.message)")
            }
            return nil
        }
    }

    /// Runs `body` with a connection in a fresh schema, then drops the schema and closes.
    /// Does nothing (or fails, when required) without a server.
    static func withSchema(_ prefix: String, sourceLocation: SourceLocation = #_sourceLocation,
                           _ body: (PostgresConnection, String) async throws -> Void) async throws {
        guard let c = try await connect(sourceLocation: sourceLocation) else { return }
        let schema = try await makeSchema(c, prefix)
        do {
            try await body(c, schema)
        } catch {
            await dropSchema(c, schema)
            await c.close()
            throw error
        }
        await dropSchema(c, schema)
        await c.close()
    }

    static func env(_ k: String) -> String { ProcessInfo.processInfo.environment[k] ?? "<unset>" }

    /// A fresh, uniquely named schema; dropped by `dropSchema`.
    static func makeSchema(_ c: PostgresConnection, _ prefix: String) async throws -> String {
        let name = "t_\(prefix)_\(UInt32.random(in: 0 ... .max))_\(ProcessInfo.processInfo.processIdentifier)"
        // Identifiers cannot be parameters; `name` is generated here from [a-z0-9_].
        try await c.executeScript("CREATE SCHEMA \(name); SET search_path TO \(name)", purpose: "create test schema")
        return name
    }

    static func dropSchema(_ c: PostgresConnection, _ name: String) async {
        _ = try? await c.executeScript("DROP SCHEMA IF EXISTS \(name) CASCADE", purpose: "drop test schema")
    }
}

/// Waits (without sleeping a fixed time) until `condition` holds or the deadline passes.
func eventually(within: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + within
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        await Task.yield()
        try? await Task.sleep(for: .milliseconds(10)) // polling interval, not a wait for an outcome
    }
    return try await condition()
}
