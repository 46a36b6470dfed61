import Crypto
import Foundation
import MLBuildBasics

extension ContentDigest {
    /// Streams a file through SHA-256.
    static func ofFile(_ url: URL) throws -> (digest: ContentDigest, size: Int64) {
        let hashed = try ofFileStamped(url)
        return (hashed.digest, hashed.size)
    }

    /// The same, plus the file's stamp when it binds the digest: the file did not change while
    /// it was read and its timestamps were already out of the racy window (`SourceStamp`).
    static func ofFileStamped(_ url: URL) throws -> (digest: ContentDigest, size: Int64, stamp: SourceStamp?) {
        var hasher = SHA256()
        let now = SourceStamp.now()
        var atOpen: SourceStamp?
        let read = try FileReader.forEachChunk(of: url, opened: { atOpen = $0 }) { hasher.update(bufferPointer: $0) }
        let binding = atOpen == read.atEnd && read.atEnd.isSettled(before: now) && read.atEnd.size == read.size
        return (ContentDigest(hasher.finalize()), read.size, binding ? read.atEnd : nil)
    }
}
