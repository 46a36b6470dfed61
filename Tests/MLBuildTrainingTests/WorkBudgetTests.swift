import Foundation
import MLBuildBasics
import Synchronization
import Testing
@testable import MLBuildTraining
#if canImport(Glibc)
import Glibc
#endif

/// The work budget (`-j N` threads for rule work): training's parallel loops draw their helpers
/// from it, so a budget of one thread trains on one thread, and the fitted model is the same
/// bytes whatever the number of threads.
@Suite struct WorkBudgetTests {
    /// The threads that ran the iterations of a loop.
    final class ThreadLog: Sendable {
        private let seen = Mutex<Set<UInt>>([])
        func note() { seen.withLock { _ = $0.insert(UInt(pthread_self())) } }
        var count: Int { seen.withLock { $0.count } }
    }

    @Test func oneThreadBudgetRunsEveryChunkOnItsOneThread() async throws {
        let budget = WorkBudget(threads: 1)
        let log = ThreadLog()
        let sums = try await budget.run {
            FixedChunks(total: 200_000, rowsPerChunk: 1000).map { range -> Int in
                log.note()
                usleep(200)   // long enough that free helpers, if there were any, would take chunks
                return range.reduce(0, +)
            }
        }
        #expect(sums.count == 64)
        #expect(sums.reduce(0, +) == (0 ..< 200_000).reduce(0, +))
        #expect(log.count == 1)
        #expect(budget.peakBusyThreads == 1)
    }

    @Test func loopsDrawHelpersFromTheBudget() async throws {
        let budget = WorkBudget(threads: 4)
        let log = ThreadLog()
        try await budget.run {
            parallelFor(16) { _ in
                log.note()
                usleep(20_000)
            }
        }
        #expect(log.count > 1)
        #expect(log.count <= 4)
        #expect(budget.peakBusyThreads <= 4)
    }

    @Test func cancelledBudgetStartsNoMoreWork() async throws {
        let budget = WorkBudget(threads: 2)
        budget.cancel()
        #expect(budget.isCancelled)
        await #expect(throws: CancellationError.self) { try await budget.run { 1 } }
    }

    /// Ctrl-C during a logistic fit: the fit stops at the next Newton step instead of running
    /// to convergence (the rule then discards it).
    @Test func aCancelledBudgetStopsALogisticFitBetweenSteps() async throws {
        let (x, y) = TestData.logistic(rows: 2_000, columns: 4, seed: 3)
        let budget = WorkBudget(threads: 1)
        let steps = Mutex(0)
        await #expect(throws: CancellationError.self) {
            try await budget.run {
                try LogisticRegression(l2: 1, tolerance: 1e-14).fit(x: x, y: y, progress: { done, _ in
                    steps.withLock { $0 = done }
                    budget.cancel()
                })
            }
        }
        #expect(steps.withLock { $0 } == 1)
    }

    /// More rows than one chunk (16,384), so that the loops split; the models of a one-thread
    /// and a four-thread budget must encode to the same bytes.
    @Test func trainingIsBitIdenticalForBudgetsOfOneAndFourThreads() async throws {
        let (x, y) = TestData.logistic(rows: 40_000, columns: 6, seed: 11)
        func train(_ threads: Int) async throws -> (Data, Data, Int) {
            let budget = WorkBudget(threads: threads)
            let (boosted, logistic) = try await budget.run {
                (try GradientBoosting(trees: 8).fit(x: x, y: y, task: .classification),
                 try LogisticRegression().fit(x: x, y: y))
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return (try encoder.encode(boosted), try encoder.encode(logistic), budget.peakBusyThreads)
        }
        let (boosted1, logistic1, peak1) = try await train(1)
        let (boosted4, logistic4, peak4) = try await train(4)
        #expect(peak1 == 1)
        #expect(peak4 > 1)
        #expect(boosted1 == boosted4)
        #expect(logistic1 == logistic4)
    }

    /// Issue 14's check: the same boosting model trained with 1, 2 and 8 threads encodes to the
    /// same bytes. 140,000 rows so that every parallel path splits into several chunks (the
    /// row-wise root histogram from 65,536 rows, the partition from 131,072), a column with
    /// missing values (the missing bin and both scan directions), two sparse columns (a flag
    /// set on a fifth of the rows and a column missing on 60 %: default bins filled in by
    /// subtraction), and a row subsample (the tree walk that updates the scores).
    @Test(arguments: [1.0, 0.7])
    func boostingIsBitIdenticalWithOneTwoAndEightThreads(subsample: Double) async throws {
        let (dense, y) = TestData.logistic(rows: 140_000, columns: 5, seed: 29)
        var values = [Double]()
        values.reserveCapacity(dense.rows * 7)
        for row in 0 ..< dense.rows {
            var cells = Array(dense.values[row * 5 ..< row * 5 + 5])
            if row % 7 == 0 { cells[2] = .nan }
            let flag: Double = (row % 5 == 0) == (y[row] == 1) ? 1 : 0
            cells += [row % 5 == 0 ? flag : 0, row % 5 < 3 ? .nan : cells[0] + cells[1]]
            values += cells
        }
        let data = (Matrix(rows: dense.rows, columns: 7, values: values), y)
        func train(_ threads: Int) async throws -> (Data, Int) {
            let budget = WorkBudget(threads: threads)
            let model = try await budget.run {
                try GradientBoosting(trees: 5, subsample: subsample, seed: 7).fit(x: data.0, y: data.1, task: .classification)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return (try encoder.encode(model), budget.peakBusyThreads)
        }
        let (one, peakOne) = try await train(1)
        let (two, _) = try await train(2)
        let (eight, peakEight) = try await train(8)
        #expect(peakOne == 1)
        #expect(peakEight > 1)
        #expect(one == two)
        #expect(one == eight)
        // A fit that learned nothing would also be "identical": the trees must have split.
        let model = try JSONDecoder().decode(GradientBoostingModel.self, from: one)
        #expect(model.trees.count == 5)
        #expect(model.trees.allSatisfy { $0.nodes.count > 20 })
        // The sparse columns are split on too.
        let used = Set(model.trees.flatMap { $0.nodes.map(\.feature) })
        #expect(used.isSuperset(of: [5, 6]))
    }
}
