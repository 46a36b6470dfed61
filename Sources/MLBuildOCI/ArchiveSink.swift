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

/// Appends to an open file descriptor it owns.
public final class FileSink: ArchiveSink {
    private var fd: Int32
    private let path: String
    public private(set) var bytesWritten: Int64 = 0

    /// Creates (or truncates) `url` for writing.
    public init(url: URL) throws {
        let opened = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard opened >= 0 else { throw ArchiveError.posix("cannot create", path: url.path) }
        fd = opened
        path = url.path
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
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
            bytesWritten += Int64(n)
        }
    }

    public func close() throws {
        guard fd >= 0 else { return }
        let result = Glibc.close(fd)
        fd = -1
        if result != 0 { throw ArchiveError.posix("cannot close", path: path) }
    }

    deinit {
        if fd >= 0 { _ = Glibc.close(fd) }
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
