import MLBuildCache
import MLBuildCore

/// The directory a build runs in, and where its state and cache live.
public struct Workspace: Sendable {
    /// Absolute path of the workspace root; the process works from here, and every path a rule
    /// sees is relative to it.
    public let root: String
    public let cache: CacheLayout
    /// The environment mlbuild was started with (the source of `env` and `${secret:…}` values).
    public let environment: [String: String]

    public init(root: String, cacheDirectory: String, environment: [String: String]) {
        self.root = root
        let cacheRoot = cacheDirectory.hasPrefix("/") ? cacheDirectory : "\(root)/\(cacheDirectory)"
        cache = CacheLayout(root: cacheRoot, readOnly: CacheLayout.isReadOnlyDirectory(cacheRoot))
        self.environment = environment
    }

    /// `.mlbuild/`: the workspace's own state (not shared, not cached).
    public var stateDirectory: String { "\(root)/.mlbuild" }
    public var statePath: String { stateFile ?? "\(stateDirectory)/state" }
    /// Another state file than `.mlbuild/state` (absolute): `exp run` keeps each variant's
    /// records apart, so that the workspace's own targets are never taken for a variant's.
    public var stateFile: String?
    public var statCachePath: String { "\(stateDirectory)/stat-cache" }
    public var lockPath: String { "\(stateDirectory)/lock" }

    /// `path` (absolute) relative to the root when it lies strictly inside the workspace, by
    /// spelling (symbolic links are not resolved); nil otherwise.
    public func relativePath(of path: String) -> String? {
        let normal = WorkspacePath.lexicallyNormalized(path), base = WorkspacePath.lexicallyNormalized(root)
        let prefix = base == "/" ? "/" : base + "/"
        guard normal.hasPrefix(prefix), normal.count > prefix.count else { return nil }
        return String(normal.dropFirst(prefix.count))
    }
}

/// A shared cache beyond the local directory (the HTTP remote cache). Every method absorbs its
/// own failures: a sick remote degrades to misses, never to a failed or wrong build.
public protocol RemoteCacheBackend: Sendable {
    /// The action result stored under `key` when it matches `declared`, the outputs of
    /// `target`; `.rejected` after one warning for an entry that is malformed or does not
    /// match (such an entry is never used nor stored locally); `.unavailable` when the remote
    /// cache could not be asked.
    func lookupAction(_ key: ContentDigest, target: TargetReference, declared: DeclaredOutputs) async -> RemoteLookup
    /// Downloads blob `digest` (at most `size` bytes, the size its action result declares),
    /// verifies it, and puts it into `store`; false on miss or error.
    func fetchBlob(_ digest: ContentDigest, size: UInt64, into store: ContentStore) async -> Bool
    /// Uploads the blobs (skipping those the server has) and then the action result.
    func upload(result: ActionResult, key: ContentDigest, store: ContentStore) async
    var bytesDownloaded: UInt64 { get }
    var bytesUploaded: UInt64 { get }
}
