#if canImport(Glibc)
import Glibc
#endif

/// Where things live in a cache directory (documented in docs/cache.md and cache/README.md):
///
///     cas/<first 2 hex>/<64 hex>   blobs, named by the SHA-256 of their content
///     ac/<first 2 hex>/<64 hex>    action results (JSON, see ActionResult), named by action key
///     tmp/                         temp files being written (renamed into cas/ or ac/)
///     quarantine/                  blobs whose content did not match their name
///     builds.log                   one JSON line per build: counts for `cache stats`
///     lock                         flock: builds hold it shared, `cache gc` exclusive
///
/// A cache directory mlbuild cannot write (a read-only mount shared with CI runners, or one
/// owned by someone else) is `isReadOnly`: results are still restored from it (blobs are
/// verified by digest, no lock is needed to read them), but nothing is written there: no
/// LRU touches, no builds.log line, no quarantine; a target that must be built fails.
public struct CacheLayout: Sendable {
    public let root: String
    public let isReadOnly: Bool

    public init(root: String, readOnly: Bool = false) {
        self.root = root
        isReadOnly = readOnly
    }

    /// Whether `root` exists but cannot be written by this process (EROFS, or no permission).
    public static func isReadOnlyDirectory(_ root: String) -> Bool {
        access(root, F_OK) == 0 && access(root, W_OK) != 0
    }

    public var casDirectory: String { "\(root)/cas" }
    public var acDirectory: String { "\(root)/ac" }
    public var tempDirectory: String { "\(root)/tmp" }
    public var quarantineDirectory: String { "\(root)/quarantine" }
    public var buildsLog: String { "\(root)/builds.log" }
    public var lockPath: String { "\(root)/lock" }

    public func blobPath(_ hex: String) -> String { "\(casDirectory)/\(hex.prefix(2))/\(hex)" }
    public func actionPath(_ hex: String) -> String { "\(acDirectory)/\(hex.prefix(2))/\(hex)" }
}
