import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one atomic file write of mlbuild: the bytes go to a temp file beside the destination
/// (same filesystem), are fsynced when asked, and renamed over it, so a reader sees the old
/// content or the new, never half of it.
///
/// Temp files are named `.tmp-NAME.PID.RANDOM`: the writer's pid lets the next build sweep one
/// left by a killed process (`StaleTemporaryFiles` in MLBuildCore).
public enum AtomicFile {
    /// A unique temp name next to `path`.
    public static func temporaryPath(near path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return "\(directory)/.tmp-\(name).\(getpid()).\(UInt64.random(in: 0 ... .max))"
    }

    public static func temporaryURL(for url: URL) -> URL { URL(fileURLWithPath: temporaryPath(near: url.path)) }

    /// Writes `bytes` to `path` atomically (see the type). The parent directory must exist. A
    /// device or FIFO (`--output /dev/null`, `/dev/stdout`) is written in place: a rename over it
    /// would put a regular file where the device was.
    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String, durable: Bool = false, mode: mode_t = 0o644) throws {
        var status = stat()
        if stat(path, &status) == 0, ![S_IFREG, S_IFDIR].contains(status.st_mode & S_IFMT) {
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw FileFailure("open", path) }
            defer { close(fd) }
            try writeAll(fd, bytes, path: path)
            return
        }
        let temp = temporaryPath(near: path)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileFailure("write", path) }
        var committed = false
        defer { if !committed { unlink(temp) } }
        do {
            try writeAll(fd, bytes, path: path)
        } catch {
            close(fd)
            throw error
        }
        if durable { fsync(fd) }
        guard close(fd) == 0 else { throw FileFailure("write", path) }
        try commit(temporary: temp, to: path)
        committed = true
    }

    public static func write(_ bytes: some Collection<UInt8>, to path: String, durable: Bool = false, mode: mode_t = 0o644) throws {
        // Contiguous storage (Array, Data, slices) is written from the caller's buffer: no copy
        // of a 200 MB data.bin.
        let done: Void?? = try bytes.withContiguousStorageIfAvailable { buffer in
            try write(UnsafeRawBufferPointer(buffer), to: path, durable: durable, mode: mode)
        }
        if done == nil { try Array(bytes).withUnsafeBytes { try write($0, to: path, durable: durable, mode: mode) } }
    }

    public static func write(_ data: Data, to path: String, durable: Bool = false, mode: mode_t = 0o644) throws {
        try data.withUnsafeBytes { try write($0, to: path, durable: durable, mode: mode) }
    }

    public static func write(_ string: String, to path: String, durable: Bool = false, mode: mode_t = 0o644) throws {
        try write(Array(string.utf8), to: path, durable: durable, mode: mode)
    }

    public static func write(_ bytes: some Collection<UInt8>, to url: URL, durable: Bool = false) throws {
        try write(bytes, to: url.path, durable: durable)
    }

    public static func write(_ data: Data, to url: URL, durable: Bool = false) throws {
        try write(data, to: url.path, durable: durable)
    }

    /// Renames a finished temp file (from `temporaryPath(near:)`) over `path`.
    public static func commit(temporary: String, to path: String) throws {
        guard rename(temporary, path) == 0 else { throw FileFailure("rename into", path) }
    }

    public static func commit(_ temporary: URL, to url: URL) throws {
        try commit(temporary: temporary.path, to: url.path)
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < bytes.count, let base = bytes.baseAddress {
            let n = Glibc.write(fd, base + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileFailure("write", path)
            }
            offset += n
        }
    }
}
