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

    /// Creates (or truncates) `url` for writing.
    public init(url: URL) throws {
        let opened = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
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
