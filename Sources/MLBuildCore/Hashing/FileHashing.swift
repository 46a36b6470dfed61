import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Streaming SHA-256 of files: large reads straight into a reused buffer, so hashing runs at
/// the speed of the hardware-accelerated SHA-256 in swift-crypto (BoringSSL), not of Foundation.
public enum FileHashing {
    /// 1 MiB: large enough that syscall overhead vanishes, small enough to stay in L2.
    static let chunkSize = 1 << 20

    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "cannot read '\(path)': \(reason)" }

        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
    }

    /// SHA-256 and size of the regular file at `path`. Anything else (a FIFO, a device, a
    /// directory) is refused before a byte is read: `/dev/zero` never ends, a FIFO blocks.
    public static func digest(ofFileAt path: String) throws -> (digest: ContentDigest, size: UInt64) {
        // O_NONBLOCK: opening a FIFO without a writer would block; it is cleared once the
        // descriptor is known to be a regular file.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
        guard st.st_mode & S_IFMT == S_IFREG else {
            let kind = FileStat(size: 0, mtimeNanoseconds: 0, ctimeNanoseconds: 0, inode: 0, device: 0, mode: UInt32(st.st_mode)).kindDescription
            throw Failure(path: path, reason: "it is \(kind), not a regular file")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        #if os(Linux)
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        #endif
        var hasher = SHA256()
        var total: UInt64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, chunkSize)
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            total += UInt64(n)
        }
        return (ContentDigest(hasher.finalize()), total)
    }
}
