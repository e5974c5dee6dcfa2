import Base
import Foundation
import Messaging

// `daybreak keys new --out FILE`: a CURVE key pair for a node, an operator or a gateway.
let keysCommand = Command(
    name: "keys",
    summary: "Make CURVE key pairs (the secret in a file only its owner can read).",
    usage: "new --out FILE [--overwrite]",
    subcommands: [keysNewCommand]
)

let keysNewCommand = Command(
    name: "new",
    summary: "Generate a key pair: the secret key goes to FILE (mode 0600), the public key to FILE.pub and stdout.",
    usage: "--out FILE [--overwrite]",
    options: [
        .value("out", "FILE", "where the secret key goes (required)"),
        .flag("overwrite", "replace FILE if it exists"),
    ]
) { args in
    guard let out = args.string("out"), !out.isEmpty else { throw UsageError("missing --out FILE") }
    do {
        let pair = try CurveKeyPair.generate()
        try CurveKeyFile.writeSecret(pair, to: out, overwrite: args.flag("overwrite"))
        try CurveKeyFile.writePublic(pair.publicKey, to: out + ".pub", overwrite: args.flag("overwrite"))
        print(pair.publicKey)
        return ExitStatus.ok
    } catch {
        printErr("daybreak keys new: \(error)")
        return ExitStatus.dataError
    }
}

/// The CURVE identity a command-line client (ctl, status) presents: `--identity FILE`, else the
/// deployment's operator key (`DIR/keys/operator.key` written by `daybreak up`), else none (a
/// plaintext cluster).
func clientIdentity(_ args: ParsedArguments) throws -> CurveKeyPair? {
    if let file = args.string("identity") {
        do { return try CurveKeyFile.readSecret(from: file) } catch {
            throw CommandFailure(message: "--identity \(file): \(error)", status: FileManager.default.fileExists(atPath: file) ? ExitStatus.dataError : ExitStatus.noInput)
        }
    }
    let dir = Deployment.absolute(args.string("data", default: Deployment.defaultDataDir))
    let file = dir + "/keys/operator.key"
    guard args.string("database") == nil, FileManager.default.fileExists(atPath: file) else { return nil }
    do { return try CurveKeyFile.readSecret(from: file) } catch {
        throw CommandFailure(message: "\(file): \(error)", status: ExitStatus.dataError)
    }
}
