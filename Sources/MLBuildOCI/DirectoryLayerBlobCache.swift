import MLBuildBasics
import Foundation

/// A `LayerBlobCache` in a directory:
///
///     <root>/layers/<key>.json      {"diffID":"sha256:…","digest":"sha256:…","size":N}
///     <root>/blobs/sha256/<hex>     the gzip blob
///
/// Both are written to a temp file and renamed. A record whose blob is missing or has the wrong
/// size is a miss.
public struct DirectoryLayerBlobCache: LayerBlobCache {
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    private struct Record: Codable {
        var digest: ContentDigest
        var diffID: ContentDigest
        var size: Int64
    }

    private func recordURL(_ key: String) throws -> URL {
        guard key.utf8.count == 64, key.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { throw OCIError("invalid layer cache key '\(key)'") }
        return root.appendingPathComponent("layers").appendingPathComponent(key + ".json")
    }

    private func blobURL(_ digest: ContentDigest) -> URL {
        root.appendingPathComponent("blobs/sha256").appendingPathComponent(digest.hex)
    }

    public func lookup(key: String) throws -> CachedLayerBlob? {
        let url = try recordURL(key)
        guard let data = FileManager.default.contents(atPath: url.path),
            let record = try? JSONDecoder().decode(Record.self, from: data)
        else { return nil }
        let blob = blobURL(record.digest)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: blob.path),
            (attributes[.size] as? NSNumber)?.int64Value == record.size
        else { return nil }
        return CachedLayerBlob(url: blob, digest: record.digest, diffID: record.diffID, size: record.size)
    }

    public func store(key: String, blob: CachedLayerBlob) throws -> CachedLayerBlob {
        let fm = FileManager.default
        let record = try recordURL(key)
        let target = blobURL(blob.digest)
        try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.createDirectory(at: record.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !fm.fileExists(atPath: target.path) {
            let temp = target.deletingLastPathComponent().appendingPathComponent(".\(blob.digest.hex).tmp-\(getpid())")
            try? fm.removeItem(at: temp)
            // rename when on the same filesystem, else copy (the caller discards its file).
            if rename(blob.url.path, temp.path) != 0 {
                try fm.copyItem(at: blob.url, to: temp)
            }
            guard rename(temp.path, target.path) == 0 else {
                throw ArchiveError.posix("cannot rename into layer cache", path: target.path)
            }
        }
        let bytes = try OCIJSON.encode(Record(digest: blob.digest, diffID: blob.diffID, size: blob.size))
        try AtomicFile.write(bytes, to: record)
        return CachedLayerBlob(url: target, digest: blob.digest, diffID: blob.diffID, size: blob.size)
    }
}
