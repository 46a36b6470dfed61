import MLBuildCache
import MLBuildCore

/// Why a target is not fresh, and how it will be satisfied: the two halves of every reason that
/// `status`, `-n`, `--explain` and `--events` print. The words are composed here and nowhere else:
///
///     input data.csv changed; restorable from the local cache
///     outputs missing; restorable from the remote cache
///     no cache entry
///     restore failed (blob sha256:… missing from the local cache); building
public struct RunReason: Sendable, Equatable, CustomStringConvertible {
    /// Why the target is not fresh.
    public enum Cause: Sendable, Equatable, CustomStringConvertible {
        /// No state record, and no action cache entry in any cache that was asked.
        case noCacheEntry
        /// No state record and no local entry; the remote cache could not be asked (a warning said why).
        case remoteUnavailable
        /// No state record; the only entry found was refused (a warning said why).
        case unusableCacheEntry(CacheSource)
        /// No state record, and none of the declared outputs is on disk.
        case outputsMissing
        /// The first output that is absent or does not hold what the result says.
        case outputMissingOrModified(String)
        case inputChanged(String)
        /// With the old and new values when both may be shown (`FingerprintSummary.displayableValue`).
        case parameterChanged(String, values: ParameterValues?)
        case dependencyChanged(String)
        /// Planning only: the key cannot be known until this dependency has run (it may then
        /// produce the same output, and the target be fresh after all).
        case dependencyPending(String)
        case environmentChanged(String)
        case seedChanged
        case ruleChanged
        /// The recorded key differs, yet no remembered part of the fingerprint does.
        case keyChanged
        /// A restore was tried and did not complete: the target is built instead.
        case restoreFailed(RestoreFailure)

        public var description: String {
            switch self {
            case .noCacheEntry: return "no cache entry"
            case .remoteUnavailable: return "no cache entry (remote cache unavailable)"
            case let .unusableCacheEntry(source): return "the \(source == .local ? "local" : "remote") cache entry is unusable"
            case .outputsMissing: return "outputs missing"
            case let .outputMissingOrModified(path): return "output \(path) missing or modified"
            case let .inputChanged(path): return "input \(path) changed"
            case let .parameterChanged(name, values?): return "parameter \(name) changed: \(values.old) → \(values.new)"
            case let .parameterChanged(name, nil): return "parameter \(name) changed"
            case let .dependencyChanged(target): return "dependency \(target) produced new output"
            case let .dependencyPending(target): return "waiting for dependency \(target)"
            case let .environmentChanged(name): return "environment variable \(name) changed"
            case .seedChanged: return "seed changed"
            case .ruleChanged: return "rule version changed"
            case .keyChanged: return "action key changed"
            case let .restoreFailed(failure): return "restore failed (\(failure))"
            }
        }
    }

    /// A changed parameter's values as `--explain` and `status` show them (never a secret's).
    public struct ParameterValues: Sendable, Equatable {
        public var old: String
        public var new: String

        public init(old: String, new: String) {
            self.old = old
            self.new = new
        }
    }

    /// How the target will be satisfied.
    public enum Source: Sendable, Equatable {
        case localCache
        case remoteCache
        case build

        /// Where a restore comes from; nil for a build.
        public var cacheSource: CacheSource? {
            switch self {
            case .localCache: return .local
            case .remoteCache: return .remote
            case .build: return nil
            }
        }
    }

    /// Why a restore did not complete.
    public enum RestoreFailure: Sendable, Equatable, CustomStringConvertible {
        case blobMissing(ContentDigest)
        /// The blob's content does not hash to its name (it was quarantined).
        case blobCorrupt(ContentDigest, actual: ContentDigest)
        /// The blob is intact but the action result states another size for it.
        case blobSize(ContentDigest, recorded: UInt64, actual: UInt64)
        case blobNotDownloaded(ContentDigest)
        /// Anything else (an unsafe parent directory, a full disk), in the words of the error.
        case other(String)

        public var description: String {
            switch self {
            case let .blobMissing(digest): return "blob sha256:\(digest.hex) missing from the local cache"
            case let .blobCorrupt(digest, actual):
                return "digest mismatch: blob sha256:\(digest.hex) holds content with sha256:\(actual.hex); quarantined"
            case let .blobSize(digest, recorded, actual):
                return "blob sha256:\(digest.hex) has \(actual) bytes where its action result says \(recorded)"
            case let .blobNotDownloaded(digest): return "blob sha256:\(digest.hex) could not be fetched from the remote cache"
            case let .other(message): return message
            }
        }
    }

    public var cause: Cause
    public var source: Source

    public init(_ cause: Cause, _ source: Source = .build) {
        self.cause = cause
        self.source = source
    }

    public var description: String {
        switch source {
        case .localCache: return "\(cause); restorable from the local cache"
        case .remoteCache: return "\(cause); restorable from the remote cache"
        case .build:
            if case .restoreFailed = cause { return "\(cause); building" }
            return cause.description
        }
    }

    /// This reason with `cause` in place of "no cache entry" (a remote cache that was not
    /// asked, or whose entry was refused, makes "no cache entry" untrue); other causes stay.
    func replacingNoCacheEntry(with cause: Cause) -> RunReason {
        guard self.cause == .noCacheEntry else { return self }
        return RunReason(cause, source)
    }
}
