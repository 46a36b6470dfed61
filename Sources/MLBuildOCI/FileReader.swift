import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Streams a regular file in fixed-size chunks; never loads it whole.
struct FileReader {
    static let chunkSize = 1 << 20

    /// Calls `body` with consecutive chunks of the file; returns the byte count read.
    @discardableResult
    static func forEachChunk(
        of url: URL, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Int64 {
        try forEachChunk(of: url, opened: { _ in }, body).size
    }

    /// The same, telling `opened` the open file's stamp before the first chunk, and returning
    /// its stamp after the last: equal stamps mean no write landed while it was read.
    static func forEachChunk(
        of url: URL, opened: (SourceStamp) throws -> Void, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> (size: Int64, atEnd: SourceStamp) {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveError.posix("cannot open", path: url.path) }
        defer { _ = close(fd) }
        try opened(try SourceStamp.of(fd, path: url.path))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        while true {
            let n = read(fd, buffer.baseAddress, chunkSize)
            if n < 0 {
                if errno == EINTR { continue }
                throw ArchiveError.posix("cannot read", path: url.path)
            }
            if n == 0 { break }
            total += Int64(n)
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return (total, try SourceStamp.of(fd, path: url.path))
    }
}
