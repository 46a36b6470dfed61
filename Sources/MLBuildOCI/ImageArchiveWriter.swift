import Foundation

/// The image archive itself (the oci-archive tar), written here rather than by libarchive so that
/// a layer can be compressed straight into it: a layer entry's name (its digest) and size are
/// known only when its stream ends, so its header's place is kept and the header written there
/// afterwards. The layer is written once, where a staged blob copied into the archive was
/// written twice and read once more.
///
/// Every header is the one libarchive's pax-restricted writer (`ArchiveWriter`) writes for these
/// entries, byte for byte (tested): POSIX ustar, mtime 0, uid/gid 0, no user or group names. The
/// entries of an image archive have ASCII names under 100 bytes; a size past ustar's 8 GiB is
/// written in the base-256 size field (read by GNU tar, libarchive and Go's archive/tar) where
/// libarchive would add a PAX header. The archive ends with two zero blocks, padded to a multiple
/// of 10240 bytes as libarchive pads it.
final class ImageArchiveWriter {
    static let blockSize = 512
    /// libarchive's default blocking, kept so that the bytes match its.
    static let recordSize: Int64 = 10240
    /// The largest size ustar's 11 octal digits hold.
    static let maxOctalSize: Int64 = 0o77777777777

    /// Where the archive's bytes go; a streamed entry's bytes are written to it directly.
    let sink: FileSink
    private var finished = false
    private static let zeros = [UInt8](repeating: 0, count: Int(recordSize))

    init(sink: FileSink) {
        self.sink = sink
    }

    /// A directory entry (`path` without its trailing slash, as `ArchiveWriter` takes it).
    func directory(_ path: String, mode: UInt32 = 0o755) throws {
        try write(Self.header(path: path + "/", directory: true, mode: mode, size: 0))
    }

    func file(_ path: String, mode: UInt32 = 0o644, bytes: [UInt8]) throws {
        try write(Self.header(path: path, directory: false, mode: mode, size: Int64(bytes.count)))
        try bytes.withUnsafeBytes { try sink.write($0) }
        try pad(Int64(bytes.count))
    }

    /// Copies a file of `size` bytes (from an earlier stat or a descriptor) into an entry;
    /// `observe` sees every chunk (to hash it). A file whose size changed is an error.
    func file(_ path: String, mode: UInt32 = 0o644, size: Int64, contentsOf url: URL,
              observe: ((UnsafeRawBufferPointer) -> Void)? = nil) throws {
        try write(Self.header(path: path, directory: false, mode: mode, size: size))
        var written: Int64 = 0
        try FileReader.forEachChunk(of: url) { chunk in
            written += Int64(chunk.count)
            guard written <= size else { throw ArchiveError("file '\(url.path)' grew while being archived as '\(path)'") }
            observe?(chunk)
            try sink.write(chunk)
        }
        guard written == size else {
            throw ArchiveError(
                "file '\(url.path)' changed size while being archived as '\(path)' (expected \(size) bytes, read \(written))")
        }
        try pad(size)
    }

    /// Keeps the place of a header whose name and size come later; the entry's bytes are then
    /// written to `sink`, and `endStreamedEntry` or `discardStreamedEntry` closes it.
    func beginStreamedEntry() throws -> StreamedEntry {
        let header = sink.bytesWritten
        try write(Array(Self.zeros[0..<Self.blockSize]))
        return StreamedEntry(headerOffset: header)
    }

    /// Writes the header of a streamed entry now that its name and size are known, and pads it.
    func endStreamedEntry(_ entry: StreamedEntry, path: String, mode: UInt32 = 0o644) throws {
        let size = sink.bytesWritten - entry.dataOffset
        let header = try Self.header(path: path, directory: false, mode: mode, size: size)
        try header.withUnsafeBytes { try sink.patch($0, at: entry.headerOffset) }
        try pad(size)
    }

    /// Drops a streamed entry and everything written after its header's place (a blob the
    /// archive already holds).
    func discardStreamedEntry(_ entry: StreamedEntry) throws {
        try sink.truncate(to: entry.headerOffset)
    }

    /// The end-of-archive blocks and libarchive's padding; closes the sink.
    func finish() throws {
        guard !finished else { return }
        // Two zero blocks, then zeros up to the record boundary (each part < one record).
        try write(Array(Self.zeros[0..<(2 * Self.blockSize)]))
        let tail = sink.bytesWritten % Self.recordSize
        if tail != 0 { try write(Array(Self.zeros[0..<Int(Self.recordSize - tail)])) }
        finished = true
        try sink.close()
    }

    private func write(_ bytes: [UInt8]) throws {
        guard !finished else { throw ArchiveError("image archive already finished") }
        try bytes.withUnsafeBytes { try sink.write($0) }
    }

    /// Zeros up to the next 512-byte block after `size` bytes of data.
    private func pad(_ size: Int64) throws {
        let tail = Int(size % Int64(Self.blockSize))
        if tail != 0 { try write(Array(Self.zeros[0..<(Self.blockSize - tail)])) }
    }

    /// libarchive's ustar header: numbers in octal, 6 digits then " \0" (mode, uid, gid,
    /// devmajor, devminor), 11 digits then " " (size, mtime), the checksum in 6 digits then
    /// "\0 ".
    static func header(path: String, directory: Bool, mode: UInt32, size: Int64) throws -> [UInt8] {
        let name = Array(path.utf8)
        guard !name.isEmpty, name.count <= 100, name.allSatisfy({ $0 > 0 && $0 < 0x80 }) else {
            throw ArchiveError("image archive entry name '\(path)' is not ASCII of 1 to 100 bytes")
        }
        guard size >= 0 else { throw ArchiveError("negative size for image archive entry '\(path)'") }
        var h = [UInt8](repeating: 0, count: blockSize)
        h.replaceSubrange(0..<name.count, with: name)
        func octal(_ value: Int64, at offset: Int, digits: Int, then tail: [UInt8]) {
            var v = value
            for i in stride(from: digits - 1, through: 0, by: -1) {
                h[offset + i] = UInt8(ascii: "0") + UInt8(v & 7)
                v >>= 3
            }
            h.replaceSubrange((offset + digits)..<(offset + digits + tail.count), with: tail)
        }
        let spaceNul: [UInt8] = [0x20, 0], space: [UInt8] = [0x20]
        octal(Int64(mode & 0o7777), at: 100, digits: 6, then: spaceNul)
        octal(0, at: 108, digits: 6, then: spaceNul)  // uid
        octal(0, at: 116, digits: 6, then: spaceNul)  // gid
        if size <= maxOctalSize {
            octal(size, at: 124, digits: 11, then: space)
        } else {
            // base-256: a 0x80 marker, then the size big-endian in the other 11 bytes.
            h[124] = 0x80
            for i in 0..<8 { h[135 - i] = UInt8(truncatingIfNeeded: size >> (8 * Int64(i))) }
        }
        octal(0, at: 136, digits: 11, then: space)  // mtime
        h.replaceSubrange(148..<156, with: [UInt8](repeating: 0x20, count: 8))
        h[156] = directory ? UInt8(ascii: "5") : UInt8(ascii: "0")
        h.replaceSubrange(257..<265, with: Array("ustar\u{0}00".utf8))
        octal(0, at: 329, digits: 6, then: spaceNul)  // devmajor
        octal(0, at: 337, digits: 6, then: spaceNul)  // devminor
        let checksum = h.reduce(Int64(0)) { $0 + Int64($1) }
        octal(checksum, at: 148, digits: 6, then: [0, 0x20])
        return h
    }
}

/// The place kept for a streamed entry's header; its data starts right after.
struct StreamedEntry {
    let headerOffset: Int64
    var dataOffset: Int64 { headerOffset + Int64(ImageArchiveWriter.blockSize) }
}
