import CZlib
import Foundation

/// Streaming gzip (RFC 1952) compression with zlib, with a header that does not depend on the
/// machine: no file name, no comment, MTIME 0, OS byte 3 (Unix) set explicitly (zlib's default OS
/// byte differs between platforms). The deflate level is fixed by the caller and is part of the
/// layer cache key. libarchive's gzip filter is not used because the layer writer needs the
/// uncompressed stream too (for the diff_id) in the same single pass.
final class GzipCompressor {
    private let stream: UnsafeMutablePointer<z_stream>
    private let header: UnsafeMutablePointer<gz_header>
    private let output: UnsafeMutablePointer<UInt8>
    private static let outputSize = 256 << 10
    private var ended = false

    init(level: Int32) throws {
        guard (0...9).contains(level) else { throw ArchiveError("gzip level \(level) is not in 0...9") }
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        header = .allocate(capacity: 1)
        header.initialize(to: gz_header())
        header.pointee.os = 3
        output = .allocate(capacity: Self.outputSize)
        // windowBits 15 + 16 selects the gzip wrapper; memLevel 8 is zlib's default.
        var code = mlbuild_deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
        if code == Z_OK { code = deflateSetHeader(stream, header) }
        guard code == Z_OK else {
            ended = true
            deallocate()
            throw ArchiveError("zlib deflateInit2 failed with code \(code)")
        }
    }

    deinit {
        if !ended { deflateEnd(stream) }
        deallocate()
    }

    private func deallocate() {
        stream.deallocate()
        header.deallocate()
        output.deallocate()
    }

    /// Compresses `input`, passing every produced chunk to `emit`.
    func compress(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let base = input.baseAddress, input.count > 0 else { return }
        var offset = 0
        // avail_in is 32-bit: feed huge buffers in slices.
        while offset < input.count {
            let slice = min(input.count - offset, 1 << 30)
            stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self) + offset)
            stream.pointee.avail_in = UInt32(slice)
            try run(flush: Z_NO_FLUSH, emit: emit)
            offset += slice
        }
    }

    /// Flushes the remaining compressed bytes and the gzip trailer.
    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        try run(flush: Z_FINISH, emit: emit)
        deflateEnd(stream)
        ended = true
    }

    private func run(flush: Int32, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !ended else { throw ArchiveError("gzip stream already finished") }
        while true {
            stream.pointee.next_out = output
            stream.pointee.avail_out = UInt32(Self.outputSize)
            let code = deflate(stream, flush)
            guard code == Z_OK || code == Z_STREAM_END || code == Z_BUF_ERROR else {
                throw ArchiveError("zlib deflate failed with code \(code)")
            }
            let produced = Self.outputSize - Int(stream.pointee.avail_out)
            if produced > 0 { try emit(UnsafeRawBufferPointer(start: output, count: produced)) }
            if flush == Z_FINISH {
                if code == Z_STREAM_END { return }
            } else if stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 {
                return
            }
        }
    }
}
