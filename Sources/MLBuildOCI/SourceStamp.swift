#if canImport(Glibc)
import Glibc
#endif

/// The fields of `fstat(2)` that change whenever a file's bytes do: any write moves ctime, and a
/// file renamed over the path has another inode. A file hashed while its stamp held, and whose
/// stamp is the same later, still has the bytes that were hashed — provided its timestamps were
/// already older than the racy window when it was hashed (git's "racily clean" rule: a write in
/// the same timestamp tick as the previous one would leave ctime as it was).
struct SourceStamp: Equatable, Sendable {
    var size: Int64
    var mtimeNanoseconds: Int64
    var ctimeNanoseconds: Int64
    var inode: UInt64
    var device: UInt64

    /// Timestamps this close to the moment a file was read could hide a write right after
    /// (the engine's no-op manifest uses the same window).
    static let racyWindowNanoseconds: Int64 = 100_000_000

    init(_ info: stat) {
        size = Int64(info.st_size)
        mtimeNanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        ctimeNanoseconds = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
        inode = UInt64(info.st_ino)
        device = UInt64(info.st_dev)
    }

    /// The stamp of an open file.
    static func of(_ fd: Int32, path: String) throws -> SourceStamp {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ArchiveError.posix("cannot stat", path: path) }
        return SourceStamp(info)
    }

    /// Nanoseconds since the epoch on the clock file timestamps come from.
    static func now() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// True when both timestamps are older than the racy window before `now` (taken before the
    /// file was opened): then a later write is bound to move ctime.
    func isSettled(before now: Int64) -> Bool {
        mtimeNanoseconds < now - Self.racyWindowNanoseconds && ctimeNanoseconds < now - Self.racyWindowNanoseconds
    }
}
