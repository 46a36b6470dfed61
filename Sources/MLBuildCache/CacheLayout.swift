/// Where things live in a cache directory (documented in docs/cache.md and cache/README.md):
///
///     cas/<first 2 hex>/<64 hex>   blobs, named by the SHA-256 of their content
///     ac/<first 2 hex>/<64 hex>    action results (JSON, see ActionResult), named by action key
///     tmp/                         temp files being written (renamed into cas/ or ac/)
///     quarantine/                  blobs whose content did not match their name
///     builds.log                   one JSON line per build: counts for `cache stats`
///     lock                         flock: builds hold it shared, `cache gc` exclusive
public struct CacheLayout: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    public var casDirectory: String { "\(root)/cas" }
    public var acDirectory: String { "\(root)/ac" }
    public var tempDirectory: String { "\(root)/tmp" }
    public var quarantineDirectory: String { "\(root)/quarantine" }
    public var buildsLog: String { "\(root)/builds.log" }
    public var lockPath: String { "\(root)/lock" }

    public func blobPath(_ hex: String) -> String { "\(casDirectory)/\(hex.prefix(2))/\(hex)" }
    public func actionPath(_ hex: String) -> String { "\(acDirectory)/\(hex.prefix(2))/\(hex)" }
}
