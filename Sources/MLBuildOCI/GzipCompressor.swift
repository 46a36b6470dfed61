import CZlib
import Foundation
import MLBuildBasics

/// gzip (RFC 1952) the way pigz writes it, so that the cores of the work budget share one
/// layer and the bytes still depend only on the input and the level:
///
/// - the uncompressed stream is cut into fixed 128 KiB blocks (`blockSize`, never a function of
///   the thread count);
/// - each block is raw deflate of its own, primed with the 32 KiB before it
///   (`deflateSetDictionary`, as pigz does: the ratio stays close to one long stream), and ends
///   with `Z_SYNC_FLUSH` (an empty stored block, byte-aligned) so the blocks concatenate; the
///   last block ends with `Z_FINISH`;
/// - the blocks form ONE gzip member: a fixed 10-byte header (no name, no comment, MTIME 0,
///   XFL as zlib sets it for the level, OS byte 3 — zlib's default OS byte differs between
///   platforms), then the blocks in order, then CRC-32 (the per-block CRCs joined with
///   `crc32_combine` in block order) and ISIZE.
///
/// Blocks are compressed a batch at a time on `WorkBudget.current.parallelFor` (the caller and
/// whatever threads of the budget are free: `-j 1` compresses on the caller's thread alone), so
/// memory stays bounded at about two batches. libarchive's gzip filter is not used because the
/// layer writer needs the uncompressed stream too (the diff_id) in the same single pass.
final class GzipCompressor: LayerCompressor {
    /// pigz's default block size.
    static let blockSize = 128 << 10
    /// deflate's window: the history each block is primed with.
    static let dictionarySize = 32 << 10
    /// Blocks per `parallelFor`: 8 MiB in flight, enough to keep a few cores busy.
    static let batchBlocks = 64
    /// Worst case of one block: deflate's stored-block overhead is 5 bytes per 16 KiB, plus the
    /// sync-flush marker; this is comfortably above `deflateBound`.
    private static let outputCapacity = blockSize + blockSize / 8 + 1024

    private let level: Int32
    private let inspect: (UnsafeRawBufferPointer) -> Void
    /// `dictionarySize` bytes of history (the end of the previous batch), then the batch.
    private let input: UnsafeMutablePointer<UInt8>
    private var history = 0
    private var filled = 0
    private let outputs: UnsafeMutablePointer<UInt8>
    private let outputLengths: UnsafeMutableBufferPointer<Int>
    private let crcs: UnsafeMutableBufferPointer<UInt>
    private let codes: UnsafeMutableBufferPointer<Int32>
    private var crc: UInt = 0
    private var totalIn: UInt64 = 0
    private var wroteHeader = false
    private var finished = false

    init(level: Int32, inspect: @escaping (UnsafeRawBufferPointer) -> Void = { _ in }) throws {
        guard (0...9).contains(level) else { throw ArchiveError("gzip level \(level) is not in 0...9") }
        self.level = level
        self.inspect = inspect
        input = .allocate(capacity: Self.dictionarySize + Self.batchBlocks * Self.blockSize)
        outputs = .allocate(capacity: Self.batchBlocks * Self.outputCapacity)
        outputLengths = .allocate(capacity: Self.batchBlocks)
        crcs = .allocate(capacity: Self.batchBlocks)
        codes = .allocate(capacity: Self.batchBlocks)
        crc = crc32(0, nil, 0)
    }

    deinit {
        input.deallocate()
        outputs.deallocate()
        outputLengths.deallocate()
        crcs.deallocate()
        codes.deallocate()
    }

    private var batchCapacity: Int { Self.batchBlocks * Self.blockSize }

    func compress(_ bytes: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !finished else { throw ArchiveError("gzip stream already finished") }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var offset = 0
        while offset < bytes.count {
            // A full batch is compressed only once more input arrives: the last block of the
            // stream must be the one that ends with Z_FINISH.
            if filled == batchCapacity { try compressBatch(final: false, emit: emit) }
            let n = min(bytes.count - offset, batchCapacity - filled)
            (input + Self.dictionarySize + filled).update(
                from: base.assumingMemoryBound(to: UInt8.self) + offset, count: n)
            filled += n
            offset += n
        }
    }

    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !finished else { throw ArchiveError("gzip stream already finished") }
        try compressBatch(final: true, emit: emit)
        var trailer = [UInt8](repeating: 0, count: 8)
        for i in 0..<4 {
            trailer[i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt(i)))
            trailer[4 + i] = UInt8(truncatingIfNeeded: totalIn >> (8 * UInt64(i)))  // ISIZE: length mod 2^32
        }
        try trailer.withUnsafeBytes { try emit($0) }
        finished = true
    }

    /// The fixed member header; XFL as zlib writes it (2: level 9, 4: levels 0 and 1).
    private var header: [UInt8] {
        let xfl: UInt8 = level == 9 ? 2 : (level < 2 ? 4 : 0)
        return [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]
    }

    private func compressBatch(final: Bool, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        if !wroteHeader {
            try header.withUnsafeBytes { try emit($0) }
            wroteHeader = true
        }
        // The empty stream still needs one (final, empty) block.
        let blocks = max(final ? 1 : 0, (filled + Self.blockSize - 1) / Self.blockSize)
        let filled = self.filled, history = self.history, level = self.level
        let input = self.input, outputs = self.outputs
        let lengths = outputLengths, crcs = self.crcs, codes = self.codes
        let inspect = self.inspect
        // Iteration 0 hashes the batch for the diff_id beside the deflating blocks; block i is
        // iteration i + 1. Each iteration writes only its own slots.
        WorkBudget.current.parallelFor(blocks + 1) { iteration in
            let start = input + Self.dictionarySize
            if iteration == 0 {
                inspect(UnsafeRawBufferPointer(start: start, count: filled))
                return
            }
            let i = iteration - 1
            let offset = i * Self.blockSize
            let count = min(Self.blockSize, filled - offset)
            let dictionary = i == 0 ? history : Self.dictionarySize
            crcs[i] = crc32(0, start + offset, UInt32(count))
            codes[i] = Self.deflateBlock(
                start + offset, count: count, dictionary: start + offset - dictionary, dictionaryCount: dictionary,
                level: level, last: final && i == blocks - 1,
                output: outputs + i * Self.outputCapacity, produced: &lengths[i])
        }
        for i in 0..<blocks {
            guard codes[i] == Z_OK else { throw ArchiveError("zlib deflate failed with code \(codes[i]) (block \(i))") }
            let count = min(Self.blockSize, filled - i * Self.blockSize)
            crc = crc32_combine(crc, crcs[i], Int(count))
            try emit(UnsafeRawBufferPointer(start: outputs + i * Self.outputCapacity, count: lengths[i]))
        }
        totalIn &+= UInt64(filled)
        // Keep the batch's last 32 KiB as the next block's dictionary (a batch is far longer).
        if filled >= Self.dictionarySize {
            input.update(from: input + Self.dictionarySize + filled - Self.dictionarySize, count: Self.dictionarySize)
            self.history = Self.dictionarySize
        }
        self.filled = 0
    }

    /// Raw deflate of one block into `output`; Z_OK when it all fit (the capacity is a bound).
    private static func deflateBlock(
        _ block: UnsafeMutablePointer<UInt8>, count: Int, dictionary: UnsafeMutablePointer<UInt8>, dictionaryCount: Int,
        level: Int32, last: Bool, output: UnsafeMutablePointer<UInt8>, produced: inout Int
    ) -> Int32 {
        // zlib keeps a pointer back to the z_stream: it must not move, so it is allocated.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        // windowBits -15: raw deflate (the gzip wrapper is ours); memLevel 8 is zlib's default.
        var code = mlbuild_deflateInit2(stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY)
        guard code == Z_OK else { return code }
        defer { deflateEnd(stream) }
        if dictionaryCount > 0 {
            code = deflateSetDictionary(stream, dictionary, UInt32(dictionaryCount))
            guard code == Z_OK else { return code }
        }
        stream.pointee.next_in = block
        stream.pointee.avail_in = UInt32(count)
        stream.pointee.next_out = output
        stream.pointee.avail_out = UInt32(outputCapacity)
        code = deflate(stream, last ? Z_FINISH : Z_SYNC_FLUSH)
        produced = outputCapacity - Int(stream.pointee.avail_out)
        if last { return code == Z_STREAM_END ? Z_OK : (code == Z_OK ? Z_BUF_ERROR : code) }
        // A sync flush that filled the buffer may not be complete.
        return code == Z_OK && stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 ? Z_OK : (code == Z_OK ? Z_BUF_ERROR : code)
    }
}
