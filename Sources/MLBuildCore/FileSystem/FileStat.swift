#if canImport(Glibc)
import Glibc
#endif

/// The fields of `stat(2)` that say whether a file may have changed since it was hashed.
/// Any difference in any of them forces a re-hash (see StatCache).
public struct FileStat: Sendable, Hashable {
    public var size: UInt64
    public var mtimeNanoseconds: Int64
    public var ctimeNanoseconds: Int64
    public var inode: UInt64
    public var device: UInt64
    public var mode: UInt32

    public var isDirectory: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFDIR) }
    public var isRegularFile: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFREG) }
    public var isSymbolicLink: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFLNK) }
    /// A device, FIFO or socket: written to in place (`/dev/null`, a pipe), never replaced by
    /// a rename, which would put a regular file where the device was.
    public var isSpecial: Bool { !isRegularFile && !isDirectory && !isSymbolicLink }
    public var isExecutable: Bool { mode & 0o111 != 0 }

    /// What the file is, for messages: "a regular file", "a directory", "a FIFO", …
    public var kindDescription: String {
        switch mode & UInt32(S_IFMT) {
        case UInt32(S_IFREG): return "a regular file"
        case UInt32(S_IFDIR): return "a directory"
        case UInt32(S_IFLNK): return "a symbolic link"
        case UInt32(S_IFIFO): return "a FIFO (named pipe)"
        case UInt32(S_IFSOCK): return "a socket"
        case UInt32(S_IFCHR): return "a character device"
        case UInt32(S_IFBLK): return "a block device"
        default: return "a special file"
        }
    }

    public init(size: UInt64, mtimeNanoseconds: Int64, ctimeNanoseconds: Int64, inode: UInt64, device: UInt64, mode: UInt32) {
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.ctimeNanoseconds = ctimeNanoseconds
        self.inode = inode
        self.device = device
        self.mode = mode
    }

    /// `stat` (following links) or `lstat`; nil when the path does not exist or cannot be read.
    public static func of(_ path: String, followLinks: Bool = true) -> FileStat? {
        var st = stat()
        let rc = followLinks ? stat(path, &st) : lstat(path, &st)
        guard rc == 0 else { return nil }
        return FileStat(
            size: UInt64(st.st_size),
            mtimeNanoseconds: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
            ctimeNanoseconds: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec),
            inode: UInt64(st.st_ino),
            device: UInt64(st.st_dev),
            mode: UInt32(st.st_mode))
    }
}
