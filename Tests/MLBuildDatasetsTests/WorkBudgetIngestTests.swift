import Foundation
import MLBuildBasics
import Synchronization
import Testing
@testable import MLBuildDatasets

/// CSV ingest and dataset statistics on the work budget: with one thread (`-j 1`) the batch
/// pipeline gets no worker and converts inline, with four it gets its workers; the table and
/// the statistics are the same either way.
@Suite struct WorkBudgetIngestTests {
    static let schema = "id: int, x: float, y: float nullable, c: category(a, b, z), s: string"

    /// Many batches of 512 rows, so that the pipeline (not the one-batch inline path) is asked for.
    static var csv: String {
        var text = "id,x,y,c,s\n"
        for i in 0 ..< 5_000 {
            text += "\(i),\(Double(i) * 0.25),\(i % 7 == 0 ? "" : String(Double(i) / 3)),\(["a", "b", "z"][i % 3]),s\(i % 11)\n"
        }
        return text
    }

    @Test func ingestAndStatsAreTheSameOnOneAndFourThreads() async throws {
        let schema = try Schema(parsing: Self.schema)
        let csv = Self.csv
        func ingest(_ threads: Int) async throws -> (ColumnarTable, DatasetStats, Int) {
            let budget = WorkBudget(threads: threads)
            let (table, stats) = try await budget.run {
                let table = try DatasetIngester.ingestValidated(CSVSource(name: "t.csv", text: csv), schema: schema)
                return (table, DatasetStats.compute(table))
            }
            return (table, stats, budget.peakBusyThreads)
        }
        let (table1, stats1, peak1) = try await ingest(1)
        let (table4, stats4, peak4) = try await ingest(4)
        #expect(table1.rowCount == 5_000)
        #expect(table1 == table4)
        #expect(stats1 == stats4)
        #expect(peak1 == 1)
        #expect(peak4 > 1)
    }

    /// Ctrl-C during ingest: the scan stops after the batch in flight (the pipeline's workers
    /// finish what they hold first) instead of reading the whole file.
    @Test func aCancelledBudgetStopsIngestBetweenBatches() async throws {
        let schema = try Schema(parsing: Self.schema)
        let csv = Self.csv
        for threads in [1, 4] {
            let budget = WorkBudget(threads: threads)
            let seen = Mutex(0)
            await #expect(throws: CancellationError.self) {
                try await budget.run {
                    try DatasetIngester.ingest(CSVSource(name: "t.csv", text: csv), schema: schema, progress: { rows, _ in
                        seen.withLock { $0 = rows }
                        budget.cancel()
                    })
                }
            }
            #expect(seen.withLock { $0 } > 0)
            #expect(seen.withLock { $0 } < 5_000)
        }
    }
}
