import Foundation
import MLBuildCache
import MLBuildCore
#if canImport(Glibc)
import Glibc
#endif

/// Connects the engine to an HTTP remote cache (`RemoteCacheSession`, which already turns every
/// network failure into a single warning and misses, and verifies every blob's SHA-256 while it
/// downloads). A remote action result is trusted only once all of its blobs have verified, and
/// every blob is hashed again when it is copied out of the local store.
public final class RemoteCacheAdapter: RemoteCacheBackend {
    public let session: RemoteCacheSession
    /// Called for every problem worth telling the user (a blob that failed verification).
    private let onWarning: @Sendable (String) -> Void

    public init(session: RemoteCacheSession, onWarning: @escaping @Sendable (String) -> Void) {
        self.session = session
        self.onWarning = onWarning
    }

    public func lookupAction(_ key: ContentDigest, target: TargetReference, declared: DeclaredOutputs) async -> RemoteLookup {
        guard let data = await session.fetchData(.ac, key.hex, maxBytes: RemoteCache.maxActionResultBytes) else {
            // The session answers nil both for a 404 and once its breaker has tripped.
            return session.isAvailable ? .miss : .unavailable
        }
        guard let result = ActionResult.decode(Array(data)) else {
            onWarning("warning: remote cache entry ac/\(key.hex) is malformed; building \(target) locally")
            return .rejected
        }
        // The trust boundary: nothing the target did not declare is ever restored.
        if let mismatch = declared.mismatch(in: result) {
            onWarning("warning: remote cache entry ac/\(key.hex) does not match \(target)'s declared outputs (\(mismatch)); building locally")
            return .rejected
        }
        return .hit(result)
    }

    public func fetchBlob(_ digest: ContentDigest, size: UInt64, into store: ContentStore) async -> Bool {
        do { try FileSystem.createDirectories(store.layout.tempDirectory) } catch { return false }
        let temp = "\(store.layout.tempDirectory)/remote.\(getpid()).\(UInt64.random(in: 0 ... .max))"
        // RemoteCache.download hashes the body while it streams, stops it once it exceeds
        // `size`, and refuses a mismatch (then the session reports it and answers false);
        // materializing re-hashes it once more.
        guard await session.download(.cas, digest.hex, to: URL(fileURLWithPath: temp), expectedSize: Int64(clamping: size)) else { return false }
        do {
            try store.adopt(verifiedFile: temp, digest: digest)
            return true
        } catch {
            unlink(temp)
            return false
        }
    }

    public func upload(result: ActionResult, key: ContentDigest, store: ContentStore) async {
        let digests = Set(result.outputs.compactMap(\.digest)).sorted()
        await withTaskGroup(of: Void.self) { group in
            for digest in digests {
                group.addTask { await self.session.upload(.cas, digest.hex, from: URL(fileURLWithPath: store.path(of: digest))) }
            }
        }
        // The action result goes last, so a reader never sees it before its blobs.
        await session.upload(.ac, key.hex, data: Data(result.encoded()))
    }

    public var bytesDownloaded: UInt64 { UInt64(max(0, session.transferStatistics.bytesDown)) }
    public var bytesUploaded: UInt64 { UInt64(max(0, session.transferStatistics.bytesUp)) }
}
