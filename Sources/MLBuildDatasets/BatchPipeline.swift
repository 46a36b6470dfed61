import Foundation
import MLBuildBasics

/// Runs the column builders on worker threads while the source keeps tokenizing: the scan
/// callback copies each batch's field spans (not the bytes) and queues them; each worker owns
/// every `workerCount`-th column and converts its columns of every batch. On two cores, wall
/// time approaches (tokenize + convert) / 2 instead of their sum. Relies on `TableSource`'s
/// promise that batch bytes stay valid until `end`, where `finish()` is called.
///
/// The workers are threads of the current `WorkBudget` that are free when the pipeline starts
/// (`start()` says how many); with none free (`-j 1`), the caller converts inline instead.
final class BatchPipeline: @unchecked Sendable {
    /// Guards `queues`, `closed`, `done` and the builder hand-back; each worker owns its builders
    /// between `start()` and `finish()`.
    private let condition = NSCondition()
    private var queues: [[OwnedBatch]]
    private var closed = false
    private var done = 0
    private var builders: [ColumnBuilder]
    private let fieldToBuilder: [Int]
    private let reader: CellReader
    private var workerCount: Int
    private static let maxQueued = 8

    struct OwnedBatch: @unchecked Sendable {
        var count: Int
        var fieldCount: Int
        var base: UnsafePointer<UInt8>
        var spans: [FieldSpan]
        var lines: [Int]
        var estimatedTotalCount: Int
    }

    init(builders: [ColumnBuilder], fieldToBuilder: [Int], reader: CellReader) {
        self.builders = builders
        self.fieldToBuilder = fieldToBuilder
        self.reader = reader
        // Two workers (plus the tokenizing thread) keep two cores busy; one for narrow tables.
        workerCount = builders.count >= 4 ? 2 : 1
        queues = Array(repeating: [], count: workerCount)
    }

    /// Starts the workers on free threads of the current budget; false when none was free
    /// (then nothing was started and the caller converts the batches itself).
    func start() -> Bool {
        // Workers wait for the lock until `workerCount` says how many were granted.
        condition.lock()
        defer { condition.unlock() }
        let granted = WorkBudget.current.startHelpers(atMost: workerCount) { [self] w in self.work(w) }
        workerCount = granted
        queues = Array(repeating: [], count: granted)
        return granted > 0
    }

    func submit(_ batch: RecordBatch) {
        let owned = OwnedBatch(
            count: batch.count, fieldCount: batch.fieldCount, base: batch.base,
            spans: Array(UnsafeBufferPointer(start: batch.spans, count: batch.count * batch.fieldCount)),
            lines: Array(UnsafeBufferPointer(start: batch.lineNumbers, count: batch.count)),
            estimatedTotalCount: batch.estimatedTotalCount)
        condition.lock()
        while queues.contains(where: { $0.count >= Self.maxQueued }) { condition.wait() }
        for w in 0 ..< workerCount { queues[w].append(owned) }
        condition.broadcast()
        condition.unlock()
    }

    /// Closes the queues, waits for the workers, and returns the builders.
    func finish() -> [ColumnBuilder] {
        condition.lock()
        closed = true
        condition.broadcast()
        while done < workerCount { condition.wait() }
        let out = builders
        condition.unlock()
        return out
    }

    private func work(_ w: Int) {
        // This worker's builders: schema columns fed by fields f with f % workerCount == w.
        condition.lock()
        let mine = fieldToBuilder.enumerated().filter { $0.offset % workerCount == w && $0.element >= 0 }
        var local = mine.map { builders[$0.element] }
        condition.unlock()
        while true {
            condition.lock()
            while queues[w].isEmpty, !closed { condition.wait() }
            if queues[w].isEmpty, closed {
                for (i, m) in mine.enumerated() { builders[m.element] = local[i] }
                done += 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let item = queues[w].removeFirst()
            condition.broadcast()
            condition.unlock()
            item.spans.withUnsafeBufferPointer { sp in
                item.lines.withUnsafeBufferPointer { lp in
                    guard let spBase = sp.baseAddress, let lpBase = lp.baseAddress else { return }
                    var batch = RecordBatch(
                        count: item.count, fieldCount: item.fieldCount, base: item.base,
                        spans: spBase, lines: lpBase)
                    batch.estimatedTotalCount = item.estimatedTotalCount
                    for (i, m) in mine.enumerated() {
                        local[i].append(batch: batch, field: m.offset, reader: reader)
                    }
                }
            }
        }
    }
}
