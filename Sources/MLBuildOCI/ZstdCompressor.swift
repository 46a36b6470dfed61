import CZstd
import Foundation
import MLBuildBasics

/// zstd (RFC 8878) with libzstd's streaming API, always in its multithreaded mode
/// (`ZSTD_c_nbWorkers` ≥ 1) with a fixed job size: there the input is cut into jobs by size and
/// each job overlaps the previous one by a fixed amount, so the frame depends on the input and
/// the level, never on the number of workers (the tests compare 1, 2, 4 and 8 workers byte for
/// byte). Single-threaded mode (nbWorkers 0) writes other bytes, which is why it is never used,
/// even for `-j 1`. One frame, with a content checksum (as the zstd command line writes it).
///
/// libzstd's workers are its own threads, so they are paid for with threads of the work budget:
/// the compressor takes the free threads of `WorkBudget.current` (the caller's own plus up to
/// `maxWorkers - 1` more, held idle while zstd runs on their cores) and starts that many
/// workers. With no thread to spare (`-j 1`) it runs in lockstep: input is handed over one job
/// at a time and each job is flushed (`ZSTD_e_flush` exactly at the job boundary, where the job
/// would end anyway, so the bytes do not change) before the caller reads on, so the caller and
/// the one worker never run at once: one core.
final class ZstdCompressor: LayerCompressor {
    /// zstd's own choice for levels up to 9 (4 × the 2 MiB window), pinned so that a future
    /// default cannot change the bytes.
    static let jobSize: Int32 = 8 << 20
    /// Each worker holds about two jobs' buffers; more than 8 adds memory, not speed, on a layer.
    static let maxWorkers = 8

    private var context: OpaquePointer?
    private let inspect: (UnsafeRawBufferPointer) -> Void
    private let output: UnsafeMutableRawPointer
    private let outputSize: Int
    private let reservation: BudgetReservation
    /// One core: the caller waits for each job (see the type).
    private let lockstep: Bool
    /// Input bytes handed to zstd since the last job boundary (lockstep only).
    private var inJob = 0

    init(level: Int32, inspect: @escaping (UnsafeRawBufferPointer) -> Void = { _ in }, workers: Int? = nil) throws {
        guard let context = ZSTD_createCCtx() else { throw ArchiveError("libzstd: cannot create a compression context") }
        self.context = context
        self.inspect = inspect
        outputSize = ZSTD_CStreamOutSize()
        output = .allocate(byteCount: outputSize, alignment: 16)
        // Tests pin `workers`; then nothing is taken from the budget.
        reservation = BudgetReservation(budget: WorkBudget.current, extra: workers == nil ? Self.maxWorkers - 1 : 0)
        lockstep = workers == nil && reservation.granted == 0
        do {
            try Self.set(context, ZSTD_c_compressionLevel, level)
            try Self.set(context, ZSTD_c_checksumFlag, 1)
            try Self.set(context, ZSTD_c_nbWorkers, Int32(workers ?? (1 + reservation.granted)))
            try Self.set(context, ZSTD_c_jobSize, Self.jobSize)
        } catch {
            reservation.release()
            throw error
        }
    }

    deinit {
        reservation.release()
        if let context { ZSTD_freeCCtx(context) }
        output.deallocate()
    }

    private static func set(_ context: OpaquePointer, _ parameter: ZSTD_cParameter, _ value: Int32) throws {
        let code = ZSTD_CCtx_setParameter(context, parameter, value)
        if ZSTD_isError(code) != 0 {
            throw ArchiveError("libzstd: cannot set parameter \(parameter.rawValue) to \(value): \(String(cString: ZSTD_getErrorName(code)))")
        }
    }

    func compress(_ bytes: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        inspect(bytes)
        guard lockstep else {
            var input = ZSTD_inBuffer(src: base, size: bytes.count, pos: 0)
            while input.pos < input.size {
                _ = try step(&input, ZSTD_e_continue, emit: emit)
            }
            return
        }
        var offset = 0
        while offset < bytes.count {
            let n = min(Int(Self.jobSize) - inJob, bytes.count - offset)
            var input = ZSTD_inBuffer(src: base + offset, size: n, pos: 0)
            while input.pos < input.size {
                _ = try step(&input, ZSTD_e_continue, emit: emit)
            }
            offset += n
            inJob += n
            if inJob == Int(Self.jobSize) {
                var none = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
                while try step(&none, ZSTD_e_flush, emit: emit) != 0 {}
                inJob = 0
            }
        }
    }

    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try step(&input, ZSTD_e_end, emit: emit) != 0 {}
        ZSTD_freeCCtx(context)
        context = nil
        reservation.release()
    }

    /// One ZSTD_compressStream2 call; returns what zstd says is left to flush.
    private func step(_ input: inout ZSTD_inBuffer, _ directive: ZSTD_EndDirective,
                      emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        guard let context else { throw ArchiveError("zstd stream already finished") }
        var out = ZSTD_outBuffer(dst: output, size: outputSize, pos: 0)
        let remaining = ZSTD_compressStream2(context, &out, &input, directive)
        if ZSTD_isError(remaining) != 0 {
            throw ArchiveError("libzstd: compression failed: \(String(cString: ZSTD_getErrorName(remaining)))")
        }
        if out.pos > 0 { try emit(UnsafeRawBufferPointer(start: output, count: out.pos)) }
        return remaining
    }
}
