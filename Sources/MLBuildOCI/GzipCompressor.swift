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
/// Blocks are compressed a batch (64 blocks, 8 MiB) at a time by helpers, the threads of
/// `WorkBudget.current` that are free when the layer starts (kept until it ends, so that they
/// need not be asked for again each batch), while the caller fills the next batch. Two batches
/// may be in flight: a full batch is posted at once and only then does the caller wait for the
/// older one (working on the newer one meanwhile), so no thread idles at a batch boundary while
/// another finishes the last block. `-j 1`: the caller alone, one batch after the other.
/// Memory stays bounded at two batches of input and output. libarchive's gzip filter is not used because the
/// layer writer needs the uncompressed stream too (the diff_id) in the same single pass.
final class GzipCompressor: LayerCompressor {
    /// pigz's default block size.
    static let blockSize = 128 << 10
    /// deflate's window: the history each block is primed with.
    static let dictionarySize = 32 << 10
    /// Blocks per batch: 8 MiB, enough to keep a few cores busy.
    static let batchBlocks = 64
    /// Worst case of one block: deflate's stored-block overhead is 5 bytes per 16 KiB, plus the
    /// sync-flush marker; this is comfortably above `deflateBound`.
    fileprivate static let outputCapacity = blockSize + blockSize / 8 + 1024
    private static let batchCapacity = batchBlocks * blockSize
    /// More would wait on the caller's tar, not compress.
    private static let maxHelpers = 15

    private let level: Int32
    private let inspect: (UnsafeRawBufferPointer) -> Void
    private let budget: WorkBudget
    /// The caller fills `slots[current]` while the other slot's batch may be in flight.
    private let slots = [BatchSlot(), BatchSlot()]
    private var current = 0
    /// Valid history bytes before the batch being filled (0 only for the first batch).
    private var history = 0
    private var filled = 0
    /// Posted batches, oldest first (at most two: one per slot).
    private var pending: [(slot: BatchSlot, batch: BlockBatch)] = []
    private let crew = BlockCrew()
    /// Threads of the budget working in `crew` (they stay until `finish` or `deinit`).
    private var helpers = 0
    private var crc: UInt = 0
    private var totalIn: UInt64 = 0
    private var wroteHeader = false
    private var finished = false

    init(level: Int32, inspect: @escaping (UnsafeRawBufferPointer) -> Void = { _ in }) throws {
        guard (0...9).contains(level) else { throw ArchiveError("gzip level \(level) is not in 0...9") }
        self.level = level
        self.inspect = inspect
        budget = WorkBudget.current
        crc = crc32(0, nil, 0)
    }

    deinit {
        // Helpers may still be deflating into the slots (after an error upstream).
        for (_, batch) in pending { batch.finish() }
        crew.close()
    }

    func compress(_ bytes: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !finished else { throw ArchiveError("gzip stream already finished") }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var offset = 0
        while offset < bytes.count {
            // A full batch is posted only once more input arrives: the last block of the
            // stream must be the one that ends with Z_FINISH.
            if filled == Self.batchCapacity { try post(final: false, emit: emit) }
            let n = min(bytes.count - offset, Self.batchCapacity - filled)
            (slots[current].input + Self.dictionarySize + filled).update(
                from: base.assumingMemoryBound(to: UInt8.self) + offset, count: n)
            filled += n
            offset += n
        }
    }

    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !finished else { throw ArchiveError("gzip stream already finished") }
        try post(final: true, emit: emit)
        while !pending.isEmpty { try drainOldest(emit: emit) }
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

    /// Sets the filled slot's batch going, drains the older batch if there is one (freeing the
    /// other slot) and switches to the other slot, primed with this batch's last 32 KiB.
    private func post(final: Bool, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        let slot = slots[current]
        // The empty stream still needs one (final, empty) block.
        let blocks = max(final ? 1 : 0, (filled + Self.blockSize - 1) / Self.blockSize)
        let input = slot.input + Self.dictionarySize
        let filled = self.filled, history = self.history, level = self.level
        let outputs = slot.outputs, lengths = slot.lengths, crcs = slot.crcs, codes = slot.codes
        // Each block writes only its own slots.
        let batch = BlockBatch(iterations: blocks, bytes: filled) { i in
            let offset = i * Self.blockSize
            let count = min(Self.blockSize, filled - offset)
            let dictionary = i == 0 ? history : Self.dictionarySize
            crcs[i] = crc32(0, input + offset, UInt32(count))
            codes[i] = Self.deflateBlock(
                input + offset, count: count, dictionary: input + offset - dictionary, dictionaryCount: dictionary,
                level: level, last: final && i == blocks - 1,
                output: outputs + i * Self.outputCapacity, produced: &lengths[i])
        }
        pending.append((slot, batch))
        if helpers < Self.maxHelpers {
            // Threads busy elsewhere when the layer started may be free now.
            let crew = self.crew
            helpers += budget.startHelpers(atMost: Self.maxHelpers - helpers) { _ in crew.help() }
        }
        crew.post(batch)
        if pending.count > 1 { try drainOldest(emit: emit) }
        // The next batch is primed with this one's last 32 KiB (a batch is far longer; only
        // the final one can be shorter, and nothing follows it).
        let next = 1 - current
        if filled >= Self.dictionarySize {
            slots[next].input.update(from: input + filled - Self.dictionarySize, count: Self.dictionarySize)
            self.history = Self.dictionarySize
        }
        current = next
        self.filled = 0
    }

    /// Waits for the oldest batch (working on it, then on the newer one meanwhile), feeds its
    /// bytes to `inspect` (here, so that the diff_id sees the batches in order) and emits its
    /// blocks in order.
    private func drainOldest(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        let (slot, batch) = pending.removeFirst()
        batch.finish(helpingWith: pending.first?.batch)
        inspect(UnsafeRawBufferPointer(start: slot.input + Self.dictionarySize, count: batch.bytes))
        if !wroteHeader {
            try header.withUnsafeBytes { try emit($0) }
            wroteHeader = true
        }
        for i in 0..<batch.iterations {
            guard slot.codes[i] == Z_OK else { throw ArchiveError("zlib deflate failed with code \(slot.codes[i]) (block \(i))") }
            let count = min(Self.blockSize, batch.bytes - i * Self.blockSize)
            crc = crc32_combine(crc, slot.crcs[i], Int(count))
            try emit(UnsafeRawBufferPointer(start: slot.outputs + i * Self.outputCapacity, count: slot.lengths[i]))
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

/// The memory of one batch: `dictionarySize` bytes of history then the batch's input, and per
/// block an output area, its length, CRC-32 and zlib code.
private final class BatchSlot {
    let input = UnsafeMutablePointer<UInt8>.allocate(capacity: GzipCompressor.dictionarySize + GzipCompressor.batchBlocks * GzipCompressor.blockSize)
    let outputs = UnsafeMutablePointer<UInt8>.allocate(capacity: GzipCompressor.batchBlocks * GzipCompressor.outputCapacity)
    let lengths = UnsafeMutableBufferPointer<Int>.allocate(capacity: GzipCompressor.batchBlocks)
    let crcs = UnsafeMutableBufferPointer<UInt>.allocate(capacity: GzipCompressor.batchBlocks)
    let codes = UnsafeMutableBufferPointer<Int32>.allocate(capacity: GzipCompressor.batchBlocks)

    deinit {
        input.deallocate()
        outputs.deallocate()
        lengths.deallocate()
        crcs.deallocate()
        codes.deallocate()
    }
}

/// The helpers of one compressor: each works on the oldest posted batch that has blocks left,
/// else waits for the next one, until `close()`.
private final class BlockCrew: @unchecked Sendable {
    /// Guards `batches` and `closed`.
    private let condition = NSCondition()
    private var batches: [BlockBatch] = []
    private var closed = false

    func post(_ batch: BlockBatch) {
        condition.lock()
        batches.removeAll { !$0.hasWork }
        batches.append(batch)
        condition.broadcast()
        condition.unlock()
    }

    func close() {
        condition.lock()
        closed = true
        batches = []
        condition.broadcast()
        condition.unlock()
    }

    /// A helper's whole job.
    func help() {
        condition.lock()
        while !closed {
            if let batch = batches.first(where: \.hasWork) {
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

/// One batch of blocks being compressed. Its blocks are claimed from a counter by the helpers
/// and by the caller when it waits for the batch — unlike `WorkBudget.parallelFor`, the caller
/// is free to fill the next batch meanwhile. Claiming a block after the last does nothing.
private final class BlockBatch: @unchecked Sendable {
    let iterations: Int
    let bytes: Int
    /// Touches only the memory of its block; kept alive until every block is done.
    private let body: (Int) -> Void
    private let next = Atomic<Int>(0)
    /// Guards `done`.
    private let condition = NSCondition()
    private var done = 0

    init(iterations: Int, bytes: Int, body: @escaping (Int) -> Void) {
        self.iterations = iterations
        self.bytes = bytes
        self.body = body
    }

    var hasWork: Bool { next.load(ordering: .relaxed) < iterations }

    /// Runs one block; false when none was left to claim.
    @discardableResult
    func runOne() -> Bool {
        let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
        guard i < iterations else { return false }
        body(i)
        condition.lock()
        done += 1
        if done == iterations { condition.broadcast() }
        condition.unlock()
        return true
    }

    func work() {
        while runOne() {}
    }

    private var isDone: Bool {
        condition.lock()
        defer { condition.unlock() }
        return done == iterations
    }

    /// Returns when every block is done: runs the blocks left, then blocks of `newer` while
    /// helpers finish theirs, then waits.
    func finish(helpingWith newer: BlockBatch? = nil) {
        work()
        while !isDone, let newer, newer.runOne() {}
        condition.lock()
        while done < iterations { condition.wait() }
        condition.unlock()
    }
}
