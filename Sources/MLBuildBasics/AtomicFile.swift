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

    /// Writes what `body` hands to the `Stream` to `path` atomically, without the whole file in
    /// memory (a 200 MB data.bin is written from its columns). Nothing replaces `path` when
    /// `body` throws.
    public static func stream(to path: String, durable: Bool = false, mode: mode_t = 0o644, _ body: (inout Stream) throws -> Void) throws {
        let temp = temporaryPath(near: path)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileFailure("write", path) }
        var committed = false
        defer { if !committed { unlink(temp) } }
        var stream = Stream(fd: fd, path: path)
        do {
            try body(&stream)
            try stream.flush()
        } catch {
            stream.release()
            close(fd)
            throw error
        }
        stream.release()
        if durable { fsync(fd) }
        guard close(fd) == 0 else { throw FileFailure("write", path) }
        try commit(temporary: temp, to: path)
        committed = true
    }

    /// The writing end of `stream(to:_:)`: small pieces are gathered in a 1 MiB buffer, large
    /// ones go straight from the caller's memory to write(2).
    public struct Stream: ~Copyable {
        private let fd: Int32
        private let path: String
        private var buffer: UnsafeMutableRawBufferPointer
        private var used = 0
        public private(set) var bytesWritten = 0
        private static let capacity = 1 << 20

        fileprivate init(fd: Int32, path: String) {
            self.fd = fd
            self.path = path
            buffer = .allocate(byteCount: Self.capacity, alignment: 16)
        }

        fileprivate mutating func release() {
            buffer.deallocate()
            buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        }

        public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
            bytesWritten += bytes.count
            if used + bytes.count > buffer.count { try flush() }
            if bytes.count >= buffer.count {
                try AtomicFile.writeAll(fd, bytes, path: path)
                return
            }
            if let src = bytes.baseAddress, let dst = buffer.baseAddress { (dst + used).copyMemory(from: src, byteCount: bytes.count) }
            used += bytes.count
        }

        public mutating func write(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try write($0) }
        }

        fileprivate mutating func flush() throws {
            guard used > 0, let base = buffer.baseAddress else { return }
            try AtomicFile.writeAll(fd, UnsafeRawBufferPointer(start: base, count: used), path: path)
            used = 0
        }
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

    fileprivate static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
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
