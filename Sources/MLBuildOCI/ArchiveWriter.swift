import CArchive
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A deterministic tar writer over one libarchive `archive_write` handle.
///
/// Every entry is written with the same normalized metadata: mtime `ArchiveWriter.epoch` (0, or the
/// caller's SOURCE_DATE_EPOCH), uid/gid 0, no user/group names, no atime/ctime/xattrs/ACLs. The
/// format is POSIX ustar, with PAX extended headers only where ustar cannot hold a field (names
/// over 100/155 bytes, sizes over 8 GiB, non-ASCII names) — libarchive's "pax restricted" format.
/// Callers must add entries in a fixed order (sorted, parents first).
///
/// Cleanup: `finish()` writes the end-of-archive blocks and reports errors; `deinit` only frees.
public final class ArchiveWriter {
    public enum Format: Sendable {
        case ustar
        case paxRestricted
    }

    private var handle: OpaquePointer?
    private let sink: ArchiveSink
    /// An error thrown by the sink inside a libarchive callback, rethrown by `wrap`.
    fileprivate var sinkError: Error?
    private var finished = false
    /// Written into every entry's mtime.
    public let mtime: Int64

    /// Why `what` could not be made: libarchive is loaded on first use (CArchive), so usually
    /// because it could not be; otherwise libarchive's allocation failed.
    static func unavailable(_ what: String) -> String {
        mlbuild_archive_load_error().map { String(cString: $0) } ?? "cannot allocate \(what)"
    }

    public init(format: Format = .paxRestricted, mtime: Int64 = 0, sink: ArchiveSink) throws {
        guard let handle = archive_write_new() else { throw ArchiveError(Self.unavailable("a libarchive writer")) }
        self.handle = handle
        self.sink = sink
        self.mtime = mtime
        switch format {
        case .ustar:
            try ArchiveError.wrap(archive_write_set_format_ustar(handle), "set tar format ustar", archive: handle)
        case .paxRestricted:
            try ArchiveError.wrap(
                archive_write_set_format_pax_restricted(handle), "set tar format pax", archive: handle)
        }
        // Names are UTF-8 whatever the process locale is.
        try ArchiveError.wrap(
            archive_write_set_format_option(handle, nil, "hdrcharset", "UTF-8"), "set tar header charset",
            archive: handle)
        // Standard 10240-byte blocking; the padding is part of the deterministic output.
        try ArchiveError.wrap(archive_write_set_bytes_per_block(handle, 10240), "set block size", archive: handle)
        let context = Unmanaged.passUnretained(self).toOpaque()
        let code = archive_write_open2(
            handle, context, nil,
            { _, context, data, count in
                guard let context else { return -1 }
                let writer = Unmanaged<ArchiveWriter>.fromOpaque(context).takeUnretainedValue()
                do {
                    try writer.sink.write(UnsafeRawBufferPointer(start: data, count: count))
                    return count
                } catch {
                    writer.sinkError = error
                    return -1
                }
            },
            { _, context in
                guard let context else { return ARCHIVE_FATAL }
                let writer = Unmanaged<ArchiveWriter>.fromOpaque(context).takeUnretainedValue()
                do {
                    try writer.sink.close()
                    return ARCHIVE_OK
                } catch {
                    writer.sinkError = error
                    return ARCHIVE_FATAL
                }
            },
            nil)
        try ArchiveError.wrap(code, "open tar writer", archive: handle)
    }

    /// Convenience: a writer into a new file at `url` (not atomic: callers write to a temp path).
    public convenience init(format: Format = .paxRestricted, mtime: Int64 = 0, file url: URL) throws {
        try self.init(format: format, mtime: mtime, sink: FileSink(url: url))
    }

    deinit {
        if let handle {
            // Not finished: drop the handle without flushing a trailer into the sink.
            finished = true
            archive_write_free(handle)
        }
    }

    // MARK: Entries

    public func writeDirectory(path: String, mode: UInt32 = 0o755) throws {
        try writeHeader(path: path, type: S_IFDIR, mode: mode, size: 0, linkTarget: nil)
        try finishEntry(path)
    }

    public func writeSymlink(path: String, target: String) throws {
        try writeHeader(path: path, type: S_IFLNK, mode: 0o777, size: 0, linkTarget: target)
        try finishEntry(path)
    }

    public func writeFile(path: String, mode: UInt32 = 0o644, bytes: [UInt8]) throws {
        try writeHeader(path: path, type: S_IFREG, mode: mode, size: Int64(bytes.count), linkTarget: nil)
        try bytes.withUnsafeBytes { try writeData($0, path: path) }
        try finishEntry(path)
    }

    /// Streams a regular file's content into the entry. `size` is the size announced in the header
    /// (from an earlier stat); a file that changed size meanwhile is an error, not a corrupt tar.
    /// `opened` hears the open file's stamp before its first byte is read, `observe` sees every
    /// chunk (used to hash while copying); returns the file's stamp after the last chunk.
    @discardableResult
    func writeFile(
        path: String, mode: UInt32 = 0o644, size: Int64, contentsOf url: URL,
        opened: (SourceStamp) throws -> Void = { _ in }, observe: ((UnsafeRawBufferPointer) -> Void)? = nil
    ) throws -> SourceStamp {
        try writeHeader(path: path, type: S_IFREG, mode: mode, size: size, linkTarget: nil)
        var written: Int64 = 0
        let read = try FileReader.forEachChunk(of: url, opened: opened) { chunk in
            written += Int64(chunk.count)
            guard written <= size else {
                throw ArchiveError("file '\(url.path)' grew while being archived as '\(path)'")
            }
            observe?(chunk)
            try writeData(chunk, path: path)
        }
        guard written == size else {
            throw ArchiveError(
                "file '\(url.path)' changed size while being archived as '\(path)' (expected \(size) bytes, read \(written))")
        }
        try finishEntry(path)
        return read.atEnd
    }

    /// Writes the end-of-archive blocks, closes the sink and releases the handle.
    public func finish() throws {
        guard let handle, !finished else { return }
        finished = true
        let closeCode = archive_write_close(handle)
        let pending = sinkError
        let message = archive_error_string(handle).map { String(cString: $0) }
        archive_write_free(handle)
        self.handle = nil
        if closeCode != ARCHIVE_OK {
            if let pending { throw pending }
            throw ArchiveError("close tar writer: \(message ?? "libarchive code \(closeCode)")")
        }
    }

    // MARK: Internals

    private func liveHandle() throws -> OpaquePointer {
        guard let handle, !finished else { throw ArchiveError("tar writer already finished") }
        return handle
    }

    private func writeHeader(path: String, type: mode_t, mode: UInt32, size: Int64, linkTarget: String?) throws {
        let handle = try liveHandle()
        guard !path.isEmpty, !path.utf8.contains(0) else {
            throw ArchiveError("invalid archive entry name '\(path)'")
        }
        guard let entry = archive_entry_new() else { throw ArchiveError(Self.unavailable("a libarchive entry")) }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname_utf8(entry, path)
        archive_entry_set_filetype(entry, UInt32(type))
        archive_entry_set_perm(entry, mode_t(mode & 0o7777))
        archive_entry_set_size(entry, size)
        archive_entry_set_mtime(entry, time_t(mtime), 0)
        archive_entry_set_uid(entry, 0)
        archive_entry_set_gid(entry, 0)
        if let linkTarget { archive_entry_set_symlink_utf8(entry, linkTarget) }
        try ArchiveError.wrap(
            archive_write_header(handle, entry), "write tar header for '\(path)'", archive: handle, pending: sinkError)
    }

    private func writeData(_ chunk: UnsafeRawBufferPointer, path: String) throws {
        let handle = try liveHandle()
        var offset = 0
        while offset < chunk.count {
            let n = archive_write_data(handle, chunk.baseAddress.map { $0 + offset }, chunk.count - offset)
            if n < 0 {
                try ArchiveError.wrap(CInt(truncatingIfNeeded: n), "write data of '\(path)'", archive: handle, pending: sinkError)
                throw ArchiveError("write data of '\(path)': libarchive returned \(n)")
            }
            if n == 0 { throw ArchiveError("write data of '\(path)': libarchive accepted no bytes") }
            offset += n
        }
    }

    private func finishEntry(_ path: String) throws {
        let handle = try liveHandle()
        try ArchiveError.wrap(
            archive_write_finish_entry(handle), "finish tar entry '\(path)'", archive: handle, pending: sinkError)
    }
}

// Owns a C handle used from one thread at a time.
@available(*, unavailable)
extension ArchiveWriter: Sendable {}
