import Foundation
import MLBuildBasics

/// The chunks of a CSV body and the helpers that tokenize them ahead of the consumer
/// (`CSVParser.run`, which takes chunks in file order).
///
/// Chunk boundaries are guesses: `chunkBytes` apart, moved forward to just after a line feed.
/// A line feed inside a quoted field makes a wrong guess; the consumer notices (the chunk does
/// not start where the previous one's records ended) and tokenizes that chunk itself. Helpers
/// only read the buffer (`CSVTokens.tokenize`); the consumer waits for any helper still reading
/// bytes it is about to unescape in place (`waitUntilIdle`), and `stop()` waits for every
/// helper, so nothing reads the buffer after the parse returns.
///
/// Helpers are free threads of the current work budget, a quarter of it (tokenizing is about a
/// quarter of ingest; the rest converts columns, `BatchPipeline`): none at `-j 1`..`-j 3`, where
/// the consumer tokenizes every chunk itself.
final class ChunkedTokenizer: @unchecked Sendable {
    private enum State {
        case waiting
        case running
        case done(CSVTokens)
        /// Claimed by the consumer: no helper touches it.
        case reserved
    }

    private let condition = NSCondition()
    private let base: UnsafePointer<UInt8>
    private let end: Int
    private let fieldCount: Int
    private let bounds: [Int]
    private var states: [State]
    private var nextClaim = 0
    private var consumerAt = 0
    private var helpersAlive = 0
    private var stopped = false
    private var maxAhead = 0

    var count: Int { bounds.count - 1 }

    init(base: UnsafePointer<UInt8>, from start: Int, end: Int, fieldCount: Int, chunkBytes: Int) {
        self.base = base
        self.end = end
        self.fieldCount = fieldCount
        var bounds = [start]
        var guess = start + chunkBytes
        while guess < end {
            var q = guess
            while q < end, base[q] != UInt8(ascii: "\n") { q += 1 }
            q = min(q + 1, end)
            if q >= end { break }
            bounds.append(q)
            guess = q + chunkBytes
        }
        bounds.append(end)
        self.bounds = bounds
        states = Array(repeating: .waiting, count: bounds.count - 1)
    }

    func bound(_ i: Int) -> Int { bounds[min(i, bounds.count - 1)] }

    func startHelpers() {
        guard count > 1 else { return }
        let wanted = min(count - 1, WorkBudget.current.threads / 4)
        guard wanted > 0 else { return }
        condition.lock()
        defer { condition.unlock() }
        let granted = WorkBudget.current.startHelpers(atMost: wanted) { [self] _ in help() }
        helpersAlive = granted
        maxAhead = 2 * granted + 1
    }

    /// Chunk `i`'s tokens when a helper made them, or nil when the consumer must tokenize it
    /// (no helper had claimed it; now none will).
    func take(_ i: Int) -> CSVTokens? {
        condition.lock()
        defer { condition.unlock() }
        consumerAt = i
        condition.broadcast()
        while true {
            switch states[i] {
            case .waiting:
                states[i] = .reserved
                if nextClaim == i { nextClaim += 1 }
                return nil
            case .reserved:
                return nil
            case .running:
                condition.wait()
            case .done(let tokens):
                states[i] = .reserved
                return tokens
            }
        }
    }

    /// Returns once no helper is reading chunk `i` and none will.
    func waitUntilIdle(_ i: Int) {
        condition.lock()
        defer { condition.unlock() }
        while true {
            switch states[i] {
            case .waiting:
                states[i] = .reserved
                if nextClaim == i { nextClaim += 1 }
                return
            case .running:
                condition.wait()
            case .done, .reserved:
                return
            }
        }
    }

    /// Drops chunk `i` (its bytes were part of an earlier chunk's last record).
    func discard(_ i: Int) {
        waitUntilIdle(i)
        condition.lock()
        states[i] = .reserved
        condition.unlock()
    }

    /// Ends the helpers and waits for them (also when the parse stops on an error).
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while helpersAlive > 0 { condition.wait() }
        condition.unlock()
    }

    private func help() {
        condition.lock()
        while true {
            while !stopped, nextClaim < count, nextClaim > consumerAt + maxAhead { condition.wait() }
            // Chunks the consumer reserved are skipped.
            while nextClaim < count, case .reserved = states[nextClaim] { nextClaim += 1 }
            if stopped || nextClaim >= count {
                helpersAlive -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            if nextClaim > consumerAt + maxAhead { continue }
            let i = nextClaim
            nextClaim += 1
            states[i] = .running
            condition.unlock()
            let tokens = CSVTokens.tokenize(base, from: bounds[i], limit: bounds[i + 1], end: end, fieldCount: fieldCount)
            condition.lock()
            states[i] = .done(tokens)
            condition.broadcast()
        }
    }
}
