import Foundation

/// The outcomes of `count` independent pieces of work run on whichever threads
/// (`WorkBudget.parallelFor`), read back in index order: the values, or the error of the first
/// piece in index order that failed, which is the error a serial loop would have thrown.
final class ParallelOutcomes<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var outcomes: [Swift.Result<Value, any Error>?]

    init(count: Int) { outcomes = Array(repeating: nil, count: count) }

    func record(_ index: Int, _ body: () throws -> Value) {
        let outcome = Swift.Result { try body() }
        lock.withLock { outcomes[index] = outcome }
    }

    func inOrder() throws -> [Value] {
        try lock.withLock { outcomes }.map { outcome in
            guard let outcome else { throw DatasetError.features(message: "internal: a part of the features step did not run") }
            return try outcome.get()
        }
    }
}
