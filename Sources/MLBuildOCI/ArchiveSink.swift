import CSpawn
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where an `ArchiveWriter` sends its bytes. Implementations are used from one thread.
public protocol ArchiveSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Called once after the last byte; flushes whatever the sink buffers.
    func close() throws
}

/// Appends to an open file descriptor it owns, gathering small writes (libarchive hands over
/// 10 KiB blocks) into 1 MiB ones: a 600 MB layer is 600 write calls, not 60,000.
public final class FileSink: ArchiveSink {
    private var fd: Int32
    private let path: String
    /// Bytes accepted, written or still buffered.
    public private(set) var bytesWritten: Int64 = 0
    private let buffer: UnsafeMutableRawBufferPointer
    private var used = 0
    private static let capacity = 1 << 20

    /// Creates (or truncates) `url` for writing (read too: `copyRange` reads back what was written).
    public init(url: URL) throws {
        let opened = open(url.path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard opened >= 0 else { throw ArchiveError.posix("cannot create", path: url.path) }
        fd = opened
        path = url.path
        buffer = .allocate(byteCount: Self.capacity, alignment: 64)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if used + bytes.count > buffer.count { try flush() }
        if bytes.count >= buffer.count {
            try writeAll(UnsafeRawBufferPointer(start: base, count: bytes.count))
        } else if let destination = buffer.baseAddress {
            (destination + used).copyMemory(from: base, byteCount: bytes.count)
            used += bytes.count
        }
        bytesWritten += Int64(bytes.count)
    }

    private func flush() throws {
        guard used > 0, let base = buffer.baseAddress else { return }
        try writeAll(UnsafeRawBufferPointer(start: base, count: used))
        used = 0
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        try Self.writeAll(bytes, to: fd, path: path)
    }

    /// Writes every byte to `fd` (retrying short writes and EINTR); `path` names it in errors.
    private static func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32, path: String) throws {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let n = Glibc.write(fd, base, remaining)
            if n < 0 {
                if errno == EINTR { continue }
                throw ArchiveError.posix("cannot write", path: path)
            }
            remaining -= n
            base += n
        }
    }

    /// Overwrites bytes already accepted at `offset` (a header whose fields were not known when
    /// its place was taken).
    func patch(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        guard let base = bytes.baseAddress, offset >= 0, offset + Int64(bytes.count) <= bytesWritten else {
            throw ArchiveError("patch of \(bytes.count) bytes at \(offset) is outside '\(path)' (\(bytesWritten) bytes)")
        }
        try flush()
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, base + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw ArchiveError.posix("cannot write", path: path)
            }
            done += n
        }
    }

    /// Drops everything accepted from `offset` on; the next write goes there.
    func truncate(to offset: Int64) throws {
        guard offset >= 0, offset <= bytesWritten else {
            throw ArchiveError("cannot truncate '\(path)' to \(offset) bytes (\(bytesWritten) written)")
        }
        try flush()
        guard ftruncate(fd, off_t(offset)) == 0, lseek(fd, off_t(offset), SEEK_SET) == offset else {
            throw ArchiveError.posix("cannot truncate", path: path)
        }
        bytesWritten = offset
    }

    /// Copies `count` bytes written at `offset` into a new file at `url`, in the kernel
    /// (`copy_file_range`) where the filesystem can: a layer blob written inside the image
    /// archive, for the layer cache.
    func copyRange(offset: Int64, count: Int64, to url: URL) throws {
        guard offset >= 0, count >= 0, offset + count <= bytesWritten else {
            throw ArchiveError("range \(offset)+\(count) is outside '\(path)' (\(bytesWritten) bytes)")
        }
        try flush()
        // A descriptor of its own, whose offset the copy may move.
        let input = open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw ArchiveError.posix("cannot open", path: path) }
        defer { _ = Glibc.close(input) }
        guard lseek(input, off_t(offset), SEEK_SET) == offset else { throw ArchiveError.posix("cannot seek", path: path) }
        let output = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw ArchiveError.posix("cannot create", path: url.path) }
        defer { _ = Glibc.close(output) }
        var left = Int(count)
        var inKernel = true
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.capacity, alignment: 64)
        defer { buffer.deallocate() }
        while left > 0 {
            var n: Int
            if inKernel {
                n = cspawn_copy_file_range(input, output, UInt(left))
                if n < 0 && [EXDEV, ENOSYS, EOPNOTSUPP, EINVAL].contains(errno) {
                    inKernel = false  // not between these filesystems: through memory
                    continue
                }
            } else {
                n = Glibc.read(input, buffer.baseAddress, min(left, buffer.count))
                if n > 0 { try Self.writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), to: output, path: url.path) }
            }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                throw n == 0 ? ArchiveError("'\(path)' ended inside the range copied to '\(url.path)'")
                    : ArchiveError.posix("cannot copy into", path: url.path)
            }
            left -= n
        }
    }

    public func close() throws {
        guard fd >= 0 else { return }
        let flushed = Result { try flush() }
        let result = Glibc.close(fd)
        fd = -1
        try flushed.get()
        if result != 0 { throw ArchiveError.posix("cannot close", path: path) }
    }

    deinit {
        if fd >= 0 { _ = Glibc.close(fd) }
        buffer.deallocate()
    }
}

/// Collects everything in memory (small archives and tests).
public final class MemorySink: ArchiveSink {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public func write(_ chunk: UnsafeRawBufferPointer) throws {
        bytes.append(contentsOf: chunk)
    }

    public func close() throws {}
}

@available(*, unavailable)
extension FileSink: Sendable {}

@available(*, unavailable)
extension MemorySink: Sendable {}
