import MLBuildCore
#if canImport(Glibc)
import Glibc
#endif

/// The content-addressed store: blobs named by their SHA-256.
///
/// Safe for concurrent writers (several builds, several processes): every blob is written to
/// `tmp/` and renamed into place, and two writers of one name write the same bytes. A blob is
/// never trusted by its name: `materialize` re-hashes what it copied out and quarantines a blob
/// whose content does not match.
public struct ContentStore: Sendable {
    public let layout: CacheLayout
    /// Where blobs are read, written, hashed and renamed.
    public let disk: any DiskInterface

    public init(layout: CacheLayout, disk: any DiskInterface = RealDisk()) {
        self.layout = layout
        self.disk = disk
    }

    public enum Failure: Error, CustomStringConvertible {
        case corrupt(ContentDigest, actual: ContentDigest)
        case missing(ContentDigest)

        public var description: String {
            switch self {
            case let .corrupt(expected, actual):
                return "cache blob \(expected.hex) is corrupt (its content hashes to \(actual.hex)); quarantined"
            case let .missing(digest):
                return "cache blob \(digest.hex) is missing"
            }
        }
    }

    public func path(of digest: ContentDigest) -> String { layout.blobPath(digest.hex) }

    public func contains(_ digest: ContentDigest) -> Bool { disk.exists(path(of: digest)) }

    /// Copies the file at `source` into the store and returns the digest of what was stored
    /// (hashed from the copy, so a file changing under us cannot store mismatched bytes).
    @discardableResult
    public func insert(fileAt source: String) throws -> (digest: ContentDigest, size: UInt64) {
        try disk.createDirectories(layout.tempDirectory)
        let temp = "\(layout.tempDirectory)/blob.\(getpid()).\(UInt64.random(in: 0 ... .max))"
        defer { disk.removeIgnoringErrors(temp) }
        let (digest, size) = try disk.copyFileHashing(from: source, to: temp, mode: 0o644)
        let destination = path(of: digest)
        if disk.exists(destination) {
            disk.touch(destination)
        } else {
            try disk.createDirectories(FileSystem.parent(of: destination))
            try? disk.setMode(temp, 0o444)
            try storeRename(temp, to: destination)
        }
        return (digest, size)
    }

    /// Stores `bytes` (for small documents) and returns their digest.
    @discardableResult
    public func insert(bytes: [UInt8]) throws -> ContentDigest {
        let digest = ContentDigest.of(bytes)
        let destination = path(of: digest)
        if disk.exists(destination) {
            disk.touch(destination)
        } else {
            try disk.writeAtomically(bytes, to: destination, mode: 0o444)
        }
        return digest
    }

    /// Moves a blob that a downloader already verified into place.
    public func adopt(verifiedFile temp: String, digest: ContentDigest) throws {
        let destination = path(of: digest)
        try disk.createDirectories(FileSystem.parent(of: destination))
        try? disk.setMode(temp, 0o444)
        try storeRename(temp, to: destination)
    }

    /// `rename`, failing as "cannot store blob '…'".
    private func storeRename(_ temp: String, to destination: String) throws {
        do {
            try disk.rename(temp, to: destination)
        } catch var failure as FileSystem.Failure {
            failure.operation = "store blob"
            throw failure
        }
    }

    /// Copies blob `digest` to `destination` (atomically), verifying the copy's content.
    /// A corrupt blob is moved to `quarantine/` and reported; nothing is written then.
    /// `verified`: the caller hashed this very blob moments ago (a download that was checked
    /// while it streamed), so the copy is not hashed again.
    public func materialize(_ digest: ContentDigest, to destination: String, executable: Bool, verified: Bool = false) throws {
        let source = path(of: digest)
        guard disk.exists(source) else { throw Failure.missing(digest) }
        let temp = FileSystem.temporaryPath(near: destination)
        let actual: ContentDigest
        do {
            let mode: mode_t = executable ? 0o755 : 0o644
            if verified {
                try disk.copyFile(from: source, to: temp, mode: mode)
                actual = digest
            } else {
                actual = try disk.copyFileHashing(from: source, to: temp, mode: mode).digest
            }
        } catch {
            disk.removeIgnoringErrors(temp)
            throw error
        }
        guard actual == digest else {
            disk.removeIgnoringErrors(temp)
            quarantine(digest)
            throw Failure.corrupt(digest, actual: actual)
        }
        do {
            try disk.rename(temp, to: destination)
        } catch var failure as FileSystem.Failure {
            failure.operation = "write"
            disk.removeIgnoringErrors(temp)
            throw failure
        }
        if !layout.isReadOnly { disk.touch(source) }
    }

    /// Reads a small blob fully, verifying it.
    public func read(_ digest: ContentDigest) throws -> [UInt8] {
        let source = path(of: digest)
        guard disk.exists(source) else { throw Failure.missing(digest) }
        let bytes = try disk.readBytes(source)
        let actual = ContentDigest.of(bytes)
        guard actual == digest else {
            quarantine(digest)
            throw Failure.corrupt(digest, actual: actual)
        }
        return bytes
    }

    /// Hashes blob `digest` where it lies; one whose content does not match is quarantined.
    public func verify(_ digest: ContentDigest) throws {
        let source = path(of: digest)
        guard disk.exists(source) else { throw Failure.missing(digest) }
        let actual = try disk.digest(ofFileAt: source).digest
        guard actual == digest else {
            quarantine(digest)
            throw Failure.corrupt(digest, actual: actual)
        }
    }

    /// Moves a blob out of service (kept for inspection, never served again).
    public func quarantine(_ digest: ContentDigest) {
        if layout.isReadOnly { return }
        let source = path(of: digest)
        try? disk.createDirectories(layout.quarantineDirectory)
        if (try? disk.rename(source, to: "\(layout.quarantineDirectory)/\(digest.hex)")) == nil { disk.removeIgnoringErrors(source) }
    }
}
