import MLBuildCore
#if canImport(Glibc)
import Glibc
#endif

/// An advisory `flock(2)` on a file; released on `unlock()`, on deinit, and by the kernel when
/// the process dies (so `kill -9` never leaves a stale lock behind).
public final class FileLock: @unchecked Sendable {  // fd is only touched by lock/unlock on one thread
    public enum Mode: Sendable { case shared, exclusive }

    private var fd: Int32
    public let path: String

    /// Opens (creating) the lock file.
    public init(path: String) throws {
        try FileSystem.createDirectories(FileSystem.parent(of: path))
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        self.path = path
        guard fd >= 0 else { throw FileSystem.Failure("open lock file", path) }
    }

    /// Opens an existing lock file read-only (flock works on any open descriptor): for a
    /// cache directory that cannot be written, where the lock file cannot be created.
    public init(readingExisting path: String) throws {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        self.path = path
        guard fd >= 0 else { throw FileSystem.Failure("open lock file", path) }
    }

    /// Takes the lock without waiting; false when another process holds it.
    public func tryLock(_ mode: Mode) -> Bool {
        flock(fd, (mode == .shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0
    }

    /// Takes the lock, waiting as long as needed.
    public func lock(_ mode: Mode) throws {
        while flock(fd, mode == .shared ? LOCK_SH : LOCK_EX) != 0 {
            if errno != EINTR { throw FileSystem.Failure("lock", path) }
        }
    }

    public func unlock() { flock(fd, LOCK_UN) }

    deinit { close(fd) }
}
