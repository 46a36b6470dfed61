import Foundation

/// Runs the column builders on a second thread while the source keeps tokenizing: the scan
/// callback copies each batch's field spans (not the bytes) and queues them; the worker turns
/// them into typed columns. Wall time becomes max(tokenize, convert) instead of their sum on
/// two cores. Relies on `TableSource`'s promise that batch bytes stay valid until scan returns.
final class BatchPipeline: @unchecked Sendable {
    /// Guards `queue`, `closed` and `builders` hand-off; the worker owns `builders` in between.
    private let condition = NSCondition()
    private var queue: [OwnedBatch] = []
    private var closed = false
    private var builders: [ColumnBuilder]
    private let fieldToBuilder: [Int]
    private let reader: CellReader
    private var thread: Thread?
    private var finished = false
    private static let maxQueued = 8

    struct OwnedBatch: @unchecked Sendable {
        var count: Int
        var fieldCount: Int
        var base: UnsafePointer<UInt8>
        var spans: [FieldSpan]
        var lines: [Int]
    }

    init(builders: [ColumnBuilder], fieldToBuilder: [Int], reader: CellReader) {
        self.builders = builders
        self.fieldToBuilder = fieldToBuilder
        self.reader = reader
    }

    func start() {
        let t = Thread { [self] in self.work() }
        t.stackSize = 1 << 20
        thread = t
        t.start()
    }

    func submit(_ batch: RecordBatch) {
        let owned = OwnedBatch(
            count: batch.count, fieldCount: batch.fieldCount, base: batch.base,
            spans: Array(UnsafeBufferPointer(start: batch.spans, count: batch.count * batch.fieldCount)),
            lines: Array(UnsafeBufferPointer(start: batch.lineNumbers, count: batch.count)))
        condition.lock()
        while queue.count >= Self.maxQueued { condition.wait() }
        queue.append(owned)
        condition.signal()
        condition.unlock()
    }

    /// Closes the queue, waits for the worker, and returns the builders.
    func finish() -> [ColumnBuilder] {
        condition.lock()
        closed = true
        condition.broadcast()
        while !finished { condition.wait() }
        let out = builders
        condition.unlock()
        return out
    }

    private func work() {
        condition.lock()
        var local = builders
        builders = []
        condition.unlock()
        while true {
            condition.lock()
            while queue.isEmpty, !closed { condition.wait() }
            if queue.isEmpty, closed {
                builders = local
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let item = queue.removeFirst()
            condition.signal()
            condition.unlock()
            item.spans.withUnsafeBufferPointer { sp in
                item.lines.withUnsafeBufferPointer { lp in
                    guard let spBase = sp.baseAddress, let lpBase = lp.baseAddress else { return }
                    let batch = RecordBatch(count: item.count, fieldCount: item.fieldCount, base: item.base, spans: spBase, lines: lpBase)
                    for f in 0 ..< item.fieldCount where fieldToBuilder[f] >= 0 {
                        local[fieldToBuilder[f]].append(batch: batch, field: f, reader: reader)
                    }
                }
            }
        }
    }
}
