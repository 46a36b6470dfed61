import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildEngine
import MLBuildOCI
#if canImport(Glibc)
import Glibc
#endif

/// `LayerBlobCache` over mlbuild's cache directory, so compressed layers live in the CAS like
/// every other artifact (`cache verify` re-hashes them, `cache gc` ages them out):
///
///     cas/<xx>/<blob hex>     the layer blob, gzip or zstd (its name is its sha256, as in the image)
///     cas/<xx>/<record hex>   {"diffID":"sha256:…","digest":"sha256:…","size":N}
///     ac/<xx>/<entry key>     an ActionResult: {"outputs":[{"path":"layer.json",…record…},
///                                                          {"path":"layer.tar.gz",…blob…}]}
///
/// The entry key is a domain-separated hash of the builder's layer key (sha256 over the layer's
/// entry list — image paths, types, modes, sizes, content digests — the compression and its level, and the tar
/// format version), so it can never collide with a target's action key. A lookup re-hashes the
/// blob before handing it out (a corrupt blob is quarantined and is a miss, then recompressed);
/// a blob removed by `gc` is a miss too.
struct ContainerLayerCache: LayerBlobCache {
    let store: ContentStore
    let actions: ActionCache

    init(layout: CacheLayout) {
        store = ContentStore(layout: layout)
        actions = ActionCache(layout: layout)
    }

    static let recordPath = "layer.json"
    /// The name the blob has in the entry (whatever its compression: only the digest matters).
    static let blobPath = "layer.tar.gz"

    private struct Record: Codable {
        var digest: String
        var diffID: String
        var size: Int64
    }

    func entryKey(_ key: String) -> ContentDigest {
        var hasher = StableHasher(domain: "mlbuild-container-layer-v1")
        hasher.append(key)
        return hasher.finalize()
    }

    func lookup(key: String) throws -> CachedLayerBlob? {
        guard let entry = actions.lookup(entryKey(key)),
              let recordDigest = entry.outputs.first(where: { $0.path == Self.recordPath })?.digest,
              let bytes = try? store.read(recordDigest),
              let record = try? JSONDecoder().decode(Record.self, from: Data(bytes)),
              let digest = ContentDigest(prefixed: record.digest),
              let diffID = ContentDigest(prefixed: record.diffID)
        else { return nil }
        // One digest type: the layer's OCI digest is its name in the local CAS too.
        let casDigest = digest
        let path = store.path(of: casDigest)
        guard let (actual, size) = try? FileHashing.digest(ofFileAt: path), size == UInt64(max(0, record.size)) else {
            return nil
        }
        guard actual == casDigest else {
            store.quarantine(casDigest)
            return nil
        }
        FileSystem.touch(path)
        return CachedLayerBlob(url: URL(fileURLWithPath: path), digest: digest, diffID: diffID, size: record.size)
    }

    func store(key: String, blob: CachedLayerBlob) throws -> CachedLayerBlob {
        let casDigest = blob.digest
        let destination = store.path(of: casDigest)
        if store.contains(casDigest) {
            FileSystem.touch(destination)
        } else {
            // The builder hashed the blob while writing it: move it in when the cache is on the
            // same file system, else copy (insert re-hashes the copy).
            try FileSystem.createDirectories(store.layout.tempDirectory)
            let temp = "\(store.layout.tempDirectory)/layer.\(getpid()).\(UInt64.random(in: 0 ... .max))"
            if rename(blob.url.path, temp) == 0 {
                try store.adopt(verifiedFile: temp, digest: casDigest)
            } else {
                let stored = try store.insert(fileAt: blob.url.path)
                guard stored.digest == casDigest else {
                    throw RuleFailure("layer blob \(blob.digest.prefixed) changed while it was stored in the cache")
                }
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let recordBytes = Array(try encoder.encode(Record(digest: blob.digest.prefixed, diffID: blob.diffID.prefixed, size: blob.size)))
        let recordDigest = try store.insert(bytes: recordBytes)
        let entry = ActionResult(outputs: [
            .init(path: Self.recordPath, digest: recordDigest, size: UInt64(recordBytes.count), executable: false),
            .init(path: Self.blobPath, digest: casDigest, size: UInt64(max(0, blob.size)), executable: false),
        ])
        try actions.store(entry, for: entryKey(key))
        return CachedLayerBlob(url: URL(fileURLWithPath: destination), digest: blob.digest, diffID: blob.diffID, size: blob.size)
    }
}
