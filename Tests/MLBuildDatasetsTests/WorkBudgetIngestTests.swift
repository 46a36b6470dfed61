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

/// The pipeline's caller share and the mapped file's page release only move work and memory:
/// the table, its violations and its statistics are the same on every thread count, and a
/// file scanned from a mapping (pages dropped as they are consumed) reads like the same bytes
/// in memory.
@Suite struct IngestShareAndReleaseTests {
    /// 12 columns (so the submitting thread takes a share with one worker and with two), broken
    /// cells in several of them, quoted cells with escapes and line breaks.
    static let schema = "id: int unique, a: float, b: float nullable min=0, c: category(p, q), d: string, e: int max=100, "
        + "f: bool, g: float, h: string, i: int nullable, j: category(u, v, w), k: float"

    static func csv(rows: Int) -> [UInt8] {
        var out = Array("id,a,b,c,d,e,f,g,h,i,j,k\n".utf8)
        out.reserveCapacity(rows * 80)
        for r in 0 ..< rows {
            let b = r % 13 == 0 ? "" : r % 101 == 0 ? "-1" : "\(Double(r) / 7)"
            let d = r % 17 == 0 ? "\"say \"\"hi\"\"\nthere, \(r)\"" : "d\(r % 23)"
            let e = r % 211 == 0 ? "x\(r)" : "\(r % 120)"
            let id = r == 999 ? 998 : r
            let row = "\(id),\(Double(r) * 0.5),\(b),\(r % 2 == 0 ? "p" : r % 97 == 0 ? "zz" : "q"),\(d),\(e),"
                + "\(r % 3 == 0 ? "yes" : "no"),\(r).25,h\(r % 5),\(r % 9 == 0 ? "" : String(r)),\(["u", "v", "w"][r % 3]),1e\(r % 5)\n"
            out.append(contentsOf: row.utf8)
        }
        return out
    }

    @Test func tableReportAndStatsAreTheSameOnOneToFourThreads() async throws {
        let schema = try Schema(parsing: Self.schema)
        let bytes = Self.csv(rows: 6_000)
        var results: [(ColumnarTable, ValidationReport, DatasetStats)] = []
        for threads in 1 ... 4 {
            let budget = WorkBudget(threads: threads)
            results.append(try await budget.run {
                let (table, report) = try DatasetIngester.ingest(CSVSource(name: "t.csv", bytes: bytes), schema: schema)
                return (table, report, DatasetStats.compute(table))
            })
        }
        #expect(results[0].0.rowCount == 6_000)
        #expect(results[0].1.violations.map(\.rule).sorted() == ["category", "max", "min", "type", "unique"])
        for r in results.dropFirst() {
            #expect(r.0 == results[0].0)
            #expect(r.1 == results[0].1)
            #expect(r.2 == results[0].2)
        }
    }

    /// 20 MB: the mapping drops consumed pages twice (every 8 MiB) while the workers convert.
    @Test func aMappedFileWithReleasedPagesReadsLikeTheBytes() async throws {
        let schema = try Schema(parsing: Self.schema)
        let bytes = Self.csv(rows: 300_000)
        #expect(bytes.count > 20_000_000)
        try await withTempDirectoryAsync { dir in
            let url = dir.appendingPathComponent("big.csv")
            try Data(bytes).write(to: url)
            let budget = WorkBudget(threads: 2)
            let fromFile = try await budget.run { try DatasetIngester.ingest(CSVSource(url: url, name: "t.csv"), schema: schema) }
            let fromBytes = try await budget.run { try DatasetIngester.ingest(CSVSource(name: "t.csv", bytes: bytes), schema: schema) }
            #expect(fromFile.table.rowCount == 300_000)
            #expect(fromFile.table == fromBytes.table)
            #expect(fromFile.report == fromBytes.report)
            #expect(fromFile.table.column(named: "d")?.text(at: 17) == "say \"hi\"\nthere, 17")
        }
    }
}

func withTempDirectoryAsync<T>(_ body: (URL) async throws -> T) async throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("mlbuild-datasets-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url)
}
