import Crypto
import Foundation
import MLBuildBasics

extension ContentDigest {
    /// Streams a file through SHA-256.
    static func ofFile(_ url: URL) throws -> (digest: ContentDigest, size: Int64) {
        var hasher = SHA256()
        let size = try FileReader.forEachChunk(of: url) { hasher.update(bufferPointer: $0) }
        return (ContentDigest(hasher.finalize()), size)
    }
}
