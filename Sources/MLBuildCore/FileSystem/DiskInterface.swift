#if canImport(Glibc)
import Glibc
#endif

/// Every file-system call the engine, the stat cache and the content store make, behind one
/// protocol (Ninja's `DiskInterface`): `RealDisk` does them with syscalls, and a test fake
/// (`InMemoryDisk` in MLBuildTestSupport) keeps files in memory with a virtual clock, so that
/// the engine's scheduling, caching and failure paths are tested in milliseconds without a
/// process or a real file.
///
/// Paths are as the callers spell them: workspace-relative (against the working directory,
/// which is the workspace root) or absolute (the cache, the state files). Errors are thrown as
/// `FileSystem.Failure` or `FileHashing.Failure`, naming the path.
public protocol DiskInterface: Sendable {
    /// `stat` (following links) or `lstat`; nil when the path does not exist or cannot be read.
    func stat(_ path: String, followLinks: Bool) -> FileStat?
    /// The whole content of a file.
    func readBytes(_ path: String) throws -> [UInt8]
    /// SHA-256 and size of the regular file at `path`; anything else (a FIFO, a device, a
    /// directory) is refused before a byte is read.
    func digest(ofFileAt path: String) throws -> (digest: ContentDigest, size: UInt64)
    /// Names in a directory, sorted, without `.` and `..`.
    func listDirectory(_ path: String) throws -> [String]
    /// Writes `bytes` to a temp file beside `path` and renames it into place (parents created).
    func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws
    /// Copies `source` to `destination`, replacing it atomically (parents created).
    func copyFile(from source: String, to destination: String, mode: mode_t) throws
    /// `copyFile`, returning the SHA-256 and size of the copy (hashed from the copy's bytes).
    func copyFileHashing(from source: String, to destination: String, mode: mode_t) throws -> (digest: ContentDigest, size: UInt64)
    /// `rm -rf path`; a missing path is fine.
    func removeTree(_ path: String) throws
    /// `mkdir -p`.
    func createDirectories(_ path: String) throws
    /// The target of the symbolic link at `path`.
    func readLink(_ path: String) throws -> String
    /// Makes a symbolic link at `path` that points at `target` (which is stored as written).
    func createSymbolicLink(at path: String, target: String) throws
    /// `rename(2)`: replaces `destination` atomically.
    func rename(_ source: String, to destination: String) throws
    /// Sets a file's permission bits.
    func setMode(_ path: String, _ mode: mode_t) throws
    /// Sets the modification time to now (the cache's LRU clock); failures are ignored.
    func touch(_ path: String)
    /// The clock file timestamps are taken from, in nanoseconds since the epoch (the racy
    /// window compares a file's mtime with it).
    func currentTimeNanoseconds() -> Int64
}

extension DiskInterface {
    public func stat(_ path: String) -> FileStat? { stat(path, followLinks: true) }
    public func exists(_ path: String) -> Bool { stat(path, followLinks: false) != nil }
    public func readString(_ path: String) throws -> String { String(decoding: try readBytes(path), as: UTF8.self) }
    public func writeAtomically(_ bytes: [UInt8], to path: String) throws { try writeAtomically(bytes, to: path, mode: 0o644) }
    public func copyFile(from source: String, to destination: String) throws { try copyFile(from: source, to: destination, mode: 0o644) }
    /// Copy, then hash the copy: for disks with nothing faster.
    public func copyFileHashing(from source: String, to destination: String, mode: mode_t) throws -> (digest: ContentDigest, size: UInt64) {
        try copyFile(from: source, to: destination, mode: mode)
        return try digest(ofFileAt: destination)
    }
    /// Removes a file (or an empty directory's entry) ignoring errors: cleanup of a temp file.
    public func removeIgnoringErrors(_ path: String) { try? removeTree(path) }
}

/// The real disk: delegates to `FileSystem`, `FileStat` and `FileHashing`. Stateless, so an
/// existential of it is free to copy.
public struct RealDisk: DiskInterface {
    public init() {}

    public func stat(_ path: String, followLinks: Bool) -> FileStat? { FileStat.of(path, followLinks: followLinks) }
    public func readBytes(_ path: String) throws -> [UInt8] { try FileSystem.readBytes(path) }
    public func digest(ofFileAt path: String) throws -> (digest: ContentDigest, size: UInt64) { try FileHashing.digest(ofFileAt: path) }
    public func listDirectory(_ path: String) throws -> [String] { try FileSystem.listDirectory(path) }
    public func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        try FileSystem.writeAtomically(bytes, to: path, mode: mode)
    }
    public func copyFile(from source: String, to destination: String, mode: mode_t) throws {
        try FileSystem.copyFile(from: source, to: destination, mode: mode)
    }
    public func copyFileHashing(from source: String, to destination: String, mode: mode_t) throws -> (digest: ContentDigest, size: UInt64) {
        try FileSystem.copyFileHashing(from: source, to: destination, mode: mode)
    }
    public func removeTree(_ path: String) throws { try FileSystem.removeTree(path) }
    public func createDirectories(_ path: String) throws { try FileSystem.createDirectories(path) }
    public func readLink(_ path: String) throws -> String { try FileSystem.readLink(path) }
    public func createSymbolicLink(at path: String, target: String) throws {
        guard symlink(target, path) == 0 else { throw FileSystem.Failure("create the symbolic link", path) }
    }
    public func rename(_ source: String, to destination: String) throws {
        guard Glibc.rename(source, destination) == 0 else { throw FileSystem.Failure("rename into", destination) }
    }
    public func setMode(_ path: String, _ mode: mode_t) throws {
        guard chmod(path, mode) == 0 else { throw FileSystem.Failure("change the mode of", path) }
    }
    public func touch(_ path: String) { FileSystem.touch(path) }
    public func currentTimeNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}
