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
        let dir = url.deletingLastPathComponent()
        // The writer's pid in the name lets the next build sweep the file if this process is killed
        // (see StaleTemporaryFiles).
        let temp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            let fd = open(temp.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            if fd < 0 {
                throw DatasetError.io(path: url.path, message: "cannot create \(temp.lastPathComponent): \(String(cString: strerror(errno)))")
            }
            var done = 0
            while done < bytes.count, let base = bytes.baseAddress {
                let n = Glibc.write(fd, base + done, bytes.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    let code = errno
                    close(fd)
                    throw DatasetError.io(path: url.path, message: "write failed: \(String(cString: strerror(code)))")
                }
                done += n
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
}
