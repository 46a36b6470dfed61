import CZlib
import Foundation
import MLBuildBasics
import Synchronization

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
/// Blocks are compressed a batch (64 blocks) at a time by helpers, the threads of
/// `WorkBudget.current` that are free when the layer starts (kept until it ends, so that they
/// need not be asked for again each batch), while the caller fills the next batch; then the
/// caller helps finish the batch (`-j 1`: the caller alone, one batch after the other). Memory
/// stays bounded at two batches. libarchive's gzip filter is not used because the
/// layer writer needs the uncompressed stream too (the diff_id) in the same single pass.
final class GzipCompressor: LayerCompressor {
    /// pigz's default block size.
    static let blockSize = 128 << 10
    /// deflate's window: the history each block is primed with.
    static let dictionarySize = 32 << 10
    /// Blocks per batch: 8 MiB in flight, enough to keep a few cores busy.
    static let batchBlocks = 64
    /// Worst case of one block: deflate's stored-block overhead is 5 bytes per 16 KiB, plus the
    /// sync-flush marker; this is comfortably above `deflateBound`.
    private static let outputCapacity = blockSize + blockSize / 8 + 1024
    private static let batchCapacity = batchBlocks * blockSize

    private let level: Int32
    private let inspect: (UnsafeRawBufferPointer) -> Void
    private let budget: WorkBudget
    /// Two input buffers, each `dictionarySize` bytes of history then a batch: the caller fills
    /// `buffers[current]` while the other one's blocks are compressed.
    private let buffers: [UnsafeMutablePointer<UInt8>]
    private var current = 0
    /// Valid history bytes before the batch being filled (0 only for the first batch).
    private var history = 0
    private var filled = 0
    /// The in-flight batch's results, one slot per block.
    private let outputs: UnsafeMutablePointer<UInt8>
    private let outputLengths: UnsafeMutableBufferPointer<Int>
    private let crcs: UnsafeMutableBufferPointer<UInt>
    private let codes: UnsafeMutableBufferPointer<Int32>
    private var inFlight: BlockBatch?
    private let crew = BlockCrew()
    /// Threads of the budget working in `crew` (they stay until `finish` or `deinit`).
    private var helpers = 0
    /// More would wait on the caller's tar, not compress.
    private static let maxHelpers = 15
    private var crc: UInt = 0
    private var totalIn: UInt64 = 0
    private var wroteHeader = false
    private var finished = false

    init(level: Int32, inspect: @escaping (UnsafeRawBufferPointer) -> Void = { _ in }) throws {
        guard (0...9).contains(level) else { throw ArchiveError("gzip level \(level) is not in 0...9") }
        self.level = level
        self.inspect = inspect
        budget = WorkBudget.current
        buffers = (0..<2).map { _ in .allocate(capacity: Self.dictionarySize + Self.batchCapacity) }
        outputs = .allocate(capacity: Self.batchBlocks * Self.outputCapacity)
        outputLengths = .allocate(capacity: Self.batchBlocks)
        crcs = .allocate(capacity: Self.batchBlocks)
        codes = .allocate(capacity: Self.batchBlocks)
        crc = crc32(0, nil, 0)
    }

    deinit {
        // Helpers may still be deflating into the buffers (after an error upstream).
        inFlight?.wait()
        crew.close()
        buffers.forEach { $0.deallocate() }
        outputs.deallocate()
        outputLengths.deallocate()
        crcs.deallocate()
        codes.deallocate()
    }

    func compress(_ bytes: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !finished else { throw ArchiveError("gzip stream already finished") }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var offset = 0
        while offset < bytes.count {
            // A full batch starts only once more input arrives: the last block of the stream
            // must be the one that ends with Z_FINISH.
            if filled == Self.batchCapacity { try startBatch(final: false, emit: emit) }
            let n = min(bytes.count - offset, Self.batchCapacity - filled)
            (buffers[current] + Self.dictionarySize + filled).update(
                from: base.assumingMemoryBound(to: UInt8.self) + offset, count: n)
            filled += n
            offset += n
        }
    }

    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !finished else { throw ArchiveError("gzip stream already finished") }
        try startBatch(final: true, emit: emit)
        try drain(emit: emit)
        var trailer = [UInt8](repeating: 0, count: 8)
        for i in 0..<4 {
            trailer[i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt(i)))
            trailer[4 + i] = UInt8(truncatingIfNeeded: totalIn >> (8 * UInt64(i)))  // ISIZE: length mod 2^32
        }
        try trailer.withUnsafeBytes { try emit($0) }
        finished = true
        crew.close()
    }

    /// The fixed member header; XFL as zlib writes it (2: level 9, 4: levels 0 and 1).
    private var header: [UInt8] {
        let xfl: UInt8 = level == 9 ? 2 : (level < 2 ? 4 : 0)
        return [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]
    }

    /// Emits the batch in flight, then sets the filled one going and switches to the other buffer.
    private func startBatch(final: Bool, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        try drain(emit: emit)
        // The empty stream still needs one (final, empty) block.
        let blocks = max(final ? 1 : 0, (filled + Self.blockSize - 1) / Self.blockSize)
        let input = buffers[current] + Self.dictionarySize
        let filled = self.filled, history = self.history, level = self.level
        let outputs = self.outputs, lengths = outputLengths, crcs = self.crcs, codes = self.codes
        let inspect = self.inspect
        // Iteration 0 hashes the batch for the diff_id beside the deflating blocks; block i is
        // iteration i + 1. Each iteration writes only its own slots.
        let batch = BlockBatch(iterations: blocks + 1, blocks: blocks, bytes: filled) { iteration in
            if iteration == 0 {
                inspect(UnsafeRawBufferPointer(start: input, count: filled))
                return
            }
            let i = iteration - 1
            let offset = i * Self.blockSize
            let count = min(Self.blockSize, filled - offset)
            let dictionary = i == 0 ? history : Self.dictionarySize
            crcs[i] = crc32(0, input + offset, UInt32(count))
            codes[i] = Self.deflateBlock(
                input + offset, count: count, dictionary: input + offset - dictionary, dictionaryCount: dictionary,
                level: level, last: final && i == blocks - 1,
                output: outputs + i * Self.outputCapacity, produced: &lengths[i])
        }
        inFlight = batch
        if helpers < Self.maxHelpers {
            // Threads busy elsewhere when the layer started may be free now.
            let crew = self.crew
            helpers += budget.startHelpers(atMost: Self.maxHelpers - helpers) { _ in crew.help() }
        }
        crew.post(batch)
        // The next batch is primed with this one's last 32 KiB (a batch is far longer; only
        // the final one can be shorter, and nothing follows it).
        let next = 1 - current
        if filled >= Self.dictionarySize {
            buffers[next].update(from: input + filled - Self.dictionarySize, count: Self.dictionarySize)
            self.history = Self.dictionarySize
        }
        current = next
        self.filled = 0
    }

    /// Waits for the batch in flight (working on it meanwhile) and emits its blocks in order.
    private func drain(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let batch = inFlight else { return }
        batch.wait()
        inFlight = nil
        if !wroteHeader {
            try header.withUnsafeBytes { try emit($0) }
            wroteHeader = true
        }
        for i in 0..<batch.blocks {
            guard codes[i] == Z_OK else { throw ArchiveError("zlib deflate failed with code \(codes[i]) (block \(i))") }
            let count = min(Self.blockSize, batch.bytes - i * Self.blockSize)
            crc = crc32_combine(crc, crcs[i], Int(count))
            try emit(UnsafeRawBufferPointer(start: outputs + i * Self.outputCapacity, count: outputLengths[i]))
        }
        totalIn &+= UInt64(batch.bytes)
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

/// The helpers of one compressor: each works on the posted batch until its iterations are all
/// claimed, then waits for the next one, until `close()`.
private final class BlockCrew: @unchecked Sendable {
    /// Guards `batch` and `closed`.
    private let condition = NSCondition()
    private var batch: BlockBatch?
    private var closed = false

    func post(_ batch: BlockBatch) {
        condition.lock()
        self.batch = batch
        condition.broadcast()
        condition.unlock()
    }

    func close() {
        condition.lock()
        closed = true
        batch = nil
        condition.broadcast()
        condition.unlock()
    }

    /// A helper's whole job.
    func help() {
        condition.lock()
        while !closed {
            if let batch, batch.hasWork {
                condition.unlock()
                batch.work()
                condition.lock()
            } else {
                condition.wait()
            }
        }
        condition.unlock()
    }
}

/// One batch of blocks being compressed. Its iterations are claimed from a counter by the
/// helpers and by the caller when it waits for the batch — unlike `WorkBudget.parallelFor`, the
/// caller is free to fill the next batch meanwhile.
private final class BlockBatch: @unchecked Sendable {
    let iterations: Int
    let blocks: Int
    let bytes: Int
    /// Touches only the memory of its iteration; kept alive until every iteration is done.
    private let body: (Int) -> Void
    private let next = Atomic<Int>(0)
    /// Guards `done`.
    private let condition = NSCondition()
    private var done = 0

    init(iterations: Int, blocks: Int, bytes: Int, body: @escaping (Int) -> Void) {
        self.iterations = iterations
        self.blocks = blocks
        self.bytes = bytes
        self.body = body
    }

    var hasWork: Bool { next.load(ordering: .relaxed) < iterations }

    func work() {
        while true {
            let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= iterations { return }
            body(i)
            condition.lock()
            done += 1
            if done == iterations { condition.broadcast() }
            condition.unlock()
        }
    }

    /// Runs the iterations left, then waits for those the helpers hold.
    func wait() {
        work()
        condition.lock()
        while done < iterations { condition.wait() }
        condition.unlock()
    }
}
