import CDeflate
import Foundation
import MLBuildBasics
import Synchronization

/// gzip (RFC 1952) in independent blocks, the way bgzip writes it, so that the cores of the
/// work budget share one layer and the bytes still depend only on the input and the level:
///
/// - the uncompressed stream is cut into fixed 128 KiB blocks (`blockSize`, never a function of
///   the thread count);
/// - each block is one whole gzip **member** of its own: a fixed 10-byte header (no name, no
///   comment, MTIME 0, XFL as zlib sets it for the level, OS byte 3), the block's raw DEFLATE
///   from libdeflate at the layer's level, then the block's CRC-32 and length. RFC 1952 makes a
///   gzip file a series of members, and every reader concatenates them (gzip, zlib's and Go's
///   readers as skopeo and umoci use them, libarchive, Python). The empty stream is one member
///   holding an empty block.
///
/// libdeflate is used instead of zlib because it compresses a whole buffer ~2.5× as fast at the
/// same level and to a slightly smaller size; it cannot continue a stream or be primed with the
/// previous 32 KiB, hence a member per block (each block loses the history of the one before:
/// under 1 % of size at 128 KiB).
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
    /// pigz's and bgzip's order of block size: big enough that a member's 18 bytes and the lost
    /// history cost little, small enough to split a layer between cores.
    static let blockSize = 128 << 10
    /// Blocks per batch: 8 MiB, enough to keep a few cores busy.
    static let batchBlocks = 64
    static let headerSize = 10
    static let trailerSize = 8
    /// One member's worst case: libdeflate's bound for any compressor, plus header and trailer.
    fileprivate static let outputCapacity = libdeflate_deflate_compress_bound(nil, blockSize) + headerSize + trailerSize
    private static let batchCapacity = batchBlocks * blockSize
    /// More would wait on the caller's tar, not compress.
    private static let maxHelpers = 15

    private let level: Int32
    private let inspect: (UnsafeRawBufferPointer) -> Void
    private let budget: WorkBudget
    private let compressors: DeflaterPool
    /// The caller fills `slots[current]` while the other slot's batch may be in flight.
    private let slots = [BatchSlot(), BatchSlot()]
    private var current = 0
    private var filled = 0
    /// Posted batches, oldest first (at most two: one per slot).
    private var pending: [(slot: BatchSlot, batch: BlockBatch)] = []
    private let crew = BlockCrew()
    /// Threads of the budget working in `crew` (they stay until `finish` or `deinit`).
    private var helpers = 0
    private var finished = false

    init(level: Int32, inspect: @escaping (UnsafeRawBufferPointer) -> Void = { _ in }) throws {
        guard (0...9).contains(level) else { throw ArchiveError("gzip level \(level) is not in 0...9") }
        self.level = level
        self.inspect = inspect
        budget = WorkBudget.current
        compressors = DeflaterPool(level: level)
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
            if filled == Self.batchCapacity { try post(emit: emit) }
            let n = min(bytes.count - offset, Self.batchCapacity - filled)
            (slots[current].input + filled).update(from: base.assumingMemoryBound(to: UInt8.self) + offset, count: n)
            filled += n
            offset += n
        }
    }

    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !finished else { throw ArchiveError("gzip stream already finished") }
        // The empty stream still needs one (empty) member; otherwise a last partial batch.
        if filled > 0 || pending.isEmpty { try post(emit: emit) }
        while !pending.isEmpty { try drainOldest(emit: emit) }
        finished = true
        crew.close()
    }

    /// The fixed member header; XFL as zlib writes it (2: level 9, 4: levels 0 and 1).
    private static func header(level: Int32) -> [UInt8] {
        let xfl: UInt8 = level == 9 ? 2 : (level < 2 ? 4 : 0)
        return [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]
    }

    /// Sets the filled slot's batch going, drains the older batch if there is one (freeing the
    /// other slot) and switches to the other slot.
    private func post(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        let slot = slots[current]
        let blocks = max(1, (filled + Self.blockSize - 1) / Self.blockSize)
        let input = slot.input, filled = self.filled, compressors = self.compressors
        let outputs = slot.outputs, lengths = slot.lengths
        let header = Self.header(level: level)
        // Each block writes only its own slots.
        let batch = BlockBatch(iterations: blocks, bytes: filled) { i in
            let offset = i * Self.blockSize
            let count = min(Self.blockSize, filled - offset)
            lengths[i] = Self.member(
                input + offset, count: count, header: header, compressors: compressors,
                output: outputs + i * Self.outputCapacity)
        }
        pending.append((slot, batch))
        if helpers < Self.maxHelpers {
            // Threads busy elsewhere when the layer started may be free now.
            let crew = self.crew
            helpers += budget.startHelpers(atMost: Self.maxHelpers - helpers) { _ in crew.help() }
        }
        crew.post(batch)
        if pending.count > 1 { try drainOldest(emit: emit) }
        current = 1 - current
        self.filled = 0
    }

    /// Waits for the oldest batch (working on it, then on the newer one meanwhile), feeds its
    /// bytes to `inspect` (here, so that the diff_id sees the batches in order) and emits its
    /// members in order.
    private func drainOldest(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        let (slot, batch) = pending.removeFirst()
        batch.finish(helpingWith: pending.first?.batch)
        inspect(UnsafeRawBufferPointer(start: slot.input, count: batch.bytes))
        for i in 0..<batch.iterations {
            guard slot.lengths[i] > 0 else { throw ArchiveError("libdeflate could not compress block \(i) at level \(level)") }
            try emit(UnsafeRawBufferPointer(start: slot.outputs + i * Self.outputCapacity, count: slot.lengths[i]))
        }
    }

    /// One whole member for `count` bytes at `block` into `output`: its length, or 0 when
    /// libdeflate failed (no compressor could be allocated, or the bound was wrong).
    private static func member(
        _ block: UnsafeMutablePointer<UInt8>, count: Int, header: [UInt8], compressors: DeflaterPool,
        output: UnsafeMutablePointer<UInt8>
    ) -> Int {
        guard let compressor = compressors.take() else { return 0 }
        defer { compressors.give(compressor) }
        for (i, byte) in header.enumerated() { output[i] = byte }
        let deflated = libdeflate_deflate_compress(
            compressor, block, count, output + headerSize, outputCapacity - headerSize - trailerSize)
        guard deflated > 0 else { return 0 }
        let crc = libdeflate_crc32(0, block, count)
        let trailer = output + headerSize + deflated
        for i in 0..<4 {
            trailer[i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i)))
            trailer[4 + i] = UInt8(truncatingIfNeeded: UInt32(count) >> (8 * UInt32(i)))  // ISIZE
        }
        return headerSize + deflated + trailerSize
    }
}

/// libdeflate compressors for one level, reused between blocks (allocating one costs more than
/// a small block): a thread takes one for a block and gives it back.
private final class DeflaterPool: @unchecked Sendable {
    private let level: Int32
    /// Guards `idle`.
    private let lock = NSLock()
    private var idle: [OpaquePointer] = []

    init(level: Int32) { self.level = level }

    deinit {
        for compressor in idle { libdeflate_free_compressor(compressor) }
    }

    func take() -> OpaquePointer? {
        lock.lock()
        let reused = idle.popLast()
        lock.unlock()
        return reused ?? libdeflate_alloc_compressor(level)
    }

    func give(_ compressor: OpaquePointer) {
        lock.lock()
        idle.append(compressor)
        lock.unlock()
    }
}

/// The memory of one batch: its input, and per block an output area and the member's length.
private final class BatchSlot {
    let input = UnsafeMutablePointer<UInt8>.allocate(capacity: GzipCompressor.batchBlocks * GzipCompressor.blockSize)
    let outputs = UnsafeMutablePointer<UInt8>.allocate(capacity: GzipCompressor.batchBlocks * GzipCompressor.outputCapacity)
    let lengths = UnsafeMutableBufferPointer<Int>.allocate(capacity: GzipCompressor.batchBlocks)

    deinit {
        input.deallocate()
        outputs.deallocate()
        lengths.deallocate()
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
