import Foundation
import MLBuildProvenance
import Synchronization

/// The key container targets sign their provenance with: set once per process by the CLI from
/// `--signing-key FILE` or `MLBUILD_SIGNING_KEY_FILE`, before the build plans. A command that
/// sets nothing (status, graph, exp) reads `MLBUILD_SIGNING_KEY_FILE` itself on first use, so
/// that it computes the same keys as the build did; nil: provenance is written unsigned.
///
/// The key is a secret: only its public `keyID` enters a container's action key (so that
/// another key re-signs instead of restoring an envelope signed by the old one); its bytes and
/// its path never do.
public enum ProvenanceSigning {
    private enum State { case unset, chosen(SigningKey?) }
    private static let state = Mutex<State>(.unset)

    public static func use(_ key: SigningKey?) { state.withLock { $0 = .chosen(key) } }

    static var key: SigningKey? {
        state.withLock { state in
            if case .chosen(let key) = state { return key }
            // An unreadable key here is the build's error to report, not a planner's.
            let path = ProcessInfo.processInfo.environment["MLBUILD_SIGNING_KEY_FILE"].flatMap { $0.isEmpty ? nil : $0 }
            let key = path.flatMap { try? SigningKey(contentsOf: $0) }
            state = .chosen(key)
            return key
        }
    }

    /// The derived parameter's value: `ed25519:KEYID` or `unsigned`.
    static var keyParameter: String { key.map { "ed25519:\($0.publicKey.keyID)" } ?? "unsigned" }
}
