import CArchive
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One entry header read from an archive.
public struct ArchiveEntryInfo: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case regular
        case directory
        case symlink
        case hardlink
        /// Devices, FIFOs, sockets: never valid in an OCI layout.
        case other(UInt32)
    }

    public var path: String
    public var kind: Kind
    public var mode: UInt32
    public var size: Int64
    /// Symlink target, or the archive path a hard link refers to.
    public var linkTarget: String?
}

/// Iterates the entries of an archive over one libarchive `archive_read` handle.
///
/// Usage: `while let entry = try reader.next() { try reader.readData { chunk in … } }`.
/// Data of an entry not read is skipped by the next `next()`.
public final class ArchiveReader {
    public enum Mode: Sendable {
        /// A tar archive, uncompressed or with any filter libarchive knows.
        case tar
        /// A single compressed (or plain) stream: one pseudo-entry whose data is the
        /// decompressed bytes. Used to compute a layer's diff_id.
        case rawStream
    }

    private var handle: OpaquePointer?
    private let source: String

    public init(file url: URL, mode: Mode = .tar) throws {
        guard let handle = archive_read_new() else { throw ArchiveError(ArchiveWriter.unavailable("a libarchive reader")) }
        self.handle = handle
        self.source = url.path
        try ArchiveError.wrap(archive_read_support_filter_all(handle), "enable decompression filters", archive: handle)
        switch mode {
        case .tar:
            try ArchiveError.wrap(archive_read_support_format_tar(handle), "enable tar format", archive: handle)
            try ArchiveError.wrap(
                archive_read_set_format_option(handle, "tar", "hdrcharset", "UTF-8"), "set tar header charset",
                archive: handle)
        case .rawStream:
            try ArchiveError.wrap(archive_read_support_format_raw(handle), "enable raw format", archive: handle)
        }
        try ArchiveError.wrap(
            archive_read_open_filename(handle, url.path, 1 << 20), "open archive '\(url.path)'", archive: handle)
    }

    deinit {
        if let handle { archive_read_free(handle) }
    }

    /// The next entry, or nil at the end of the archive.
    public func next() throws -> ArchiveEntryInfo? {
        guard let handle else { throw ArchiveError("archive reader for '\(source)' is closed") }
        var entry: OpaquePointer?
        let code = archive_read_next_header(handle, &entry)
        if code == ARCHIVE_EOF { return nil }
        try ArchiveError.wrap(code, "read next entry of '\(source)'", archive: handle)
        guard let entry else { throw ArchiveError("read next entry of '\(source)': no entry") }
        let path = archive_entry_pathname_utf8(entry).map { String(cString: $0) }
            ?? archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
        let type = archive_entry_filetype(entry)
        var kind: ArchiveEntryInfo.Kind
        var linkTarget: String?
        if let hardlink = archive_entry_hardlink_utf8(entry) ?? archive_entry_hardlink(entry) {
            kind = .hardlink
            linkTarget = String(cString: hardlink)
        } else {
            switch mode_t(type) {
            case S_IFREG: kind = .regular
            case S_IFDIR: kind = .directory
            case S_IFLNK:
                kind = .symlink
                linkTarget = (archive_entry_symlink_utf8(entry) ?? archive_entry_symlink(entry)).map { String(cString: $0) }
            default: kind = .other(UInt32(type))
            }
        }
        let size = archive_entry_size_is_set(entry) != 0 ? archive_entry_size(entry) : 0
        return ArchiveEntryInfo(
            path: path, kind: kind, mode: UInt32(archive_entry_perm(entry)), size: size, linkTarget: linkTarget)
    }

    /// Streams the current entry's data in chunks; returns the number of bytes read.
    @discardableResult
    public func readData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Int64 {
        guard let handle else { throw ArchiveError("archive reader for '\(source)' is closed") }
        let size = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        while true {
            let n = archive_read_data(handle, buffer.baseAddress, size)
            if n < 0 {
                try ArchiveError.wrap(CInt(truncatingIfNeeded: n), "read data from '\(source)'", archive: handle)
                throw ArchiveError("read data from '\(source)': libarchive returned \(n)")
            }
            if n == 0 { break }
            total += Int64(n)
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return total
    }

    /// Reads the current entry whole (only for small entries such as index.json).
    public func readAll(limit: Int64 = 64 << 20) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try readData { chunk in
            guard Int64(bytes.count + chunk.count) <= limit else {
                throw ArchiveError("entry of '\(source)' is larger than \(limit) bytes")
            }
            bytes.append(contentsOf: chunk)
        }
        return bytes
    }

    /// Releases the handle; errors reading the trailer are reported.
    public func finish() throws {
        guard let handle else { return }
        self.handle = nil
        let code = archive_read_close(handle)
        let message = archive_error_string(handle).map { String(cString: $0) }
        archive_read_free(handle)
        if code != ARCHIVE_OK {
            throw ArchiveError("close archive '\(source)': \(message ?? "libarchive code \(code)")")
        }
    }
}

@available(*, unavailable)
extension ArchiveReader: Sendable {}
