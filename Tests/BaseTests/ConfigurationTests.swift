import Testing
@testable import Base

@Suite struct ConfigurationTests {
    let options: [OptionSpec] = [.value("nodes", "K", ""), Configuration.logLevelOption]

    @Test func commandLineBeatsEnvironmentBeatsDefault() throws {
        let env = ["DAYBREAK_NODES": "4", "DAYBREAK_LOG_LEVEL": "debug"]
        let fromEnv = Configuration(arguments: try ParsedArguments([], options: options), environment: env)
        #expect(try fromEnv.int("nodes", default: 1) == 4)
        #expect(try fromEnv.logLevel() == .debug)
        let fromArgs = Configuration(arguments: try ParsedArguments(["--nodes", "2"], options: options), environment: env)
        #expect(try fromArgs.int("nodes", default: 1) == 2)
        let none = Configuration(arguments: try ParsedArguments([], options: options), environment: [:])
        #expect(try none.int("nodes", default: 1) == 1)
        #expect(try none.logLevel() == .info)
    }

    @Test func badEnvironmentValueNamesTheVariable() throws {
        let c = Configuration(arguments: try ParsedArguments([], options: options), environment: ["DAYBREAK_NODES": "many"])
        #expect(throws: UsageError("environment variable DAYBREAK_NODES expects an integer, got 'many'")) {
            try c.int("nodes", default: 1)
        }
        let l = Configuration(arguments: try ParsedArguments(["--log-level", "loud"], options: options), environment: [:])
        #expect(throws: UsageError.self) { try l.logLevel() }
    }
}
