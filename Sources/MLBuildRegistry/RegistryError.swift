/// Why a push failed. The message names the registry, repository, blob or file at fault and
/// never contains a credential (messages built from a registry's answer are masked).
public struct RegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The destination does not parse (a bad command line).
        case invalidReference
        /// Plain HTTP asked for without `--insecure` (a bad command line).
        case insecureRefused
        /// `MLBUILD_REGISTRY_AUTH` or the docker config.json is malformed.
        case credentials
        /// The archive is missing, corrupt or not an image push can send.
        case archive
        /// The provenance file is unreadable, not a DSSE envelope, or about another image.
        case provenance
        /// No connection, TLS failure, timeout.
        case unreachable
        /// 401/403: no credentials, or the registry refused them.
        case unauthorized
        /// The registry answered a digest other than the content's.
        case digestMismatch
        /// Any other unexpected answer.
        case rejected
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// Whether the command line was at fault (exit 2 rather than 1).
    public var isUsageError: Bool { kind == .invalidReference || kind == .insecureRefused }
}
