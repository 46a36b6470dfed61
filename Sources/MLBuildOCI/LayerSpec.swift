import Foundation

/// One logical layer of the image: a named list of files/directories to place in it.
/// Each layer becomes one gzip-compressed tar blob.
public struct LayerSpec: Sendable, Equatable {
    /// Shown in the config history (`created_by`), e.g. "model" or "files".
    public var name: String
    public var entries: [LayerEntry]
    /// SHA-256 (hex) of source files the caller has already hashed (the build engine's output
    /// and input digests), by absolute standardized path: used for the layer cache key instead
    /// of reading the file once more. Never trusted: the bytes are hashed as they are tarred,
    /// and a file whose bytes do not match fails the layer.
    public var knownDigests: [String: String]

    public init(name: String, entries: [LayerEntry], knownDigests: [String: String] = [:]) {
        self.name = name
        self.entries = entries
        self.knownDigests = knownDigests
    }
}

/// A source on the host placed at a path in the image, or an empty directory.
///
/// - A file source goes to `imagePath`; if `imagePath` ends with `/` the file keeps its name
///   under that directory (`files = model.bin:/srv/` puts it at /srv/model.bin).
/// - A directory source is copied recursively with its root at `imagePath`.
/// - No source: an empty directory at `imagePath` (a mount point such as `/proc`).
/// Symlinks inside a directory source are followed when they point to a regular file (the image
/// gets the content); symlinks to directories are refused.
public struct LayerEntry: Sendable, Equatable {
    public var imagePath: String
    /// nil: an empty directory.
    public var source: URL?
    /// Permission bits for regular files; nil: 0755 when the source has any execute bit, else 0644.
    /// Directories copied from a source are always 0755; an empty directory has this mode (nil: 0755).
    public var mode: UInt32?

    public init(imagePath: String, source: URL, mode: UInt32? = nil) {
        self.imagePath = imagePath
        self.source = source
        self.mode = mode
    }

    /// An empty directory at `imagePath` with permission bits `mode`.
    public init(emptyDirectory imagePath: String, mode: UInt32 = 0o755) {
        self.imagePath = imagePath
        self.source = nil
        self.mode = mode
    }
}
