import MLBuildBasics
import Foundation

/// A compressed layer blob kept between builds.
public struct CachedLayerBlob: Sendable, Equatable, Codable {
    /// Where the gzip blob is. After `store`, a location the cache owns.
    public var url: URL
    public var digest: ContentDigest
    public var diffID: ContentDigest
    public var size: Int64

    public init(url: URL, digest: ContentDigest, diffID: ContentDigest, size: Int64) {
        self.url = url
        self.digest = digest
        self.diffID = diffID
        self.size = size
    }
}

/// Lets a rebuild reuse compressed layers. The key (64 hex chars) is a SHA-256 over the layer's
/// expanded entry list (image paths, types, modes, sizes, content digests), the compression level
/// and the tar format version — never host paths or mtimes — so the same content under another
/// directory hits. The builder verifies a cached blob's digest while copying it into the image.
public protocol LayerBlobCache: Sendable {
    func lookup(key: String) throws -> CachedLayerBlob?
    /// Takes ownership of the file at `blob.url` (it may be moved) and returns where it now lives.
    func store(key: String, blob: CachedLayerBlob) throws -> CachedLayerBlob
}
