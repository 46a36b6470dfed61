import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Atomic file writes: a temp file in the destination's directory, then rename(2) over the
/// destination, so a reader never sees a half-written artifact.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        try data.withUnsafeBytes { try write(bytes: $0, to: url) }
    }

    public static func write(_ bytes: [UInt8], to url: URL) throws {
        try bytes.withUnsafeBytes { try write(bytes: $0, to: url) }
    }

    /// write(2) straight from the caller's buffer (no Data copy of a 200 MB data.bin).
    static func write(bytes: UnsafeRawBufferPointer, to url: URL) throws {
        // A device or FIFO (`--output /dev/null`, `/dev/stdout`) is written in place: a rename
        // over it would put a regular file where the device was.
        var status = stat()
        if stat(url.path, &status) == 0, ![S_IFREG, S_IFDIR].contains(status.st_mode & S_IFMT) {
            let fd = open(url.path, O_WRONLY | O_CLOEXEC)
            if fd < 0 {
                throw DatasetError.io(path: url.path, message: "cannot open: \(String(cString: strerror(errno)))")
            }
            defer { close(fd) }
            try writeAll(fd, bytes, path: url.path)
            return
        }
        let dir = url.deletingLastPathComponent()
        // The writer's pid in the name lets the next build sweep the file if this process is killed
        // (see StaleTemporaryFiles).
        let temp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            let fd = open(temp.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            if fd < 0 {
                throw DatasetError.io(path: url.path, message: "cannot create \(temp.lastPathComponent): \(String(cString: strerror(errno)))")
            }
            do {
                try writeAll(fd, bytes, path: url.path)
            } catch {
                close(fd)
                throw error
            }
            if close(fd) != 0 {
                throw DatasetError.io(path: url.path, message: "close failed: \(String(cString: strerror(errno)))")
            }
            if rename(temp.path, url.path) != 0 {
                let code = errno
                throw DatasetError.io(path: url.path, message: "rename failed: \(String(cString: strerror(code)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < bytes.count, let base = bytes.baseAddress {
            let n = Glibc.write(fd, base + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw DatasetError.io(path: path, message: "write failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }
}
