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
    }

    /// SHA-256 and size of the file at `path`.
    public static func digest(ofFileAt path: String) throws -> (digest: ContentDigest, size: UInt64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
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
        return (ContentDigest(bytes: hasher.finalize()), total)
    }
}
