import Foundation
import MLBuildBasics

/// Splits `0..<total` into contiguous chunks whose count and boundaries depend only on `total`,
/// runs them on the current `WorkBudget` (`parallelFor`), and returns the per-chunk results in
/// chunk order.
///
/// Why: floating-point sums depend on their order. Callers reduce the returned partials left to
/// right, so every result is bit-identical whatever the number of cores or the scheduling.
struct FixedChunks: Sendable {
    let total: Int
    let count: Int

    /// `rowsPerChunk` sets the grain; at most 64 chunks so that reductions stay cheap.
    init(total: Int, rowsPerChunk: Int = 16_384) {
        self.total = total
        count = max(1, min(64, (total + rowsPerChunk - 1) / rowsPerChunk))
    }

    func range(_ chunk: Int) -> Range<Int> {
        (total * chunk / count) ..< (total * (chunk + 1) / count)
    }

    /// Runs `body` on every chunk (concurrently when there is more than one) and returns the
    /// results indexed by chunk.
    func map<T>(_ body: (Range<Int>) -> T) -> [T] {
        if count == 1 { return [body(0 ..< total)] }
        var results = [T?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { out in
            parallelFor(count) { chunk in out[chunk] = body(range(chunk)) }
        }
        return results.map { $0! }  // every slot was written above
    }

    /// Runs `body` on every chunk for its side effects on disjoint rows.
    func forEach(_ body: (Range<Int>) -> Void) {
        if count == 1 { body(0 ..< total); return }
        parallelFor(count) { chunk in body(range(chunk)) }
    }
}

/// Runs `body(i)` for i in `0..<iterations` on the calling thread and the free threads of the
/// current `WorkBudget` (the `-j` budget when called from rule work; one thread in all under
/// `-j 1`). Callers promise that iteration i touches only memory no other iteration touches.
func parallelFor(_ iterations: Int, _ body: (Int) -> Void) {
    WorkBudget.current.parallelFor(iterations, body)
}
