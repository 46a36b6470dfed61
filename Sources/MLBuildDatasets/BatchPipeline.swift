import Foundation
import MLBuildBasics

/// Runs the column builders on worker threads while the source keeps tokenizing: the scan
/// callback copies each batch's field spans (not the bytes) and queues them; the submitting
/// thread keeps a share of the columns (`callerFields`), each worker owns every
/// `workerCount`-th of the others, and every column sees every batch in order. On two cores,
/// wall time approaches (tokenize + convert) / 2 instead of their sum. Relies on
/// `TableSource`'s promise that batch bytes stay valid until `end` (or until marked consumed:
/// `convertedOffset`), where `finish()` is called.
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
    /// Per worker: the source offset up to which it has converted every batch.
    private var convertedThrough: [Int]
    private static let maxQueued = 8

    struct OwnedBatch: @unchecked Sendable {
        var count: Int
        var fieldCount: Int
        var base: UnsafePointer<UInt8>
        var spans: [FieldSpan]
        var lines: [Int]
        var estimatedTotalCount: Int
        var endOffset: Int
    }

    init(builders: [ColumnBuilder], fieldToBuilder: [Int], reader: CellReader) {
        self.builders = builders
        self.fieldToBuilder = fieldToBuilder
        self.reader = reader
        // Two workers (plus the tokenizing thread) keep two cores busy; one for narrow tables;
        // on a larger budget, what the tokenizer's helpers left free, two columns a worker.
        workerCount = builders.count >= 4 ? min(builders.count / 2, max(2, WorkBudget.current.threads - 1)) : 1
        queues = Array(repeating: [], count: workerCount)
        convertedThrough = Array(repeating: 0, count: workerCount)
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
        // The caller's share is settled before any worker reads the assignment (they wait for
        // this lock). Every `step`-th field, so a share is not all of one kind (a table's
        // columns often come grouped: ids, then numbers, then categories).
        let fields = fieldToBuilder.indices.filter { fieldToBuilder[$0] >= 0 }
        let share = granted == 0 ? 0 : granted == 1 ? fields.count / 3 : granted == 2 ? fields.count / 9 : 0
        let step = share > 0 ? max(1, fields.count / share) : 0
        callerFields = share > 0 ? Array(stride(from: step - 1, to: fields.count, by: step).prefix(share).map { fields[$0] }) : []
        callerBuilders = callerFields.map { builders[fieldToBuilder[$0]] }
        convertedThrough = Array(repeating: 0, count: granted)
        return granted > 0
    }

    /// The source offset before which every worker is done with the bytes (see
    /// `RecordBatch.consumed`).
    var convertedOffset: Int {
        condition.lock()
        defer { condition.unlock() }
        return convertedThrough.min() ?? 0
    }

    /// Fields whose columns the submitting thread converts itself, right after queueing a batch:
    /// tokenizing costs about a third of converting, so with one worker the tokenizer idles
    /// two thirds of the time unless it takes a share (measured on bench/train's 1M rows:
    /// tokenize 4 %, convert 12 % of the step's samples). The share only moves work between
    /// threads: every column still sees every batch in order, so the table is the same.
    private var callerFields: [Int] = []

    func submit(_ batch: RecordBatch) {
        let owned = OwnedBatch(
            count: batch.count, fieldCount: batch.fieldCount, base: batch.base,
            spans: Array(UnsafeBufferPointer(start: batch.spans, count: batch.count * batch.fieldCount)),
            lines: Array(UnsafeBufferPointer(start: batch.lineNumbers, count: batch.count)),
            estimatedTotalCount: batch.estimatedTotalCount, endOffset: batch.endOffset)
        condition.lock()
        while queues.contains(where: { $0.count >= Self.maxQueued }) { condition.wait() }
        for w in 0 ..< workerCount { queues[w].append(owned) }
        condition.broadcast()
        condition.unlock()
        for (i, f) in callerFields.enumerated() {
            callerBuilders[i].append(batch: batch, field: f, reader: reader)
        }
    }

    /// The submitting thread's builders (for `callerFields`), owned by that thread between
    /// start and finish.
    private var callerBuilders: [ColumnBuilder] = []

    /// Closes the queues, waits for the workers, and returns the builders.
    func finish() -> [ColumnBuilder] {
        condition.lock()
        closed = true
        condition.broadcast()
        while done < workerCount { condition.wait() }
        for (i, f) in callerFields.enumerated() { builders[fieldToBuilder[f]] = callerBuilders[i] }
        let out = builders
        condition.unlock()
        return out
    }

    private func work(_ w: Int) {
        // This worker's builders: every `workerCount`-th of the fields outside the caller's share.
        condition.lock()
        let callers = Set(callerFields)
        let mine = fieldToBuilder.enumerated().filter { !callers.contains($0.offset) && $0.element >= 0 }
            .enumerated().filter { $0.offset % workerCount == w }.map(\.element)
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
            condition.lock()
            convertedThrough[w] = item.endOffset
            condition.unlock()
        }
    }
}
