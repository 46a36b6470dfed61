import ArgumentParser
import Foundation
import MLBuildProvenance
import MLBuildRules

/// `--signing-key FILE` (or `MLBUILD_SIGNING_KEY_FILE`): the Ed25519 private key container
/// targets sign their provenance.json with. The file is a secret: neither its bytes nor its
/// path enter a key, a log line or an artifact (only the public key's id does). Without one,
/// provenance is written unsigned and each container's output says so.
struct SigningOptions: ParsableArguments {
    @Option(name: .customLong("signing-key"), help: ArgumentHelp(
        "Sign container provenance with this Ed25519 private key (PEM, from `mlbuild keygen`). Default: $MLBUILD_SIGNING_KEY_FILE; unsigned when neither is set.",
        valueName: "FILE"))
    var signingKey: String?

    /// Loads the key (when one is named) and hands it to the container rule.
    func configure(environment: [String: String]) throws {
        guard let path = signingKey ?? environment["MLBUILD_SIGNING_KEY_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            ProvenanceSigning.use(nil)
            return
        }
        do {
            ProvenanceSigning.use(try SigningKey(contentsOf: path))
        } catch let error as ProvenanceError {
            throw CLIError.usage(error.description)
        }
    }
}
