import Foundation
import MLBuildBasics

/// An OCI image archive (or layout directory) checked end to end by `OCIArchiveVerifier` and
/// kept open, so that its blobs can be read afterwards (a registry push uploads them) without
/// trusting anything unchecked: `blobFile` hands out only blobs whose size and digest were
/// verified. An archive is extracted into a private temp directory, removed by `remove()` (and
/// on deinit); a layout directory is read in place.
public final class VerifiedImageLayout: Sendable {
    public let report: VerificationReport
    /// The layout's `index.json`.
    public let index: Index
    /// The archive or directory as the caller named it (for messages).
    public let name: String
    private let source: OCILayoutSource
    private let verified: Set<ContentDigest>
    private let scratch: URL?

    /// Extracts (when `url` is an archive) and verifies; throws the verifier's `OCIError`.
    public init(opening url: URL) throws {
        let scratch = OCIArchiveVerifier.scratchDirectory()
        do {
            let source = try OCILayoutSource.open(url, scratch: scratch)
            (report, index, verified) = try OCIArchiveVerifier.verify(source: source, url: url)
            self.source = source
        } catch {
            try? FileManager.default.removeItem(at: scratch)
            throw error
        }
        var isDirectory: ObjCBool = false
        self.scratch = FileManager.default.fileExists(atPath: scratch.path, isDirectory: &isDirectory) ? scratch : nil
        name = url.relativePath
    }

    deinit { remove() }

    /// The file holding a verified blob; an `OCIError` for a digest that was not verified.
    public func blobFile(_ digest: ContentDigest) throws -> URL {
        guard verified.contains(digest) else {
            throw OCIError("OCI image '\(name)': blob \(digest.prefixed) is not part of the verified image")
        }
        return try source.blob(digest)
    }

    /// A verified blob's bytes (manifests, indexes, configs), at most `limit` of them.
    public func blobBytes(_ digest: ContentDigest, limit: Int64 = 16 << 20) throws -> [UInt8] {
        try source.readSmall(blobFile(digest), what: "blob \(digest.prefixed)", limit: limit)
    }

    /// Deletes the extracted copy (nothing for a layout directory read in place).
    public func remove() {
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }
}
