import ArgumentParser
import Foundation
import MLBuildBasics
import MLBuildProvenance

/// `mlbuild keygen [--output PREFIX] [--force]`: a new Ed25519 key pair for signing provenance.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a new Ed25519 key pair for signing container provenance.",
        discussion: """
        Writes PREFIX.key (the private key, PKCS#8 PEM, mode 0600: a secret, keep it out of the \
        repository) and PREFIX.pub (the public key, PEM, for `mlbuild provenance verify`). Both \
        are OpenSSL's formats (`openssl pkey -in PREFIX.key -pubout` prints PREFIX.pub). Prints \
        the key id (SHA-256 of the public key), which signatures name. Refuses to replace an \
        existing file unless --force.
        """)

    @Option(name: .shortAndLong, help: ArgumentHelp("Path prefix of the two files.", valueName: "PREFIX"))
    var output = "mlbuild-signing"

    @Flag(help: "Replace existing key files.")
    var force = false

    func run() throws {
        let privatePath = "\(output).key", publicPath = "\(output).pub"
        if !force, let existing = [privatePath, publicPath].first(where: { FileManager.default.fileExists(atPath: $0) }) {
            throw CLIError.usage("'\(existing)' exists; choose another --output or pass --force to replace it")
        }
        let key = SigningKey.generate()
        do {
            try AtomicFile.write(key.pem, to: privatePath, durable: true, mode: 0o600)
            try AtomicFile.write(key.publicKey.pem, to: publicPath, durable: true)
        } catch {
            throw CLIError.message("cannot write the key pair: \(error)")
        }
        print("wrote \(privatePath) (private, keep it secret) and \(publicPath)")
        print("key id \(key.publicKey.keyID)")
    }
}
