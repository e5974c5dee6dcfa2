import Foundation
import Routing

/// Loads a file shipped in Tests/RoutingTests/Fixtures (copied into the test bundle).
enum Fixture {
    static func text(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw FixtureMissing(name: name)
        }
        return try String(contentsOf: url, encoding: .utf8)
    }

    static func instance(_ name: String, format: InstanceFile.Format? = nil) throws -> InstanceFile {
        try InstanceFile.parse(try text(name), file: name, format: format)
    }

    struct FixtureMissing: Error { var name: String }
}
